/*
 * The mock's HTTPS identity. libmicrohttpd does the TLS itself (with GnuTLS) from a PEM
 * certificate and key held in memory; this file only provides them. Given files are read with a
 * bound and checked with libcrypto before MHD sees them, so a wrong file is one clear line at
 * start, not a daemon that "cannot listen". --tls-self-signed makes a throw-away identity for
 * tests: a fresh EC P-256 key and a certificate naming the loopback addresses, valid for a day,
 * whose PEM is written where a client can trust it.
 */
#include "tls.h"
#include "sp_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* A certificate chain or a key is a few KiB; anything near this is not one. */
#define MOCK_TLS_MAX_PEM (1024 * 1024)

/* The self-signed certificate's lifetime, and how far back it starts for a client whose clock
 * is a little behind. */
#define SELF_SIGNED_SECONDS  (24L * 60 * 60)
#define SELF_SIGNED_BACKDATE 60L

/*
 * Reads at most MOCK_TLS_MAX_PEM bytes of path into a NUL-terminated malloc'd string and its
 * length. Returns it, or NULL after a message naming opt.
 */
static char *read_pem(const char *opt, const char *path, size_t *len)
{
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "streamput-mock: %s %s: %s\n", opt, path, strerror(errno));
        return NULL;
    }
    buf = malloc(MOCK_TLS_MAX_PEM + 1);
    size_t n = 0;
    while (buf != NULL && n <= MOCK_TLS_MAX_PEM) {
        ssize_t k = read(fd, buf + n, MOCK_TLS_MAX_PEM + 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            fprintf(stderr, "streamput-mock: %s %s: %s\n", opt, path, strerror(errno));
            goto fail;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (buf == NULL) {
        fprintf(stderr, "streamput-mock: out of memory reading %s %s\n", opt, path);
        goto fail;
    }
    if (n > MOCK_TLS_MAX_PEM) {
        fprintf(stderr, "streamput-mock: %s %s: larger than %d bytes, not a PEM file\n", opt, path,
                MOCK_TLS_MAX_PEM);
        goto fail;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    if (buf != NULL)
        OPENSSL_cleanse(buf, MOCK_TLS_MAX_PEM + 1);
    free(buf);
    close(fd);
    return NULL;
}

/* A passphrase callback that has none: an encrypted key fails instead of prompting. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Prints "streamput-mock: TLS certificate SHA-256 AB:CD:..." for x. Returns 0 or -1. */
static int print_fingerprint(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1)
        return -1;
    char hex[3 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
    fprintf(stderr, "streamput-mock: TLS certificate SHA-256 %s\n", hex);
    return 0;
}

/* Reads --tls-cert and --tls-key into t and checks that they are a certificate and its key. */
static int load_files(const mock_config *cfg, mock_tls *t)
{
    size_t cert_len = 0;
    int rc = 2;
    X509 *x = NULL;
    EVP_PKEY *pk = NULL;
    BIO *b = NULL;
    if ((t->cert = read_pem("--tls-cert", cfg->tls_cert, &cert_len)) == NULL ||
        (t->key = read_pem("--tls-key", cfg->tls_key, &t->key_len)) == NULL)
        goto out;
    if ((b = BIO_new_mem_buf(t->cert, (int)cert_len)) == NULL ||
        (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)) == NULL) {
        fprintf(stderr, "streamput-mock: --tls-cert %s: no PEM certificate in it\n", cfg->tls_cert);
        goto out;
    }
    BIO_free(b);
    if ((b = BIO_new_mem_buf(t->key, (int)t->key_len)) == NULL ||
        (pk = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL)) == NULL) {
        fprintf(stderr,
                "streamput-mock: --tls-key %s: no PEM private key in it (or it is encrypted)\n",
                cfg->tls_key);
        goto out;
    }
    if (X509_check_private_key(x, pk) != 1) {
        fprintf(stderr, "streamput-mock: --tls-key %s is not the key of --tls-cert %s\n",
                cfg->tls_key, cfg->tls_cert);
        goto out;
    }
    if (print_fingerprint(x) < 0) {
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    BIO_free(b);
    EVP_PKEY_free(pk);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

/* Adds the extension "nid = value" to x, which signs itself. Returns 0 or -1. */
static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* The whole content of a memory BIO as a NUL-terminated malloc'd string, or NULL. */
static char *bio_string(BIO *b, size_t *len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (s == NULL)
        return NULL;
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return s;
}

/* A fresh key and a self-signed certificate for the loopback names into t; x receives it. */
static int generate(mock_tls *t, X509 **xout)
{
    int rc = -1;
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (pk == NULL || x == NULL || cb == NULL || kb == NULL ||
        RAND_bytes(serial, sizeof serial) != 1)
        goto out;
    serial[0] &= 0x7f; /* a positive serial number of at most 16 bytes, as RFC 5280 asks */
    X509_NAME *name = X509_get_subject_name(x);
    if ((bn = BN_bin2bn(serial, sizeof serial, NULL)) == NULL ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL || X509_set_version(x, 2) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -SELF_SIGNED_BACKDATE) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), SELF_SIGNED_SECONDS) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"streamput-mock", -1, -1, 0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pk) != 1)
        goto out;
    /*
     * The certificate is its own trust anchor (a client's --cacert), so it is marked a CA that may
     * sign certificates, the way `openssl req -x509` marks one; that is what lets a verifier see
     * it as self-issued and stop there.
     */
    if (add_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
        add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign") < 0 ||
        add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, NID_authority_key_identifier, "keyid:always") < 0 ||
        add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost") < 0)
        goto out;
    if (X509_sign(x, pk, EVP_sha256()) <= 0 || PEM_write_bio_X509(cb, x) != 1 ||
        PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        (t->cert = bio_string(cb, NULL)) == NULL || (t->key = bio_string(kb, &t->key_len)) == NULL)
        goto out;
    *xout = x;
    x = NULL;
    rc = 0;
out:
    BN_free(bn);
    BIO_free(cb);
    if (kb != NULL) {
        char *data = NULL;
        long n = BIO_get_mem_data(kb, &data);
        if (n > 0)
            OPENSSL_cleanse(data, (size_t)n);
        BIO_free(kb);
    }
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

/* Writes pem to path atomically: a temp file beside it, renamed over it once complete. */
static int write_atomically(const char *path, const char *pem)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        fprintf(stderr, "streamput-mock: --tls-cert-out %s: path too long\n", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "streamput-mock: --tls-cert-out %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* A certificate is public: readable by the clients that are to trust it. */
    if (fchmod(fd, 0644) < 0 || sp__write_all(fd, pem, strlen(pem)) < 0 || fsync(fd) < 0) {
        fprintf(stderr, "streamput-mock: --tls-cert-out %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        fprintf(stderr, "streamput-mock: --tls-cert-out %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int self_signed(const mock_config *cfg, mock_tls *t)
{
    X509 *x = NULL;
    int rc = 1;
    if (generate(t, &x) < 0) {
        fprintf(stderr, "streamput-mock: cannot generate the --tls-self-signed certificate\n");
        goto out;
    }
    if (cfg->tls_cert_out != NULL && write_atomically(cfg->tls_cert_out, t->cert) < 0) {
        rc = 2;
        goto out;
    }
    if (print_fingerprint(x) < 0)
        goto out;
    rc = 0;
out:
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int mock_tls_setup(const mock_config *cfg, mock_tls *t)
{
    memset(t, 0, sizeof *t);
    int rc = 0;
    if (cfg->tls_cert != NULL)
        rc = load_files(cfg, t);
    else if (cfg->tls_self_signed)
        rc = self_signed(cfg, t);
    if (rc != 0)
        mock_tls_free(t);
    return rc;
}

void mock_tls_free(mock_tls *t)
{
    if (t->key != NULL)
        OPENSSL_cleanse(t->key, t->key_len);
    free(t->key);
    free(t->cert);
    memset(t, 0, sizeof *t);
}
