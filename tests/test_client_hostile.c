/*
 * The real streamput CLI against small scripted servers that misbehave, each on 127.0.0.1 port
 * 0 in a child process: every case must end with the documented exit code and a clear message,
 * within its timeout, and never by SIGPIPE. The cases where TLS changes how the end comes
 * (Ctrl-C, retries, a peer gone mid-body) run again over https://, the very same servers behind
 * th_tls's front.
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static char url[128];
static const char *small;  /* 1000 bytes: no Expect */
static const char *medium; /* 3 MiB: Expect: 100-continue */
static int over_tls;       /* the servers sit behind a TLS front and url is https:// */
/* "--cacert=FILE", trusting the front's certificate; over http:// the client does not use it, so
 * a case passes it either way and its command line is the same for both. */
static char trust[1024];

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    small = strdup(th_path(dir, "small.bin"));
    medium = strdup(th_path(dir, "medium.bin"));
    ck_assert_int_eq(th_write_random(small, 1000, 1), 0);
    ck_assert_int_eq(th_write_random(medium, 3u << 20, 2), 0);
    snprintf(trust, sizeof trust, "--cacert=%s", th_path(dir, "cert.pem"));
    over_tls = 0;
}

#ifdef TH_HAVE_TLS
static void setup_tls(void)
{
    setup();
    over_tls = 1;
    ck_assert_int_eq(th_make_cert(th_path(dir, "cert.pem"), th_path(dir, "key.pem"), "127.0.0.1",
                                  "IP:127.0.0.1", 0, 86400),
                     0);
}
#endif

static void teardown(void)
{
    free((char *)small);
    free((char *)medium);
    th_rmtree(dir);
}

/* Starts a scripted server (th_script.h), behind TLS in the https:// case, and points url at it. */
static void start_server(th_script *s, th_script_fn fn, int conns)
{
#ifdef TH_HAVE_TLS
    if (over_tls) {
        ck_assert_int_eq(th_script_start_tls(s, fn, NULL, conns, th_path(dir, "cert.pem"),
                                             th_path(dir, "key.pem")),
                         0);
        snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", s->port);
        return;
    }
#endif
    ck_assert_int_eq(th_script_start(s, fn, NULL, conns), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s->port);
}

/* Stops the script and returns what it reported. */
static const char *stop_server(th_script *s)
{
    static char out[4096];
    return th_script_stop(s, out, sizeof out, 200);
}

/* Runs the client and checks its exit code and that stderr mentions `says`. */
static th_run *expect_exit(int code, const char *says, const char *file, const char *extra1,
                           const char *extra2)
{
    static th_run r;
    th_client(&r, "-s", "--stall-timeout", "5", file, url, extra1, extra2, NULL);
    ck_assert_msg(!r.timed_out, "client hung (killed after 60 s)");
    ck_assert_msg(r.status == code, "exit %d, want %d; stderr: %s", r.status, code, r.err);
    ck_assert_msg(says == NULL || strstr(r.err, says) != NULL, "stderr lacks '%s': %s", says,
                  r.err);
    return &r;
}

static void b_garbage(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_str(fd, "GARBAGE NOT HTTP\r\n\r\n");
}

START_TEST(garbage_response_is_a_protocol_error)
{
    th_script s;
    start_server(&s, b_garbage, 1);
    expect_exit(8, "malformed response", small, NULL, NULL);
    stop_server(&s);
}
END_TEST

static void b_reset_at_once(int fd, int nth, void *arg)
{
    th_reset(fd);
}

START_TEST(reset_before_anything_is_connection_lost)
{
    th_script s;
    start_server(&s, b_reset_at_once, 1);
    expect_exit(9, NULL, medium, NULL, NULL);
    stop_server(&s);
}
END_TEST

static void b_truncated(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 44\r\n\r\n{\"code\":2");
}

START_TEST(truncated_response_is_a_protocol_error)
{
    th_script s;
    start_server(&s, b_truncated, 1);
    expect_exit(8, "truncated", small, NULL, NULL);
    stop_server(&s);
}
END_TEST

static void b_reset_after_headers(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 44\r\n\r\n");
    poll(NULL, 0, 100);
    th_reset(fd);
}

START_TEST(reset_after_response_headers_is_reported)
{
    th_script s;
    start_server(&s, b_reset_after_headers, 1);
    th_run *r = expect_exit(9, "receive response", small, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r->err, "reset"));
    stop_server(&s);
}
END_TEST

static void b_endless_headers(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_str(fd, "HTTP/1.1 200 OK\r\n");
    char line[1024];
    memset(line, 'h', sizeof line);
    memcpy(line, "X-Endless: ", 11);
    memcpy(line + sizeof line - 2, "\r\n", 2);
    for (int i = 0; i < 1024; i++) /* 1 MiB of headers, then hold the line open */
        if (th_send_all(fd, line, sizeof line) < 0)
            return;
    th_drain_for(fd, 5000);
}

START_TEST(endless_headers_are_cut_at_64_KiB)
{
    th_script s;
    start_server(&s, b_endless_headers, 1);
    th_run *r = expect_exit(8, "headers exceed 64 KiB", small, NULL, NULL);
    ck_assert_double_lt(r->seconds, 5.0);
    stop_server(&s);
}
END_TEST

static void b_huge_body(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n");
    char block[65536];
    memset(block, '{', sizeof block);
    for (int i = 0; i < 64; i++)
        if (th_send_all(fd, block, sizeof block) < 0)
            return;
}

START_TEST(ten_gigabyte_response_body_is_refused_at_1_MiB)
{
    th_script s;
    start_server(&s, b_huge_body, 1);
    th_run *r = expect_exit(8, "body exceeds 1024 KiB", small, NULL, NULL);
    ck_assert_int_lt(r->ru.ru_maxrss, 64 * 1024); /* KiB: nowhere near 10 GB */
    stop_server(&s);
}
END_TEST

static void b_silent(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 10000);
}

/*
 * A server that has the whole body and says nothing may be storing it (OpenList passing a big
 * file on to cloud storage): that is what --answer-timeout bounds, not the stall timeout, and
 * the message must not let the user believe nothing was stored.
 */
START_TEST(silent_server_after_the_whole_body_hits_the_answer_timeout)
{
    th_script s;
    start_server(&s, b_silent, 1);
    th_run r;
    th_client(&r, trust, "-s", "--stall-timeout", "0.3", "--answer-timeout", "1", small, url, NULL);
    ck_assert_msg(r.status == 5, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "wait for response: no answer 1000 ms after the whole body was "
                                "sent (answer timeout); the whole body had been sent, so the "
                                "server may have stored the file") != NULL,
                  "%s", r.err);
    ck_assert_double_lt(r.seconds, 5.0);
    stop_server(&s);
}
END_TEST

/* Takes the head and 64 KiB of the body, then reads nothing more for 10 s. */
static void b_stops_reading(int fd, int nth, void *arg)
{
    th_read_body(fd, th_skip_head(fd), 64 * 1024);
    poll(NULL, 0, 10000);
}

START_TEST(server_that_stops_taking_the_body_hits_the_stall_timeout)
{
    /*
     * 64 MiB is more than the socket buffers on both sides hold: the sender blocks mid-body.
     * 1 MiB usually fits in the client's send buffer: the whole body is out, but the server's
     * TCP has not acknowledged it, so the stall timeout still runs while waiting for the answer.
     */
    static const uint64_t lens[] = {64u << 20, 1u << 20};
    for (size_t i = 0; i < 2; i++) {
        const char *big = th_path(dir, "big.bin");
        ck_assert_int_eq(th_write_pattern(big, "0123456789abcdef", 16, lens[i]), 0);
        th_script s;
        start_server(&s, b_stops_reading, 1);
        th_run r;
        th_client(&r, trust, "-s", "-H", "Expect:", "--stall-timeout", "0.5", big, url, NULL);
        ck_assert_msg(r.status == 5, "%zu: exit %d: %s", i, r.status, r.err);
        ck_assert_msg(strstr(r.err, "no progress for 500 ms (stall timeout)") != NULL, "%s", r.err);
        if (i == 0)
            ck_assert_msg(strstr(r.err, "may have stored") == NULL, "%s", r.err);
        ck_assert_double_lt(r.seconds, 5.0);
        stop_server(&s);
    }
}
END_TEST

static void b_slow_drip(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 44\r\n\r\n" TH_SUCCESS;
    for (const char *p = resp; *p != '\0'; p++) {
        if (th_send_all(fd, p, 1) < 0)
            return;
        poll(NULL, 0, 100);
    }
}

START_TEST(slow_drip_hits_the_whole_transfer_timeout)
{
    th_script s;
    start_server(&s, b_slow_drip, 1);
    th_run r;
    th_client(&r, "-s", "--timeout", "1", small, url, NULL);
    ck_assert_msg(r.status == 5, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "timed out after 1000 ms"));
    ck_assert_double_lt(r.seconds, 4.0);
    stop_server(&s);
}
END_TEST

/* Answers 401 at once to a request with Expect: 100-continue, and counts body bytes after. */
static void b_early_401(int fd, int nth, void *arg)
{
    static const char body[] =
        "{\"code\":401,\"message\":\"Guest user is disabled, login please\",\"data\":null}";
    char head[128];
    long extra = th_skip_head(fd);
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(body));
    th_send_str(fd, head);
    th_send_str(fd, body);
    th_script_report("body=%ld\n", extra + th_drain_for(fd, 500));
}

START_TEST(early_401_with_expect_sends_no_body)
{
    th_script s;
    start_server(&s, b_early_401, 1);
    expect_exit(7, "Guest user is disabled, login please", medium, NULL, NULL);
    const char *seen = stop_server(&s);
    ck_assert_msg(strcmp(seen, "body=0\n") == 0, "server saw: %s", seen);
}
END_TEST

/* Never sends 100 Continue, but takes the body and answers as soon as it is all there. */
static void b_no_continue(int fd, int nth, void *arg)
{
    long got = th_read_body(fd, th_skip_head(fd), 3L << 20);
    th_script_report("body=%ld\n", got);
    th_answer_ok(fd);
}

START_TEST(missing_100_continue_sends_the_body_after_the_expect_timeout)
{
    th_script s;
    start_server(&s, b_no_continue, 1);
    th_run r;
    th_client(&r, "-s", "--expect-timeout", "300ms", medium, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_double_ge(r.seconds, 0.3);
    ck_assert_double_lt(r.seconds, 4.0);
    const char *seen = stop_server(&s);
    ck_assert_msg(strcmp(seen, "body=3145728\n") == 0, "server saw: %s", seen);
}
END_TEST

START_TEST(removing_the_expect_header_means_no_wait)
{
    th_script s;
    start_server(&s, b_no_continue, 1);
    th_run r;
    th_client(&r, "-s", "--expect-timeout", "5", "-H", "Expect:", medium, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(r.seconds < 4.0, "waited %.2f s for a 100 Continue it never asked for",
                  r.seconds);
    stop_server(&s);
}
END_TEST

/* Reads part of the body, answers 413 and closes while the client is still sending. */
static void b_413_midway(int fd, int nth, void *arg)
{
    long got = th_skip_head(fd);
    char buf[65536];
    while (got < 256 * 1024) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        got += n;
    }
    th_send_str(fd,
                "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    shutdown(fd, SHUT_WR);
    poll(NULL, 0, 200);
}

START_TEST(early_413_mid_body_is_reported_not_sigpipe)
{
    th_script s;
    start_server(&s, b_413_midway, 1);
    /* No Expect, so the body is already streaming when the answer comes. */
    th_run r;
    th_client(&r, "-s", "-H", "Expect:", "-c", "4K", medium, url, NULL);
    ck_assert_msg(r.status != 128 + SIGPIPE, "killed by SIGPIPE");
    ck_assert_msg(r.status == 6 || r.status == 9, "exit %d: %s", r.status, r.err);
    if (r.status == 6)
        ck_assert_ptr_nonnull(strstr(r.err, "HTTP 413"));
    stop_server(&s);
}
END_TEST

/* Answers success the moment it accepts, before reading anything: a response to no request. */
static void b_answer_first(int fd, int nth, void *arg)
{
    th_answer_ok(fd);
    th_script_report("body=%ld\n", th_drain_for(fd, 500));
}

START_TEST(success_before_the_body_is_not_taken_for_success)
{
    th_script s;
    start_server(&s, b_answer_first, 1);
    /* With Expect (3 MiB) the answer ends the upload before any body byte goes out. */
    th_run *r = expect_exit(8, "before the body was complete", medium, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(r->err, "0 of 3145728 bytes"));
    stop_server(&s);
}
END_TEST

/* Takes 256 KiB of body, then resets (odd connections) or closes (even ones). */
static void b_gone_mid_body(int fd, int nth, void *arg)
{
    th_read_body(fd, th_skip_head(fd), 256 * 1024);
    if (nth % 2 == 1)
        th_reset(fd);
}

/* Resets as soon as the request head is in, while the body is about to go out. */
static void b_reset_after_head(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_reset(fd);
}

/* sendfile(2) has no MSG_NOSIGNAL: only the client's own care keeps SIGPIPE from killing it. */
START_TEST(peer_gone_mid_body_is_connection_lost_for_every_engine)
{
    static const char *engines[] = {"rw", "sendfile", "auto"};
    static const th_script_fn how[] = {b_gone_mid_body, b_reset_after_head};
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 3; i++) {
            th_script s;
            start_server(&s, how[h], 2);
            for (int k = 0; k < 2; k++) {
                th_run r;
                th_client(&r, trust, "-s", "-H", "Expect:", "-c", "64K", "-e", engines[i], medium,
                          url, NULL);
                ck_assert_msg(r.status != 128 + SIGPIPE, "engine %s, case %d.%d: killed by SIGPIPE",
                              engines[i], h, k);
                ck_assert_msg(r.status == 9, "engine %s, case %d.%d: exit %d: %s", engines[i], h, k,
                              r.status, r.err);
            }
            stop_server(&s);
        }
    }
}
END_TEST

/*
 * Runs the shell command line `client` (which starts streamput with exec, so it has the pid
 * the shell knows), sends it SIGINT after `after` (a sleep(1) duration) and waits for it.
 */
static void run_interrupted(th_run *r, const char *client, const char *after)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "%.4096s & pid=$!; sleep %s; kill -INT $pid; wait $pid", client,
             after);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    th_run_argv(r, argv, NULL, 30000);
}

START_TEST(ctrl_c_while_waiting_for_the_server_ends_promptly)
{
    /* The server reads everything and never answers; the client waits on a 30 s stall timeout.
     * SIGINT must end it at once, not when the timeout expires. */
    th_script s;
    start_server(&s, b_silent, 1);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s/streamput %s -s --stall-timeout 30 %s %s", TH_BIN_DIR, trust,
             small, url);
    th_run r;
    run_interrupted(&r, cmd, "1");
    ck_assert_msg(r.status == 10, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "interrupted"));
    ck_assert_msg(r.seconds < 4.0, "took %.2f s to react to SIGINT", r.seconds);
    stop_server(&s);
}
END_TEST

/* Reads the whole request, sends the start of a status line, and says no more for 10 s. */
static void b_answer_begun(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_str(fd, "HTTP/1.1 2");
    th_drain_for(fd, 10000);
}

/*
 * Once the last byte is out, the server may be storing the file while the user presses Ctrl-C:
 * saying only "interrupted" would let them believe nothing was stored. For a file, for a
 * chunked stream (the last chunk sent), and with an answer that had begun to arrive.
 */
START_TEST(ctrl_c_after_the_whole_body_says_the_file_may_be_stored)
{
    static const struct {
        th_script_fn server;
        int piped;
        const char *known;
    } cases[] = {
        {b_silent, 0, "* no byte of the server's answer had arrived\n"},
        {b_silent, 1, "* no byte of the server's answer had arrived\n"},
        {b_answer_begun, 0, "* 10 bytes of the server's answer had arrived, not all of it\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_script s;
        start_server(&s, cases[i].server, 1);
        char cmd[4096];
        if (cases[i].piped)
            snprintf(cmd, sizeof cmd,
                     "exec %s/streamput %s -v --no-progress -H Expect: -p /x - %s < %s", TH_BIN_DIR,
                     trust, url, small);
        else
            snprintf(cmd, sizeof cmd, "exec %s/streamput %s -v --no-progress %s %s", TH_BIN_DIR,
                     trust, small, url);
        th_run r;
        run_interrupted(&r, cmd, "1");
        ck_assert_msg(r.status == 10, "case %zu: exit %d: %s", i, r.status, r.err);
        ck_assert_msg(strstr(r.err, "streamput: interrupted after sending all 1000 bytes, while "
                                    "waiting for the server's answer: the file may have been "
                                    "stored\n") != NULL,
                      "case %zu: %s", i, r.err);
        ck_assert_msg(strstr(r.err, cases[i].known) != NULL, "case %zu: %s", i, r.err);
        stop_server(&s);
    }
}
END_TEST

/* First connection: takes the whole body and never answers; then takes 64 KiB and stops. */
static void b_mute_then_stuck(int fd, int nth, void *arg)
{
    if (nth == 0)
        b_silent(fd, nth, arg);
    else
        b_stops_reading(fd, nth, arg);
}

START_TEST(ctrl_c_in_a_retry_after_an_unanswered_whole_body_says_it_may_be_stored)
{
    /* Attempt 1 sends all 64 MiB and gets no answer; attempt 2 is stuck mid-body at SIGINT. */
    const char *big = th_path(dir, "big.bin");
    ck_assert_int_eq(th_write_pattern(big, "0123456789abcdef", 16, 64u << 20), 0);
    th_script s;
    start_server(&s, b_mute_then_stuck, 2);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "exec %s/streamput -s -H Expect: --answer-timeout 300ms --retry 1 --retry-delay "
             "100ms %s %s",
             TH_BIN_DIR, big, url);
    th_run r;
    run_interrupted(&r, cmd, "3");
    ck_assert_msg(r.status == 10, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "; an earlier attempt had sent the whole body and got no answer: "
                                "the file may have been stored\n") != NULL,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "sending all") == NULL, "%s", r.err);
    stop_server(&s);
}
END_TEST

START_TEST(ctrl_c_before_the_last_byte_says_how_far_it_got)
{
    /* 3 MiB at 1 MiB/s: a second in, most of the body has not gone out. */
    th_script s;
    start_server(&s, b_silent, 1);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "exec %s/streamput %s -v --no-progress -H Expect: --limit-rate 1M %s %s", TH_BIN_DIR,
             trust, medium, url);
    th_run r;
    run_interrupted(&r, cmd, "1");
    ck_assert_msg(r.status == 10, "exit %d: %s", r.status, r.err);
    const char *at = strstr(r.err, "streamput: interrupted after ");
    ck_assert_msg(at != NULL, "%s", r.err);
    /* How far it got: some of the body, far from all of it. */
    char *end;
    unsigned long long sent = strtoull(at + strlen("streamput: interrupted after "), &end, 10);
    ck_assert_msg(strncmp(end, " bytes\n", 7) == 0, "%s", r.err);
    ck_assert_msg(sent > 0 && sent < (3u << 20), "sent %llu of %u", sent, 3u << 20);
    ck_assert_msg(strstr(r.err, "may have been stored") == NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "sending all") == NULL, "%s", r.err);
    stop_server(&s);
}
END_TEST

/* JSON escapes decode to raw control bytes: an escape sequence and a forged line. (http-parser
 * already refuses control bytes in the status line and headers.) */
static void b_escapes(int fd, int nth, void *arg)
{
    th_answer(fd, "200 OK", "",
              "{\"code\":500,\"message\":\"\\u001b[2J\\nstreamput: uploaded OK\",\"data\":null}");
}

START_TEST(server_text_cannot_drive_the_terminal)
{
    th_script s;
    start_server(&s, b_escapes, 1);
    th_run r;
    th_client(&r, "-v", "--no-progress", small, url, NULL);
    ck_assert_msg(r.status == 7, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strchr(r.err, '\x1b') == NULL, "an escape byte reached stderr: %s", r.err);
    ck_assert_msg(strchr(r.err, '\x07') == NULL, "a bell byte reached stderr");
    ck_assert_msg(strstr(r.err, "\nstreamput: uploaded OK") == NULL, "the server forged a line");
    ck_assert_ptr_nonnull(strstr(r.err, "\\x1b[2J")); /* shown, escaped */
    stop_server(&s);
}
END_TEST

/*
 * C1 controls: CSI is U+009B (C2 9B in UTF-8, which cJSON makes of "\u009b") to a UTF-8
 * terminal and the raw byte 0x9b to an 8-bit one. A success message carries both, and so does a
 * response header that -v shows.
 */
static void b_c1_controls(int fd, int nth, void *arg)
{
    th_answer(fd, "200 OK",
              "X-Note: \x9b"
              "2J\r\n",
              "{\"code\":200,\"message\":\"ok \\u009b31m red \x9b"
              "0m\",\"data\":null}");
}

START_TEST(c1_controls_from_the_server_are_escaped)
{
    th_script s;
    start_server(&s, b_c1_controls, 1);
    th_run r;
    th_client(&r, "-v", "--no-progress", small, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strchr(r.err, '\x9b') == NULL, "a raw C1 byte reached stderr: %s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "< X-Note: \\x9b2J\n"));
    ck_assert_ptr_nonnull(strstr(r.err, "HTTP 200 ok \\xc2\\x9b31m red \\x9b0m\n"));
    stop_server(&s);
}
END_TEST

/* AList's answer to a route it does not know: HTTP 200 and the HTML of its web interface. */
static void b_web_page(int fd, int nth, void *arg)
{
    th_answer(fd, "200 OK", "Content-Type: text/html\r\n",
              "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/><title>AList</title>"
              "</head><body></body></html>");
}

START_TEST(web_page_from_a_mistyped_api_route_is_not_success)
{
    th_script s;
    start_server(&s, b_web_page, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/puut", s.port);
    th_run *r = expect_exit(8,
                            "server answered HTTP 200 with text/html, not AList's JSON envelope: "
                            "\"<!DOCTYPE html><html lang=\"en\">",
                            small, NULL, NULL);
    ck_assert_ptr_null(strstr(r->err, "uploaded"));
    stop_server(&s);
}
END_TEST

/* A WebDAV server or nginx answers a PUT with an empty 201 Created. */
static void b_created(int fd, int nth, void *arg)
{
    th_answer(fd, "201 Created", "", "");
}

START_TEST(plain_put_endpoint_keeps_2xx_as_success)
{
    th_script s;
    start_server(&s, b_created, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/dav/x.bin", s.port);
    th_run r;
    th_client(&r, "--no-progress", small, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "uploaded 1000 bytes"));
    ck_assert_ptr_nonnull(strstr(r.err, "HTTP 201 Created"));
    stop_server(&s);
}
END_TEST

/* First connection: 503; second: success. */
static void b_503_then_ok(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 200);
    if (nth == 0)
        th_send_str(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    else
        th_answer_ok(fd);
    th_script_report("conn%d\n", nth);
}

START_TEST(retry_recovers_from_a_503)
{
    th_script s;
    start_server(&s, b_503_then_ok, 2);
    th_run r;
    th_client(&r, trust, "-s", "--retry", "2", "--retry-delay", "100ms", small, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_str_eq(stop_server(&s), "conn0\nconn1\n");
}
END_TEST

/* First connection: takes 256 KiB of the body and drops it (a reset: the rest is unread); the
 * second takes the whole body, hashed. */
static void b_drop_then_hashed(int fd, int nth, void *arg)
{
    th_script_report("conn%d\n", nth);
    if (nth == 0)
        b_gone_mid_body(fd, 1, arg);
    else
        th_serve_hashed(fd, 0);
}

/*
 * A connection lost mid-body is retried from the first byte, and the server gets the file whole.
 * Each "connN" line comes from the server's function, which over TLS runs only after a handshake:
 * conn1 is a second handshake, not a reused session.
 */
START_TEST(retry_after_a_drop_mid_body_sends_the_whole_file_again)
{
    /* 16 MiB: more than the socket buffers on both sides (and the TLS front's) hold, so the drop
     * really comes before the client has handed over the last byte. */
    const char *big = th_path(dir, "big.bin");
    ck_assert_int_eq(th_write_random(big, 16u << 20, 5), 0);
    th_script s;
    start_server(&s, b_drop_then_hashed, 2);
    th_run r;
    th_client(&r, trust, "-v", "--no-progress", "-H", "Expect:", "--retry", "2", "--retry-delay",
              "100ms", big, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    /* Lost mid-body, whether the client found out by sending or by reading the close. */
    ck_assert_msg(strstr(r.err, "* attempt 1 failed (") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "the whole body was sent") == NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "; retrying in 100 ms\n") != NULL, "%s", r.err);
    const char *rep = stop_server(&s);
    ck_assert_msg(strncmp(rep, "conn0\nconn1\nbody ", 17) == 0, "%s", rep);
    th_assert_served(rep, big);
    /* The client's side of it: one handshake per attempt over TLS, none over TCP. */
    int handshakes = 0;
    for (const char *p = r.err; (p = strstr(p, "* TLS connection using ")) != NULL; p++)
        handshakes++;
    ck_assert_int_eq(handshakes, over_tls ? 2 : 0);
}
END_TEST

/* Accepts, reads the request, then says nothing: every attempt waits in vain. */
static void b_mute(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 3000);
}

START_TEST(timeout_covers_all_retries_together)
{
    th_script s;
    start_server(&s, b_mute, 8);
    th_run r;
    /*
     * Each attempt gives up on its answer after 1.5 s; the third starts at about 3.2 s. Were
     * the deadline per attempt, that one would run to about 4.8 s; the call's deadline cuts it
     * at 3.5 s.
     */
    th_client(&r, "-s", "--timeout", "3.5", "--answer-timeout", "1.5", "--retry", "5",
              "--retry-delay", "100ms", small, url, NULL);
    ck_assert_msg(r.status == 5, "exit %d: %s", r.status, r.err);
    /* 1 s over the deadline for a loaded or sanitized run, still short of the 4.7 s that a
     * per-attempt deadline would take. */
    ck_assert_msg(r.seconds < 4.5, "took %.2f s: --timeout did not bound the retries", r.seconds);
    stop_server(&s);
}
END_TEST

/* Takes whatever comes, slowly enough never to block a sender on loopback, and never answers. */
static void b_sink(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    th_drain_for(fd, 10000);
}

START_TEST(timeout_holds_while_the_body_is_going)
{
    /* send() never blocks here, and the rate limit sleeps between slices: --timeout must still
     * end it (4 MiB at 1 MiB/s would take 4 s). */
    const char *four = th_path(dir, "four.bin");
    ck_assert_int_eq(th_write_random(four, 4u << 20, 21), 0);
    th_script s;
    start_server(&s, b_sink, 1);
    th_run r;
    th_client(&r, trust, "-s", "--timeout", "1", "--limit-rate", "1M", "-H", "Expect:", four, url,
              NULL);
    ck_assert_msg(r.status == 5, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "send body: transfer timed out after 1000 ms"));
    /* Headroom for a loaded or sanitized run, still short of the 4 s the whole body takes. */
    ck_assert_msg(r.seconds < 3.5, "took %.2f s", r.seconds);
    stop_server(&s);
}
END_TEST

START_TEST(timeout_holds_while_waiting_for_a_slow_pipe)
{
    /* The producer (a sleeping shell) writes nothing for 2.5 s. */
    th_script s;
    start_server(&s, b_sink, 1);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "(sleep 2.5; echo late) | %s/streamput -s --timeout 1 -H 'Expect:' -p /slow - %s",
             TH_BIN_DIR, url);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    th_run r;
    th_run_argv(&r, argv, NULL, 30000);
    ck_assert_msg(r.status == 5, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "read input: transfer timed out after 1000 ms") != NULL,
                  "stderr: %s", r.err);
    stop_server(&s);
}
END_TEST

/* First connection: takes the whole body and never answers; then 503 for every other. */
static void b_mute_then_503(int fd, int nth, void *arg)
{
    th_skip_head(fd);
    if (nth == 0) {
        th_drain_for(fd, 5000); /* until the client gives up and closes */
    } else {
        th_drain_for(fd, 100);
        th_send_str(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    }
    th_script_report("conn%d\n", nth);
}

/*
 * The first attempt's whole body went out unanswered: the server may have stored the file, and
 * the retry's 503 must not hide that. With Overwrite: false there is no retry at all, since it
 * would be refused as "file exists" if the first attempt stored the file.
 */
START_TEST(retry_after_an_unanswered_whole_body_says_it_may_be_stored)
{
    th_script s;
    start_server(&s, b_mute_then_503, 2);
    th_run r;
    th_client(&r, "-v", "--no-progress", "--answer-timeout", "300ms", "--retry", "1",
              "--retry-delay", "100ms", small, url, NULL);
    ck_assert_msg(r.status == 6, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "streamput: server answered HTTP 503: Service Unavailable; "
                                "attempt 1 had sent the whole body and got no answer, so the "
                                "server may have stored the file\n") != NULL,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "after the whole body was sent: the server may have stored the "
                                "file, which the retry replaces; retrying") != NULL,
                  "%s", r.err);
    ck_assert_str_eq(stop_server(&s), "conn0\nconn1\n");

    static const char *no_overwrite[] = {"--no-overwrite", "-HOverwrite: false", "-HOverwrite: F"};
    for (size_t i = 0; i < sizeof no_overwrite / sizeof no_overwrite[0]; i++) {
        start_server(&s, b_mute_then_503, 2);
        th_client(&r, "-s", "--answer-timeout", "300ms", "--retry", "3", "--retry-delay", "100ms",
                  no_overwrite[i], small, url, NULL);
        ck_assert_msg(r.status == 5, "%s: exit %d: %s", no_overwrite[i], r.status, r.err);
        ck_assert_msg(strstr(r.err, "; the whole body had been sent, so the server may have "
                                    "stored the file (not retried: with Overwrite: false a "
                                    "second upload would be refused if this one stored the "
                                    "file)\n") != NULL,
                      "%s: %s", no_overwrite[i], r.err);
        ck_assert_str_eq(stop_server(&s), "conn0\n");
    }
    /* The negative control: a body that never went out whole is retried with --no-overwrite. */
    start_server(&s, b_503_then_ok, 2);
    th_client(&r, "-s", "--retry", "1", "--retry-delay", "100ms", "--no-overwrite", small, url,
              NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_str_eq(stop_server(&s), "conn0\nconn1\n");
}
END_TEST

START_TEST(without_retry_a_503_is_an_http_error)
{
    th_script s;
    start_server(&s, b_503_then_ok, 1);
    expect_exit(6, "HTTP 503", small, NULL, NULL);
    stop_server(&s);
}
END_TEST

START_TEST(stdin_is_never_retried_and_says_so)
{
    th_script s;
    start_server(&s, b_503_then_ok, 1);
    char *argv[] = {
        TH_BIN_DIR "/streamput", "-s", "--retry", "3", "--retry-delay", "10ms", "-", url, NULL};
    th_run r;
    th_run_argv(&r, argv, small, 30000);
    ck_assert_msg(r.status == 6, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "cannot be read again"));
    ck_assert_str_eq(stop_server(&s), "conn0\n");
}
END_TEST

START_TEST(refused_port_and_unknown_host_are_connect_errors)
{
    th_script s;
    start_server(&s, b_garbage, 1);
    stop_server(&s); /* the port is now closed */
    expect_exit(4, "Connection refused", small, NULL, NULL);
    /*
     * A 64-byte label cannot be put in a DNS query, so glibc fails the lookup locally: the
     * test exercises the resolve error without sending a packet to any nameserver.
     */
    char host[80];
    memset(host, 'a', 64);
    snprintf(host + 64, sizeof host - 64, ".invalid");
    snprintf(url, sizeof url, "http://%s/api/fs/put", host);
    expect_exit(4, "resolve aaaa", small, NULL, NULL);
}
END_TEST

START_TEST(local_and_usage_errors_have_their_own_codes)
{
    snprintf(url, sizeof url, "http://127.0.0.1:9/api/fs/put");
    expect_exit(3, "No such file or directory", th_path(dir, "missing"), NULL, NULL);
    expect_exit(3, "Is a directory", dir, NULL, NULL);
    expect_exit(2, "invalid --chunk-size", small, "-c", "0");
    expect_exit(2, "invalid --chunk-size", small, "-c", "12Q");
    expect_exit(2, "header injection", small, "-H", "X-A: b\r\nEvil: 1");
    expect_exit(2, "missing ':'", small, "-H", "no-colon-here");
    expect_exit(2, "invalid character in header name", small, "-H", "bad name: v");
    expect_exit(2, "invalid --engine", small, "-e", "mmap");
    snprintf(url, sizeof url, "https://127.0.0.1:1/api/fs/put");
    expect_exit(4, "connect 127.0.0.1:1", small, NULL, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:99999/");
    expect_exit(2, "invalid port", small, NULL, NULL);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("client_hostile");
    TCase *t = tcase_create("hostile_servers");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, garbage_response_is_a_protocol_error);
    tcase_add_test(t, reset_before_anything_is_connection_lost);
    tcase_add_test(t, truncated_response_is_a_protocol_error);
    tcase_add_test(t, reset_after_response_headers_is_reported);
    tcase_add_test(t, endless_headers_are_cut_at_64_KiB);
    tcase_add_test(t, ten_gigabyte_response_body_is_refused_at_1_MiB);
    tcase_add_test(t, silent_server_after_the_whole_body_hits_the_answer_timeout);
    tcase_add_test(t, server_that_stops_taking_the_body_hits_the_stall_timeout);
    tcase_add_test(t, slow_drip_hits_the_whole_transfer_timeout);
    tcase_add_test(t, early_401_with_expect_sends_no_body);
    tcase_add_test(t, missing_100_continue_sends_the_body_after_the_expect_timeout);
    tcase_add_test(t, removing_the_expect_header_means_no_wait);
    tcase_add_test(t, early_413_mid_body_is_reported_not_sigpipe);
    tcase_add_test(t, success_before_the_body_is_not_taken_for_success);
    tcase_add_test(t, peer_gone_mid_body_is_connection_lost_for_every_engine);
    tcase_add_test(t, ctrl_c_while_waiting_for_the_server_ends_promptly);
    tcase_add_test(t, ctrl_c_after_the_whole_body_says_the_file_may_be_stored);
    tcase_add_test(t, ctrl_c_before_the_last_byte_says_how_far_it_got);
    tcase_add_test(t, ctrl_c_in_a_retry_after_an_unanswered_whole_body_says_it_may_be_stored);
    tcase_add_test(t, server_text_cannot_drive_the_terminal);
    tcase_add_test(t, c1_controls_from_the_server_are_escaped);
    tcase_add_test(t, web_page_from_a_mistyped_api_route_is_not_success);
    tcase_add_test(t, plain_put_endpoint_keeps_2xx_as_success);
    tcase_add_test(t, retry_recovers_from_a_503);
    tcase_add_test(t, timeout_covers_all_retries_together);
    tcase_add_test(t, timeout_holds_while_the_body_is_going);
    tcase_add_test(t, timeout_holds_while_waiting_for_a_slow_pipe);
    tcase_add_test(t, without_retry_a_503_is_an_http_error);
    tcase_add_test(t, retry_after_an_unanswered_whole_body_says_it_may_be_stored);
    tcase_add_test(t, stdin_is_never_retried_and_says_so);
    tcase_add_test(t, refused_port_and_unknown_host_are_connect_errors);
    tcase_add_test(t, local_and_usage_errors_have_their_own_codes);
    tcase_add_test(t, retry_after_a_drop_mid_body_sends_the_whole_file_again);
    suite_add_tcase(s, t);
#ifdef TH_HAVE_TLS
    TCase *tls = tcase_create("hostile_servers_over_tls");
    tcase_add_checked_fixture(tls, setup_tls, teardown);
    tcase_set_timeout(tls, 60);
    tcase_add_test(tls, peer_gone_mid_body_is_connection_lost_for_every_engine);
    tcase_add_test(tls, ctrl_c_while_waiting_for_the_server_ends_promptly);
    tcase_add_test(tls, ctrl_c_after_the_whole_body_says_the_file_may_be_stored);
    tcase_add_test(tls, ctrl_c_before_the_last_byte_says_how_far_it_got);
    tcase_add_test(tls, retry_recovers_from_a_503);
    tcase_add_test(tls, silent_server_after_the_whole_body_hits_the_answer_timeout);
    tcase_add_test(tls, server_that_stops_taking_the_body_hits_the_stall_timeout);
    tcase_add_test(tls, timeout_holds_while_the_body_is_going);
    tcase_add_test(tls, retry_after_a_drop_mid_body_sends_the_whole_file_again);
    suite_add_tcase(s, tls);
#endif
    return th_run_suite(s);
}
