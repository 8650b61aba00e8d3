/*
 * The real streamput CLI over https:// against a small TLS server made here with OpenSSL: a
 * scripted server (th_script.h) that runs the server side of the handshake with a certificate
 * the test generated, reads one request and answers as AList does. Certificate failures must end
 * with exit 11 and a reason, before any byte of the request reached the server.
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
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

/* Makes a P-256 key and a self-signed certificate valid for a day, with the given names. */
static void make_cert(const char *crt, const char *k, const char *cn, const char *san)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
             "-subj /CN=%s -addext subjectAltName=%s -keyout '%s' -out '%s' 2>&1",
             cn, san, k, crt);
    sh(cmd);
}

/*
 * Makes a self-signed certificate for 127.0.0.1 that expired yesterday, with libcrypto: the
 * command line of this OpenSSL cannot date a certificate in the past.
 */
static void make_expired_cert(const char *crt, const char *k)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(pkey);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -2 * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), -86400L);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    ck_assert_ptr_nonnull(san);
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    ck_assert_int_gt(X509_sign(x, pkey, EVP_sha256()), 0);
    FILE *f = fopen(crt, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_X509(f, x), 1);
    fclose(f);
    f = fopen(k, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
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
    make_cert(cert, key, "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
    make_cert(other_cert, other_key, "other.example", "DNS:other.example");
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

/* What a TLS script serves with. */
typedef struct tls_arg {
    const char *cert, *key;
    int pause_ms; /* before reading the body: the client's socket fills and its writes wait */
} tls_arg;

/*
 * The server side: handshake, then the request head and its Content-Length body, whose size and
 * SHA-256 go back to the test, then AList's success answer. A handshake that fails is reported
 * with how many application bytes arrived (none can have).
 */
static void b_tls(int fd, int nth, void *arg)
{
    const tls_arg *a = arg;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, a->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, a->key, SSL_FILETYPE_PEM) != 1) {
        th_script_report("server setup failed\n");
        SSL_CTX_free(ctx);
        return;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
        th_script_report("handshake failed; request bytes 0\n");
        goto out;
    }
    char head[8192];
    size_t hlen = 0;
    char *end = NULL;
    while (end == NULL && hlen < sizeof head - 1) {
        size_t n = 0;
        if (SSL_read_ex(ssl, head + hlen, sizeof head - 1 - hlen, &n) != 1)
            break;
        hlen += n;
        head[hlen] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (end == NULL) {
        th_script_report("no request head; request bytes %zu\n", hlen);
        goto out;
    }
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    long want = cl != NULL ? strtol(cl + 17, NULL, 10) : 0;
    long got = (long)(hlen - (size_t)(end + 4 - head));
    if (a->pause_ms > 0)
        th_sleep_ms(a->pause_ms);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, end + 4, (size_t)got);
    char buf[16384];
    while (got < want) {
        size_t n = 0;
        if (SSL_read_ex(ssl, buf, sizeof buf, &n) != 1)
            break;
        EVP_DigestUpdate(md, buf, n);
        got += (long)n;
    }
    unsigned char digest[32];
    unsigned dlen = 0;
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    th_script_report("body %ld sha256 %s\n", got, hex);
    char answer[256];
    int alen = snprintf(answer, sizeof answer,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n\r\n%s",
                        strlen(TH_SUCCESS), TH_SUCCESS);
    size_t w = 0;
    SSL_write_ex(ssl, answer, (size_t)alen, &w);
    SSL_shutdown(ssl);
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

static th_script server;
static tls_arg served;

/* Starts the TLS script for one connection with crt and k, and points url at it. */
static void start_tls(const char *crt, const char *k, const char *host)
{
    served = (tls_arg){crt, k, 0};
    ck_assert_int_eq(th_script_start(&server, b_tls, &served, 1), 0);
    snprintf(url, sizeof url, "https://%s:%d/api/fs/put", host, server.port);
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

/* Checks that the server got exactly the bytes of file, of size bytes. */
static void assert_file_exact(const char *report, const char *file, long size)
{
    char want[65], line[128];
    ck_assert_int_eq(th_sha256_file(file, want), 0);
    snprintf(line, sizeof line, "body %ld sha256 %s", size, want);
    ck_assert_msg(strstr(report, line) != NULL, "server got: %s; want %s", report, line);
}

static void assert_body_exact(const char *report)
{
    assert_file_exact(report, small, 100000);
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
    assert_body_exact(stop_server());
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
    assert_body_exact(stop_server());
}
END_TEST

START_TEST(writes_that_must_wait_for_a_slow_reader_stay_byte_exact)
{
    /* 8 MiB against a server that pauses before reading: the socket fills, SSL_write_ex
     * returns WANT_WRITE and the poll-based wait must resume it with the same bytes. */
    const char *big = th_path(dir, "big.bin");
    ck_assert_int_eq(th_write_random(big, 8u << 20, 9), 0);
    served = (tls_arg){cert, key, 1500};
    ck_assert_int_eq(th_script_start(&server, b_tls, &served, 1), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", server.port);
    th_run r;
    th_client(&r, "--cacert", cert, "-H", "Expect:", "--chunk-size", "1000000", big, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
    assert_file_exact(stop_server(), big, 8l << 20);
}
END_TEST

START_TEST(unknown_ca_is_exit_11_and_nothing_is_sent)
{
    start_tls(cert, key, "127.0.0.1");
    run(11, "not trusted: self-signed certificate", NULL, NULL, NULL);
    const char *rep = stop_server();
    ck_assert_msg(strstr(rep, "handshake failed; request bytes 0") != NULL, "%s", rep);
}
END_TEST

START_TEST(expired_certificate_is_exit_11)
{
    const char *crt = strdup(th_path(dir, "expired.pem"));
    const char *k = strdup(th_path(dir, "expired-key.pem"));
    make_expired_cert(crt, k);
    start_tls(crt, k, "127.0.0.1");
    run(11, "certificate has expired", "--cacert", crt, NULL);
    const char *rep = stop_server();
    ck_assert_msg(strstr(rep, "handshake failed; request bytes 0") != NULL, "%s", rep);
    free((char *)crt);
    free((char *)k);
}
END_TEST

START_TEST(wrong_name_is_exit_11)
{
    /* Trusted, but issued for another host: the IP literal must not match it. */
    start_tls(other_cert, other_key, "127.0.0.1");
    run(11, "IP address mismatch", "--cacert", other_cert, NULL);
    const char *rep = stop_server();
    ck_assert_msg(strstr(rep, "handshake failed; request bytes 0") != NULL, "%s", rep);
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
    const char *rep = stop_server();
    ck_assert_msg(strstr(rep, "body ") == NULL, "a request was sent: %s", rep);

    start_tls(cert, key, "127.0.0.1");
    run(0, "HTTP 200", "--cacert", cert, right_opt);
    assert_body_exact(stop_server());
}
END_TEST

START_TEST(insecure_skips_verification)
{
    start_tls(other_cert, other_key, "127.0.0.1");
    run(0, "HTTP 200", "-k", NULL, NULL);
    assert_body_exact(stop_server());
}
END_TEST

static void b_plain_http(int fd, int nth, void *arg)
{
    char buf[4096];
    if (recv(fd, buf, sizeof buf, 0) > 0)
        th_send_str(fd,
                    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

START_TEST(plain_http_server_on_an_https_url_is_exit_11)
{
    ck_assert_int_eq(th_script_start(&server, b_plain_http, NULL, 1), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", server.port);
    run(11, "does not speak TLS", NULL, NULL, NULL);
    stop_server();
}
END_TEST

/* Reads the ClientHello and answers with the bytes in arg: an alert record, or garbage. */
static void b_answer_bytes(int fd, int nth, void *arg)
{
    char buf[4096];
    if (recv(fd, buf, sizeof buf, 0) > 0)
        th_send_all(fd, arg, 7);
    th_drain_for(fd, 1000);
}

START_TEST(handshake_alert_and_garbage_records_are_exit_11_with_the_reason)
{
    /* A fatal handshake_failure alert, as a server with no cipher in common sends. */
    static char alert[] = "\x15\x03\x03\x00\x02\x02\x28";
    ck_assert_int_eq(th_script_start(&server, b_answer_bytes, alert, 1), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", server.port);
    run(11, "alert handshake failure", NULL, NULL, NULL);
    stop_server();

    static char garbage[] = "\x42\x00\x17\xff\x01\x02\x03";
    ck_assert_int_eq(th_script_start(&server, b_answer_bytes, garbage, 1), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", server.port);
    run(11, "TLS handshake with 127.0.0.1", NULL, NULL, NULL);
    stop_server();
}
END_TEST

static void b_mute(int fd, int nth, void *arg)
{
    th_drain_for(fd, 8000);
}

START_TEST(server_that_never_answers_the_handshake_times_out)
{
    ck_assert_int_eq(th_script_start(&server, b_mute, NULL, 1), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/fs/put", server.port);
    th_run r;
    int64_t t0 = th_now_ms();
    th_client(&r, "--connect-timeout", "1", small, url, NULL);
    int64_t took = th_now_ms() - t0;
    ck_assert_msg(r.status == 5, "exit %d, want 5; stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "TLS handshake") != NULL, "%s", r.err);
    /* A bound, not a speed claim: without the timeout the client would wait the full 8 s. */
    ck_assert_msg(took < 6000, "took %lld ms", (long long)took);
    stop_server();
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
    tcase_add_test(t, insecure_skips_verification);
    tcase_add_test(t, plain_http_server_on_an_https_url_is_exit_11);
    tcase_add_test(t, handshake_alert_and_garbage_records_are_exit_11_with_the_reason);
    tcase_add_test(t, server_that_never_answers_the_handshake_times_out);
    tcase_add_test(t, bad_pin_syntax_is_a_usage_error);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
