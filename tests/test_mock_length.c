/*
 * streamput-mock, body length per --profile: AList v3 needs Content-Length (chunked or missing
 * gives strconv.ParseInt's error on ""), OpenList takes chunked bodies and checks X-File-Size;
 * neither profile stores an empty file for a PUT that has no length at all, and a body that
 * ends short stores nothing.
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PARSE_EMPTY                                                                                \
    "{\"code\":400,\"message\":\"strconv.ParseInt: parsing \\\"\\\": invalid "                     \
    "syntax\",\"data\":null}"

static th_env env;
static th_mock openlist, alist;
static char body[10000];

static void setup(void)
{
    th_env_up(&env, &openlist, NULL, NULL);
    ck_assert_int_eq(th_mock_start(&alist, env.root, "--profile", "alist", NULL), 0);
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)(i * 7 + (i >> 8));
}

static void teardown(void)
{
    ck_assert_int_eq(th_mock_stop(&alist), 0);
    th_env_down(&env, &openlist);
}

/* 1 if root/rel holds exactly the first len bytes of body. */
static int holds(const char *rel, size_t len)
{
    static char got[sizeof body + 1];
    FILE *f = fopen(th_path(env.root, rel), "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    return n == len && memcmp(got, body, len) == 0;
}

static int put(th_mock *m, const char *fp, const char *extra, size_t len, size_t chunk, th_resp *r)
{
    char h[512];
    snprintf(h, sizeof h, "File-Path: %s\r\n%s", fp, extra);
    return th_put(m->port, "/api/fs/put", h, body, len, chunk, r);
}

START_TEST(content_length_works_in_both_profiles)
{
    static th_resp r;
    ck_assert_int_eq(put(&openlist, "/cl-o.bin", "", sizeof body, 0, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(holds("cl-o.bin", sizeof body));
    ck_assert_int_eq(put(&alist, "/cl-a.bin", "", sizeof body, 0, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(holds("cl-a.bin", sizeof body));
    /* A zero-length body is an empty file, not an error. */
    ck_assert_int_eq(put(&alist, "/empty.bin", "", 0, 0, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(holds("empty.bin", 0));
}
END_TEST

static const size_t chunks[] = {1, 7, 4096, 9999, 10000};

START_TEST(openlist_stores_chunked_bodies_byte_exact)
{
    static th_resp r;
    char name[32];
    snprintf(name, sizeof name, "/ch-%zu.bin", chunks[_i]);
    ck_assert_int_eq(put(&openlist, name, "", sizeof body, chunks[_i], &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(holds(name + 1, sizeof body));
}
END_TEST

START_TEST(alist_refuses_chunked_like_strconv)
{
    static th_resp r;
    ck_assert_int_eq(put(&alist, "/ch.bin", "", sizeof body, 4096, &r), 200);
    ck_assert_str_eq(r.body, PARSE_EMPTY);
    ck_assert(!th_exists(th_path(env.root, "ch.bin")));
    /* Go drops Content-Length when the body is chunked, so sending both changes nothing. */
    ck_assert_int_eq(put(&alist, "/ch.bin", "Content-Length: 10000\r\n", sizeof body, 4096, &r),
                     200);
    ck_assert_str_eq(r.body, PARSE_EMPTY);
    ck_assert(!th_exists(th_path(env.root, "ch.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
}
END_TEST

/* A PUT with neither Content-Length nor chunked framing: the seed client's original mistake. */
START_TEST(no_length_at_all_never_stores_an_empty_file)
{
    static th_resp r;
    static const char req[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /nolen.bin\r\n"
                              "\r\nthe body the client thinks it sent";
    ck_assert_int_eq(th_raw(alist.port, req, sizeof req - 1, &r), 200);
    ck_assert_str_eq(r.body, PARSE_EMPTY);
    ck_assert_int_eq(th_raw(openlist.port, req, sizeof req - 1, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
    ck_assert_ptr_nonnull(strstr(r.body, "no Content-Length"));
    /* The rest of the "body" is not taken for a second request: the connection is closed. */
    ck_assert_ptr_nonnull(strstr(r.raw, "Connection: close"));
    ck_assert(!th_exists(th_path(env.root, "nolen.bin")));
}
END_TEST

START_TEST(openlist_checks_x_file_size)
{
    static th_resp r;
    ck_assert_int_eq(put(&openlist, "/xs.bin", "X-File-Size: 10000\r\n", sizeof body, 333, &r),
                     200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(holds("xs.bin", sizeof body));
    /* Shorter or longer than declared: nothing stored. */
    ck_assert_int_eq(
        put(&openlist, "/xs-short.bin", "X-File-Size: 10001\r\n", sizeof body, 333, &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":400,\"message\":\"the body has 10000 bytes but "
                             "X-File-Size says 10001\",\"data\":null}");
    ck_assert_int_eq(put(&openlist, "/xs-long.bin", "X-File-Size: 9999\r\n", sizeof body, 333, &r),
                     200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
    ck_assert(!th_exists(th_path(env.root, "xs-short.bin")));
    ck_assert(!th_exists(th_path(env.root, "xs-long.bin")));
    /* Unparsable: strconv.ParseInt's text, quoted the Go way. */
    ck_assert_int_eq(put(&openlist, "/xs-bad.bin", "X-File-Size: 1e3\r\n", 10, 5, &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":400,\"message\":\"strconv.ParseInt: parsing "
                             "\\\"1e3\\\": invalid syntax\",\"data\":null}");
    ck_assert_int_eq(
        put(&openlist, "/xs-bad.bin", "X-File-Size: 99999999999999999999\r\n", 10, 5, &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":400,\"message\":\"strconv.ParseInt: parsing "
                             "\\\"99999999999999999999\\\": value out of range\",\"data\":null}");
    ck_assert(!th_exists(th_path(env.root, "xs-bad.bin")));
}
END_TEST

START_TEST(the_real_client_uploads_chunked_from_a_pipe_to_openlist_only)
{
    const char *src = th_path(env.dir, "pipe.bin");
    ck_assert_int_eq(th_write_random(src, 300000, 3), 0);
    char url[192];
    static th_run r;
    /* streamput reads stdin ("-") without knowing its length and sends it chunked. */
    snprintf(url, sizeof url, "%s/api/fs/put", openlist.url);
    char *argv[] = {TH_BIN_DIR "/streamput", "-s", "-p", "/piped.bin", "-", url, NULL};
    ck_assert_int_eq(th_run_argv(&r, argv, src, 60000), 0);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "piped.bin")), 1);
    snprintf(url, sizeof url, "%s/api/fs/put", alist.url);
    char *argv2[] = {TH_BIN_DIR "/streamput", "-s", "-p", "/piped2.bin", "-", url, NULL};
    ck_assert_int_ne(th_run_argv(&r, argv2, src, 60000), 0);
    ck_assert_msg(strstr(r.err, "strconv.ParseInt") != NULL, "stderr: %s", r.err);
    ck_assert(!th_exists(th_path(env.root, "piped2.bin")));
}
END_TEST

#define HUGE_BODY (200ull << 20)

/*
 * PUTs a chunked body of HUGE_BODY bytes (64 KiB chunks) with the extra headers, sending only
 * while the mock answers nothing: once an answer arrives or sending fails, the rest is not sent
 * and the answer is read. *sent receives the body bytes the socket took. Returns the status.
 */
static int put_huge_chunked(int port, const char *headers, th_resp *r, uint64_t *sent)
{
    static char chunk[7 + 65536 + 2];
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Transfer-Encoding: chunked\r\n%s\r\n",
                      headers);
    memcpy(chunk, "10000\r\n", 7);
    memset(chunk + 7, 'h', 65536);
    memcpy(chunk + 7 + 65536, "\r\n", 2);
    size_t clen = 7 + 65536 + 2;
    int fd = th_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, head, (size_t)hl), 0);
    *sent = 0;
    size_t off = 0; /* into the current chunk */
    while (*sent < HUGE_BODY) {
        struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
        ck_assert_int_gt(poll(&p, 1, 20000), 0);
        if (p.revents & (POLLIN | POLLERR | POLLHUP))
            break; /* the answer (or the end) came: stop sending */
        ssize_t n = send(fd, chunk + off, clen - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0)
            break;
        off += (size_t)n;
        if (off == clen) {
            off = 0;
            *sent += 65536;
        }
    }
    if (*sent == HUGE_BODY)
        th_send_all(fd, "0\r\n\r\n", 5);
    r->raw[0] = '\0';
    th_recv_resp(fd, r, 20000);
    close(fd);
    return r->status;
}

/*
 * A chunked body that crosses --max-body, or the X-File-Size it declared, is answered as it
 * crosses, and the connection closed: the client gets the error while it is still sending, and
 * the mock reads no more than the socket buffers hold. Before, the mock read all 200 MB first.
 */
START_TEST(an_oversized_chunked_body_is_answered_before_it_is_read)
{
    static th_resp r;
    uint64_t sent;
    th_mock lim;
    ck_assert_int_eq(th_mock_start(&lim, env.root, "--max-body", "1K", NULL), 0);
    ck_assert_int_eq(put_huge_chunked(lim.port, "File-Path: /huge.bin\r\n", &r, &sent), 200);
    ck_assert_str_eq(r.body,
                     "{\"code\":413,\"message\":\"http: request body too large\",\"data\":null}");
    ck_assert_ptr_nonnull(strstr(r.raw, "\r\nConnection: close\r\n"));
    ck_assert_msg(sent < HUGE_BODY / 4, "the client could send %llu bytes",
                  (unsigned long long)sent);
    ck_assert(th_journal_wait(&lim, "/huge.bin", 5000));
    ck_assert_uint_lt(strtoull(th_journal_last(lim.port, "bytes_received"), NULL, 10), 1u << 20);
    ck_assert_str_eq(th_journal_last(lim.port, "stored"), "false");
    ck_assert(!th_exists(th_path(env.root, "huge.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    /* The mock goes on serving; a body of exactly the limit is stored. */
    ck_assert_int_eq(put(&lim, "/limit.bin", "", 1024, 100, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(holds("limit.bin", 1024));
    ck_assert_int_eq(th_mock_stop(&lim), 0);

    /* OpenList's X-File-Size smaller than the body: the same, with the mock's own 400. */
    ck_assert_int_eq(put_huge_chunked(openlist.port,
                                      "File-Path: /xs-huge.bin\r\nX-File-Size: 1000\r\n", &r,
                                      &sent),
                     200);
    ck_assert_str_eq(r.body, "{\"code\":400,\"message\":\"the body is longer than the 1000 "
                             "bytes X-File-Size says\",\"data\":null}");
    ck_assert_msg(sent < HUGE_BODY / 4, "the client could send %llu bytes",
                  (unsigned long long)sent);
    ck_assert(th_journal_wait(&openlist, "/xs-huge.bin", 5000));
    ck_assert_uint_lt(strtoull(th_journal_last(openlist.port, "bytes_received"), NULL, 10),
                      1u << 20);
    ck_assert(!th_exists(th_path(env.root, "xs-huge.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_length");
    TCase *t = tcase_create("length");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, content_length_works_in_both_profiles);
    tcase_add_loop_test(t, openlist_stores_chunked_bodies_byte_exact, 0,
                        sizeof chunks / sizeof chunks[0]);
    tcase_add_test(t, alist_refuses_chunked_like_strconv);
    tcase_add_test(t, no_length_at_all_never_stores_an_empty_file);
    tcase_add_test(t, openlist_checks_x_file_size);
    tcase_add_test(t, the_real_client_uploads_chunked_from_a_pipe_to_openlist_only);
    tcase_add_test(t, an_oversized_chunked_body_is_answered_before_it_is_read);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
