/*
 * streamput-mock, diagnostics: the request journal (GET/DELETE /_mock/requests), the access log
 * in both formats, and the multipart diagnosis with its warning and --strict.
 */
#include "th.h"

#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static th_env env;
static th_mock mock;
static char log_buf[65536];

static void setup(void)
{
    log_buf[0] = '\0';
    th_env_up(&env, &mock, NULL, NULL);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

static cJSON *field(cJSON *e, const char *k)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    ck_assert_msg(v != NULL, "journal entry has no '%s'", k);
    return v;
}

static const char *str(cJSON *e, const char *k)
{
    cJSON *v = field(e, k);
    ck_assert_msg(cJSON_IsString(v), "'%s' is not a string", k);
    return v->valuestring;
}

static double num(cJSON *e, const char *k)
{
    cJSON *v = field(e, k);
    ck_assert_msg(cJSON_IsNumber(v), "'%s' is not a number", k);
    return v->valuedouble;
}

START_TEST(journal_records_what_the_client_sent_and_got)
{
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/j/a%20b.txt",
                               "Content-Type: text/plain\r\nX-File-Md5: abc\r\n", "hello", &r),
                     200);
    ck_assert_int_eq(
        th_put(mock.port, "/api/fs/put", "File-Path: /j/c.bin\r\n", "chunky", 6, 4, &r), 200);
    ck_assert_int_eq(th_upload(mock.port, "/%zz", "", "x", &r), 200);
    cJSON *a = th_journal(mock.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);

    cJSON *e = cJSON_GetArrayItem(a, 0);
    /* Every field the journal documents, in this order. */
    static const char *const keys[] = {"method",       "path",           "connection",
                                       "file_path",    "content_length", "transfer_encoding",
                                       "content_type", "bytes_received", "multipart_suspected",
                                       "code",         "message",        "duration_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        field(e, keys[i]);
    ck_assert_str_eq(str(e, "method"), "PUT");
    ck_assert_str_eq(str(e, "path"), "/api/fs/put");
    ck_assert_str_eq(str(e, "file_path"), "/j/a%20b.txt");
    ck_assert_str_eq(str(e, "stored_path"), "/j/a b.txt");
    ck_assert(num(e, "content_length") == 5);
    ck_assert(cJSON_IsNull(field(e, "transfer_encoding")));
    ck_assert_str_eq(str(e, "content_type"), "text/plain");
    ck_assert_str_eq(str(e, "x_file_md5"), "abc");
    ck_assert(num(e, "bytes_received") == 5);
    ck_assert(cJSON_IsFalse(field(e, "multipart_suspected")));
    ck_assert(num(e, "http_status") == 200);
    ck_assert(num(e, "code") == 200);
    ck_assert_str_eq(str(e, "message"), "success");
    ck_assert(cJSON_IsTrue(field(e, "stored")));
    ck_assert(num(e, "duration_ms") >= 0);

    e = cJSON_GetArrayItem(a, 1);
    ck_assert(cJSON_IsNull(field(e, "content_length")));
    ck_assert_str_eq(str(e, "transfer_encoding"), "chunked");
    ck_assert(num(e, "bytes_received") == 6);

    e = cJSON_GetArrayItem(a, 2);
    ck_assert(num(e, "code") == 400);
    ck_assert_str_eq(str(e, "message"), "invalid URL escape \"%zz\"");
    ck_assert(cJSON_IsFalse(field(e, "stored")));
    cJSON_Delete(a);
}
END_TEST

START_TEST(journal_is_a_ring_oldest_first_and_can_be_cleared)
{
    static th_resp r;
    th_mock small;
    ck_assert_int_eq(th_mock_start(&small, env.root, "--journal", "3", NULL), 0);
    for (int i = 1; i <= 5; i++) {
        char fp[16];
        snprintf(fp, sizeof fp, "/r%d", i);
        ck_assert_int_eq(th_upload(small.port, fp, "", "x", &r), 200);
    }
    cJSON *a = th_journal(small.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "file_path"), "/r3");
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 2), "file_path"), "/r5");
    cJSON_Delete(a);
    /* Reading the journal is not journaled. */
    a = th_journal(small.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);
    cJSON_Delete(a);

    static const char del[] =
        "DELETE /_mock/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(th_raw(small.port, del, sizeof del - 1, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    a = th_journal(small.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 0);
    cJSON_Delete(a);
    ck_assert_int_eq(th_upload(small.port, "/after", "", "x", &r), 200);
    ck_assert_str_eq(th_journal_last(small.port, "file_path"), "/after");
    ck_assert_int_eq(th_mock_stop(&small), 0);
}
END_TEST

START_TEST(journal_explains_an_aborted_upload)
{
    int fd = th_connect(mock.port);
    static const char head[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /gone.bin\r\n"
                               "Content-Length: 100000\r\n\r\n0123456789";
    ck_assert_int_eq(th_send_all(fd, head, sizeof head - 1), 0);
    th_sleep_ms(200);
    close(fd);
    /* The entry appears once the mock notices the close. */
    const char *msg = "";
    for (int i = 0; i < 100; i++) {
        msg = th_journal_last(mock.port, "message");
        if (strstr(msg, "client closed") != NULL)
            break;
        th_sleep_ms(50);
    }
    ck_assert_str_eq(msg, "client closed the connection after 10 body bytes; nothing stored");
    ck_assert_str_eq(th_journal_last(mock.port, "code"), "(null)");
    ck_assert_str_eq(th_journal_last(mock.port, "stored"), "false");
}
END_TEST

START_TEST(text_access_log_has_one_line_per_request)
{
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/log.txt", "", "x", &r), 200);
    ck_assert(th_mock_log_wait(&mock,
                               "PUT /api/fs/put file_path=\"/log.txt\" bytes=1 status=200 "
                               "code=200",
                               log_buf, sizeof log_buf, 5000));
    /* The mock's first connection. */
    ck_assert_ptr_nonnull(strstr(log_buf, " conn=1 ms="));
}
END_TEST

START_TEST(a_decoded_newline_cannot_forge_a_log_line)
{
    static th_resp r;
    /* The multipart warning names the decoded path, newline and all. */
    ck_assert_int_eq(th_upload(mock.port, "/a%0Afake%20line.txt",
                               "Content-Type: multipart/form-data; boundary=b\r\n", "x", &r),
                     200);
    ck_assert(th_mock_log_wait(&mock, "multipart framing", log_buf, sizeof log_buf, 5000));
    ck_assert_ptr_nonnull(strstr(log_buf, "File-Path /a\\x0afake line.txt: "));
    ck_assert_ptr_null(strstr(log_buf, "\nfake line"));
    /* The stored name does hold the newline; only the log is flattened. */
    ck_assert(th_exists(th_path(env.root, "a\nfake line.txt")));
}
END_TEST

/*
 * Uploads to File-Path fp on a mock started with --log-format json and returns its access-log
 * line, into buf (cap bytes, the newline cut off), parsed (caller deletes).
 */
static cJSON *json_log_line(const char *fp, char *buf, size_t cap)
{
    static th_resp r;
    th_mock js;
    buf[0] = '\0';
    ck_assert_int_eq(th_mock_start(&js, env.root, "--log-format", "json", NULL), 0);
    ck_assert_int_eq(th_upload(js.port, fp, "", "x", &r), 200);
    ck_assert(th_mock_log_wait(&js, "\n", buf, cap, 5000));
    *strchr(buf, '\n') = '\0';
    ck_assert_int_eq(th_mock_stop(&js), 0);
    cJSON *e = cJSON_Parse(buf);
    ck_assert_msg(e != NULL, "not JSON: %s", buf);
    return e;
}

START_TEST(json_access_log_lines_parse)
{
    char buf[16384];
    cJSON *e = json_log_line("/log.json", buf, sizeof buf);
    ck_assert_str_eq(str(e, "method"), "PUT");
    ck_assert_str_eq(str(e, "file_path"), "/log.json");
    ck_assert(num(e, "code") == 200);
    ck_assert(num(e, "connection") == 1);
    cJSON_Delete(e);
}
END_TEST

/* PUTs body "x" to File-Path fp over fd, as HTTP/1.1 unless ver says otherwise, extra headers
 * given; returns the HTTP status. */
static int put_on(int fd, const char *ver, const char *fp, const char *extra)
{
    static th_resp r;
    char req[512];
    int n =
        snprintf(req, sizeof req,
                 "PUT /api/fs/put %s\r\nHost: x\r\nFile-Path: %s\r\n%sContent-Length: 1\r\n\r\nx",
                 ver, fp, extra);
    ck_assert_int_eq(th_send_all(fd, req, (size_t)n), 0);
    return th_recv_resp(fd, &r, 10000);
}

/*
 * Each entry names the connection that carried it, numbered in accept order from 1: requests
 * on one kept-alive connection share a number, and a connection the server closes after one
 * request (HTTP/1.0, Connection: close) is never seen again.
 */
START_TEST(entries_name_their_connection_in_accept_order)
{
    static const char *const fps[] = {"/k1", "/k2", "/k3", "/c1", "/c2", "/h1", "/h2"};
    int fd = th_connect(mock.port);
    ck_assert_int_eq(put_on(fd, "HTTP/1.1", fps[0], ""), 200);
    ck_assert_int_eq(put_on(fd, "HTTP/1.1", fps[1], ""), 200);
    int fd2 = th_connect(mock.port);
    ck_assert_int_eq(put_on(fd2, "HTTP/1.1", fps[2], ""), 200);
    close(fd2);
    close(fd);
    /* Each of these is answered and then closed by the mock: th_recv_resp reads to the end. */
    for (int i = 3; i < 7; i++) {
        fd = th_connect(mock.port);
        ck_assert_int_eq(put_on(fd, i < 5 ? "HTTP/1.1" : "HTTP/1.0", fps[i],
                                i < 5 ? "Connection: close\r\n" : ""),
                         200);
        char more;
        ck_assert_int_eq(recv(fd, &more, 1, 0), 0);
        close(fd);
    }
    static const int want[] = {1, 1, 2, 3, 4, 5, 6};
    cJSON *a = th_journal(mock.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 7);
    for (int i = 0; i < 7; i++) {
        cJSON *e = cJSON_GetArrayItem(a, i);
        ck_assert_str_eq(str(e, "file_path"), fps[i]);
        ck_assert_msg(th_journal_conn(e) == want[i], "%s: connection %d, want %d", fps[i],
                      th_journal_conn(e), want[i]);
    }
    ck_assert_int_eq(th_journal_conns(a, 0, NULL), 6);
    ck_assert_int_eq(th_journal_conns(a, 1, NULL), 6);
    ck_assert_int_eq(th_journal_conns(a, 2, NULL), 5);
    cJSON_Delete(a);
    /* The listing took connection 7 and the DELETE 8, unjournaled; the count goes on after it. */
    static th_resp r;
    static const char del[] =
        "DELETE /_mock/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(th_raw(mock.port, del, sizeof del - 1, &r), 200);
    ck_assert_int_eq(th_upload(mock.port, "/after", "", "x", &r), 200);
    ck_assert_str_eq(th_journal_last(mock.port, "connection"), "9");
}
END_TEST

/* A multipart/form-data body as a browser would build it. */
static const char multipart_body[] =
    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "payload\r\n"
    "--------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n";

START_TEST(multipart_body_is_diagnosed_and_stored_as_sent)
{
    static th_resp r;
    /* Sent chunked 3 bytes at a time: the diagnosis must not need the first piece to be whole. */
    ck_assert_int_eq(th_put(mock.port, "/api/fs/put",
                            "File-Path: /mp.txt\r\nContent-Type: application/octet-stream\r\n",
                            multipart_body, sizeof multipart_body - 1, 3, &r),
                     200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(th_journal_last(mock.port, "multipart_suspected"), "true");
    ck_assert(th_mock_log_wait(&mock, "the multipart framing will be stored as part of the file",
                               log_buf, sizeof log_buf, 5000));
    /* Stored as sent, framing and all: that is what the warning is about. */
    FILE *f = fopen(th_path(env.root, "mp.txt"), "rb");
    ck_assert_ptr_nonnull(f);
    char got[512];
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    ck_assert_uint_eq(n, sizeof multipart_body - 1);

    /* A multipart Content-Type alone is enough. */
    ck_assert_int_eq(th_upload(mock.port, "/mp2.txt",
                               "Content-Type: multipart/form-data; boundary=x\r\n", "raw bytes",
                               &r),
                     200);
    ck_assert_str_eq(th_journal_last(mock.port, "multipart_suspected"), "true");
}
END_TEST

/* Negative controls: bodies that merely start with dashes are not multipart. */
static const char *const not_multipart[] = {
    "--just dashes\r\nhello\r\n",
    "--boundary\r\nContent-Type: text/plain\r\n\r\n",
    "-- \r\n",
    "plain text",
    "--",
};

START_TEST(plain_bodies_are_not_suspected)
{
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/plain.txt", "", not_multipart[_i], &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(th_journal_last(mock.port, "multipart_suspected"), "false");
}
END_TEST

START_TEST(strict_refuses_multipart_and_stores_nothing)
{
    static th_resp r;
    th_mock st;
    ck_assert_int_eq(th_mock_start(&st, env.root, "--strict", NULL), 0);
    ck_assert_int_eq(th_put(st.port, "/api/fs/put", "File-Path: /s.txt\r\n", multipart_body,
                            sizeof multipart_body - 1, 0, &r),
                     200);
    ck_assert_msg(
        strncmp(r.body, "{\"code\":400,\"message\":\"multipart body on /api/fs/put", 51) == 0, "%s",
        r.body);
    ck_assert(!th_exists(th_path(env.root, "s.txt")));
    ck_assert_int_eq(th_upload(st.port, "/s2.txt", "Content-Type: multipart/mixed\r\n", "x", &r),
                     200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
    ck_assert(!th_exists(th_path(env.root, "s2.txt")));
    /* Control: --strict lets a plain body through. */
    ck_assert_int_eq(th_upload(st.port, "/s3.txt", "", "--just dashes\r\n", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(th_mock_stop(&st), 0);
}
END_TEST

/* ---- bounded memory, capped values, streamed listings ---- */

/* The headers the journal records as sent besides File-Path, Content-Type first. */
static const char *const recorded_headers[] = {
    "Content-Type", "X-File-Md5", "X-File-Sha1",  "X-File-Sha256",
    "Overwrite",    "As-Task",    "X-Mock-Fault", "Last-Modified",
};
#define NRECORDED (sizeof recorded_headers / sizeof recorded_headers[0])

/* Under AddressSanitizer the mocks run without a quarantine (th_asan_no_quarantine). */
#define HWM_FACTOR TH_HWM_FACTOR

/*
 * PUTs the body "x" to File-Path fp with every recorded header set to len bytes of fill, over
 * its own connection, and reads the answer. Returns the HTTP status or -1.
 */
static int put_wide(int port, const char *fp, size_t len, char fill)
{
    size_t cap = 256 + strlen(fp) + NRECORDED * (len + 32);
    char *req = malloc(cap);
    ck_assert_ptr_nonnull(req);
    size_t n = (size_t)snprintf(req, cap,
                                "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                "File-Path: %s\r\nContent-Length: 1\r\n",
                                fp);
    for (size_t i = 0; i < NRECORDED; i++) {
        n += (size_t)snprintf(req + n, cap - n, "%s: ", recorded_headers[i]);
        memset(req + n, fill, len);
        n += len;
        memcpy(req + n, "\r\n", 2);
        n += 2;
    }
    memcpy(req + n, "\r\nx", 3);
    n += 3;
    static th_resp r;
    int st = th_raw(port, req, n, &r);
    free(req);
    return st;
}

/* put_wide() to File-Paths prefix0000, prefix0001 ... (n of them), draining the log as it goes. */
static void put_wide_n(th_mock *m, const char *prefix, int n, size_t len, char fill)
{
    for (int i = 0; i < n; i++) {
        char fp[64];
        snprintf(fp, sizeof fp, "%s%04d", prefix, i);
        ck_assert_int_ne(put_wide(m->port, fp, len, fill), -1);
        th_mock_drain_log(m);
    }
}

START_TEST(a_long_value_is_cut_on_a_utf8_boundary_and_marked)
{
    static th_resp r;
    /* 1023 ASCII bytes, then two-byte characters: byte 1024 is the middle of one. */
    static char md5[1023 + 2 * 100 + 1], hdr[sizeof md5 + 64];
    memset(md5, 'm', 1023);
    for (size_t i = 1023; i + 2 < sizeof md5; i += 2)
        memcpy(md5 + i, "\xc3\xa9", 2);
    snprintf(hdr, sizeof hdr, "X-File-Md5: %s\r\n", md5);
    ck_assert_int_eq(th_upload(mock.port, "/cut.txt", hdr, "x", &r), 200);
    ck_assert_int_eq(th_upload(mock.port, "/whole.txt", "X-File-Md5: abc\r\n", "x", &r), 200);
    cJSON *a = th_journal(mock.port);
    cJSON *cut = cJSON_GetArrayItem(a, 0), *whole = cJSON_GetArrayItem(a, 1);
    const char *v = str(cut, "x_file_md5");
    ck_assert_uint_eq(strlen(v), 1023);
    ck_assert(strspn(v, "m") == 1023);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(cut, "truncated");
    ck_assert_msg(cJSON_IsArray(t), "a cut entry has no truncated list");
    ck_assert_int_eq(cJSON_GetArraySize(t), 1);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(t, 0)), "x_file_md5");
    /* Everything else is as before, and truncated comes last. */
    ck_assert_str_eq(str(cut, "file_path"), "/cut.txt");
    ck_assert_str_eq(cut->child->string, "time");
    ck_assert_str_eq(t->prev->string, "duration_ms");
    ck_assert_ptr_null(t->next);
    /* Control: an entry with nothing cut has exactly the keys it always had, in order. */
    static const char *const keys[] = {"time",
                                       "method",
                                       "path",
                                       "connection",
                                       "user",
                                       "file_path",
                                       "stored_path",
                                       "content_length",
                                       "transfer_encoding",
                                       "content_type",
                                       "x_file_size",
                                       "x_file_md5",
                                       "x_file_sha1",
                                       "x_file_sha256",
                                       "last_modified",
                                       "overwrite",
                                       "as_task",
                                       "x_mock_fault",
                                       "bytes_received",
                                       "multipart_suspected",
                                       "http_status",
                                       "code",
                                       "message",
                                       "stored",
                                       "duration_ms"};
    const cJSON *k = whole->child;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, k = k->next) {
        ck_assert_ptr_nonnull(k);
        ck_assert_str_eq(k->string, keys[i]);
    }
    ck_assert_ptr_null(k);
    ck_assert_str_eq(str(whole, "x_file_md5"), "abc");
    cJSON_Delete(a);
}
END_TEST

#define WIDE (50 * 1000)

START_TEST(wide_headers_do_not_grow_the_journal)
{
    /* A few first, so thread stacks and connection pools are part of the baseline. */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_ne(put_wide(mock.port, "/wide.bin", WIDE, 'v'), -1);
        th_mock_drain_log(&mock);
    }
    long base = th_vmhwm_kib(mock.pid);
    ck_assert_int_gt(base, 0);
    for (int i = 0; i < 300; i++) {
        ck_assert_int_ne(put_wide(mock.port, "/wide.bin", WIDE, 'v'), -1);
        th_mock_drain_log(&mock);
    }
    long peak = th_vmhwm_kib(mock.pid);
    fprintf(stderr,
            "mock VmHWM: after 5 requests with %zu headers of %d bytes %ld KiB, after 300 "
            "more %ld KiB (+%ld)\n",
            NRECORDED, WIDE, base, peak, peak - base);
    /* 300 entries of eight 1 KiB values are under 3 MiB; the values as sent would be 114 MiB. */
    ck_assert_msg(peak - base <= HWM_FACTOR * 6 * 1024, "VmHWM grew from %ld to %ld KiB", base,
                  peak);
    cJSON *a = th_journal(mock.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 305);
    cJSON *last = cJSON_GetArrayItem(a, 304);
    ck_assert_str_eq(str(last, "file_path"), "/wide.bin");
    ck_assert_uint_eq(strlen(str(last, "x_file_md5")), 1024);
    ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(last, "truncated"));
    cJSON_Delete(a);
}
END_TEST

START_TEST(journal_bytes_drops_the_oldest_entries)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--journal-bytes", "64K", NULL), 0);
    put_wide_n(&m, "/b", 40, 1000, 'v');
    cJSON *a = th_journal(m.port);
    int n = cJSON_GetArraySize(a);
    /* Each entry holds 8000 bytes of header values: at most 8 fit in 64 KiB. */
    ck_assert_msg(n >= 1 && n <= 8, "%d entries kept", n);
    for (int i = 0; i < n; i++) {
        char fp[32];
        snprintf(fp, sizeof fp, "/b%04d", 40 - n + i);
        ck_assert_str_eq(str(cJSON_GetArrayItem(a, i), "file_path"), fp);
    }
    cJSON_Delete(a);
    ck_assert_int_eq(th_mock_stop(&m), 0);

    /* Documented, and checked like every size option. */
    static th_run run;
    char mockbin[512];
    snprintf(mockbin, sizeof mockbin, "%s/streamput-mock", TH_BIN_DIR);
    char *help[] = {mockbin, "--help", NULL};
    ck_assert_int_eq(th_run_argv(&run, help, NULL, 10000), 0);
    ck_assert_ptr_nonnull(strstr(run.out, "--journal-bytes SIZE"));
    char *bad[] = {mockbin, "--root", env.root, "--journal-bytes", "lots", NULL};
    ck_assert_int_eq(th_run_argv(&run, bad, NULL, 10000), 2);
    ck_assert_ptr_nonnull(strstr(run.err, "--journal-bytes needs a size"));
}
END_TEST

#define NLIST 1000

START_TEST(a_listing_is_streamed_in_bounded_memory)
{
    put_wide_n(&mock, "/l", NLIST, 1000, 'v');
    long base = th_vmhwm_kib(mock.pid);
    th_msg lm;
    th_journal_msg(mock.port, &lm);
    const char *body = lm.body, *buf = lm.raw;
    long peak = th_vmhwm_kib(mock.pid);
    size_t len = strlen(body);
    fprintf(stderr, "mock VmHWM: %d entries %ld KiB, after a %zu-byte listing %ld KiB (+%ld)\n",
            NLIST, base, len, peak, peak - base);
    /* A whole copy of an 8 MiB journal, printed at once, would need twice that and more. */
    ck_assert_msg(peak - base <= HWM_FACTOR * 2 * 1024, "VmHWM grew from %ld to %ld KiB", base,
                  peak);
    ck_assert_ptr_nonnull(strstr(buf, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
    cJSON *a = cJSON_Parse(body);
    ck_assert_msg(cJSON_IsArray(a), "the listing is not a JSON array");
    ck_assert_int_eq(cJSON_GetArraySize(a), NLIST);
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, NLIST - 1), "file_path"), "/l0999");
    /* The same bytes as printing the whole array at once. */
    char *again = cJSON_PrintUnformatted(a);
    ck_assert_str_eq(again, body);
    cJSON_free(again);
    cJSON_Delete(a);
    th_msg_free(&lm);
    ck_assert_msg(len > 8000u * NLIST, "listing of %zu bytes", len);
}
END_TEST

START_TEST(a_listing_survives_entries_dropped_while_it_runs)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--journal", "200", NULL), 0);
    /* Go escapes each '<' as \u003c: 48 KB per entry, a listing far beyond socket buffers. */
    put_wide_n(&m, "/old", 200, 1000, '<');
    /* A slow reader: a small receive window keeps most of the 9.6 MB listing in the mock. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)m.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(th_send_all(fd, TH_JOURNAL_REQUEST, sizeof TH_JOURNAL_REQUEST - 1), 0);
    char peek[2000];
    /* Peeked, not read: the bytes stay in the small window, so the mock stays blocked. */
    ssize_t got = recv(fd, peek, sizeof peek, MSG_WAITALL | MSG_PEEK);
    ck_assert_int_eq(got, 2000);
    /* Every old entry is dropped while the listing runs, and new ones arrive. */
    put_wide_n(&m, "/new", 200, 10, 'v');
    cJSON *a = th_journal_read(fd, 30000);
    close(fd);
    int count = cJSON_GetArraySize(a);
    fprintf(stderr, "listing begun with 200 entries, all dropped meanwhile: %d listed\n", count);
    /* The entries listed are the old ones from the first on, none twice, none new. */
    ck_assert_int_ge(count, 1);
    ck_assert_int_lt(count, 200);
    for (int i = 0; i < count; i++) {
        char fp[32];
        snprintf(fp, sizeof fp, "/old%04d", i);
        ck_assert_str_eq(str(cJSON_GetArrayItem(a, i), "file_path"), fp);
    }
    cJSON_Delete(a);
    /* The journal is consistent afterwards: the 200 new entries, oldest first. */
    a = th_journal(m.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 200);
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "file_path"), "/new0000");
    cJSON_Delete(a);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* ---- what the listing and the logs are made of ---- */

START_TEST(an_invalid_utf8_file_path_lists_as_valid_json)
{
    static th_resp r;
    /* Percent-encoded: the header is ASCII, the decoded stored_path is not UTF-8. */
    ck_assert_int_eq(th_upload(mock.port, "/caf%E9.txt", "", "x", &r), 200);
    /* Raw bytes in headers, and a character Go escapes. */
    ck_assert_int_eq(th_upload(mock.port, "/raw\xe9.txt", "X-File-Md5: <\xe9>\r\n", "x", &r), 200);
    th_msg lm;
    th_journal_msg(mock.port, &lm);
    const char *body = lm.body;
    ck_assert_msg(th_valid_utf8(body), "the listing is not UTF-8: %s", body);
    ck_assert_ptr_nonnull(strstr(body, "\"x_file_md5\":\"\\u003c\\ufffd\\u003e\""));
    cJSON *a = cJSON_Parse(body);
    ck_assert(cJSON_IsArray(a));
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "file_path"), "/caf%E9.txt");
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "stored_path"), "/caf\xef\xbf\xbd.txt");
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 1), "file_path"), "/raw\xef\xbf\xbd.txt");
    cJSON_Delete(a);
    th_msg_free(&lm);
}
END_TEST

START_TEST(c1_controls_do_not_reach_the_text_log)
{
    static th_resp r;
    /* CSI as UTF-8 (C2 9B) and as a raw byte, invalid UTF-8, and a plain accent as a control. */
    ck_assert_int_eq(th_upload(mock.port,
                               "/c1%C2%9B31m\xc2\x9b"
                               "2J\x9b"
                               "7m\xff-\xc3\xa9.txt",
                               "", "x", &r),
                     200);
    ck_assert(th_mock_log_wait(&mock, ".txt\" bytes=1", log_buf, sizeof log_buf, 5000));
    const char *line = strstr(log_buf, "file_path=\"/c1");
    ck_assert_ptr_nonnull(line);
    ck_assert_msg(strchr(line, '\x9b') == NULL, "a C1 control reached the log: %s", line);
    ck_assert_msg(strchr(line, '\xff') == NULL, "invalid UTF-8 reached the log: %s", line);
    ck_assert_ptr_nonnull(strstr(line, "%C2%9B31m\\xc2\\x9b2J\\x9b7m\\xff-\xc3\xa9.txt\""));
}
END_TEST

START_TEST(json_log_lines_are_terminal_safe)
{
    char buf[16384];
    /* CSI as UTF-8, then a byte that is not UTF-8. */
    cJSON *e = json_log_line("/j\xc2\x9b\xe9.txt", buf, sizeof buf);
    ck_assert_msg(th_valid_utf8(buf), "not UTF-8: %s", buf);
    ck_assert_msg(strstr(buf, "\xc2\x9b") == NULL, "a C1 control reached the log: %s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "\"file_path\":\"/j\\u009b\\ufffd.txt\""));
    /* Escaped, not changed: the same string as sent, but for the invalid byte. */
    ck_assert_str_eq(str(e, "file_path"), "/j\xc2\x9b\xef\xbf\xbd.txt");
    cJSON_Delete(e);
}
END_TEST

/*
 * When the mock itself cuts a connection (an answer mid-body, a reset-after fault) or MHD refuses
 * bad framing, libmicrohttpd has something to say too: in json mode that must come out as JSON
 * lines like the rest, and its generic "internal error" line for the mock's own choices not at all.
 */
START_TEST(json_log_stays_json_when_connections_are_cut)
{
    static th_resp r;
    static char body[65536];
    static char buf[32768];
    th_mock js;
    buf[0] = '\0';
    ck_assert_int_eq(th_mock_start(&js, env.root, "--log-format", "json", "--max-body", "1K",
                                   "--allow-fault-header", NULL),
                     0);
    th_put(js.port, "/api/fs/put", "File-Path: /big.bin\r\n", body, sizeof body, 4096, &r);
    static const char bad[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /bad.bin\r\n"
                              "Transfer-Encoding: chunked\r\n\r\nzz\r\n";
    th_raw(js.port, bad, sizeof bad - 1, &r);
    th_put(js.port, "/api/fs/put", "File-Path: /reset.bin\r\nX-Mock-Fault: reset-after=10\r\n",
           "0123456789abcdef", 16, 0, &r);
    ck_assert(th_mock_log_wait(&js, "reset-after=10", buf, sizeof buf, 5000));
    ck_assert(th_mock_log_wait(&js, "chunked encoding", buf, sizeof buf, 5000));
    ck_assert(th_mock_log_wait(&js, "request body too large", buf, sizeof buf, 5000));
    ck_assert_int_eq(th_mock_stop(&js), 0);
    int lines = 0;
    for (char *line = buf, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        cJSON *e = cJSON_Parse(line);
        ck_assert_msg(cJSON_IsObject(e), "not a JSON log line: %s", line);
        ck_assert_msg(strstr(line, "Application reported") == NULL, "misleading line: %s", line);
        cJSON_Delete(e);
        lines++;
    }
    ck_assert_msg(lines >= 4, "%d lines",
                  lines); /* three requests and MHD's word on the bad framing */
}
END_TEST

/* ---- the tests' own journal fetcher ---- */

/* A stand-in for the mock's listing: 3000 entries (more than 16 KiB), sent in the framing arg
 * names: "chunked" in uneven chunks, "close" ended by the connection, "short" cut off early. */
static void fake_listing(int fd, int nth, void *arg)
{
    (void)nth;
    const char *how = arg;
    th_skip_head(fd);
    if (strcmp(how, "chunked") == 0)
        th_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n");
    else
        th_send_str(fd, "HTTP/1.0 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                        "Connection: close\r\n\r\n");
    for (int i = 0; i < 3000; i++) {
        char e[64], c[96];
        int n = snprintf(e, sizeof e, "%s{\"file_path\":\"/f%04d\"}", i ? "," : "[", i);
        if (strcmp(how, "short") == 0 && i == 1500)
            return; /* closed in the middle: not a whole listing */
        if (strcmp(how, "chunked") == 0) {
            int k = snprintf(c, sizeof c, "%x\r\n%s\r\n", n, e);
            th_send_all(fd, c, (size_t)k);
        } else {
            th_send_all(fd, e, (size_t)n);
        }
    }
    th_send_str(fd, strcmp(how, "chunked") == 0 ? "1\r\n]\r\n0\r\n\r\n" : "]");
    if (strcmp(how, "chunked") == 0)
        th_drain_for(fd, 10000); /* kept alive: the reader must stop at the last chunk */
}

START_TEST(the_fetcher_reads_chunked_and_close_delimited_listings)
{
    static const char *const framings[] = {"chunked", "close"};
    for (size_t i = 0; i < 2; i++) {
        th_script s;
        ck_assert_int_eq(th_script_start(&s, fake_listing, (void *)framings[i], 1), 0);
        int64_t t0 = th_now_ms();
        cJSON *a = th_journal(s.port);
        ck_assert_msg(th_now_ms() - t0 < 5000, "%s: waited for a close", framings[i]);
        ck_assert_int_eq(cJSON_GetArraySize(a), 3000);
        ck_assert_str_eq(str(cJSON_GetArrayItem(a, 2999), "file_path"), "/f2999");
        cJSON_Delete(a);
        char out[64];
        th_script_stop(&s, out, sizeof out, 200);
    }
    /* The negative control: a listing cut off by the close is not taken for a whole one. */
    th_script s;
    ck_assert_int_eq(th_script_start(&s, fake_listing, (void *)"short", 1), 0);
    th_msg m;
    th_msg_request(s.port, TH_JOURNAL_REQUEST, sizeof TH_JOURNAL_REQUEST - 1, &m, 5000);
    ck_assert_int_eq(m.status, 200);
    ck_assert_int_gt(m.body_len, 16384);
    ck_assert_ptr_null(cJSON_Parse(m.body));
    th_msg_free(&m);
    char out[64];
    th_script_stop(&s, out, sizeof out, 200);
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    Suite *s = suite_create("mock_journal");
    TCase *t = tcase_create("journal");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, journal_records_what_the_client_sent_and_got);
    tcase_add_test(t, journal_is_a_ring_oldest_first_and_can_be_cleared);
    tcase_add_test(t, journal_explains_an_aborted_upload);
    tcase_add_test(t, text_access_log_has_one_line_per_request);
    tcase_add_test(t, a_decoded_newline_cannot_forge_a_log_line);
    tcase_add_test(t, json_access_log_lines_parse);
    tcase_add_test(t, entries_name_their_connection_in_accept_order);
    tcase_add_test(t, multipart_body_is_diagnosed_and_stored_as_sent);
    tcase_add_loop_test(t, plain_bodies_are_not_suspected, 0,
                        sizeof not_multipart / sizeof not_multipart[0]);
    tcase_add_test(t, strict_refuses_multipart_and_stores_nothing);
    tcase_add_test(t, a_long_value_is_cut_on_a_utf8_boundary_and_marked);
    tcase_add_test(t, wide_headers_do_not_grow_the_journal);
    tcase_add_test(t, journal_bytes_drops_the_oldest_entries);
    tcase_add_test(t, a_listing_is_streamed_in_bounded_memory);
    tcase_add_test(t, the_fetcher_reads_chunked_and_close_delimited_listings);
    tcase_add_test(t, a_listing_survives_entries_dropped_while_it_runs);
    tcase_add_test(t, an_invalid_utf8_file_path_lists_as_valid_json);
    tcase_add_test(t, c1_controls_do_not_reach_the_text_log);
    tcase_add_test(t, json_log_lines_are_terminal_safe);
    tcase_add_test(t, json_log_stays_json_when_connections_are_cut);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
