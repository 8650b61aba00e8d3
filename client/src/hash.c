/*
 * Digest pre-pass for X-File-Md5/Sha1/Sha256: one pass over the file with pread() into the
 * transfer buffer, all requested digests updated together, so memory stays constant.
 */
#include "internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

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

    if ((rc = sp__body_buf(c)) != SP_OK)
        return rc;
    for (int i = 0; i < 3; i++) {
        if (!(c->hashes & algs[i].bit))
            continue;
        const EVP_MD *md = EVP_get_digestbyname(algs[i].name);
        if (md == NULL || (ctx[i] = EVP_MD_CTX_new()) == NULL ||
            EVP_DigestInit_ex(ctx[i], md, NULL) != 1) {
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
                EVP_DigestUpdate(ctx[i], buf, (size_t)n);
        done += (uint64_t)n;
    }
    for (int i = 0; i < 3; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen;
        if (ctx[i] != NULL && EVP_DigestFinal_ex(ctx[i], md, &mdlen) == 1)
            to_hex(md, mdlen, outs[i]);
    }
out:
    for (int i = 0; i < 3; i++)
        EVP_MD_CTX_free(ctx[i]);
    return rc;
}
