/*
 * streamput-mock, fault injection: each fault through --fault and through X-Mock-Fault (only with
 * --allow-fault-header), its effect as a client sees it, and that failing faults store nothing.
 * Timing faults are checked against a lower bound only, with a fault-free control that is fast.
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static th_env env;
static th_mock mock; /* --allow-fault-header */
static char big[1 << 20];

static void setup(void)
{
    memset(big, 'f', sizeof big);
    th_env_up(&env, &mock, "--allow-fault-header", NULL);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

static double now_s(void)
{
    return (double)th_now_ms() / 1000.0;
}

/* Uploads len bytes of big to fp with a fault header (or none); returns seconds taken. */
static double timed_put(int port, const char *fp, const char *fault, size_t len, th_resp *r)
{
    char h[512];
    snprintf(h, sizeof h, "File-Path: %s\r\n%s%s%s", fp, fault ? "X-Mock-Fault: " : "",
             fault ? fault : "", fault ? "\r\n" : "");
    double t0 = now_s();
    th_put(port, "/api/fs/put", h, big, len, 0, r);
    return now_s() - t0;
}

START_TEST(reset_after_sends_rst_mid_body_and_stores_nothing)
{
    int fd = th_connect(mock.port);
    static const char head[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /reset.bin\r\n"
                               "X-Mock-Fault: reset-after=65536\r\n"
                               "Content-Length: 16777216\r\n\r\n";
    ck_assert_int_eq(th_send_all(fd, head, sizeof head - 1), 0);
    /* Keep sending until the connection breaks: it must, long before 16 MiB. */
    int err = 0;
    size_t sent = 0;
    while (sent < (16u << 20)) {
        ssize_t n = send(fd, big, 65536, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno;
            break;
        }
        sent += (size_t)n;
    }
    char c;
    ssize_t got = recv(fd, &c, 1, 0);
    if (err == 0)
        err = got < 0 ? errno : 0;
    close(fd);
    ck_assert_msg(err == ECONNRESET || err == EPIPE, "no reset seen (errno %d, recv %zd)", err,
                  got);
    ck_assert(!th_exists(th_path(env.root, "reset.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    const char *msg = "";
    for (int i = 0; i < 100 && strstr(msg, "reset-after") == NULL; i++) {
        th_sleep_ms(20);
        msg = th_journal_last(mock.port, "message");
    }
    ck_assert_str_eq(msg, "injected fault: reset-after=65536, connection reset after 65536 bytes");
}
END_TEST

START_TEST(reset_after_zero_resets_before_the_body)
{
    static th_resp r;
    static const char head[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /r0.bin\r\n"
                               "X-Mock-Fault: reset-after=0\r\nContent-Length: 5\r\n\r\n";
    int fd = th_connect(mock.port);
    ck_assert_int_eq(th_send_all(fd, head, sizeof head - 1), 0);
    char c;
    ssize_t n;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    n = recv(fd, &c, 1, 0);
    ck_assert_msg(n < 0 && errno == ECONNRESET, "recv %zd errno %d", n, errno);
    close(fd);
    (void)r;
    ck_assert(!th_exists(th_path(env.root, "r0.bin")));
}
END_TEST

START_TEST(stall_after_pauses_reading_then_stores)
{
    static th_resp r;
    double fast = timed_put(mock.port, "/nostall.bin", NULL, sizeof big, &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    double slow = timed_put(mock.port, "/stall.bin", "stall-after=100000:1500", sizeof big, &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_msg(slow >= 1.45, "stall took only %.2f s", slow);
    ck_assert_msg(fast < 1.0, "control took %.2f s", fast);
    ck_assert_int_eq(
        th_files_equal(th_path(env.root, "stall.bin"), th_path(env.root, "nostall.bin")), 1);
}
END_TEST

START_TEST(delay_response_delays_the_answer)
{
    static th_resp r;
    double t = timed_put(mock.port, "/delay.bin", "delay-response=800", 100, &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_msg(t >= 0.78, "answered after %.2f s", t);
    ck_assert(th_exists(th_path(env.root, "delay.bin")));
}
END_TEST

START_TEST(code_fault_answers_that_code_and_stores_nothing)
{
    static th_resp r;
    timed_put(mock.port, "/code.bin", "code=507", 1000, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body,
                     "{\"code\":507,\"message\":\"injected fault: code=507\",\"data\":null}");
    ck_assert(!th_exists(th_path(env.root, "code.bin")));
}
END_TEST

START_TEST(status_fault_answers_that_http_status_and_stores_nothing)
{
    static th_resp r;
    timed_put(mock.port, "/status.bin", "status=503", 1000, &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.body,
                     "{\"code\":503,\"message\":\"injected fault: status=503\",\"data\":null}");
    ck_assert(!th_exists(th_path(env.root, "status.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
}
END_TEST

START_TEST(slow_read_limits_the_rate)
{
    static th_resp r;
    /* 96 KiB at 32 KiB/s: three seconds; the control takes milliseconds. */
    double fast = timed_put(mock.port, "/fast.bin", NULL, 96 * 1024, &r);
    double slow = timed_put(mock.port, "/slow.bin", "slow-read=32K", 96 * 1024, &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_msg(slow >= 2.8, "96 KiB at 32 KiB/s took %.2f s", slow);
    ck_assert_msg(fast < 1.0, "control took %.2f s", fast);
    ck_assert(th_exists(th_path(env.root, "slow.bin")));
}
END_TEST

START_TEST(fault_header_needs_allow_fault_header)
{
    static th_resp r;
    char buf[8192] = "";
    th_mock plain;
    ck_assert_int_eq(th_mock_start(&plain, env.root, NULL), 0);
    timed_put(plain.port, "/ignored.bin", "code=500", 10, &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "ignored.bin")));
    ck_assert(th_mock_log_wait(&plain, "--allow-fault-header", buf, sizeof buf, 5000));
    ck_assert_int_eq(th_mock_stop(&plain), 0);
    /* Control: with the option the same header works. */
    timed_put(mock.port, "/honoured.bin", "code=500", 10, &r);
    ck_assert_str_eq(r.body,
                     "{\"code\":500,\"message\":\"injected fault: code=500\",\"data\":null}");
    /* A bad spec is the client's error. */
    timed_put(mock.port, "/bad.bin", "explode=1", 10, &r);
    ck_assert_str_eq(r.body, "{\"code\":400,\"message\":\"invalid X-Mock-Fault: unknown fault "
                             "'explode' (known: reset-after, stall-after, delay-response, code, "
                             "status, slow-read, chunk-fail, chunk-reset, chunk-busy, "
                             "chunk-busy-ms, drop-after)\",\"data\":null}");
    /* Half a spec applies nothing: the 400 still comes with HTTP 200. */
    timed_put(mock.port, "/half.bin", "status=503,explode=1", 10, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
}
END_TEST

START_TEST(server_wide_fault_applies_to_every_upload)
{
    static th_resp r;
    th_mock f;
    ck_assert_int_eq(th_mock_start(&f, env.root, "--fault", "code=418,delay-response=100", NULL),
                     0);
    for (int i = 0; i < 2; i++) {
        double t = timed_put(f.port, "/wide.bin", NULL, 10, &r);
        ck_assert_str_eq(r.body,
                         "{\"code\":418,\"message\":\"injected fault: code=418\",\"data\":null}");
        ck_assert(t >= 0.09);
    }
    ck_assert(!th_exists(th_path(env.root, "wide.bin")));
    ck_assert_int_eq(th_mock_stop(&f), 0);
}
END_TEST

START_TEST(shutdown_is_prompt_during_a_long_stall)
{
    int fd = th_connect(mock.port);
    static const char head[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /st.bin\r\n"
                               "X-Mock-Fault: stall-after=10:60000\r\nContent-Length: 100\r\n\r\n";
    ck_assert_int_eq(th_send_all(fd, head, sizeof head - 1), 0);
    ck_assert_int_eq(th_send_all(fd, big, 50), 0);
    th_sleep_ms(300);
    double t0 = now_s();
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    ck_assert_msg(now_s() - t0 < 5.0, "stop took %.2f s", now_s() - t0);
    close(fd);
    ck_assert(!th_exists(th_path(env.root, "st.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    /* The fixture's teardown stops it again. */
    ck_assert_int_eq(th_mock_start(&mock, env.root, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_faults");
    TCase *t = tcase_create("faults");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, reset_after_sends_rst_mid_body_and_stores_nothing);
    tcase_add_test(t, reset_after_zero_resets_before_the_body);
    tcase_add_test(t, stall_after_pauses_reading_then_stores);
    tcase_add_test(t, delay_response_delays_the_answer);
    tcase_add_test(t, code_fault_answers_that_code_and_stores_nothing);
    tcase_add_test(t, status_fault_answers_that_http_status_and_stores_nothing);
    tcase_add_test(t, slow_read_limits_the_rate);
    tcase_add_test(t, fault_header_needs_allow_fault_header);
    tcase_add_test(t, server_wide_fault_applies_to_every_upload);
    tcase_add_test(t, shutdown_is_prompt_during_a_long_stall);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
