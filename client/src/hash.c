/*
 * Digest pre-pass for X-File-Md5/Sha1/Sha256: one pass over the file with pread() into the
 * transfer buffer, all requested digests updated together, so memory stays constant. Also the
 * login's password hash, and the wiping of secrets.
 *
 * libcrypto is loaded with dlopen() on first use rather than linked: merely loading it costs
 * about 1.4 MiB of resident memory (its relocations), half of the client's whole footprint,
 * and most uploads never ask for a digest.
 */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SP_LIBCRYPTO_SONAME
#define SP_LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

/* The libcrypto functions the pre-pass uses, resolved once. */
static struct {
    void *handle;      /* kept for the life of the process, like the functions from it */
    const char *error; /* dlerror() text if loading failed */
    __typeof__(&EVP_get_digestbyname) get_digestbyname;
    __typeof__(&EVP_MD_CTX_new) ctx_new;
    __typeof__(&EVP_MD_CTX_free) ctx_free;
    __typeof__(&EVP_DigestInit_ex) init;
    __typeof__(&EVP_DigestUpdate) update;
    __typeof__(&EVP_DigestFinal_ex) final;
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
/* OPENSSL_cleanse, set once libcrypto is loaded: sp__wipe() must not load it just to zero. */
static _Atomic(void (*)(void *, size_t)) cleanse;

static void load_crypto(void)
{
    void *h = crypto.handle = dlopen(SP_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        crypto.error = dlerror();
        return;
    }
    /* POSIX guarantees object and function pointers convert through dlsym's void *. */
    *(void **)&crypto.get_digestbyname = dlsym(h, "EVP_get_digestbyname");
    *(void **)&crypto.ctx_new = dlsym(h, "EVP_MD_CTX_new");
    *(void **)&crypto.ctx_free = dlsym(h, "EVP_MD_CTX_free");
    *(void **)&crypto.init = dlsym(h, "EVP_DigestInit_ex");
    *(void **)&crypto.update = dlsym(h, "EVP_DigestUpdate");
    *(void **)&crypto.final = dlsym(h, "EVP_DigestFinal_ex");
    if (!crypto.get_digestbyname || !crypto.ctx_new || !crypto.ctx_free || !crypto.init ||
        !crypto.update || !crypto.final)
        crypto.error = "a digest function is missing from " SP_LIBCRYPTO_SONAME;
    void (*fn)(void *, size_t);
    *(void **)&fn = dlsym(h, "OPENSSL_cleanse");
    atomic_store(&cleanse, fn);
}

void sp__wipe(void *p, size_t n)
{
    if (p == NULL || n == 0)
        return;
    void (*fn)(void *, size_t) = atomic_load(&cleanse);
    if (fn != NULL)
        fn(p, n);
    else
        explicit_bzero(p, n);
}

void sp__free_secret(char **s)
{
    if (*s == NULL)
        return;
    sp__wipe(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

static void to_hex(const unsigned char *d, unsigned n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

int sp__hash_file(sp_client *c, int fd, uint64_t offset, uint64_t size, sp_body_info *b)
{
    static const struct {
        unsigned bit;
        const char *name;
    } algs[] = {{SP_HASH_MD5, "MD5"}, {SP_HASH_SHA1, "SHA1"}, {SP_HASH_SHA256, "SHA256"}};
    char *outs[] = {b->md5, b->sha1, b->sha256};
    EVP_MD_CTX *ctx[3] = {NULL, NULL, NULL};
    int rc = SP_OK;

    pthread_once(&crypto_once, load_crypto);
    if (crypto.error != NULL)
        return sp__fail(c, SP_EUNSUPPORTED, 0, "digests need libcrypto: %s", crypto.error);
    if ((rc = sp__body_buf(c)) != SP_OK)
        return rc;
    for (int i = 0; i < 3; i++) {
        if (!(c->hashes & algs[i].bit))
            continue;
        const EVP_MD *md = crypto.get_digestbyname(algs[i].name);
        if (md == NULL || (ctx[i] = crypto.ctx_new()) == NULL ||
            crypto.init(ctx[i], md, NULL) != 1) {
            rc = sp__fail(c, SP_ENOMEM, 0, "initialise %s digest", algs[i].name);
            goto out;
        }
    }
    char *buf = c->body_buf + SP_CHUNK_HEAD;
    uint64_t done = 0;
    while (done < size) {
        size_t want = size - done < c->chunk_size ? (size_t)(size - done) : c->chunk_size;
        ssize_t n = pread(fd, buf, want, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = sp__fail(c, SP_EFILE, errno, "read input for digest");
            goto out;
        }
        if (n == 0) {
            rc = sp__fail(c, SP_EFILE, 0, "input shrank while hashing (%llu of %llu bytes)",
                          (unsigned long long)done, (unsigned long long)size);
            goto out;
        }
        for (int i = 0; i < 3; i++)
            if (ctx[i] != NULL)
                crypto.update(ctx[i], buf, (size_t)n);
        done += (uint64_t)n;
    }
    for (int i = 0; i < 3; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen;
        if (ctx[i] != NULL && crypto.final(ctx[i], md, &mdlen) == 1)
            to_hex(md, mdlen, outs[i]);
    }
out:
    for (int i = 0; i < 3; i++)
        if (ctx[i] != NULL)
            crypto.ctx_free(ctx[i]);
    return rc;
}

/* OpenList internal/model/user.go:24 (StaticHashSalt) and :235-237 (StaticHash). */
#define SP_STATIC_HASH_SALT "-https://github.com/alist-org/alist"

int sp__static_hash(sp_client *c, const char *password, char out[65])
{
    pthread_once(&crypto_once, load_crypto);
    if (crypto.error != NULL)
        return sp__fail(c, SP_EUNSUPPORTED, 0, "the login's password hash needs libcrypto: %s",
                        crypto.error);
    const EVP_MD *md = crypto.get_digestbyname("SHA256");
    EVP_MD_CTX *ctx = md != NULL ? crypto.ctx_new() : NULL;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    /* Two updates rather than one buffer: no second copy of the password is ever made. */
    int ok = ctx != NULL && crypto.init(ctx, md, NULL) == 1 &&
             crypto.update(ctx, password, strlen(password)) == 1 &&
             crypto.update(ctx, SP_STATIC_HASH_SALT, sizeof SP_STATIC_HASH_SALT - 1) == 1 &&
             crypto.final(ctx, d, &dlen) == 1 && dlen == 32;
    if (ctx != NULL)
        crypto.ctx_free(ctx); /* EVP_MD_CTX_free cleanses the digest state */
    if (ok)
        to_hex(d, dlen, out);
    sp__wipe(d, sizeof d);
    return ok ? SP_OK : sp__fail(c, SP_ENOMEM, 0, "compute the password's SHA-256");
}
