/*
 * streamput-mock, the dashboard: GET /_mock/ is one self-contained page, GET /_mock/state lists
 * what is in flight, GET /_mock/events streams what happens, and a viewer that never reads costs
 * the mock neither memory nor upload speed. The figures are printed so CI logs keep them.
 */
#include "th.h"

#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS_REQUEST "GET /_mock/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

/* The most event streams the mock serves at once (MOCK_VIEWERS_MAX). */
#define VIEWERS_MAX 16

static th_env env;
static th_mock mock;

/*
 * Opens an event stream; rcvbuf > 0 shrinks the socket's receive buffer first, so that a viewer
 * that does not read fills up after a few KiB. Returns the fd.
 */
static int viewer_open(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    if (rcvbuf > 0)
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(th_send_all(fd, EVENTS_REQUEST, sizeof EVENTS_REQUEST - 1), 0);
    return fd;
}

/*
 * Reads the stream on fd into buf (cap bytes, NUL-terminated; when full, its older half goes)
 * until it contains needle or timeout_ms passes. Returns 1 if needle was seen.
 */
static int viewer_wait(int fd, const char *needle, char *buf, size_t cap, int timeout_ms)
{
    size_t len = strlen(buf);
    int64_t end = th_now_ms() + timeout_ms;
    while (strstr(buf, needle) == NULL) {
        int64_t left = end - th_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return 0;
        if (len + 1 >= cap) {
            memmove(buf, buf + cap / 2, len - cap / 2 + 1);
            len -= cap / 2;
        }
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return strstr(buf, needle) != NULL;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return 1;
}

/* Opens a stream and waits for its greeting, after which every event reaches it. */
static int viewer_greeted(int port, char *buf, size_t cap)
{
    int fd = viewer_open(port, 0);
    buf[0] = '\0';
    ck_assert_msg(viewer_wait(fd, "event: hello\n", buf, cap, 5000), "no hello: %s", buf);
    return fd;
}

START_TEST(the_page_is_one_self_contained_html_document)
{
    static const char req[] =
        "GET /_mock/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    th_env_up(&env, &mock, NULL, NULL);
    th_msg m;
    ck_assert_int_eq(th_msg_request(mock.port, req, sizeof req - 1, &m, 5000), 200);
    ck_assert_ptr_nonnull(strstr(m.raw, "Content-Type: text/html; charset=utf-8\r\n"));
    ck_assert_ptr_nonnull(strstr(m.raw, "Content-Security-Policy: default-src 'none';"));
    ck_assert_msg(strncmp(m.body, "<!DOCTYPE html>", 15) == 0, "%.40s", m.body);
    ck_assert_ptr_nonnull(strstr(m.body, "new EventSource(\"/_mock/events\")"));
    ck_assert_ptr_nonnull(strstr(m.body, "</html>"));
    /* No asset from anywhere: no URL with a scheme, no linked file, no script or image by src. */
    static const char *const banned[] = {"http://", "https://", "//cdn", "<link",
                                         "src=",    "@import",  "url("};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        ck_assert_msg(strstr(m.body, banned[i]) == NULL, "the page has '%s'", banned[i]);
    th_msg_free(&m);
    /* The dashboard's own requests do not fill the journal it shows. */
    static th_resp r;
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
    cJSON *j = th_journal(mock.port);
    ck_assert_int_eq(cJSON_GetArraySize(j), 0);
    cJSON_Delete(j);
    /* Only the three paths are the dashboard's; the rest of /_mock/ is no route, as before. */
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/other", "", NULL, &r), 404);
    th_env_down(&env, &mock);
}
END_TEST

START_TEST(the_stream_tells_an_upload_from_start_to_journal_entry)
{
    static char buf[65536];
    th_env_up(&env, &mock, NULL, NULL);
    int fd = viewer_greeted(mock.port, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "Content-Type: text/event-stream"));
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/dash/one.txt", "", "hello, dashboard", &r), 200);
    ck_assert_msg(viewer_wait(fd, "\"multipart_suspected\":false", buf, sizeof buf, 5000), "%s",
                  buf);
    ck_assert_msg(viewer_wait(fd, "event: request\n", buf, sizeof buf, 5000), "%s", buf);
    ck_assert_msg(viewer_wait(fd, "\"file_path\":\"/dash/one.txt\"", buf, sizeof buf, 5000), "%s",
                  buf);
    const char *start = strstr(buf, "{\"change\":\"started\"");
    const char *end = strstr(buf, "{\"change\":\"ended\"");
    const char *entry = strstr(buf, "event: request\n");
    ck_assert_msg(start != NULL && end != NULL && start < end && end < entry, "%s", buf);
    ck_assert_ptr_nonnull(strstr(end, "\"path\":\"/dash/one.txt\""));
    ck_assert_ptr_nonnull(strstr(end, "\"received\":16"));
    /* Events are numbered for the browser's Last-Event-ID. */
    ck_assert_ptr_nonnull(strstr(buf, "\nid: "));
    /* A framed body sent to /api/fs/put is marked in the entry the page shows in red. */
    static const char framed[] = "--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
                                 "hi\r\n--xyz--\r\n";
    ck_assert_int_eq(th_upload(mock.port, "/dash/framed.txt", "", framed, &r), 200);
    ck_assert_msg(viewer_wait(fd, "\"multipart_suspected\":true", buf, sizeof buf, 5000), "%s",
                  buf);
    close(fd);
    th_mock_drain_log(&mock);
    th_env_down(&env, &mock);
}
END_TEST

#define ACCEPTED_KEY "\"connections_accepted\":"

/* The state's connections_accepted, or -1 if the body has none; end (if not NULL) gets what
 * follows the number. */
static long long connections_accepted(const char *body, char **end)
{
    const char *k = strstr(body, ACCEPTED_KEY);
    return k != NULL ? strtoll(k + strlen(ACCEPTED_KEY), end, 10) : -1;
}

/*
 * Every accepted connection counts, one closed before its first byte too, and in accept order:
 * three connections made before a query are in its count, and so is the query's own.
 */
START_TEST(the_state_counts_every_connection_accepted)
{
    static th_resp r;
    th_env_up(&env, &mock, NULL, NULL);
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
    long long n0 = connections_accepted(r.body, NULL);
    ck_assert_msg(n0 >= 1, "%s", r.body);
    for (int i = 0; i < 3; i++) {
        int fd = th_connect(mock.port);
        ck_assert_int_ge(fd, 0);
        close(fd);
    }
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
    ck_assert_int_eq(connections_accepted(r.body, NULL), n0 + 4);
    th_env_down(&env, &mock);
}
END_TEST

START_TEST(the_state_lists_an_upload_in_flight_and_a_session)
{
    static th_resp r;
    th_env_up(&env, &mock, NULL, NULL);
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
    static const char idle[] = "{\"uploads\":[],\"uploads_total\":0,\"sessions\":[],"
                               "\"sessions_total\":0," ACCEPTED_KEY;
    char *end = NULL;
    ck_assert_msg(strncmp(r.body, idle, sizeof idle - 1) == 0, "%s", r.body);
    ck_assert_int_ge(connections_accepted(r.body, &end), 1);
    ck_assert_str_eq(end, "}");
    static const char half[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "File-Path: /dash/half.bin\r\nContent-Length: 20\r\n\r\n0123456789";
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, half, sizeof half - 1), 0);
    int listed = 0;
    for (int i = 0; i < 100 && !listed; i++) {
        ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
        listed = strstr(r.body, "\"path\":\"/dash/half.bin\"") != NULL;
        if (!listed)
            th_sleep_ms(20);
    }
    ck_assert_msg(listed, "%s", r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"declared\":20"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"uploads_total\":1"));
    ck_assert_int_eq(th_send_all(fd, "abcdefghij", 10), 0);
    ck_assert_int_eq(th_recv_resp(fd, &r, 5000), 200);
    close(fd);
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"uploads\":[],\"uploads_total\":0"));

    ck_assert_int_eq(th_request(mock.port, "POST", "/api/fs/multipart/init",
                                "File-Path: /dash/parts.bin\r\nX-File-Size: 3145728\r\n"
                                "X-Chunk-Size: 1048576\r\n",
                                "", &r),
                     200);
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/state", "", NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"path\":\"/dash/parts.bin\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"total_chunks\":3"));
    ck_assert_ptr_nonnull(strstr(r.body, "\"sessions_total\":1"));
    th_mock_drain_log(&mock);
    th_env_down(&env, &mock);
}
END_TEST

START_TEST(the_stream_draws_a_session_chunk_by_chunk)
{
    static char buf[65536];
    static th_resp r;
    th_env_up(&env, &mock, NULL, NULL);
    int fd = viewer_greeted(mock.port, buf, sizeof buf);
    ck_assert_int_eq(th_request(mock.port, "POST", "/api/fs/multipart/init",
                                "File-Path: /dash/s.bin\r\nX-File-Size: 3145728\r\n"
                                "X-Chunk-Size: 1048576\r\n",
                                "", &r),
                     200);
    const char *id = strstr(r.body, "\"upload_id\":\"");
    ck_assert_ptr_nonnull(id);
    char hdr[256];
    snprintf(hdr, sizeof hdr, "X-Upload-Id: %.36s\r\nX-Chunk-Index: 2\r\n", id + 13);
    char *chunk = malloc(1 << 20);
    memset(chunk, 'c', 1 << 20);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/multipart/chunk", hdr, chunk, 1 << 20, 0, &r), 200);
    free(chunk);
    ck_assert_msg(viewer_wait(fd, "{\"change\":\"chunk\"", buf, sizeof buf, 5000), "%s", buf);
    ck_assert_msg(viewer_wait(fd, "\"received\":[[2,2]]", buf, sizeof buf, 5000), "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "{\"change\":\"created\""));
    snprintf(hdr, sizeof hdr, "X-Upload-Id: %.36s\r\n", id + 13);
    ck_assert_int_eq(th_request(mock.port, "POST", "/api/fs/multipart/abort", hdr, "", &r), 200);
    ck_assert_msg(viewer_wait(fd, "{\"change\":\"aborted\"", buf, sizeof buf, 5000), "%s", buf);
    close(fd);
    th_mock_drain_log(&mock);
    th_env_down(&env, &mock);
}
END_TEST

/* Uploads n small files as dir/NNN.txt one after another; returns the milliseconds it took. */
static int64_t uploads(const char *dir, int n)
{
    static th_resp r;
    int64_t t0 = th_now_ms();
    for (int i = 0; i < n; i++) {
        char fp[64];
        snprintf(fp, sizeof fp, "/%s/%03d.txt", dir, i);
        ck_assert_int_eq(th_upload(mock.port, fp, "", "a small body", &r), 200);
    }
    return th_now_ms() - t0;
}

/*
 * The slow-viewer property: a viewer that never reads holds nothing but its own fixed place. 200
 * uploads take about as long as without it, the mock's peak memory stays where the first lap of
 * the event ring left it, and when the viewer reads at last it is told that it missed events.
 * --journal 0 keeps the journal's own (bounded) growth out of the figure.
 */
START_TEST(a_viewer_that_never_reads_costs_neither_memory_nor_speed)
{
    static char buf[65536];
    th_drain d;
    th_env_up(&env, &mock, "--journal", "0");
    th_drain_start(&d, &mock);
    int64_t alone = uploads("alone", 200);
    int stuck = viewer_open(mock.port, 4096);
    /* A first lap round the ring, so that every slot has been written once. */
    uploads("warm", 300);
    long base = th_vmhwm_kib(mock.pid);
    int64_t watched = uploads("stuck", 200);
    long peak = th_vmhwm_kib(mock.pid);
    fprintf(stderr,
            "200 uploads: %lld ms with no viewer, %lld ms with a viewer that never reads; mock "
            "VmHWM %ld KiB -> %ld KiB (+%ld)\n",
            (long long)alone, (long long)watched, base, peak, peak - base);
    ck_assert_msg(watched <= 3 * alone + 2000, "a stuck viewer slowed uploads: %lld ms vs %lld ms",
                  (long long)watched, (long long)alone);
    ck_assert_msg(peak - base <= 256 * TH_HWM_FACTOR, "VmHWM grew by %ld KiB", peak - base);
    /* The viewer reads at last: past what its socket held, it learns what it missed. */
    buf[0] = '\0';
    ck_assert_msg(viewer_wait(stuck, "event: dropped\n", buf, sizeof buf, 10000), "no drop");
    ck_assert_msg(viewer_wait(stuck, "\"missed\":", buf, sizeof buf, 1000), "%s", buf);
    close(stuck);
    th_drain_stop(&d);
    th_env_down(&env, &mock);
}
END_TEST

START_TEST(viewers_past_the_limit_get_503_and_a_closed_one_frees_its_place)
{
    static char buf[8192];
    static int fds[VIEWERS_MAX];
    /* A short idle timeout: the streams must outlive it on their heartbeats. */
    th_env_up(&env, &mock, "--idle-timeout", "2");
    for (int i = 0; i < VIEWERS_MAX; i++)
        fds[i] = viewer_greeted(mock.port, buf, sizeof buf);
    static th_resp r;
    ck_assert_int_eq(th_request(mock.port, "GET", "/_mock/events", "", NULL, &r), 503);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":503"));
    /* Twice the idle timeout later, every stream is still open and has had heartbeats. */
    th_sleep_ms(4500);
    for (int i = 0; i < VIEWERS_MAX; i++) {
        buf[0] = '\0';
        ck_assert_msg(viewer_wait(fds[i], ":\n\n", buf, sizeof buf, 2000), "stream %d: %s", i, buf);
    }
    /* A closed stream gives its place back within a second or two, not at its next failed
     * heartbeat. */
    close(fds[0]);
    int64_t t0 = th_now_ms();
    int again = 0;
    while (!again && th_now_ms() - t0 < 5000) {
        th_sleep_ms(100);
        fds[0] = viewer_open(mock.port, 0);
        buf[0] = '\0';
        ck_assert(viewer_wait(fds[0], "\r\n\r\n", buf, sizeof buf, 5000));
        again = strncmp(buf, "HTTP/1.1 200 ", 13) == 0;
        ck_assert_msg(again || strncmp(buf, "HTTP/1.1 503 ", 13) == 0, "%s", buf);
        if (!again)
            close(fds[0]);
    }
    fprintf(stderr, "a closed stream's place was free again after %lld ms\n",
            (long long)(th_now_ms() - t0));
    ck_assert(again);
    ck_assert(viewer_wait(fds[0], "event: hello\n", buf, sizeof buf, 5000));
    for (int i = 0; i < VIEWERS_MAX; i++)
        close(fds[i]);
    th_env_down(&env, &mock);
}
END_TEST

START_TEST(the_mock_stops_promptly_with_a_viewer_connected)
{
    static char buf[4096];
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, NULL), 0);
    int fd = viewer_greeted(mock.port, buf, sizeof buf);
    int64_t t0 = th_now_ms();
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    int64_t took = th_now_ms() - t0;
    fprintf(stderr, "the mock stopped in %lld ms with a viewer connected\n", (long long)took);
    ck_assert_msg(took < 3000, "stopping took %lld ms", (long long)took);
    close(fd);
    th_env_free(&env);
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    Suite *s = suite_create("mock_dashboard");
    TCase *t = tcase_create("dashboard");
    tcase_add_test(t, the_page_is_one_self_contained_html_document);
    tcase_add_test(t, the_stream_tells_an_upload_from_start_to_journal_entry);
    tcase_add_test(t, the_state_lists_an_upload_in_flight_and_a_session);
    tcase_add_test(t, the_state_counts_every_connection_accepted);
    tcase_add_test(t, the_stream_draws_a_session_chunk_by_chunk);
    tcase_add_test(t, a_viewer_that_never_reads_costs_neither_memory_nor_speed);
    tcase_add_test(t, viewers_past_the_limit_get_503_and_a_closed_one_frees_its_place);
    tcase_add_test(t, the_mock_stops_promptly_with_a_viewer_connected);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
