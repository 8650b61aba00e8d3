/*
 * streamput-mock over HTTPS: --tls-self-signed with --tls-cert-out and --tls-cert/--tls-key, as
 * curl sees it. Uploads are byte-exact with AList's answer, a client that does not trust the
 * certificate is refused (the negative control of the trust path), the printed fingerprint is
 * the written certificate's, bad TLS options exit 2, and hostile peers (plain HTTP, a silent
 * connection, half a ClientHello) never take the server down and are cut by --header-timeout.
 */
#include "th.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static th_env env;
static th_mock mock;
static char cert[512];
static char curl_path[512];

/* curl from $PATH (ci/install-deps.sh --bench installs it); 0 if there is none. */
static int find_curl(void)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return 0;
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, ":");
        snprintf(curl_path, sizeof curl_path, "%.*s/curl", (int)n, p);
        if (n > 0 && access(curl_path, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    curl_path[0] = '\0';
    return 0;
}

/* Skips the calling test, with a line saying why, when curl is not installed. */
#define NEED_CURL()                                                                                \
    do {                                                                                           \
        if (curl_path[0] == '\0') {                                                                \
            fprintf(stderr, "SKIP %s: curl not found on PATH (ci/install-deps.sh --bench)\n",      \
                    __func__);                                                                     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void setup(void)
{
    th_env_init(&env);
    snprintf(cert, sizeof cert, "%s", th_path(env.dir, "cert.pem"));
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--tls-self-signed", "--tls-cert-out", cert,
                                   "--header-timeout", "2", "--allow-fault-header", NULL),
                     0);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/*
 * Runs curl -sS [--cacert ca] -T src (or "-" with stdin from stdin_path) with File-Path fp and
 * one more header line extra (NULL: none) to the mock m's /api/fs/put, 20 s at most. Returns curl's
 * exit status; r->out holds the answer.
 */
static int curl_put_h(th_run *r, const th_mock *m, const char *ca, const char *src,
                      const char *stdin_path, const char *fp, const char *extra)
{
    char url[192], hdr[256];
    snprintf(url, sizeof url, "%s/api/fs/put", m->url);
    snprintf(hdr, sizeof hdr, "File-Path: %s", fp);
    char *argv[20];
    int n = 0;
    argv[n++] = curl_path;
    argv[n++] = "-sS";
    argv[n++] = "--max-time";
    argv[n++] = "15";
    if (ca != NULL) {
        argv[n++] = "--cacert";
        argv[n++] = (char *)ca;
    }
    argv[n++] = "-T";
    argv[n++] = (char *)(src != NULL ? src : "-");
    argv[n++] = "-H";
    argv[n++] = hdr;
    if (extra != NULL) {
        argv[n++] = "-H";
        argv[n++] = (char *)extra;
    }
    argv[n++] = url;
    argv[n] = NULL;
    return th_run_argv(r, argv, stdin_path, 20000);
}

/* curl_put_h without an extra header. */
static int curl_put(th_run *r, const th_mock *m, const char *ca, const char *src,
                    const char *stdin_path, const char *fp)
{
    return curl_put_h(r, m, ca, src, stdin_path, fp, NULL);
}

/* Uploads src over HTTPS trusting the written certificate; asserts success and a byte-exact copy.
 */
static void put_ok(const th_mock *m, const char *ca, const char *src, int chunked, const char *fp)
{
    static th_run r;
    int st = curl_put(&r, m, ca, chunked ? NULL : src, chunked ? src : NULL, fp);
    ck_assert_msg(st == 0, "curl %s: exit %d: %s", fp, st, r.err);
    ck_assert_str_eq(r.out, TH_SUCCESS);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, fp + 1)), 1);
}

START_TEST(https_uploads_are_byte_exact)
{
    NEED_CURL();
    ck_assert_msg(strncmp(mock.url, "https://127.0.0.1:", 18) == 0, "url %s", mock.url);
    static const struct {
        const char *name;
        uint64_t size;
    } sizes[] = {{"/empty.bin", 0}, {"/one.bin", 1}, {"/d/three-mib.bin", 3u << 20}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char srcpath[512];
        snprintf(srcpath, sizeof srcpath, "%s/sized-%zu.src", env.dir, i);
        ck_assert_int_eq(th_write_random(srcpath, sizes[i].size, (uint32_t)i + 1), 0);
        put_ok(&mock, cert, srcpath, 0, sizes[i].name);
    }
    th_assert_no_temps(env.root);
}
END_TEST

START_TEST(https_chunked_uploads_are_byte_exact)
{
    NEED_CURL();
    static const uint64_t sizes[] = {0, 1, (3u << 20) + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char src[512], fp[64];
        snprintf(src, sizeof src, "%s/chunked-%zu.src", env.dir, i);
        snprintf(fp, sizeof fp, "/chunked-%zu.bin", i);
        ck_assert_int_eq(th_write_random(src, sizes[i], (uint32_t)i + 11), 0);
        put_ok(&mock, cert, src, 1, fp);
    }
    th_assert_no_temps(env.root);
}
END_TEST

START_TEST(untrusted_certificate_is_refused_by_curl)
{
    NEED_CURL();
    static th_run r;
    const char *src = th_path(env.dir, "untrusted.src");
    ck_assert_int_eq(th_write_random(src, 1000, 3), 0);
    /* Without --cacert the system store does not know the mock's certificate:
     * CURLE_PEER_FAILED_VERIFICATION. */
    ck_assert_int_eq(curl_put(&r, &mock, NULL, src, NULL, "/untrusted.bin"), 60);
    ck_assert_int_eq(th_exists(th_path(env.root, "untrusted.bin")), 0);
    /* The same upload trusting the written certificate goes through. */
    put_ok(&mock, cert, src, 0, "/trusted.bin");
}
END_TEST

/* Runs a shell command line (tests' fixed strings only), its output in r. */
static int sh(th_run *r, const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    return th_run_argv(r, argv, NULL, 20000);
}

START_TEST(fingerprint_on_stderr_matches_the_written_certificate)
{
    static th_run r;
    char log[4096] = "";
    ck_assert(th_mock_log_wait(&mock, "\n", log, sizeof log, 2000));
    const char *at = strstr(log, "streamput-mock: TLS certificate SHA-256 ");
    ck_assert_msg(at != NULL, "no fingerprint line in: %s", log);
    at += strlen("streamput-mock: TLS certificate SHA-256 ");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "openssl x509 -noout -fingerprint -sha256 -in '%s'", cert);
    ck_assert_msg(sh(&r, cmd) == 0, "openssl: %s", r.err);
    const char *eq = strchr(r.out, '=');
    ck_assert_ptr_nonnull(eq);
    size_t n = strcspn(eq + 1, "\n");
    ck_assert_uint_eq(n, 32 * 3 - 1);
    ck_assert_msg(strncmp(at, eq + 1, n) == 0 && at[n] == '\n', "mock %.*s vs openssl %s", (int)n,
                  at, eq + 1);
    /* The certificate names the loopback addresses and is valid for about a day. */
    snprintf(cmd, sizeof cmd, "openssl x509 -noout -ext subjectAltName -checkend 80000 -in '%s'",
             cert);
    ck_assert_msg(sh(&r, cmd) == 0, "openssl: %s%s", r.out, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "IP Address:127.0.0.1"));
    ck_assert_ptr_nonnull(strstr(r.out, "IP Address:0:0:0:0:0:0:0:1"));
    ck_assert_ptr_nonnull(strstr(r.out, "DNS:localhost"));
    snprintf(cmd, sizeof cmd, "openssl x509 -noout -checkend 90000 -in '%s'", cert);
    ck_assert_int_eq(sh(&r, cmd), 1);
}
END_TEST

START_TEST(cert_and_key_files_serve_https)
{
    static th_run r;
    char cmd[2048];
    char *key = strdup(th_path(env.dir, "own.key")), *crt = strdup(th_path(env.dir, "own.crt"));
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=own -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s'",
             key, crt);
    ck_assert_msg(sh(&r, cmd) == 0, "openssl: %s", r.err);
    th_mock own;
    ck_assert_int_eq(th_mock_start(&own, env.root, "--tls-cert", crt, "--tls-key", key, NULL), 0);
    ck_assert_msg(strncmp(own.url, "https://", 8) == 0, "url %s", own.url);
    if (curl_path[0] != '\0') {
        const char *src = th_path(env.dir, "own.src");
        ck_assert_int_eq(th_write_random(src, 100000, 5), 0);
        put_ok(&own, crt, src, 0, "/own.bin");
        /* The self-signed mock's certificate does not vouch for this one. */
        ck_assert_int_eq(curl_put(&r, &own, cert, src, NULL, "/other.bin"), 60);
    }
    ck_assert_int_eq(th_mock_stop(&own), 0);
    free(key);
    free(crt);
}
END_TEST

/* Runs the mock with the given TLS arguments; asserts exit 2 and a line containing want. */
static void bad_tls_args(const char *want, char *a1, char *a2, char *a3, char *a4)
{
    static th_run r;
    char *argv[] = {TH_BIN_DIR "/streamput-mock",
                    "--listen",
                    "127.0.0.1:0",
                    "--root",
                    env.root,
                    a1,
                    a2,
                    a3,
                    a4,
                    NULL};
    ck_assert_int_eq(th_run_argv(&r, argv, NULL, 10000), 2);
    ck_assert_msg(strstr(r.err, want) != NULL, "want '%s' in: %s", want, r.err);
}

START_TEST(bad_tls_files_exit_2_with_a_reason)
{
    char *missing = strdup(th_path(env.dir, "missing.pem"));
    char *junk = strdup(th_path(env.dir, "junk.pem"));
    char *other = strdup(th_path(env.dir, "other.pem"));
    ck_assert_int_eq(th_write_random(junk, 300, 9), 0);
    bad_tls_args("--tls-cert and --tls-key go together", "--tls-cert", cert, NULL, NULL);
    bad_tls_args("No such file", "--tls-cert", missing, "--tls-key", cert);
    bad_tls_args("no PEM certificate", "--tls-cert", junk, "--tls-key", junk);
    /* The certificate itself is no key. */
    bad_tls_args("no PEM private key", "--tls-cert", cert, "--tls-key", cert);
    /* A key, but not the certificate's. */
    static th_run r;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s'", other);
    ck_assert_msg(sh(&r, cmd) == 0, "openssl: %s", r.err);
    bad_tls_args("is not the key of", "--tls-cert", cert, "--tls-key", other);
    bad_tls_args("--tls-cert-out needs --tls-self-signed", "--tls-cert-out", other, NULL, NULL);
    bad_tls_args("--tls-cert-out /nonexistent-dir/x.pem:", "--tls-self-signed", "--tls-cert-out",
                 "/nonexistent-dir/x.pem", NULL);
    free(missing);
    free(junk);
    free(other);
}
END_TEST

START_TEST(help_documents_the_tls_options)
{
    static th_run r;
    char *argv[] = {TH_BIN_DIR "/streamput-mock", "--help", NULL};
    ck_assert_int_eq(th_run_argv(&r, argv, NULL, 10000), 0);
    static const char *const want[] = {"--tls-cert FILE", "--tls-key FILE", "--tls-self-signed",
                                       "--tls-cert-out FILE"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(r.out, want[i]) != NULL, "--help lacks %s", want[i]);
}
END_TEST

START_TEST(plain_http_on_the_tls_port_does_not_hurt)
{
    NEED_CURL();
    static const char req[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /plain.bin\r\n"
                              "Content-Length: 5\r\n\r\nhello";
    for (int i = 0; i < 3; i++) {
        int fd = th_connect(mock.port);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(th_send_all(fd, req, sizeof req - 1), 0);
        char out[4096];
        /* Whatever comes back (an alert or nothing) is no HTTP answer, and the socket closes. */
        long n = th_recv_all(fd, out, sizeof out, 5000);
        ck_assert_int_ge(n, 0);
        ck_assert_ptr_null(strstr(out, "HTTP/1.1"));
        close(fd);
    }
    ck_assert(th_alive(mock.pid));
    ck_assert_int_eq(th_exists(th_path(env.root, "plain.bin")), 0);
    const char *src = th_path(env.dir, "after-plain.src");
    ck_assert_int_eq(th_write_random(src, 200000, 7), 0);
    put_ok(&mock, cert, src, 0, "/after-plain.bin");
}
END_TEST

/* A ClientHello record header promising 512 bytes, and the first few of them. */
static const unsigned char half_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01,
                                           0xfc, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44};

START_TEST(stalled_handshakes_are_cut_by_header_timeout)
{
    NEED_CURL();
    int silent = th_connect(mock.port), half = th_connect(mock.port);
    ck_assert_int_ge(silent, 0);
    ck_assert_int_ge(half, 0);
    ck_assert_int_eq(th_send_all(half, half_hello, sizeof half_hello), 0);
    int64_t t0 = th_now_ms();
    char out[256];
    /* --header-timeout 2: both are shut down by the watchdog, far before th_recv_all's 8 s. */
    ck_assert_int_ge(th_recv_all(silent, out, sizeof out, 8000), 0);
    ck_assert_int_ge(th_recv_all(half, out, sizeof out, 8000), 0);
    int64_t took = th_now_ms() - t0;
    ck_assert_msg(took >= 1500 && took < 6000, "cut after %lld ms", (long long)took);
    char log[8192] = "";
    ck_assert(th_mock_log_wait(&mock, "(--header-timeout)", log, sizeof log, 3000));
    close(silent);
    close(half);
    ck_assert(th_alive(mock.pid));
    const char *src = th_path(env.dir, "after-stall.src");
    ck_assert_int_eq(th_write_random(src, 300000, 8), 0);
    put_ok(&mock, cert, src, 0, "/after-stall.bin");
}
END_TEST

START_TEST(early_answer_mid_body_arrives_over_tls)
{
    NEED_CURL();
    static th_run r;
    th_mock small;
    char *small_cert = strdup(th_path(env.dir, "small.pem"));
    ck_assert_int_eq(th_mock_start(&small, env.root, "--tls-self-signed", "--tls-cert-out",
                                   small_cert, "--max-body", "1M", NULL),
                     0);
    const char *src = th_path(env.dir, "big.src");
    ck_assert_int_eq(th_write_random(src, 3u << 20, 4), 0);
    /* Chunked, so the limit is only found in the middle of the body. */
    int st = curl_put(&r, &small, small_cert, NULL, src, "/big.bin");
    ck_assert_msg(st == 0, "curl: exit %d: %s", st, r.err);
    ck_assert_msg(strstr(r.out, "\"code\":413") != NULL, "answer: %s", r.out);
    ck_assert_int_eq(th_exists(th_path(env.root, "big.bin")), 0);
    th_assert_no_temps(env.root);
    ck_assert_int_eq(th_mock_stop(&small), 0);
    free(small_cert);
}
END_TEST

START_TEST(faults_apply_over_tls)
{
    NEED_CURL();
    static th_run r;
    const char *src = th_path(env.dir, "fault.src");
    ck_assert_int_eq(th_write_random(src, 2u << 20, 6), 0);
    /* A reset mid-body breaks curl's TLS stream and stores nothing. */
    int st =
        curl_put_h(&r, &mock, cert, src, NULL, "/reset.bin", "X-Mock-Fault: reset-after=65536");
    ck_assert_msg(st != 0, "curl succeeded through a reset: %s", r.out);
    ck_assert_int_eq(th_exists(th_path(env.root, "reset.bin")), 0);
    /* An AList code fault answers that code in the envelope, and stores nothing either. */
    st = curl_put_h(&r, &mock, cert, src, NULL, "/code.bin", "X-Mock-Fault: code=403");
    ck_assert_msg(st == 0, "curl: exit %d: %s", st, r.err);
    ck_assert_msg(strstr(r.out, "\"code\":403") != NULL, "answer: %s", r.out);
    ck_assert_int_eq(th_exists(th_path(env.root, "code.bin")), 0);
    /* A slowing fault still stores the complete body. */
    st = curl_put_h(&r, &mock, cert, src, NULL, "/stall.bin", "X-Mock-Fault: stall-after=1000:300");
    ck_assert_msg(st == 0, "curl: exit %d: %s", st, r.err);
    ck_assert_str_eq(r.out, TH_SUCCESS);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "stall.bin")), 1);
    th_assert_no_temps(env.root);
}
END_TEST

/* The mock's VmHWM does not grow with a body received over TLS: 64 MiB vs 4 KiB, 1 MiB slack. */
START_TEST(memory_stays_flat_over_tls)
{
    NEED_CURL();
    char small[512], big[512];
    snprintf(small, sizeof small, "%s", th_path(env.dir, "mem-small.src"));
    snprintf(big, sizeof big, "%s", th_path(env.dir, "mem-big.src"));
    ck_assert_int_eq(th_write_random(small, 4096, 12), 0);
    ck_assert_int_eq(th_write_random(big, 64u << 20, 13), 0);
    put_ok(&mock, cert, small, 0, "/mem-small.bin");
    put_ok(&mock, cert, small, 1, "/mem-small-chunked.bin");
    long base = th_vmhwm_kib(mock.pid);
    put_ok(&mock, cert, big, 0, "/mem-big.bin");
    put_ok(&mock, cert, big, 1, "/mem-big-chunked.bin");
    long peak = th_vmhwm_kib(mock.pid);
    fprintf(stderr, "mock VmHWM over TLS: %ld KiB after 4 KiB bodies, %ld KiB after 64 MiB\n", base,
            peak);
    ck_assert_int_gt(base, 0);
    ck_assert_msg(peak - base <= 1024 * TH_HWM_FACTOR, "VmHWM grew by %ld KiB", peak - base);
}
END_TEST

/*
 * The two halves together: streamput uploads to the TLS mock, trusting it through the certificate
 * the mock wrote (--cacert), byte-exact at the sizes around the chunk, over the Expect threshold
 * and at 64 MiB (thousands of records, many socket buffers' worth), with every engine (sendfile
 * falls back to SSL_write without kTLS) and chunked from a pipe; a wrong token gets AList's 401
 * answer before the body (Expect) over TLS; and without --cacert the client refuses the mock's
 * certificate with exit 11 (the negative control).
 */
START_TEST(streamput_uploads_to_the_tls_mock)
{
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    static const uint64_t sizes[] = {0, 1, (256u << 10) - 1, (256u << 10) + 1, 8u << 20, 64u << 20};
    static const char *const engines[] = {"auto", "rw", "sendfile"};
    static th_run r;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char src[512], fp[64];
        snprintf(src, sizeof src, "%s/sp-%zu.src", env.dir, i);
        ck_assert_int_eq(th_write_random(src, sizes[i], (uint32_t)i + 21), 0);
        for (size_t e = 0; e < sizeof engines / sizeof engines[0]; e++) {
            snprintf(fp, sizeof fp, "/sp-%zu-%s.bin", i, engines[e]);
            th_client(&r, "--no-progress", "--cacert", cert, "-e", engines[e], "-p", fp, src, url,
                      NULL);
            ck_assert_msg(r.status == 0, "%s %s: exit %d: %s", fp, engines[e], r.status, r.err);
            ck_assert_int_eq(th_files_equal(src, th_path(env.root, fp + 1)), 1);
        }
        /* Chunked from a pipe. */
        snprintf(fp, sizeof fp, "/sp-%zu-pipe.bin", i);
        char *argv[] = {
            TH_BIN_DIR "/streamput", "--no-progress", "--cacert", cert, "-p", fp, "-", url, NULL};
        th_run_piped(&r, argv, src, th_path(env.dir, "fifo"), 30000);
        ck_assert_msg(r.status == 0, "%s: exit %d: %s", fp, r.status, r.err);
        ck_assert_int_eq(th_files_equal(src, th_path(env.root, fp + 1)), 1);
    }
    th_assert_no_temps(env.root);
}
END_TEST

START_TEST(streamput_meets_an_early_401_and_an_untrusted_mock)
{
    th_mock tm;
    char url[192], src[512], cert2[512];
    static th_run r;
    snprintf(cert2, sizeof cert2, "%s", th_path(env.dir, "cert2.pem"));
    ck_assert_int_eq(th_mock_start(&tm, env.root, "--tls-self-signed", "--tls-cert-out", cert2,
                                   "--token", "right", NULL),
                     0);
    snprintf(url, sizeof url, "%s/api/fs/put", tm.url);
    snprintf(src, sizeof src, "%s/big.src", env.dir);
    ck_assert_int_eq(th_write_random(src, 4u << 20, 7), 0); /* over the 1 MiB Expect threshold */
    th_client(&r, "--no-progress", "-v", "--cacert", cert2, "-t", "wrong", "-p", "/x.bin", src, url,
              NULL);
    ck_assert_msg(r.status == 7, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "server answered code 401: token is invalidated"));
    ck_assert_ptr_nonnull(strstr(r.err, "Expect: 100-continue"));
    ck_assert(!th_exists(th_path(env.root, "x.bin")));
    /* The negative control: the system store does not know the mock's certificate. */
    th_client(&r, "--no-progress", "-t", "right", "-p", "/y.bin", src, url, NULL);
    ck_assert_msg(r.status == 11, "exit %d: %s", r.status, r.err);
    ck_assert(!th_exists(th_path(env.root, "y.bin")));
    th_client(&r, "--no-progress", "--cacert", cert2, "-t", "right", "-p", "/y.bin", src, url,
              NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "y.bin")), 1);
    ck_assert_int_eq(th_mock_stop(&tm), 0);
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    if (!find_curl())
        fprintf(stderr, "test_mock_tls: curl not found on PATH; the curl cases skip\n");
    Suite *s = suite_create("mock_tls");
    TCase *t = tcase_create("tls");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, https_uploads_are_byte_exact);
    tcase_add_test(t, https_chunked_uploads_are_byte_exact);
    tcase_add_test(t, untrusted_certificate_is_refused_by_curl);
    tcase_add_test(t, fingerprint_on_stderr_matches_the_written_certificate);
    tcase_add_test(t, cert_and_key_files_serve_https);
    tcase_add_test(t, bad_tls_files_exit_2_with_a_reason);
    tcase_add_test(t, help_documents_the_tls_options);
    tcase_add_test(t, plain_http_on_the_tls_port_does_not_hurt);
    tcase_add_test(t, stalled_handshakes_are_cut_by_header_timeout);
    tcase_add_test(t, early_answer_mid_body_arrives_over_tls);
    tcase_add_test(t, faults_apply_over_tls);
    tcase_add_test(t, memory_stays_flat_over_tls);
    tcase_add_test(t, streamput_uploads_to_the_tls_mock);
    tcase_add_test(t, streamput_meets_an_early_401_and_an_untrusted_mock);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
