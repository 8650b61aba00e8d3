/*
 * The real streamput CLI over https:// against small TLS servers made here with OpenSSL: scripted
 * servers behind th_tls's front, with certificates the test generated, that hash the body and
 * answer as AList does, and raw scripts that speak TLS badly or not at all. Certificate failures
 * must end with exit 11 and a reason, before any byte of the request reached the server.
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static char *dir;
static char url[128];
static const char *small; /* 100000 bytes: several TLS records, no Expect */
static const char *cert;  /* self-signed for 127.0.0.1 and localhost */
static const char *key;
static const char *other_cert; /* self-signed for other.example only */
static const char *other_key;

/* Runs the openssl command line through /bin/sh; fails the test if it fails. */
static void sh(const char *cmd)
{
    th_run r;
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    th_run_argv(&r, argv, NULL, 30000);
    ck_assert_msg(r.status == 0, "'%s' exited %d: %s", cmd, r.status, r.err);
}

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    small = strdup(th_path(dir, "small.bin"));
    cert = strdup(th_path(dir, "cert.pem"));
    key = strdup(th_path(dir, "key.pem"));
    other_cert = strdup(th_path(dir, "other.pem"));
    other_key = strdup(th_path(dir, "other-key.pem"));
    ck_assert_int_eq(th_write_random(small, 100000, 7), 0);
    ck_assert_int_eq(th_make_cert(cert, key, "127.0.0.1", "IP:127.0.0.1,DNS:localhost", 0, 86400),
                     0);
    ck_assert_int_eq(
        th_make_cert(other_cert, other_key, "other.example", "DNS:other.example", 0, 86400), 0);
}

static void teardown(void)
{
    free((char *)small);
    free((char *)cert);
    free((char *)key);
    free((char *)other_cert);
    free((char *)other_key);
    th_rmtree(dir);
}

/* The server behind the TLS front: the request's body hashed, then AList's success answer. */
static void b_hashed(int fd, int nth, void *arg)
{
    th_serve_hashed(fd, *(const int *)arg);
}

static th_script server;

/* Starts a TLS script for conns connections with crt and k, and points url at it. pause_ms comes
 * before the body is read: the client's socket fills and its writes must wait. */
static void serve_tls(const char *crt, const char *k, const char *host, int pause_ms, int conns)
{
    static int pause;
    pause = pause_ms;
    ck_assert_int_eq(th_script_start_tls(&server, b_hashed, &pause, conns, crt, k), 0);
    snprintf(url, sizeof url, "https://%s:%d/api/fs/put", host, server.port);
}

static void start_tls(const char *crt, const char *k, const char *host)
{
    serve_tls(crt, k, host, 0, 1);
}

static const char *stop_server(void)
{
    static char out[4096];
    return th_script_stop(&server, out, sizeof out, 2000);
}

/* Runs the client on small with up to three extra arguments; checks exit code and stderr. */
static th_run *run(int code, const char *says, const char *a1, const char *a2, const char *a3)
{
    static th_run r;
    th_client(&r, "--connect-timeout", "10", "--timeout", "30", small, url, a1, a2, a3, NULL);
    ck_assert_msg(!r.timed_out, "client hung (killed after 60 s)");
    ck_assert_msg(r.status == code, "exit %d, want %d; stderr: %s", r.status, code, r.err);
    ck_assert_msg(says == NULL || strstr(r.err, says) != NULL, "stderr lacks '%s': %s", says,
                  r.err);
    return &r;
}

/* Checks that the server refused the handshake, so that no byte of the request reached it. */
static void assert_refused(const char *report)
{
    ck_assert_msg(strstr(report, "handshake failed: ") != NULL, "%s", report);
    ck_assert_msg(strstr(report, "body ") == NULL, "a request was sent: %s", report);
}

/* The pin of crt as curl's documentation computes it, with the openssl command line. */
static void pin_of(const char *crt, char *out, size_t outsz)
{
    const char *pin_file = th_path(dir, "pin.txt");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform der | "
             "openssl dgst -sha256 -binary | openssl base64 -A > '%s'",
             crt, pin_file);
    sh(cmd);
    FILE *f = fopen(pin_file, "r");
    ck_assert_ptr_nonnull(f);
    char b64[128] = "";
    ck_assert_ptr_nonnull(fgets(b64, sizeof b64, f));
    fclose(f);
    b64[strcspn(b64, "\r\n")] = '\0';
    snprintf(out, outsz, "sha256//%s", b64);
}

START_TEST(upload_over_tls_with_cacert_is_byte_exact)
{
    start_tls(cert, key, "127.0.0.1");
    th_run *r = run(0, "HTTP 200", "--cacert", cert, "-v");
    th_assert_served(stop_server(), small);
    ck_assert_msg(strstr(r->err, "* TLS connection using TLSv1.3") != NULL, "%s", r->err);
    ck_assert_msg(strstr(r->err, "* kTLS: send ") != NULL, "%s", r->err);
    ck_assert_msg(strstr(r->err, "subject: /CN=127.0.0.1") != NULL, "%s", r->err);
    ck_assert_msg(strstr(r->err, "expire date: ") != NULL, "%s", r->err);
}
END_TEST

START_TEST(sendfile_engine_falls_back_to_ssl_write_without_ktls)
{
    /* This kernel has no kTLS: sendfile is unavailable over TLS and auto must still deliver. */
    start_tls(cert, key, "127.0.0.1");
    char cacert[4200];
    snprintf(cacert, sizeof cacert, "--cacert=%s", cert);
    th_run *r = run(0, "HTTP 200", cacert, "--engine=sendfile", "-v");
    ck_assert_msg(strstr(r->err, "sendfile is not possible over tls; using read/send") != NULL,
                  "%s", r->err);
    th_assert_served(stop_server(), small);
}
END_TEST

START_TEST(writes_that_must_wait_for_a_slow_reader_stay_byte_exact)
{
    /* 8 MiB against a server that pauses before reading: the socket fills, SSL_write_ex
     * returns WANT_WRITE and the poll-based wait must resume it with the same bytes. */
    const char *big = th_path(dir, "big.bin");
    ck_assert_int_eq(th_write_random(big, 8u << 20, 9), 0);
    serve_tls(cert, key, "127.0.0.1", 1500, 1);
    th_run r;
    th_client(&r, "--cacert", cert, "-H", "Expect:", "--chunk-size", "1000000", big, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
    th_assert_served(stop_server(), big);
}
END_TEST

START_TEST(unknown_ca_is_exit_11_and_nothing_is_sent)
{
    start_tls(cert, key, "127.0.0.1");
    run(11, "not trusted: self-signed certificate", NULL, NULL, NULL);
    assert_refused(stop_server());
}
END_TEST

START_TEST(expired_certificate_is_exit_11)
{
    const char *crt = strdup(th_path(dir, "expired.pem"));
    const char *k = strdup(th_path(dir, "expired-key.pem"));
    ck_assert_int_eq(th_make_cert(crt, k, "127.0.0.1", "IP:127.0.0.1", -2 * 86400L, -86400L), 0);
    start_tls(crt, k, "127.0.0.1");
    run(11, "certificate has expired", "--cacert", crt, NULL);
    assert_refused(stop_server());
    free((char *)crt);
    free((char *)k);
}
END_TEST

START_TEST(wrong_name_is_exit_11)
{
    /* Trusted, but issued for another host: the IP literal must not match it. */
    start_tls(other_cert, other_key, "127.0.0.1");
    run(11, "IP address mismatch", "--cacert", other_cert, NULL);
    assert_refused(stop_server());
}
END_TEST

START_TEST(wrong_host_name_is_exit_11)
{
    start_tls(other_cert, other_key, "localhost");
    run(11, "hostname mismatch", "--cacert", other_cert, NULL);
    stop_server();
}
END_TEST

START_TEST(pinned_public_key_must_match)
{
    char right[160], wrong[160];
    pin_of(cert, right, sizeof right);
    pin_of(other_cert, wrong, sizeof wrong);
    ck_assert_str_ne(right, wrong);

    char wrong_opt[200], right_opt[200];
    snprintf(wrong_opt, sizeof wrong_opt, "--pinnedpubkey=%s", wrong);
    snprintf(right_opt, sizeof right_opt, "--pinnedpubkey=%s", right);
    start_tls(cert, key, "127.0.0.1");
    run(11, "does not match --pinnedpubkey", "--cacert", cert, wrong_opt);
    /* The pin is checked once the handshake is done: the server sees the connection end before
     * any byte of the request. */
    const char *rep = stop_server();
    ck_assert_msg(strstr(rep, "no request head") != NULL && strstr(rep, "body ") == NULL, "%s",
                  rep);

    start_tls(cert, key, "127.0.0.1");
    run(0, "HTTP 200", "--cacert", cert, right_opt);
    th_assert_served(stop_server(), small);
}
END_TEST

/*
 * A certificate or a pin that fails stays failed, and curl does not retry its
 * CURLE_PEER_FAILED_VERIFICATION either: --retry must not connect again, nor wait its back-off
 * first. The server would take three connections; it sees one (one report line each).
 */
START_TEST(certificate_failures_are_never_retried)
{
    char pin[160], wrong_pin[200];
    pin_of(other_cert, pin, sizeof pin);
    snprintf(wrong_pin, sizeof wrong_pin, "--pinnedpubkey=%s", pin);
    const struct {
        const char *crt, *k, *says, *a1, *a2, *a3, *server_saw;
    } cases[] = {
        {cert, key, "not trusted: self-signed certificate", NULL, NULL, NULL, "handshake failed: "},
        {other_cert, other_key, "IP address mismatch", "--cacert", other_cert, NULL,
         "handshake failed: "},
        {cert, key, "does not match --pinnedpubkey", "--cacert", cert, wrong_pin,
         "no request head"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        serve_tls(cases[i].crt, cases[i].k, "127.0.0.1", 0, 3);
        th_run r;
        th_client(&r, "-v", "--no-progress", "--retry", "2", "--retry-delay", "3s", small, url,
                  cases[i].a1, cases[i].a2, cases[i].a3, NULL);
        ck_assert_msg(r.status == 11, "case %zu: exit %d: %s", i, r.status, r.err);
        ck_assert_msg(strstr(r.err, cases[i].says) != NULL, "case %zu: %s", i, r.err);
        ck_assert_msg(strstr(r.err, "retrying") == NULL, "case %zu: %s", i, r.err);
        ck_assert_msg(r.seconds < 2.0, "case %zu: took %.2f s", i, r.seconds);
        char rep[4096];
        th_script_stop(&server, rep, sizeof rep, 300);
        ck_assert_msg(strstr(rep, cases[i].server_saw) == rep && strchr(rep, '\n')[1] == '\0',
                      "case %zu: the server saw: %s", i, rep);
    }
}
END_TEST

START_TEST(insecure_skips_verification)
{
    start_tls(other_cert, other_key, "127.0.0.1");
    run(0, "HTTP 200", "-k", NULL, NULL);
    th_assert_served(stop_server(), small);
}
END_TEST

/* What a raw script (no TLS of its own) answers the ClientHello with, then how long it stays
 * silent with the connection open. */
typedef struct reply {
    const char *bytes;
    size_t len;
    int then_ms;
} reply;

static void b_reply(int fd, int nth, void *arg)
{
    const reply *rp = arg;
    char buf[4096];
    if (recv(fd, buf, sizeof buf, 0) > 0 && rp->len > 0)
        th_send_all(fd, rp->bytes, rp->len);
    th_drain_for(fd, rp->then_ms);
}

#define BYTES(s) s, sizeof s - 1

/*
 * Peers that do not complete a handshake: each ends with its exit code and reason within a bound,
 * while the server holds the connection open for 8 s. A bound, not a speed claim: a client that
 * waited for the server would take those 8 s, and one that waited for its connect timeout (1 s)
 * would say so with exit 5 instead of 11.
 */
START_TEST(peers_that_do_not_complete_a_handshake_end_in_bounded_time)
{
    static const struct {
        const char *what;
        reply reply;
        int code;
        const char *says;
    } cases[] = {
        {"a plain HTTP server",
         {BYTES("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), 8000},
         11,
         "the server does not speak TLS (it answered in plain HTTP; try http://)"},
        /* A fatal handshake_failure alert, as a server with no cipher in common sends. */
        {"an alert", {BYTES("\x15\x03\x03\x00\x02\x02\x28"), 8000}, 11, "alert handshake failure"},
        {"a garbage record",
         {BYTES("\x42\x00\x17\xff\x01\x02\x03"), 8000},
         11,
         "TLS handshake with 127.0.0.1"},
        {"a close after the ClientHello",
         {NULL, 0, 0},
         11,
         "the server closed the connection before it answered (is it at its connection limit, "
         "or not a TLS server?)"},
        {"silence", {NULL, 0, 8000}, 5, "TLS handshake with 127.0.0.1:"},
        /* A ServerHello record header promising 122 bytes, and the first 6 of them. */
        {"half a ServerHello",
         {BYTES("\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03"), 8000},
         5,
         "TLS handshake with 127.0.0.1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(th_script_start(&server, b_reply, (void *)&cases[i].reply, 1), 0);
        snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", server.port);
        th_run r;
        th_client(&r, "--connect-timeout", "1", small, url, NULL);
        ck_assert_msg(r.status == cases[i].code, "%s: exit %d, want %d; stderr: %s", cases[i].what,
                      r.status, cases[i].code, r.err);
        ck_assert_msg(strstr(r.err, cases[i].says) != NULL, "%s: stderr lacks '%s': %s",
                      cases[i].what, cases[i].says, r.err);
        if (cases[i].code == 5)
            ck_assert_msg(strstr(r.err, ": timed out after 1000 ms") != NULL, "%s: %s",
                          cases[i].what, r.err);
        ck_assert_msg(r.seconds < 4.0, "%s: took %.2f s", cases[i].what, r.seconds);
        th_script_stop(&server, (char[64]){0}, 64, 0);
    }
}
END_TEST

START_TEST(bad_pin_syntax_is_a_usage_error)
{
    snprintf(url, sizeof url, "https://127.0.0.1:1/api/fs/put");
    run(2, "pinned public key", "--pinnedpubkey", "sha256//short", NULL);
    run(2, "pinned public key", "--pinnedpubkey", "md5//AAAA", NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_tls");
    TCase *t = tcase_create("tls");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, upload_over_tls_with_cacert_is_byte_exact);
    tcase_add_test(t, sendfile_engine_falls_back_to_ssl_write_without_ktls);
    tcase_add_test(t, writes_that_must_wait_for_a_slow_reader_stay_byte_exact);
    tcase_add_test(t, unknown_ca_is_exit_11_and_nothing_is_sent);
    tcase_add_test(t, expired_certificate_is_exit_11);
    tcase_add_test(t, wrong_name_is_exit_11);
    tcase_add_test(t, wrong_host_name_is_exit_11);
    tcase_add_test(t, pinned_public_key_must_match);
    tcase_add_test(t, certificate_failures_are_never_retried);
    tcase_add_test(t, insecure_skips_verification);
    tcase_add_test(t, peers_that_do_not_complete_a_handshake_end_in_bounded_time);
    tcase_add_test(t, bad_pin_syntax_is_a_usage_error);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
