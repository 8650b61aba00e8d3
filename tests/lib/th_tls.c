#include "th_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Writes obj to path with the PEM writer given; returns 0 or -1. */
static int write_pem(const char *path, int (*put)(FILE *, void *), void *obj)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = put(f, obj) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int put_cert(FILE *f, void *x)
{
    return PEM_write_X509(f, x);
}

static int put_key(FILE *f, void *k)
{
    return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

int th_make_cert(const char *crt, const char *key, const char *cn, const char *san, long from_s,
                 long to_s)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_EXTENSION *ext = NULL;
    int rc = -1;
    if (pkey == NULL || x == NULL)
        goto out;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1 || X509_sign(x, pkey, EVP_sha256()) <= 0)
        goto out;
    if (write_pem(crt, put_cert, x) == 0 && write_pem(key, put_key, pkey) == 0)
        rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "th_make_cert %s (%s): failed\n", crt, san);
    X509_EXTENSION_free(ext);
    X509_free(x);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}

/* One connection's relay: the TLS session on tcp, and the front's end of fn's local socket. */
typedef struct relay {
    SSL *ssl;
    int tcp;
    int local;
} relay;

/*
 * Moves bytes both ways until fn closes its end: what the client sends is decrypted into the local
 * socket (one record's worth held at a time, so a fn that stops reading stops the client, as a
 * plain server would), and what fn writes goes out as records. The client's end of stream becomes
 * an end of stream for fn.
 */
static void *relay_run(void *p)
{
    relay *r = p;
    char up[16384], down[16384];
    size_t up_len = 0, up_off = 0;
    int client_open = 1;
    for (;;) {
        int want_client = client_open && up_len == 0;
        struct pollfd pf[2] = {
            {.fd = r->tcp, .events = want_client ? POLLIN : 0},
            {.fd = r->local, .events = POLLIN | (up_len > 0 ? POLLOUT : 0)},
        };
        /* Decrypted bytes OpenSSL already holds are invisible to poll. */
        int held = want_client && SSL_pending(r->ssl) > 0;
        if (!held && poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (want_client && (held || pf[0].revents != 0)) {
            if (SSL_read_ex(r->ssl, up, sizeof up, &up_len) != 1) {
                up_len = 0;
                client_open = 0;
                shutdown(r->local, SHUT_WR);
            }
            up_off = 0;
        }
        if (pf[1].revents & POLLOUT) {
            ssize_t w = send(r->local, up + up_off, up_len - up_off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                up_off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                up_off = up_len; /* fn has gone: its end of stream follows */
            if (up_off == up_len)
                up_len = 0;
        }
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(r->local, down, sizeof down, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break;
            size_t w = 0;
            if (n > 0 && client_open && SSL_write_ex(r->ssl, down, (size_t)n, &w) != 1)
                client_open = 0;
        }
    }
    if (client_open)
        SSL_shutdown(r->ssl);
    return NULL;
}

/* What th_script_start_tls hands its front. */
typedef struct front {
    th_script_fn fn;
    void *arg;
    const char *crt, *key;
} front;

/* The script's function for every connection: the handshake, then fn behind the relay. */
static void tls_front(int fd, int nth, void *arg)
{
    const front *f = arg;
    int sv[2] = {-1, -1};
    SSL *ssl = NULL;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, f->crt) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
        th_script_report("server setup failed\n");
        goto out;
    }
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        goto out;
    if (SSL_accept(ssl) != 1) {
        unsigned long code = ERR_peek_last_error();
        const char *why = code != 0 ? ERR_reason_error_string(code) : NULL;
        th_script_report("handshake failed: %s\n", why != NULL ? why : "connection closed");
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        goto out;
    relay r = {ssl, fd, sv[1]};
    pthread_t th;
    if (pthread_create(&th, NULL, relay_run, &r) != 0)
        goto out;
    f->fn(sv[0], nth, f->arg);
    close(sv[0]);
    sv[0] = -1;
    pthread_join(th, NULL);
out:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

int th_script_start_tls(th_script *s, th_script_fn fn, void *arg, int conns, const char *crt,
                        const char *key)
{
    /* The child serves from this frame's copy, which stays alive there until it exits. */
    front f = {fn, arg, crt, key};
    return th_script_start(s, tls_front, &f, conns);
}
