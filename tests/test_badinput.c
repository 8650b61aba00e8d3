/*
 * Bad input to the streamput CLI gets its documented exit code and one clear line on stderr, and
 * nothing is stored. This suite covers what test_client_hostile.c does not: unreadable files, bad
 * URL forms, bad sizes, rates, durations and counts, options that need a regular file, a file that
 * shrinks before its body is sent, and a server that resets or closes mid-body.
 *
 * No case may reach a name server: every URL is either rejected by the parser or points at
 * 127.0.0.1, and host names that a broken parser might pass on carry a 64-byte label, which
 * glibc refuses without sending a packet.
 */
#include "th.h"

#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static char *small; /* 1000 bytes */
static char *big;   /* 32 MiB: more than loopback's socket buffers can hold at once */
static char closed_url[128];

/* A URL whose port nobody listens on: bound, read back, closed. */
static void make_closed_url(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(closed_url, sizeof closed_url, "http://127.0.0.1:%d/api/fs/put", ntohs(sa.sin_port));
}

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    small = strdup(th_path(dir, "small.bin"));
    big = strdup(th_path(dir, "big.bin"));
    ck_assert_int_eq(th_write_random(small, 1000, 11), 0);
    ck_assert_int_eq(th_write_random(big, 32u << 20, 12), 0);
    make_closed_url();
}

static void teardown(void)
{
    free(small);
    free(big);
    th_rmtree(dir);
}

/*
 * Checks the CLI's verdict: exit code `code`, and stderr that is one line "streamput: ..."
 * containing `says` (plus, for usage errors, the "Try 'streamput --help'" hint).
 */
static void expect_verdict(const th_run *r, int code, const char *says, const char *label)
{
    ck_assert_msg(!r->timed_out, "%s: client killed by the harness", label);
    ck_assert_msg(r->status == code, "%s: exit %d, want %d; stderr: %s", label, r->status, code,
                  r->err);
    ck_assert_msg(strncmp(r->err, "streamput: ", 11) == 0, "%s: stderr: %s", label, r->err);
    ck_assert_msg(says == NULL || strstr(r->err, says) != NULL, "%s: stderr lacks '%s': %s", label,
                  says, r->err);
    const char *nl = strchr(r->err, '\n');
    ck_assert_msg(nl != NULL, "%s: stderr line not terminated: %s", label, r->err);
    ck_assert_msg(nl[1] == '\0' ||
                      strcmp(nl + 1, "Try 'streamput --help' for more information.\n") == 0,
                  "%s: more than one line on stderr: %s", label, r->err);
}

/* Runs streamput -s with the NULL-terminated arguments, stdin from stdin_path (or /dev/null). */
static th_run *run(const char *stdin_path, ...)
{
    static th_run r;
    char *argv[24];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput";
    argv[n++] = "-s";
    va_list ap;
    va_start(ap, stdin_path);
    th_argv_va(argv, n, 24, ap);
    va_end(ap);
    th_run_argv(&r, argv, stdin_path, 30000);
    return &r;
}

/* ---- unreadable file ---- */

/*
 * chmod 000 does not stop root, so as root the client runs as nobody through setpriv(1). The
 * control run (a readable file, same wrapper) must get past the file to the connection, which
 * shows the exit 3 comes from the permissions and nothing else.
 */
START_TEST(unreadable_file_is_a_file_error)
{
    const char *secret = th_path(dir, "secret.bin");
    ck_assert_int_eq(th_write_random(secret, 1000, 3), 0);
    ck_assert_int_eq(chmod(secret, 0), 0);
    ck_assert_int_eq(chmod(small, 0644), 0);
    ck_assert_int_eq(chmod(dir, 0711), 0); /* nobody may pass through, not list */
    static th_run r;
    if (geteuid() != 0) {
        expect_verdict(run(NULL, secret, closed_url, NULL), 3, "Permission denied", "chmod 000");
        return;
    }
    if (access("/usr/bin/setpriv", X_OK) != 0) {
        fprintf(stderr, "unreadable_file_is_a_file_error: skipped: running as root and "
                        "/usr/bin/setpriv (util-linux) is missing, so permissions cannot bite\n");
        return;
    }
    char *argv[] = {"/usr/bin/setpriv",
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    TH_BIN_DIR "/streamput",
                    "-s",
                    (char *)small,
                    closed_url,
                    NULL};
    th_run_argv(&r, argv, NULL, 30000);
    if (r.status == 126 || r.status == 127 || strstr(r.err, "setpriv") != NULL) {
        fprintf(stderr,
                "unreadable_file_is_a_file_error: skipped: cannot run streamput as "
                "nobody here (exit %d: %s)\n",
                r.status, r.err);
        return;
    }
    expect_verdict(&r, 4, "Connection refused", "control: readable file as nobody");
    argv[6] = (char *)secret;
    th_run_argv(&r, argv, NULL, 30000);
    expect_verdict(&r, 3, "Permission denied", "chmod 000 as nobody");
    ck_assert_ptr_nonnull(strstr(r.err, "secret.bin"));
}
END_TEST

/* ---- bad URLs ---- */

/* A 64-byte label: glibc cannot put it in a DNS query, so even a parser bug sends no packet. */
#define L64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* The same, but not hex, for inside brackets. */
#define G64 "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"

static const struct {
    const char *url;
    const char *says;
} bad_urls[] = {
    {"", "URL is empty"},
    {"ftp://127.0.0.1/api/fs/put", "URL must start with http://"},
    {"127.0.0.1:5244/api/fs/put", "URL must start with http://"},
    {"http//127.0.0.1/api/fs/put", "URL must start with http://"},
    {"http://", "no host"},
    {"http:///api/fs/put", "no host"},
    {"http://:5244/api/fs/put", "no host"},
    {"http://127.0.0.1:/api/fs/put", "invalid port"},
    {"http://127.0.0.1:0/api/fs/put", "invalid port '0'"},
    {"http://127.0.0.1:65536/api/fs/put", "invalid port '65536'"},
    {"http://127.0.0.1:80a/api/fs/put", "invalid port '80a'"},
    {"http://127.0.0.1:-80/api/fs/put", "invalid port '-80'"},
    {"http://127.0.0.1:123456789/", "invalid port"},
    {"http://[::1/api/fs/put", "unterminated IPv6 literal"},
    {"http://[::1]80/api/fs/put", "junk after IPv6 literal"},
    {"http://[]/api/fs/put", "invalid IPv6 literal"},
    {"http://[" G64 "]/api/fs/put", "invalid IPv6 literal"},
    {"http://user:secret@127.0.0.1/api/fs/put", "credentials in the URL are not supported"},
    {"http://" L64 " x.invalid/api/fs/put", "invalid character in host name"},
    {"http://" L64 "\\x.invalid/api/fs/put", "invalid character in host name"},
    {"http://" L64 "\x01.invalid/api/fs/put", "invalid character in host name"},
    {"http://127.0.0.1/api/fs put", "space or control character in the path"},
    {"http://127.0.0.1/api/fs/put\r\nX-Evil: 1", "space or control character in the path"},
    {"http://127.0.0.1/api/\x7f", "space or control character in the path"},
};
#define NBAD_URLS (sizeof bad_urls / sizeof bad_urls[0])

START_TEST(bad_url_is_a_usage_error)
{
    char label[160];
    snprintf(label, sizeof label, "URL '%.100s'", bad_urls[_i].url);
    expect_verdict(run(NULL, small, bad_urls[_i].url, NULL), 2, bad_urls[_i].says, label);
}
END_TEST

/* Too long to be a host or a request target: refused before any lookup or connection. */
START_TEST(overlong_host_and_path_are_usage_errors)
{
    static char url[16384];
    char host[300];
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(url, sizeof url, "http://%s/api/fs/put", host);
    expect_verdict(run(NULL, small, url, NULL), 2, "host name too long", "300-byte host");
    int n = snprintf(url, sizeof url, "http://127.0.0.1/");
    memset(url + n, 'p', 9000);
    url[n + 9000] = '\0';
    expect_verdict(run(NULL, small, url, NULL), 2, "URL path too long", "9000-byte path");
}
END_TEST

/* ---- bad option values ---- */

static const struct {
    const char *opt, *value, *says;
} bad_values[] = {
    {"--size", "abc", "invalid --size 'abc'"},
    {"--size", "-1", "invalid --size '-1'"},
    {"--size", "1.5M", "invalid --size '1.5M'"},
    {"--size", "12Q", "invalid --size '12Q'"},
    {"--size", "", "invalid --size ''"},
    {"--size", " 5", "invalid --size ' 5'"},
    {"--size", "18446744073709551616", "invalid --size"},
    {"--size", "20000000T", "invalid --size"},
    {"--limit-rate", "0", "invalid --limit-rate '0'"},
    {"--limit-rate", "fast", "invalid --limit-rate 'fast'"},
    {"--limit-rate", "-5M", "invalid --limit-rate '-5M'"},
    {"--limit-rate", "10X", "invalid --limit-rate '10X'"},
    {"--timeout", "abc", "invalid duration for --timeout"},
    {"--timeout", "-1", "invalid duration for --timeout"},
    {"--timeout", "5h", "invalid duration for --timeout"},
    {"--timeout", "", "invalid duration for --timeout"},
    {"--timeout", "1e400", "invalid duration for --timeout"},
    {"--timeout", "inf", "invalid duration for --timeout"},
    {"--timeout", "nan", "invalid duration for --timeout"},
    {"--connect-timeout", "soon", "invalid duration for --connect-timeout"},
    {"--stall-timeout", "1 s", "invalid duration for --stall-timeout"},
    {"--expect-timeout", "-0.5", "invalid duration for --expect-timeout"},
    {"--retry-delay", "ms", "invalid duration for --retry-delay"},
    {"--retry", "1001", "invalid --retry '1001'"},
    {"--retry", "-1", "invalid --retry '-1'"},
    {"--retry", "many", "invalid --retry 'many'"},
    {"--hash", "sha512", "invalid --hash 'sha512'"},
    {"--hash", "md5,,sha1", "invalid --hash"},
    {"--hash", "", "invalid --hash"},
    {"--chunk-size", "2G", "must be 1 B to 1 GiB"},
    {"-T", "text/plain\x01", "control character"},
    {"-t", "tok\x7f", "control character"},
};
#define NBAD_VALUES (sizeof bad_values / sizeof bad_values[0])

START_TEST(bad_option_value_is_a_usage_error)
{
    char label[160];
    snprintf(label, sizeof label, "%s '%s'", bad_values[_i].opt, bad_values[_i].value);
    expect_verdict(run(NULL, bad_values[_i].opt, bad_values[_i].value, small, closed_url, NULL), 2,
                   bad_values[_i].says, label);
}
END_TEST

START_TEST(wrong_argument_counts_and_unknown_options_are_usage_errors)
{
    th_run *r = run(NULL, small, NULL);
    expect_verdict(r, 2, "expected FILE and URL", "FILE only");
    r = run(NULL, small, closed_url, "extra", NULL);
    expect_verdict(r, 2, "too many arguments", "three operands");
    /* getopt's own messages start with the program's path; the hint follows. */
    r = run(NULL, "--bogus", small, closed_url, NULL);
    ck_assert_int_eq(r->status, 2);
    ck_assert_msg(strstr(r->err, "unrecognized option '--bogus'") != NULL, "%s", r->err);
    ck_assert_ptr_nonnull(strstr(r->err, "Try 'streamput --help'"));
    r = run(NULL, small, closed_url, "-c", NULL);
    ck_assert_int_eq(r->status, 2);
    ck_assert_msg(strstr(r->err, "requires an argument") != NULL, "%s", r->err);
}
END_TEST

/* Options that need to read the input twice, or to hand it to sendfile, refuse a stream. */
START_TEST(stream_input_refuses_sendfile_and_digests)
{
    expect_verdict(run(small, "-e", "sendfile", "-", closed_url, NULL), 2,
                   "the sendfile engine needs a regular file", "-e sendfile with stdin");
    expect_verdict(run(small, "--hash", "sha256", "-", closed_url, NULL), 2,
                   "digests need a regular file", "--hash with stdin");
}
END_TEST

/* ---- the input changes or runs short ---- */

/* Takes the request head, then truncates the file named by arg before letting the body come. */
static void b_truncate_then_continue(int fd, int nth, void *arg)
{
    char head[16384];
    size_t hlen;
    if (th_read_head(fd, head, sizeof head, &hlen, 10000) < 0)
        return;
    th_script_report("truncate=%d\n", truncate((const char *)arg, 1000));
    th_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    char buf[65536];
    long got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, 3000) > 0) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        got += n;
    }
    th_script_report("body=%ld\n", got);
    (void)nth;
}

/* _i: 0 rw, 1 sendfile. The file shrinks after Content-Length went out: exit 3, not success. */
START_TEST(file_shrinking_before_its_body_is_a_file_error)
{
    const char *eng = _i == 0 ? "rw" : "sendfile";
    const char *victim = th_path(dir, _i == 0 ? "shrink-rw.bin" : "shrink-sf.bin");
    ck_assert_int_eq(th_write_random(victim, 3u << 20, 21), 0);
    th_script s;
    ck_assert_int_eq(th_script_start(&s, b_truncate_then_continue, (void *)victim, 1), 0);
    char url[128], seen[256], label[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s.port);
    snprintf(label, sizeof label, "engine %s", eng);
    th_run *r = run(NULL, "-e", eng, victim, url, NULL);
    th_script_stop(&s, seen, sizeof seen, 5000);
    expect_verdict(r, 3, "input ended after 1000 of 3145728 bytes", label);
    ck_assert_msg(strncmp(seen, "truncate=0\n", 11) == 0, "server: %s", seen);
}
END_TEST

/* A stream shorter than its --size is a file error from the CLI too, and the mock keeps nothing. */
START_TEST(stream_shorter_than_size_is_a_file_error_and_nothing_is_stored)
{
    char *root = strdup(th_path(dir, "root-short"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, root, NULL), 0);
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", m.url);
    th_run *r = run(small, "--size", "5000", "-p", "/short.bin", "-", url, NULL);
    expect_verdict(r, 3, "input ended after 1000 of 5000 bytes", "--size 5000, 1000 on stdin");
    /* The mock finishes the aborted request on its own time; its journal says when. */
    ck_assert_msg(th_journal_wait(&m, "/short.bin", 5000), "the mock never logged it");
    ck_assert(!th_exists(th_path(root, "short.bin")));
    ck_assert_int_eq(th_count_prefix(root, TH_TMP_PREFIX), 0);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    free(root);
}
END_TEST

/* ---- the server goes away mid-body ---- */

/* Reads the head and 256 KiB of body, then resets (arg NULL) or closes cleanly (arg non-NULL). */
static void b_drop_mid_body(int fd, int nth, void *arg)
{
    char head[16384];
    size_t hlen;
    long got = th_read_head(fd, head, sizeof head, &hlen, 10000);
    if (got < 0)
        return;
    got -= (long)hlen;
    if (strstr(head, "\r\nExpect:") != NULL || strstr(head, "\r\nexpect:") != NULL)
        th_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    char buf[16384];
    while (got < 256 * 1024) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        got += n;
    }
    th_script_report("body=%ld\n", got);
    if (arg == NULL) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l); /* close() now sends RST */
    } else {
        shutdown(fd, SHUT_RDWR);
    }
    (void)nth;
}

/* _i: engine (rw, sendfile, chunked) x how (reset, clean close): exit 9, never SIGPIPE. */
START_TEST(server_gone_mid_body_is_connection_lost)
{
    static const char *const engines[] = {"rw", "sendfile", "chunked"};
    int e = _i % 3, clean = _i / 3;
    char url[128], seen[128], label[64];
    snprintf(label, sizeof label, "engine %s, server %s", engines[e], clean ? "closes" : "resets");
    th_script s;
    ck_assert_int_eq(th_script_start(&s, b_drop_mid_body, clean ? (void *)"" : NULL, 1), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s.port);
    th_run *r;
    if (e == 2)
        r = run(big, "-c", "64K", "--stall-timeout", "5", "-", url, NULL);
    else
        r = run(NULL, "-c", "64K", "-e", engines[e], big, url, NULL);
    th_script_stop(&s, seen, sizeof seen, 5000);
    ck_assert_msg(r->status != 128 + SIGPIPE, "%s: killed by SIGPIPE", label);
    expect_verdict(r, 9, NULL, label);
    ck_assert_msg(r->seconds < 10.0, "%s: took %.1f s", label, r->seconds);
    ck_assert_msg(strncmp(seen, "body=", 5) == 0, "%s: server saw: %s", label, seen);
}
END_TEST

/* The same through the real mock's reset fault: exit 9 and nothing stored, no temp file left. */
START_TEST(mock_reset_mid_body_stores_nothing)
{
    static const char *const engines[] = {"rw", "sendfile", "chunked"};
    char name[32];
    snprintf(name, sizeof name, "root-reset-%d", _i);
    char *root = strdup(th_path(dir, name));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, root, "--fault", "reset-after=256K", NULL), 0);
    char url[192], label[64];
    snprintf(url, sizeof url, "%s/api/fs/put", m.url);
    snprintf(label, sizeof label, "engine %s, mock reset-after=256K", engines[_i]);
    th_run *r;
    if (_i == 2)
        r = run(big, "-c", "64K", "-p", "/reset.bin", "-", url, NULL);
    else
        r = run(NULL, "-c", "64K", "-e", engines[_i], "-p", "/reset.bin", big, url, NULL);
    th_mock_drain_log(&m);
    expect_verdict(r, 9, NULL, label);
    ck_assert_msg(th_journal_wait(&m, "/reset.bin", 5000), "%s: the mock never logged it", label);
    ck_assert_msg(!th_exists(th_path(root, "reset.bin")), "%s: a partial file was stored", label);
    ck_assert_int_eq(th_count_prefix(root, TH_TMP_PREFIX), 0);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    free(root);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("badinput");
    TCase *t = tcase_create("bad_input");
    tcase_add_unchecked_fixture(t, setup, teardown); /* tests only read the shared files */
    tcase_set_timeout(t, 60);
    tcase_add_test(t, unreadable_file_is_a_file_error);
    tcase_add_loop_test(t, bad_url_is_a_usage_error, 0, NBAD_URLS);
    tcase_add_test(t, overlong_host_and_path_are_usage_errors);
    tcase_add_loop_test(t, bad_option_value_is_a_usage_error, 0, NBAD_VALUES);
    tcase_add_test(t, wrong_argument_counts_and_unknown_options_are_usage_errors);
    tcase_add_test(t, stream_input_refuses_sendfile_and_digests);
    tcase_add_loop_test(t, file_shrinking_before_its_body_is_a_file_error, 0, 2);
    tcase_add_test(t, stream_shorter_than_size_is_a_file_error_and_nothing_is_stored);
    tcase_add_loop_test(t, server_gone_mid_body_is_connection_lost, 0, 6);
    tcase_add_loop_test(t, mock_reset_mid_body_stores_nothing, 0, 3);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
