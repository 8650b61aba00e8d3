/*
 * OpenList signs a link's path with HMAC-SHA256 under its token (internal/sign/sign.go:39-41):
 * the mock does the same with --token, so a client that computes signs itself (it knows the
 * token) gets the same strings as from a real server; without --token no client can know the
 * key, which is then made fresh at each start, as a reset token would be.
 */
#include "sign.h"
#include "jwt.h"
#include "gostr.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int mock_sign_init(mock_server *srv)
{
    if (srv->cfg.token != NULL) {
        srv->sign_key = (const unsigned char *)srv->cfg.token;
        srv->sign_key_len = srv->cfg.token_len;
        return 0;
    }
    if (getrandom(srv->sign_random, sizeof srv->sign_random, 0) != (ssize_t)sizeof srv->sign_random)
        return -1;
    srv->sign_key = srv->sign_random;
    srv->sign_key_len = sizeof srv->sign_random;
    return 0;
}

const char *mock_sign(const mock_server *srv, const char *data, int64_t expire,
                      char out[MOCK_SIGN_MAX])
{
    char stamp[24];
    int sn = snprintf(stamp, sizeof stamp, "%lld", (long long)expire);
    size_t dn = strlen(data);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    /* The message is the path, ":" and the stamp (hmac.go:17-26); a path is at most a request's
     * URL long, so it is put together on the heap. */
    unsigned char *msg = malloc(dn + 1 + (size_t)sn);
    out[0] = '\0';
    if (msg == NULL)
        return out;
    memcpy(msg, data, dn);
    msg[dn] = ':';
    memcpy(msg + dn + 1, stamp, (size_t)sn);
    if (HMAC(EVP_sha256(), srv->sign_key, (int)srv->sign_key_len, msg, dn + 1 + (size_t)sn, mac,
             &maclen) != NULL) {
        long n = mock_base64url(mac, maclen, 1, out, MOCK_SIGN_MAX);
        if (n > 0)
            snprintf(out + n, MOCK_SIGN_MAX - (size_t)n, ":%s", stamp);
    }
    free(msg);
    return out;
}

const char *mock_sign_verify(const mock_server *srv, const char *data, const char *sign)
{
    /* hmac.go:28-48, step for step: the expiry after the last ':' (the whole sign without one). */
    const char *colon = strrchr(sign, ':');
    const char *exp = colon != NULL ? colon + 1 : sign;
    int64_t expires;
    if (*exp == '\0')
        return "expire missing";
    if (mock_go_parse_int(exp, &expires, NULL, 0) < 0)
        return "expire invalid";
    if (expires < (int64_t)time(NULL) && expires != 0)
        return "sign expired";
    char want[MOCK_SIGN_MAX];
    mock_sign(srv, data, expires, want);
    size_t n = strlen(want);
    /* An exact comparison, so ":00" or a sign without its padding is refused as Go refuses it. */
    if (strlen(sign) != n || CRYPTO_memcmp(sign, want, n) != 0)
        return "sign invalid";
    return NULL;
}
