/*
 * streamput-mock, memory and scale: peak RSS (VmHWM) does not grow with the body, for
 * Content-Length and chunked bodies of 256 MiB generated on the fly, 256 uploads can be in
 * flight at once, and --max-connections / --idle-timeout bound what clients can hold. The
 * figures are printed so CI logs keep them.
 */
#include "th.h"

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (256ull << 20)
/* The memory budget: peak while receiving a huge body <= after a 4 KiB body + 1 MiB. */
#define SLACK_KIB 1024

static th_env env;
static th_mock mock;

static void setup(void)
{
    th_env_up(&env, &mock, NULL, NULL);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/*
 * Streams BIG bytes to fp (chunked in 64 KiB chunks, or with Content-Length), reading the
 * mock's VmHWM every 16 MiB; returns the highest reading.
 */
static long stream_big(const char *fp, int chunked, th_resp *r)
{
    static char buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i * 131 + 7);
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    char head[256];
    int n = chunked ? snprintf(head, sizeof head,
                               "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "File-Path: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                               fp)
                    : snprintf(head, sizeof head,
                               "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               "File-Path: %s\r\nContent-Length: %llu\r\n\r\n",
                               fp, BIG);
    ck_assert_int_eq(th_send_all(fd, head, (size_t)n), 0);
    long peak = 0;
    for (unsigned long long off = 0; off < BIG; off += sizeof buf) {
        if (chunked)
            ck_assert_int_eq(th_send_all(fd, "10000\r\n", 7), 0);
        ck_assert_int_eq(th_send_all(fd, buf, sizeof buf), 0);
        if (chunked)
            ck_assert_int_eq(th_send_all(fd, "\r\n", 2), 0);
        if (off % (16u << 20) == 0) {
            long h = th_vmhwm_kib(mock.pid);
            peak = h > peak ? h : peak;
        }
    }
    if (chunked)
        ck_assert_int_eq(th_send_all(fd, "0\r\n\r\n", 5), 0);
    th_recv_resp(fd, r, 60000);
    close(fd);
    long h = th_vmhwm_kib(mock.pid);
    return h > peak ? h : peak;
}

static void check_flat(int chunked)
{
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/small.bin", "", "4 KiB would do; any small body", &r),
                     200);
    char small[4096];
    memset(small, 's', sizeof small);
    ck_assert_int_eq(
        th_put(mock.port, "/api/fs/put", "File-Path: /small.bin\r\n", small, sizeof small, 0, &r),
        200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    long base = th_vmhwm_kib(mock.pid);
    ck_assert_int_gt(base, 0);
    long peak = stream_big("/big.bin", chunked, &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    struct stat st;
    ck_assert_int_eq(stat(th_path(env.root, "big.bin"), &st), 0);
    ck_assert_int_eq((unsigned long long)st.st_size, BIG);
    fprintf(stderr, "mock VmHWM (%s): after 4 KiB %ld KiB, peak over 256 MiB %ld KiB (+%ld)\n",
            chunked ? "chunked" : "content-length", base, peak, peak - base);
    ck_assert_msg(peak <= base + SLACK_KIB, "VmHWM grew from %ld to %ld KiB", base, peak);
}

START_TEST(rss_is_flat_for_a_256_mib_content_length_body)
{
    check_flat(0);
}
END_TEST

START_TEST(rss_is_flat_for_a_256_mib_chunked_body)
{
    check_flat(1);
}
END_TEST

/* Negative control: the VmHWM probe does see a process that holds 32 MiB. */
START_TEST(vmhwm_probe_sees_a_growing_process)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        size_t n = 32u << 20;
        volatile char *p = malloc(n);
        /* Touch every page (volatile: the stores cannot be optimised away). */
        for (size_t i = 0; p != NULL && i < n; i += 4096)
            p[i] = 1;
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    long h = th_vmhwm_kib(pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    ck_assert_msg(h >= 32 * 1024, "VmHWM %ld KiB", h);
}
END_TEST

#define HELD 256

START_TEST(two_hundred_fifty_six_uploads_are_held_at_once)
{
    static int fds[HELD];
    char dir[64];
    for (int i = 0; i < HELD; i++) {
        fds[i] = th_connect(mock.port);
        ck_assert_int_ge(fds[i], 0);
        char head[256];
        int n = snprintf(head, sizeof head,
                         "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         "File-Path: /held/%03d.bin\r\nContent-Length: 8\r\n\r\nhalf",
                         i);
        ck_assert_int_eq(th_send_all(fds[i], head, (size_t)n), 0);
    }
    /* Every upload is in flight: each has its temp file. */
    snprintf(dir, sizeof dir, "%s", "held");
    int temps = 0;
    for (int waited = 0; waited < 10000 && temps < HELD; waited += 50) {
        temps = th_count_prefix(th_path(env.root, dir), TH_TMP_PREFIX);
        th_sleep_ms(50);
    }
    long rss = th_vmrss_kib(mock.pid);
    fprintf(stderr, "mock with %d uploads in flight: VmRSS %ld KiB\n", HELD, rss);
    ck_assert_int_eq(temps, HELD);
    static th_resp r;
    for (int i = 0; i < HELD; i++) {
        ck_assert_int_eq(th_send_all(fds[i], "done", 4), 0);
        th_recv_resp(fds[i], &r, 10000);
        close(fds[i]);
        ck_assert_str_eq(r.body, TH_SUCCESS);
    }
    ck_assert_int_eq(th_count_prefix(th_path(env.root, dir), TH_TMP_PREFIX), 0);
    ck_assert(th_exists(th_path(env.root, "held/255.bin")));
    th_mock_drain_log(&mock);
}
END_TEST

/* Holds a connection with half a request; returns the fd. */
static int hold(int port)
{
    static const char part[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /idle.bin\r\n"
                               "Content-Length: 100\r\n\r\n0123456789";
    int fd = th_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, part, sizeof part - 1), 0);
    return fd;
}

/* 1 if the peer closed fd (EOF or reset) within ms. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, 0) <= 0;
}

START_TEST(idle_timeout_closes_a_silent_upload)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--idle-timeout", "1", NULL), 0);
    int fd = hold(m.port);
    ck_assert(closed_within(fd, 5000));
    close(fd);
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    ck_assert(!th_exists(th_path(env.root, "idle.bin")));
    ck_assert_int_eq(th_mock_stop(&m), 0);
    /* Control: with the default (120 s) the same connection stays open. */
    fd = hold(mock.port);
    ck_assert(!closed_within(fd, 2000));
    close(fd);
}
END_TEST

START_TEST(max_connections_turns_away_the_extra_one)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--max-connections", "2", NULL), 0);
    int threads0 = th_proc_threads(m.pid);
    int a = hold(m.port), b = hold(m.port);
    /* Both slots are taken once the mock holds both connections, later on a loaded machine. */
    ck_assert_int_ge(th_wait_probe(th_proc_threads, m.pid, threads0 + 2, 1, 10000), threads0 + 2);
    ck_assert_int_eq(th_upload(m.port, "/third.bin", "", "x", &r), -1);
    close(a);
    /* Its thread ends once the mock notices the close; MHD frees the slot just after. */
    ck_assert_int_le(th_wait_probe(th_proc_threads, m.pid, threads0 + 1, 0, 10000), threads0 + 1);
    th_sleep_ms(100);
    /* Control: once a slot is free the same request is served. */
    ck_assert_int_eq(th_upload(m.port, "/third.bin", "", "x", &r), 200);
    close(b);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_rss");
    TCase *t = tcase_create("rss");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, rss_is_flat_for_a_256_mib_content_length_body);
    tcase_add_test(t, rss_is_flat_for_a_256_mib_chunked_body);
    tcase_add_test(t, vmhwm_probe_sees_a_growing_process);
    tcase_add_test(t, two_hundred_fifty_six_uploads_are_held_at_once);
    tcase_add_test(t, idle_timeout_closes_a_silent_upload);
    tcase_add_test(t, max_connections_turns_away_the_extra_one);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
