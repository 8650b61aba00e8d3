/*
 * libstreamput's public API against the real streamput-mock: the result (sp_getinfo), the progress
 * callback (and cancelling through it), the debug callback, uploads from an fd at an offset and
 * from a stream, errno kept for the caller, rate limiting; and the CLI's -v redaction and --hash.
 */
#include "th.h"
#include "streamput.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static char *root;
static th_mock mock;
static char url[192];
static sp_client *c;

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    root = strdup(th_path(dir, "root"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    ck_assert_int_eq(th_mock_start(&mock, root, NULL), 0);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    c = sp_client_new();
    ck_assert_ptr_nonnull(c);
}

static void teardown(void)
{
    sp_client_free(c);
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    free(root);
    th_rmtree(dir);
}

/* The last call's result on c, one field at a time, of the kind each SP_INFO_ value names. */
static long info_long(sp_info what)
{
    long v = -1;
    ck_assert_int_eq(sp_getinfo(c, what, &v), SP_OK);
    return v;
}

static uint64_t info_u64(sp_info what)
{
    uint64_t v = 12345;
    ck_assert_int_eq(sp_getinfo(c, what, &v), SP_OK);
    return v;
}

static double info_double(sp_info what)
{
    double v = -1;
    ck_assert_int_eq(sp_getinfo(c, what, &v), SP_OK);
    return v;
}

static const char *info_str(sp_info what)
{
    const char *v = NULL;
    ck_assert_int_eq(sp_getinfo(c, what, &v), SP_OK);
    ck_assert_ptr_nonnull(v);
    return v;
}

typedef struct progress_log {
    unsigned calls;
    uint64_t last_sent;
    uint64_t total;
    int monotonic;
    uint64_t cancel_after; /* 0 = never */
} progress_log;

static int on_progress(void *ud, uint64_t sent, uint64_t total)
{
    progress_log *p = ud;
    if (sent < p->last_sent)
        p->monotonic = 0;
    p->calls++;
    p->last_sent = sent;
    p->total = total;
    return p->cancel_after != 0 && sent >= p->cancel_after;
}

START_TEST(result_and_progress_describe_the_transfer)
{
    const char *src = th_path(dir, "a.bin");
    ck_assert_int_eq(th_write_random(src, 5u << 20, 3), 0);
    progress_log p = {.monotonic = 1};
    sp_set_chunk_size(c, 256 * 1024);
    sp_set_engine(c, SP_ENGINE_RW);
    sp_set_remote_path(c, "/a.bin");
    sp_set_progress(c, on_progress, &p);
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 200);
    ck_assert_int_eq(info_long(SP_INFO_HAS_API_CODE), 1);
    ck_assert_int_eq(info_long(SP_INFO_API_CODE), 200);
    ck_assert_str_eq(info_str(SP_INFO_MESSAGE), "success");
    ck_assert_uint_eq(info_u64(SP_INFO_BYTES_SENT), 5u << 20);
    ck_assert_uint_eq(info_u64(SP_INFO_BODY_SIZE), 5u << 20);
    ck_assert_uint_eq(info_long(SP_INFO_ATTEMPTS), 1);
    ck_assert_int_eq(info_long(SP_INFO_BODY_SENT), 1);
    ck_assert_int_eq(info_long(SP_INFO_ENGINE), SP_ENGINE_RW);
    ck_assert_double_gt(info_double(SP_INFO_SECONDS), 0.0);
    ck_assert_uint_ge(p.calls, 20); /* one per 256 KiB chunk, plus a tick per idle second */
    ck_assert_int_eq(p.monotonic, 1);
    ck_assert_uint_eq(p.last_sent, 5u << 20);
    ck_assert_uint_eq(p.total, 5u << 20);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "a.bin")), 1);
    size_t len;
    const char *body = sp_response_body(c, &len);
    ck_assert_str_eq(body, "{\"code\":200,\"message\":\"success\",\"data\":null}");
    ck_assert_uint_eq(len, strlen(body));
}
END_TEST

START_TEST(progress_callback_cancels_and_nothing_is_stored)
{
    const char *src = th_path(dir, "big.bin");
    ck_assert_int_eq(th_write_random(src, 8u << 20, 4), 0);
    progress_log p = {.monotonic = 1, .cancel_after = 1u << 20};
    sp_set_chunk_size(c, 64 * 1024);
    sp_set_remote_path(c, "/cancelled.bin");
    sp_set_progress(c, on_progress, &p);
    ck_assert_int_eq(sp_put_file(c, src, url), SP_ECANCELED);
    ck_assert_int_eq(sp_last_error(c), SP_ECANCELED);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "canceled by the progress callback"));
    ck_assert_uint_lt(info_u64(SP_INFO_BYTES_SENT), 8u << 20);
    ck_assert_int_eq(info_long(SP_INFO_BODY_COMPLETE), 0);
    ck_assert_int_eq(info_long(SP_INFO_MAYBE_STORED), 0);
    ck_assert_ptr_null(strstr(sp_errmsg(c), "may have stored"));
    /* The mock must not keep a partial body once the connection is gone. */
    poll(NULL, 0, 300);
    ck_assert(!th_exists(th_path(root, "cancelled.bin")));
}
END_TEST

/*
 * Canceling once the last byte is out cannot take the upload back: the server has the whole
 * body and stores it (here 1.5 s later, as a slow storage would). The result must say so.
 */
START_TEST(cancel_after_the_whole_body_says_it_may_be_stored)
{
    th_mock slow;
    ck_assert_int_eq(th_mock_start(&slow, root, "--fault", "delay-response=1500", NULL), 0);
    char slow_url[192];
    snprintf(slow_url, sizeof slow_url, "%s/api/fs/put", slow.url);
    const char *src = th_path(dir, "done.bin");
    ck_assert_int_eq(th_write_random(src, 1000, 5), 0);
    progress_log p = {.monotonic = 1, .cancel_after = 1000};
    sp_set_remote_path(c, "/done.bin");
    sp_set_progress(c, on_progress, &p);
    ck_assert_int_eq(sp_put_file(c, src, slow_url), SP_ECANCELED);
    ck_assert_uint_eq(info_u64(SP_INFO_BYTES_SENT), 1000);
    ck_assert_int_eq(info_long(SP_INFO_BODY_COMPLETE), 1);
    ck_assert_uint_eq(info_u64(SP_INFO_RESPONSE_BYTES), 0);
    ck_assert_int_eq(info_long(SP_INFO_MAYBE_STORED), 1);
    ck_assert_msg(strstr(sp_errmsg(c), "; the whole body had been sent, so the server may have "
                                       "stored the file") != NULL,
                  "%s", sp_errmsg(c));
    ck_assert(th_journal_wait(&slow, "/done.bin", 10000));
    ck_assert_int_eq(th_files_equal(src, th_path(root, "done.bin")), 1);
    ck_assert_int_eq(th_mock_stop(&slow), 0);
}
END_TEST

/* Answers every request with AList's answer to an unknown route: HTTP 200 and its web page. */
static void web_page(int fd, int nth, void *arg)
{
    (void)nth;
    (void)arg;
    char buf[8192];
    size_t head;
    static const char page[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15"
                               "\r\nConnection: close\r\n\r\n<!DOCTYPE html>";
    if (th_read_head(fd, buf, sizeof buf, &head, 5000) >= 0) {
        poll(NULL, 0, 100); /* let the small body arrive: closing on it would reset */
        th_send_all(fd, page, sizeof page - 1);
    }
}

START_TEST(api_route_without_the_json_envelope_is_a_protocol_error)
{
    th_script s;
    ck_assert_int_eq(th_script_start(&s, web_page, NULL, 2), 0);
    const char *src = th_path(dir, "page.bin");
    ck_assert_int_eq(th_write_random(src, 1000, 6), 0);
    char where[192];
    snprintf(where, sizeof where, "http://127.0.0.1:%d/api/fs/puut", s.port);
    ck_assert_int_eq(sp_put_file(c, src, where), SP_EPROTO);
    ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 200);
    ck_assert_int_eq(info_long(SP_INFO_HAS_API_CODE), 0);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "not AList's JSON envelope"));
    /* The same answer from a path outside /api/ is a plain PUT endpoint's success. */
    snprintf(where, sizeof where, "http://127.0.0.1:%d/upload/page.bin", s.port);
    ck_assert_int_eq(sp_put_file(c, src, where), SP_OK);
    ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 200);
    char out[64];
    th_script_stop(&s, out, sizeof out, 1000);
}
END_TEST

/* Toward this host auto copies with read/send (faster there); sendfile stays one option away. */
START_TEST(auto_sends_with_rw_to_this_host_and_sendfile_when_asked)
{
    const char *src = th_path(dir, "s.bin");
    ck_assert_int_eq(th_write_random(src, 100000, 5), 0);
    sp_set_remote_path(c, "/s.bin");
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_int_eq(info_long(SP_INFO_ENGINE), SP_ENGINE_RW);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "s.bin")), 1);
    sp_set_engine(c, SP_ENGINE_SENDFILE);
    sp_set_remote_path(c, "/s2.bin");
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_int_eq(info_long(SP_INFO_ENGINE), SP_ENGINE_SENDFILE);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "s2.bin")), 1);
}
END_TEST

typedef struct debug_log {
    char text[8192];
    size_t len;
} debug_log;

static void on_debug(void *ud, sp_debug_kind kind, const char *text, size_t len)
{
    debug_log *d = ud;
    static const char marks[] = "*><";
    d->len += (size_t)snprintf(d->text + d->len, sizeof d->text - d->len, "%c %.*s\n", marks[kind],
                               (int)len, text);
    if (d->len >= sizeof d->text)
        d->len = sizeof d->text - 1;
}

START_TEST(debug_callback_sees_request_and_response_heads)
{
    const char *src = th_path(dir, "d.bin");
    ck_assert_int_eq(th_write_random(src, 10, 6), 0);
    debug_log d = {.len = 0};
    sp_set_debug(c, on_debug, &d);
    sp_set_remote_path(c, "/dir with space/d.bin");
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_ptr_nonnull(strstr(d.text, "> PUT /api/fs/put HTTP/1.1\n"));
    ck_assert_ptr_nonnull(strstr(d.text, "> Content-Length: 10\n"));
    ck_assert_ptr_nonnull(strstr(d.text, "> File-Path: /dir%20with%20space/d.bin\n"));
    ck_assert_ptr_nonnull(strstr(d.text, "< HTTP/1.1 200 OK\n"));
    ck_assert_ptr_nonnull(strstr(d.text, "* Connected to 127.0.0.1:"));
    ck_assert_int_eq(th_files_equal(src, th_path(root, "dir with space/d.bin")), 1);
}
END_TEST

START_TEST(put_fd_starts_at_the_fd_offset)
{
    const char *src = th_path(dir, "off.bin");
    ck_assert_int_eq(th_write_pattern(src, "0123456789", 10, 1000), 0);
    int fd = open(src, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(lseek(fd, 995, SEEK_SET), 995);
    sp_set_remote_path(c, "/tail.bin");
    ck_assert_int_eq(sp_put_fd(c, fd, url), SP_OK);
    ck_assert_uint_eq(info_u64(SP_INFO_BODY_SIZE), 5);
    close(fd);
    char got[16] = {0};
    fd = open(th_path(root, "tail.bin"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, got, sizeof got), 5);
    close(fd);
    ck_assert_str_eq(got, "56789");
}
END_TEST

START_TEST(put_stream_sends_chunked_or_the_declared_size)
{
    const char *src = th_path(dir, "p.bin");
    ck_assert_int_eq(th_write_random(src, 300000, 8), 0);
    for (int declared = 0; declared < 2; declared++) {
        int fd = open(src, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        sp_set_remote_path(c, declared ? "/declared.bin" : "/chunked.bin");
        sp_set_size(c, declared ? 300000 : UINT64_MAX);
        ck_assert_msg(sp_put_stream(c, fd, url) == SP_OK, "%s", sp_errmsg(c));
        ck_assert_uint_eq(info_u64(SP_INFO_BODY_SIZE), declared ? 300000 : UINT64_MAX);
        ck_assert_int_eq(info_long(SP_INFO_ENGINE), SP_ENGINE_RW);
        close(fd);
        ck_assert_int_eq(
            th_files_equal(src, th_path(root, declared ? "declared.bin" : "chunked.bin")), 1);
    }
}
END_TEST

START_TEST(stream_shorter_than_declared_is_a_file_error)
{
    const char *src = th_path(dir, "short.bin");
    ck_assert_int_eq(th_write_random(src, 1000, 9), 0);
    int fd = open(src, O_RDONLY);
    sp_set_size(c, 5000);
    sp_set_remote_path(c, "/short.bin");
    ck_assert_int_eq(sp_put_stream(c, fd, url), SP_EFILE);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "input ended after 1000 of 5000 bytes"));
    close(fd);
    poll(NULL, 0, 300);
    ck_assert(!th_exists(th_path(root, "short.bin")));
}
END_TEST

START_TEST(stream_longer_than_declared_stores_nothing)
{
    const char *src = th_path(dir, "long.bin");
    ck_assert_int_eq(th_write_random(src, 5000, 9), 0);
    int fd = open(src, O_RDONLY);
    sp_set_size(c, 1000);
    sp_set_remote_path(c, "/long.bin");
    ck_assert_int_eq(sp_put_stream(c, fd, url), SP_EFILE);
    ck_assert_msg(strstr(sp_errmsg(c), "input is longer than the declared 1000 bytes") != NULL,
                  "%s", sp_errmsg(c));
    ck_assert_uint_lt(info_u64(SP_INFO_BYTES_SENT), 1000); /* the last piece was held back */
    close(fd);
    poll(NULL, 0, 300);
    ck_assert(!th_exists(th_path(root, "long.bin")));

    /* Exactly the declared length is fine, even when the input ends on a piece boundary. */
    ck_assert_int_eq(th_write_random(src, 1000, 9), 0);
    fd = open(src, O_RDONLY);
    sp_set_chunk_size(c, 500);
    ck_assert_msg(sp_put_stream(c, fd, url) == SP_OK, "%s", sp_errmsg(c));
    close(fd);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "long.bin")), 1);
}
END_TEST

START_TEST(size_that_contradicts_a_regular_file_is_refused)
{
    const char *src = th_path(dir, "f.bin");
    ck_assert_int_eq(th_write_random(src, 5000, 9), 0);
    sp_set_size(c, 1000);
    sp_set_remote_path(c, "/f.bin");
    ck_assert_int_eq(sp_put_file(c, src, url), SP_EINVAL);
    ck_assert_msg(strstr(sp_errmsg(c), "does not match the file's 5000 bytes") != NULL, "%s",
                  sp_errmsg(c));
    sp_set_size(c, 5000);
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
}
END_TEST

START_TEST(system_errno_is_kept_for_the_caller)
{
    th_mock gone;
    ck_assert_int_eq(th_mock_start(&gone, root, NULL), 0);
    char dead[192];
    snprintf(dead, sizeof dead, "%s/api/fs/put", gone.url);
    th_mock_stop(&gone);
    const char *src = th_path(dir, "e.bin");
    ck_assert_int_eq(th_write_random(src, 10, 10), 0);
    ck_assert_int_eq(sp_put_file(c, src, dead), SP_ECONNECT);
    ck_assert_int_eq(sp_errno(c), ECONNREFUSED);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "connect 127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "Connection refused"));
    ck_assert_int_eq(sp_put_file(c, th_path(dir, "nope"), url), SP_EFILE);
    ck_assert_int_eq(sp_errno(c), ENOENT);
}
END_TEST

START_TEST(limit_rate_holds_the_average_down)
{
    /* A lower bound only: 1 MiB at 4 MiB/s cannot finish in under about 0.25 s. */
    const char *src = th_path(dir, "r.bin");
    ck_assert_int_eq(th_write_random(src, 1u << 20, 11), 0);
    sp_set_limit_rate(c, 4u << 20);
    sp_set_remote_path(c, "/r.bin");
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_double_ge(info_double(SP_INFO_SECONDS), 0.2);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "r.bin")), 1);
}
END_TEST

START_TEST(verbose_output_redacts_the_token)
{
    th_mock authed;
    ck_assert_int_eq(th_mock_start(&authed, root, "--token", "s3cr3t-token", NULL), 0);
    const char *src = th_path(dir, "v.bin");
    ck_assert_int_eq(th_write_random(src, 10, 12), 0);
    char u[192];
    snprintf(u, sizeof u, "%s/api/fs/put", authed.url);
    th_run r;
    th_client(&r, "-v", "--no-progress", "-t", "s3cr3t-token", src, u, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "> Authorization: <redacted>"));
    ck_assert_ptr_null(strstr(r.err, "s3cr3t-token"));
    ck_assert_ptr_nonnull(strstr(r.err, "< HTTP/1.1 200 OK"));
    ck_assert_int_eq(th_mock_stop(&authed), 0);
}
END_TEST

START_TEST(token_comes_from_the_environment)
{
    th_mock authed;
    ck_assert_int_eq(th_mock_start(&authed, root, "--token", "env-token", NULL), 0);
    const char *src = th_path(dir, "env.bin");
    ck_assert_int_eq(th_write_random(src, 10, 13), 0);
    char u[192];
    snprintf(u, sizeof u, "%s/api/fs/put", authed.url);
    setenv("STREAMPUT_TOKEN", "env-token", 1);
    th_run r;
    th_client(&r, "-s", src, u, NULL);
    unsetenv("STREAMPUT_TOKEN");
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    th_client(&r, "-s", src, u, NULL);
    ck_assert_int_eq(r.status, 7); /* without it: Guest user is disabled */
    ck_assert_int_eq(th_mock_stop(&authed), 0);
}
END_TEST

START_TEST(hash_headers_carry_the_file_digests)
{
    const char *src = th_path(dir, "abc.txt");
    ck_assert_int_eq(th_write_pattern(src, "abc", 3, 3), 0);
    debug_log d = {.len = 0};
    sp_set_debug(c, on_debug, &d);
    sp_set_hashes(c, SP_HASH_MD5 | SP_HASH_SHA1 | SP_HASH_SHA256);
    sp_set_remote_path(c, "/abc.txt");
    ck_assert_msg(sp_put_file(c, src, url) == SP_OK, "%s", sp_errmsg(c));
    ck_assert_ptr_nonnull(strstr(d.text, "> X-File-Md5: 900150983cd24fb0d6963f7d28e17f72\n"));
    ck_assert_ptr_nonnull(
        strstr(d.text, "> X-File-Sha1: a9993e364706816aba3e25717850c26c9cd0d89d\n"));
    ck_assert_ptr_nonnull(strstr(
        d.text,
        "> X-File-Sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"));
    int fd = open(src, O_RDONLY);
    ck_assert_int_eq(sp_put_stream(c, fd, url), SP_EINVAL); /* a stream can't be hashed */
    close(fd);
}
END_TEST

/*
 * Every call replaces the handle's record of the last one, however early it fails: a bad fd, a
 * directory or a missing file must not leave the previous upload's status, message, byte counts
 * or response body readable as if they were this call's.
 */
START_TEST(a_failing_call_leaves_nothing_of_the_previous_result)
{
    ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 0); /* before any call */
    ck_assert_uint_eq(info_u64(SP_INFO_BODY_SIZE), UINT64_MAX);
    ck_assert_str_eq(info_str(SP_INFO_MESSAGE), "");
    const char *src = th_path(dir, "ok.bin");
    ck_assert_int_eq(th_write_random(src, 1000, 14), 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(dfd, 0);
    for (int how = 0; how < 4; how++) {
        sp_set_remote_path(c, "/ok.bin");
        ck_assert_msg(sp_put_file(c, src, url) == SP_OK, "%s", sp_errmsg(c));
        ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 200);
        int rc, want_errno;
        if (how == 0)
            rc = sp_put_fd(c, -1, url), want_errno = EBADF; /* fstat fails */
        else if (how == 1)
            rc = sp_put_fd(c, dfd, url), want_errno = EISDIR;
        else if (how == 2)
            rc = sp_put_file(c, th_path(dir, "missing"), url), want_errno = ENOENT;
        else
            rc = sp_put_file(c, dir, url), want_errno = EISDIR;
        ck_assert_int_eq(rc, SP_EFILE);
        ck_assert_int_eq(sp_last_error(c), SP_EFILE);
        ck_assert_int_eq(sp_errno(c), want_errno);
        ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 0);
        ck_assert_int_eq(info_long(SP_INFO_HAS_API_CODE), 0);
        ck_assert_int_eq(info_long(SP_INFO_API_CODE), 0);
        ck_assert_str_eq(info_str(SP_INFO_MESSAGE), "");
        ck_assert_uint_eq(info_u64(SP_INFO_BYTES_SENT), 0);
        ck_assert_uint_eq(info_u64(SP_INFO_BODY_SIZE), UINT64_MAX);
        ck_assert_int_eq(info_long(SP_INFO_ATTEMPTS), 0);
        ck_assert_int_eq(info_long(SP_INFO_BODY_SENT), 0);
        ck_assert_int_eq(info_long(SP_INFO_BODY_COMPLETE), 0);
        ck_assert_double_lt(info_double(SP_INFO_SECONDS), 5.0);
        size_t len = 99;
        sp_response_body(c, &len);
        ck_assert_uint_eq(len, 0);
    }
    close(dfd);
}
END_TEST

START_TEST(getinfo_refuses_an_unknown_item_or_a_null_out)
{
    long v = 7;
    ck_assert_int_eq(sp_getinfo(c, (sp_info)(SP_INFO_LONG + 999), &v), SP_EINVAL);
    ck_assert_int_eq(sp_getinfo(c, (sp_info)0, &v), SP_EINVAL);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_HTTP_STATUS, NULL), SP_EINVAL);
    ck_assert_int_eq(sp_getinfo(NULL, SP_INFO_HTTP_STATUS, &v), SP_EINVAL);
}
END_TEST

/* sp_set_remote_path() takes plain text: the library encodes it, once, so '%' is data too. */
START_TEST(remote_path_is_percent_encoded_exactly_once)
{
    const char *src = th_path(dir, "pct.bin");
    ck_assert_int_eq(th_write_random(src, 10, 15), 0);
    debug_log d = {.len = 0};
    sp_set_debug(c, on_debug, &d);
    sp_set_remote_path(c, "/50% off/a b%20c.bin");
    ck_assert_msg(sp_put_file(c, src, url) == SP_OK, "%s", sp_errmsg(c));
    ck_assert_msg(strstr(d.text, "> File-Path: /50%25%20off/a%20b%2520c.bin\n") != NULL, "%s",
                  d.text);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "50% off/a b%20c.bin")), 1);
}
END_TEST

/* Each setter returns what its comment in streamput.h promises, and a refusal changes nothing. */
START_TEST(setters_refuse_what_their_contracts_exclude)
{
    static int (*const ms_setters[])(sp_client *, uint64_t) = {
        sp_set_connect_timeout_ms, sp_set_timeout_ms,        sp_set_stall_timeout_ms,
        sp_set_answer_timeout_ms,  sp_set_expect_timeout_ms, sp_set_retry_delay_ms,
    };
    ck_assert_int_eq(sp_set_chunk_size(c, 0), SP_EINVAL);
    ck_assert_int_eq(sp_set_chunk_size(c, (1u << 30) + 1), SP_EINVAL);
    ck_assert_int_eq(sp_set_chunk_size(c, 1u << 30), SP_OK);
    ck_assert_int_eq(sp_set_chunk_size(c, 64 * 1024), SP_OK);
    ck_assert_int_eq(sp_set_engine(c, (sp_engine)7), SP_EINVAL);
    ck_assert_int_eq(sp_set_hashes(c, 1u << 5), SP_EINVAL);
    ck_assert_int_eq(sp_set_token(c, "a\nb"), SP_EINVAL);
    ck_assert_int_eq(sp_set_content_type(c, "text/plain\r"), SP_EINVAL);
    ck_assert_int_eq(sp_add_header(c, NULL), SP_EHEADER);
    ck_assert_int_eq(sp_add_header(c, "no colon"), SP_EHEADER);
    ck_assert_int_eq(sp_add_header(c, "X-A: b\r\nX-B: c"), SP_EHEADER);
    for (size_t i = 0; i < sizeof ms_setters / sizeof ms_setters[0]; i++) {
        ck_assert_int_eq(ms_setters[i](c, UINT64_MAX), SP_EINVAL);
        ck_assert_int_eq(sp_last_error(c), SP_EINVAL);
        ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "at most 10^15"));
        ck_assert_int_eq(ms_setters[i](c, 1000000000000000ull), SP_OK);
    }
    /* The refused values left the defaults, and a too-long --timeout did not wrap to a deadline
     * in the past: the upload goes through. */
    ck_assert_int_eq(sp_set_timeout_ms(c, UINT64_MAX), SP_EINVAL);
    ck_assert_int_eq(sp_set_stall_timeout_ms(c, 60000), SP_OK);
    ck_assert_int_eq(sp_set_connect_timeout_ms(c, 10000), SP_OK);
    ck_assert_int_eq(sp_set_expect_timeout_ms(c, 1000), SP_OK);
    ck_assert_int_eq(sp_set_answer_timeout_ms(c, 0), SP_OK);
    const char *src = th_path(dir, "set.bin");
    ck_assert_int_eq(th_write_random(src, 2000, 16), 0);
    sp_set_remote_path(c, "/set.bin");
    ck_assert_msg(sp_put_file(c, src, url) == SP_OK, "%s", sp_errmsg(c));
    ck_assert_int_eq(th_files_equal(src, th_path(root, "set.bin")), 1);
    /* A failing setter reports itself but leaves the upload's result alone. */
    ck_assert_int_eq(sp_set_chunk_size(c, 0), SP_EINVAL);
    ck_assert_int_eq(sp_last_error(c), SP_EINVAL);
    ck_assert_int_eq(info_long(SP_INFO_HTTP_STATUS), 200);
    ck_assert_uint_eq(info_u64(SP_INFO_BYTES_SENT), 2000);
}
END_TEST

/* A writer that rewrites the first 4 KiB of a file in place after a pause, as an editor or a
 * log rotation might while the file is being uploaded. */
typedef struct rewriter {
    const char *path;
    int after_ms;
} rewriter;

static void *rewrite_later(void *arg)
{
    const rewriter *w = arg;
    char junk[4096];
    memset(junk, 0xa5, sizeof junk);
    th_sleep_ms(w->after_ms);
    int fd = open(w->path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (pwrite(fd, junk, sizeof junk, 0) != (ssize_t)sizeof junk)
            fprintf(stderr, "rewrite %s: %s\n", w->path, strerror(errno));
        close(fd);
    }
    return NULL;
}

/*
 * Uploads src (size bytes, rewritten in place after_ms into the upload) as remote; the upload
 * must fail as a file error that says why, and the mock must store nothing, not even a temp
 * file: the last byte was held back.
 */
static void assert_rewrite_refused(const char *src, uint64_t size, int after_ms, const char *remote,
                                   const char *also)
{
    ck_assert_int_eq(th_write_random(src, size, 77), 0);
    rewriter w = {src, after_ms};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, rewrite_later, &w), 0);
    sp_set_remote_path(c, remote);
    int rc = sp_put_file(c, src, url);
    pthread_join(th, NULL);
    ck_assert_msg(rc == SP_EFILE, "%s: %s", sp_err_name(rc), sp_errmsg(c));
    ck_assert_msg(strstr(sp_errmsg(c), "changed while it was being sent") != NULL, "%s",
                  sp_errmsg(c));
    ck_assert_msg(also == NULL || strstr(sp_errmsg(c), also) != NULL, "%s", sp_errmsg(c));
    ck_assert_int_eq(th_wait_temps(root, 0, 10000), 0);
    ck_assert_int_eq(th_exists(th_path(root, remote + 1)), 0);
}

START_TEST(a_file_rewritten_while_it_is_sent_fails_and_nothing_is_stored)
{
    char src[4200];
    snprintf(src, sizeof src, "%s", th_path(dir, "changing.bin"));
    sp_set_limit_rate(c, 1024 * 1024);
    sp_set_multipart(c, SP_MULTIPART_NEVER);
    sp_set_engine(c, SP_ENGINE_RW);
    assert_rewrite_refused(src, 2 * 1024 * 1024, 400, "/rw.bin", NULL);
    sp_set_engine(c, SP_ENGINE_SENDFILE);
    assert_rewrite_refused(src, 2 * 1024 * 1024, 400, "/sendfile.bin", NULL);
    /* In chunks, the chunks already sent are of the old file: the session is aborted, so that a
     * rerun starts anew instead of resuming into a mix. */
    sp_set_engine(c, SP_ENGINE_AUTO);
    sp_set_multipart(c, SP_MULTIPART_ALWAYS);
    sp_set_multipart_chunk_size(c, 1024 * 1024);
    sp_set_parallel_chunks(c, 1);
    assert_rewrite_refused(src, 3 * 1024 * 1024, 1400, "/chunks.bin", "aborted");
    /* Left alone, the same file goes up whole, in chunks as in one PUT. */
    sp_set_limit_rate(c, 0);
    sp_set_remote_path(c, "/chunks.bin");
    ck_assert_msg(sp_put_file(c, src, url) == SP_OK, "%s", sp_errmsg(c));
    ck_assert_int_eq(th_files_equal(src, th_path(root, "chunks.bin")), 1);
    long skipped = -1;
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_CHUNKS_SKIPPED, &skipped), SP_OK);
    ck_assert_int_eq(skipped, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_api");
    TCase *t = tcase_create("api");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, result_and_progress_describe_the_transfer);
    tcase_add_test(t, progress_callback_cancels_and_nothing_is_stored);
    tcase_add_test(t, cancel_after_the_whole_body_says_it_may_be_stored);
    tcase_add_test(t, api_route_without_the_json_envelope_is_a_protocol_error);
    tcase_add_test(t, auto_sends_with_rw_to_this_host_and_sendfile_when_asked);
    tcase_add_test(t, debug_callback_sees_request_and_response_heads);
    tcase_add_test(t, put_fd_starts_at_the_fd_offset);
    tcase_add_test(t, put_stream_sends_chunked_or_the_declared_size);
    tcase_add_test(t, stream_shorter_than_declared_is_a_file_error);
    tcase_add_test(t, stream_longer_than_declared_stores_nothing);
    tcase_add_test(t, size_that_contradicts_a_regular_file_is_refused);
    tcase_add_test(t, system_errno_is_kept_for_the_caller);
    tcase_add_test(t, limit_rate_holds_the_average_down);
    tcase_add_test(t, a_file_rewritten_while_it_is_sent_fails_and_nothing_is_stored);
    tcase_add_test(t, verbose_output_redacts_the_token);
    tcase_add_test(t, token_comes_from_the_environment);
    tcase_add_test(t, hash_headers_carry_the_file_digests);
    tcase_add_test(t, a_failing_call_leaves_nothing_of_the_previous_result);
    tcase_add_test(t, getinfo_refuses_an_unknown_item_or_a_null_out);
    tcase_add_test(t, remote_path_is_percent_encoded_exactly_once);
    tcase_add_test(t, setters_refuse_what_their_contracts_exclude);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
