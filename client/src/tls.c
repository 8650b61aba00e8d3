/*
 * The TLS transport: OpenSSL's libssl over the connection's socket, as a second table of the
 * same slots as plain TCP.
 *
 * Every call is non-blocking. When OpenSSL says it wants to read or write first, the direction
 * it waits for goes into the connection's send_needs or recv_needs, so the exchange's one
 * poll-based wait, with all its deadlines, drives TLS as it drives TCP. The handshake, the
 * peer's verification and the public key pin all complete before the transport reports ready,
 * so nothing of the request goes out to a peer that was not trusted.
 */
#include "conn.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SP_PIN_PREFIX "sha256//"

typedef struct tls {
    SSL_CTX *ctx;
    SSL *ssl;
    unsigned char first_header[5]; /* the first record header the server sent */
    int got_header;
} tls;

static SSL *ssl_of(const sp__conn *cn)
{
    return ((const tls *)cn->ctx)->ssl;
}

/*
 * Keeps the first record header that arrives: when a handshake fails, it tells a server that
 * answered in plain HTTP ("HTTP/") from one that speaks TLS badly.
 */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len,
                       SSL *ssl, void *arg)
{
    tls *t = arg;
    if (!write_p && content_type == SSL3_RT_HEADER && !t->got_header &&
        len >= sizeof t->first_header) {
        memcpy(t->first_header, buf, sizeof t->first_header);
        t->got_header = 1;
    }
}

/*
 * Turns a call that did not complete into the transport's answer: SP__IO_AGAIN with the poll
 * event OpenSSL waits for in *needs, 0 for the end of the stream (recv only), or SP__IO_FAIL
 * with the connection's sys_errno set.
 */
static ssize_t io_result(sp__conn *cn, int r, short *needs, int reading)
{
    int e = SSL_get_error(ssl_of(cn), r);
    int saved = errno;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *needs = POLLIN;
        return SP__IO_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        *needs = POLLOUT;
        return SP__IO_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        if (reading)
            return 0;
        cn->sys_errno = EPIPE;
        return SP__IO_FAIL;
    case SSL_ERROR_SYSCALL:
        if (saved == EINTR || saved == EAGAIN)
            return SP__IO_AGAIN; /* the poll event set before still holds */
        /* Many servers close without close_notify after a complete answer: for a reader that is
         * the end of the stream, and the HTTP parser decides whether the answer was whole. */
        if (saved == 0 && reading)
            return 0;
        cn->sys_errno = saved != 0 ? saved : EPIPE;
        ERR_clear_error();
        return SP__IO_FAIL;
    default: {
        unsigned long code = ERR_peek_last_error();
        char why[256];
        ERR_error_string_n(code, why, sizeof why);
        sp__debug(cn->c, SP_DEBUG_INFO, "TLS %s failed: %s", reading ? "receive" : "send", why);
        ERR_clear_error();
        cn->sys_errno = EPROTO;
        return SP__IO_FAIL;
    }
    }
}

/*
 * Hands buf to libssl until it is all taken or a call cannot complete, under one SIGPIPE guard.
 * With partial writes on, SSL_write_ex returns after each record of at most 16 KiB: one guard
 * per call would cost four system calls per record, twice as many as the record's write(2), so
 * the guard is paid once per piece of body instead. What was taken before a call that could not
 * complete is returned; that call's record, if half written, is finished by the caller's next
 * call with the rest of the same bytes, and a failure shows up again there.
 */
static ssize_t tls_send(sp__conn *cn, const void *buf, size_t len)
{
    const char *p = buf;
    size_t done = 0;
    ssize_t out = 0;
    sp__sigpipe_guard g;
    cn->send_needs = POLLOUT;
    sp__sigpipe_block(&g);
    while (done < len) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_write_ex(ssl_of(cn), p + done, len - done, &n);
        if (r != 1) {
            if (done == 0)
                out = io_result(cn, r, &cn->send_needs, 0);
            ERR_clear_error();
            break;
        }
        done += n;
    }
    sp__sigpipe_unblock(&g);
    return done > 0 ? (ssize_t)done : out;
}

static ssize_t tls_recv(sp__conn *cn, void *buf, size_t len)
{
    size_t n = 0;
    cn->recv_needs = POLLIN;
    ERR_clear_error();
    errno = 0;
    /* Reading may write too (a key update's answer), so SIGPIPE is guarded here as well. */
    sp__sigpipe_guard g;
    sp__sigpipe_block(&g);
    int r = SSL_read_ex(ssl_of(cn), buf, len, &n);
    ssize_t out = r == 1 ? (ssize_t)n : io_result(cn, r, &cn->recv_needs, 1);
    sp__sigpipe_unblock(&g);
    return out;
}

/*
 * With kernel TLS the kernel encrypts, so the file's pages go to the socket without a copy
 * through user space, as with plain sendfile(2). SSL_sendfile takes an offset: without one from
 * the caller the fd's own offset is read and moved on, as sendfile(2) with a NULL offset does.
 */
static ssize_t tls_sendfile(sp__conn *cn, int fd, off_t *at, size_t len)
{
    off_t off = at != NULL ? *at : lseek(fd, 0, SEEK_CUR);
    if (off < 0) {
        cn->sys_errno = errno;
        return SP__IO_FAIL;
    }
    cn->send_needs = POLLOUT;
    ERR_clear_error();
    errno = 0;
    ossl_ssize_t n = SSL_sendfile(ssl_of(cn), fd, off, len, 0);
    if (n > 0) {
        if (at != NULL)
            *at = off + (off_t)n;
        else if (lseek(fd, off + (off_t)n, SEEK_SET) < 0) {
            cn->sys_errno = errno;
            return SP__IO_FAIL;
        }
        return (ssize_t)n;
    }
    return io_result(cn, (int)n, &cn->send_needs, 0);
}

static size_t tls_pending(const sp__conn *cn)
{
    return cn->ctx != NULL && ssl_of(cn) != NULL ? (size_t)SSL_pending(ssl_of(cn)) : 0;
}

/* Sends close_notify once, without waiting for the server's, and frees the session. */
static void tls_close(sp__conn *cn)
{
    tls *t = cn->ctx;
    if (t == NULL)
        return;
    if (t->ssl != NULL) {
        sp__sigpipe_guard g;
        sp__sigpipe_block(&g);
        if (SSL_is_init_finished(t->ssl))
            SSL_shutdown(t->ssl);
        sp__sigpipe_unblock(&g);
        SSL_free(t->ssl);
    }
    SSL_CTX_free(t->ctx);
    ERR_clear_error();
    free(t);
    cn->ctx = NULL;
}

static int tls_handshake(sp__conn *cn, int64_t limit);

const sp__transport sp__tls_transport = {
    .name = "tls",
    .handshake = tls_handshake,
    .send = tls_send,
    .recv = tls_recv,
    .sendfile = NULL, /* without kTLS every byte passes through SSL_write_ex anyway */
    .pending = tls_pending,
    .close = tls_close,
};

/* The same session once the kernel encrypts what is sent: the handshake switches to it. */
static const sp__transport tls_ktls_transport = {
    .name = "tls (kTLS)",
    .handshake = tls_handshake,
    .send = tls_send,
    .recv = tls_recv,
    .sendfile = tls_sendfile,
    .pending = tls_pending,
    .close = tls_close,
};

int sp__tls_pin_valid(const char *pin)
{
    /* curl's form: one or more sha256//BASE64 separated by ';'. */
    for (const char *p = pin;;) {
        size_t len = strcspn(p, ";");
        if (len <= strlen(SP_PIN_PREFIX) || strncmp(p, SP_PIN_PREFIX, strlen(SP_PIN_PREFIX)) != 0)
            return 0;
        const char *b64 = p + strlen(SP_PIN_PREFIX);
        size_t blen = len - strlen(SP_PIN_PREFIX);
        unsigned char raw[64];
        /* A SHA-256 is 32 bytes: 44 base64 characters ending in one '='. */
        if (blen != 44 || b64[43] != '=' || b64[42] == '=')
            return 0;
        if (EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)blen) != 33)
            return 0;
        if (p[len] == '\0')
            return 1;
        p += len + 1;
    }
}

/*
 * Checks the server's public key against the pins: the SHA-256 of its DER SubjectPublicKeyInfo,
 * base64-encoded, must equal one of them, as curl's --pinnedpubkey requires.
 */
static int check_pin(sp__conn *cn, X509 *cert)
{
    sp_client *c = cn->c;
    unsigned char *der = NULL;
    int dlen = cert != NULL ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char got[EVP_MAX_MD_SIZE * 2];
    int ok = dlen > 0 && EVP_Digest(der, (size_t)dlen, md, &mdlen, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    if (!ok)
        return sp__fail(c, SP_ETLS, 0, "TLS: %s: no public key to check against the pin", cn->addr);
    EVP_EncodeBlock((unsigned char *)got, md, (int)mdlen);
    size_t glen = strlen(got);
    for (const char *p = c->pinned_pubkey;;) {
        size_t len = strcspn(p, ";");
        const char *b64 = p + strlen(SP_PIN_PREFIX);
        if (len - strlen(SP_PIN_PREFIX) == glen && memcmp(b64, got, glen) == 0)
            return SP_OK;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return sp__fail(c, SP_ETLS, 0,
                    "TLS: %s: the server's public key (sha256//%s) does not match --pinnedpubkey",
                    cn->addr, got);
}

/* Formats an ASN1 time as "2026-12-02 06:40:00 GMT". */
static void format_time(const ASN1_TIME *t, char *out, size_t outsz)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, outsz, "%Y-%m-%d %H:%M:%S GMT", &tm) == 0)
        snprintf(out, outsz, "(unknown)");
}

/* The -v lines about the session: what was agreed, whether the kernel encrypts, and the peer. */
static void debug_session(sp__conn *cn, X509 *cert)
{
    sp_client *c = cn->c;
    SSL *ssl = ssl_of(cn);
    if (c->debug == NULL)
        return;
    sp__debug(c, SP_DEBUG_INFO, "TLS connection using %s / %s", SSL_get_version(ssl),
              SSL_get_cipher_name(ssl));
    sp__debug(c, SP_DEBUG_INFO, "kTLS: send %s, receive %s",
              BIO_get_ktls_send(SSL_get_wbio(ssl)) ? "on" : "off",
              BIO_get_ktls_recv(SSL_get_rbio(ssl)) ? "on" : "off");
    if (cert == NULL)
        return;
    char name[512], expiry[64];
    X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
    sp__debug(c, SP_DEBUG_INFO, "Server certificate: subject: %s", name);
    X509_NAME_oneline(X509_get_issuer_name(cert), name, sizeof name);
    sp__debug(c, SP_DEBUG_INFO, "Server certificate: issuer: %s", name);
    format_time(X509_get0_notAfter(cert), expiry, sizeof expiry);
    sp__debug(c, SP_DEBUG_INFO, "Server certificate: expire date: %s", expiry);
    sp__debug(c, SP_DEBUG_INFO, "%s",
              c->insecure ? "Server certificate: verification skipped (--insecure)"
                          : "Server certificate: verified");
}

/* Says why a handshake that OpenSSL ended failed, in one line naming what failed. */
static int handshake_failed(sp__conn *cn, int r)
{
    sp_client *c = cn->c;
    tls *t = cn->ctx;
    int saved = errno;
    int e = SSL_get_error(t->ssl, r);
    long verify = SSL_get_verify_result(t->ssl);
    unsigned long code = ERR_peek_last_error();
    /* OpenSSL 3 reports a peer that closed mid-handshake as an error of its own, not as EOF. */
    int closed = e == SSL_ERROR_SSL && ERR_GET_LIB(code) == ERR_LIB_SSL &&
                 ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    int rc;
    if (t->got_header && memcmp(t->first_header, "HTTP/", 5) == 0)
        rc = sp__fail(c, SP_ETLS, 0,
                      "TLS handshake with %s: the server does not speak TLS (it answered in "
                      "plain HTTP; try http://)",
                      cn->addr);
    else if (e == SSL_ERROR_SSL && verify != X509_V_OK)
        rc = sp__fail(c, SP_ETLS, 0, "TLS: the certificate of %s (%s) was not trusted: %s",
                      cn->addr, cn->u->host, X509_verify_cert_error_string(verify));
    else if (e == SSL_ERROR_SSL && code != 0 && !closed) {
        char why[256];
        ERR_error_string_n(code, why, sizeof why);
        const char *reason = ERR_reason_error_string(code);
        rc = sp__fail(c, SP_ETLS, 0, "TLS handshake with %s failed: %s", cn->addr,
                      reason != NULL ? reason : why);
    } else if (e == SSL_ERROR_SYSCALL && saved != 0)
        rc = sp__fail(c, SP_ETLS, saved, "TLS handshake with %s", cn->addr);
    else if (!t->got_header)
        /* A plain HTTP server answers a ClientHello (with a 400, caught above); a close with not
         * one byte is mostly a server or proxy turning the connection away. */
        rc = sp__fail(c, SP_ETLS, 0,
                      "TLS handshake with %s: the server closed the connection before it "
                      "answered (is it at its connection limit, or not a TLS server?)",
                      cn->addr);
    else
        rc = sp__fail(c, SP_ETLS, 0,
                      "TLS handshake with %s: the server closed the connection mid-handshake",
                      cn->addr);
    ERR_clear_error();
    return rc;
}

/* Builds the context: TLS 1.2 and later, the trust anchors asked for, the modes the I/O needs. */
static int make_context(sp__conn *cn, tls *t)
{
    sp_client *c = cn->c;
    if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
        return sp__fail(c, SP_ENOMEM, 0, "TLS: create context");
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    /* SSL_write_ex may then take part of a buffer, and be retried with the rest at another
     * address, as the body engines' honest write loops do. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(t->ctx, SSL_OP_ENABLE_KTLS);
    if (c->insecure) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
        return SP_OK;
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (c->cacert != NULL || c->capath != NULL) {
        if (SSL_CTX_load_verify_locations(t->ctx, c->cacert, c->capath) != 1) {
            char shown[200];
            sp__printable(c->cacert != NULL ? c->cacert : c->capath, shown, sizeof shown);
            ERR_clear_error();
            return sp__fail(c, SP_EFILE, 0, "TLS: cannot load the CA certificates in %s%s",
                            c->cacert != NULL ? "--cacert " : "--capath ", shown);
        }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        ERR_clear_error();
        return sp__fail(c, SP_ETLS, 0, "TLS: cannot load the system's CA certificates");
    }
    return SP_OK;
}

/* Makes the session: the socket, SNI for a name, and the name or address to verify. */
static int make_session(sp__conn *cn, tls *t)
{
    sp_client *c = cn->c;
    const sp_url *u = cn->u;
    if ((t->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(t->ssl, cn->fd) != 1)
        return sp__fail(c, SP_ENOMEM, 0, "TLS: create session");
    SSL_set_msg_callback(t->ssl, on_message);
    SSL_set_msg_callback_arg(t->ssl, t);
    /* SNI carries names only; an IP literal is checked against the certificate's addresses. */
    int ok = u->numeric ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), u->host)
                        : SSL_set_tlsext_host_name(t->ssl, u->host) == 1 &&
                              SSL_set1_host(t->ssl, u->host) == 1;
    if (ok != 1)
        return sp__fail(c, SP_ETLS, 0, "TLS: cannot set the name to verify (%s)", u->host);
    SSL_set_connect_state(t->ssl);
    return SP_OK;
}

static int tls_handshake(sp__conn *cn, int64_t limit)
{
    sp_client *c = cn->c;
    tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "TLS: allocate session");
    cn->ctx = t;
    int rc = make_context(cn, t);
    if (rc == SP_OK)
        rc = make_session(cn, t);
    if (rc != SP_OK)
        return rc;
    sp__debug(c, SP_DEBUG_INFO, "TLS handshake with %s (%s)", cn->addr, cn->u->host);
    for (;;) {
        ERR_clear_error();
        errno = 0;
        sp__sigpipe_guard g;
        sp__sigpipe_block(&g);
        int r = SSL_connect(t->ssl);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
        sp__sigpipe_unblock(&g);
        if (r == 1)
            break;
        unsigned what;
        if (e == SSL_ERROR_WANT_READ)
            what = SP__IO_RECV;
        else if (e == SSL_ERROR_WANT_WRITE)
            what = SP__IO_SEND;
        else
            return handshake_failed(cn, r);
        int w = cn->waiter.wait(cn->waiter.ud, cn, what, limit, "TLS handshake");
        if (w < 0)
            return w;
        if (w == 0)
            return sp__fail(c, SP_ETIMEOUT, 0, "TLS handshake with %s: timed out after %llu ms",
                            cn->addr, (unsigned long long)c->connect_timeout_ms);
    }
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    debug_session(cn, cert);
    if (c->pinned_pubkey != NULL)
        rc = check_pin(cn, cert);
    X509_free(cert);
    if (rc == SP_OK && BIO_get_ktls_send(SSL_get_wbio(t->ssl)))
        cn->t = &tls_ktls_transport;
    return rc;
}
