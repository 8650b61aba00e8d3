/*
 * Fuzzes the Authorization token check (mock_tokens_check, behind mock_auth_check) with tokens
 * built from the input: tokens the mock signs (mock_jwt_sign) and puts on its list, some then
 * revoked, and candidates that are one of them, one with a byte changed, with a signature by
 * another key, forged from a chosen header (alg HS256, none, HS512, ...), claims and key, or raw
 * bytes. Properties: a token is accepted exactly when it is one the list holds, not revoked,
 * with now in [iat, exp), and then as its user; and every accepted token, checked here with
 * OpenSSL's HMAC and a JSON parser of its own, has three base64url parts, a header whose alg is
 * HS256, a valid HMAC-SHA256 under the mock's key and an exp in the future.
 *
 * Input: byte 0 the tokens issued (1..3) and the clock, then 4 bytes per token (user, iat,
 * exp, revoked), then the candidate: a mode byte and what it takes.
 */
#include "jwt.h"
#include "tokens.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz_jwt: the mock's jwt secret";
static const unsigned char other[32] = "fuzz_jwt: somebody else's secret";

/* A clock well inside int64 nanoseconds, and one at its end (exp * 1e9 would overflow). */
static const int64_t clocks[] = {1700000000, 9223371836};

static mock_user users[3] = {{.name = "admin"}, {.name = "guest"}, {.name = "al\"ice<&>\xc3\xa9"}};

/* base64url without padding of s[0 .. n) into out; -1 on a byte outside the alphabet. */
static long unbase64url(const char *s, size_t n, unsigned char *out, size_t outsz)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *p = s[i] != '\0' ? strchr(al, s[i]) : NULL;
        if (p == NULL)
            return -1;
        acc = acc << 6 | (uint32_t)(p - al);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outsz)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

/* A JSON object from base64url text, NULL if it is none. */
static cJSON *part_json(const char *s, size_t n)
{
    unsigned char buf[2048];
    long k = unbase64url(s, n, buf, sizeof buf);
    cJSON *j = k >= 0 ? cJSON_ParseWithLength((const char *)buf, (size_t)k) : NULL;
    if (j != NULL && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        j = NULL;
    }
    return j;
}

/* The independent check of an accepted token; aborts on anything a verifier must refuse. */
static void verify(const char *tok, int64_t now)
{
    const char *d1 = strchr(tok, '.'), *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL)
        abort(); /* not three parts */
    cJSON *h = part_json(tok, (size_t)(d1 - tok)), *p = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    const char *alg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "alg"));
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "exp");
    if (alg == NULL || strcmp(alg, "HS256") != 0)
        abort(); /* accepted with another alg */
    if (!cJSON_IsNumber(exp) || exp->valuedouble <= (double)now)
        abort(); /* accepted expired */
    unsigned char mac[EVP_MAX_MD_SIZE], sig[64];
    unsigned maclen = 0;
    if (HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)tok, (size_t)(d2 - tok), mac,
             &maclen) == NULL)
        abort();
    long sn = unbase64url(d2 + 1, strlen(d2 + 1), sig, sizeof sig);
    if (sn != (long)maclen || CRYPTO_memcmp(sig, mac, maclen) != 0)
        abort(); /* accepted with a wrong signature */
    cJSON_Delete(h);
    cJSON_Delete(p);
}

/* header.claims.signature from the parts given, signed with k (or a made-up signature). */
static void forge(char *out, size_t outsz, const char *hjson, const char *claims,
                  const unsigned char *k, int sigmode)
{
    char h[256], c[512], s[128];
    mock_base64url((const unsigned char *)hjson, strlen(hjson), 0, h, sizeof h);
    mock_base64url((const unsigned char *)claims, strlen(claims), 0, c, sizeof c);
    char signing[800];
    snprintf(signing, sizeof signing, "%s.%s", h, c);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    HMAC(EVP_sha256(), k, 32, (const unsigned char *)signing, strlen(signing), mac, &maclen);
    if (sigmode == 1)
        maclen = 0; /* alg none: an empty signature */
    else if (sigmode == 2)
        mac[0] ^= 1;
    mock_base64url(mac, maclen, 0, s, sizeof s);
    snprintf(out, outsz, "%s.%s", signing, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mock_tokens list = MOCK_TOKENS_INIT;
    mock_tokens_clear(&list);
    if (size < 2)
        return 0;
    size_t ntok = 1 + data[0] % 3;
    int64_t now = clocks[(data[0] >> 2) & 1] + (int8_t)data[1];
    int64_t now_ns = now * 1000000000 + (data[0] >> 3) * 31250000; /* within its second */
    data += 2;
    size -= 2;
    if (size < ntok * 4 + 1)
        return 0;
    char toks[3][MOCK_JWT_MAX];
    const mock_user *who[3];
    int64_t iat[3], exp[3];
    int good[3];
    for (size_t i = 0; i < ntok; i++, data += 4, size -= 4) {
        who[i] = &users[data[0] % 3];
        iat[i] = now + (int8_t)data[1] / 8;
        /* exp mostly near now, sometimes past what nanoseconds hold. */
        exp[i] = data[2] == 0xff ? INT64_MAX / 2 : iat[i] + (int8_t)data[2];
        if (mock_jwt_sign(key, sizeof key, who[i]->name, 1, iat[i], exp[i], toks[i],
                          sizeof toks[i]) < 0 ||
            mock_tokens_add(&list, toks[i], who[i], iat[i], exp[i]) < 0)
            abort();
        good[i] = !(data[3] & 1);
    }
    for (size_t i = 0; i < ntok; i++)
        if (!good[i])
            mock_tokens_revoke(&list, toks[i]);
    /* A revoked token is revoked in every slot that holds the same text. */
    for (size_t i = 0; i < ntok; i++)
        for (size_t j = 0; j < ntok; j++)
            if (!good[j] && strcmp(toks[i], toks[j]) == 0)
                good[i] = 0;

    unsigned mode = data[0] % 6;
    size_t pick = data[0] / 6 % ntok;
    data++;
    size--;
    char cand[4096];
    static const char *const headers[] = {
        "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
        "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", "{\"alg\":\"HS256\"}"};
    switch (mode) {
    case 0: /* an issued token as it is */
        snprintf(cand, sizeof cand, "%s", toks[pick]);
        break;
    case 1: /* one byte of it changed, or cut short there */
        snprintf(cand, sizeof cand, "%s", toks[pick]);
        if (size >= 2) {
            size_t at = data[0] % strlen(cand);
            cand[at] = (char)data[1];
        }
        break;
    case 2:   /* its header and claims, signed by another key */
    case 3: { /* forged: a header, claims and a key of the input's choosing */
        const char *hj = headers[size > 0 ? data[0] % 6 : 0];
        int64_t e = now + (size > 1 ? (int8_t)data[1] : 60);
        char claims[256];
        snprintf(claims, sizeof claims,
                 "{\"username\":\"%s\",\"pwd_ts\":1,\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
                 size > 2 && (data[2] & 1) ? "guest" : "admin", (long long)e, (long long)now - 1,
                 (long long)now - 1);
        if (mode == 2) {
            snprintf(cand, sizeof cand, "%s", toks[pick]);
            char *d2 = strrchr(cand, '.');
            unsigned char mac[EVP_MAX_MD_SIZE];
            unsigned maclen = 0;
            HMAC(EVP_sha256(), other, sizeof other, (const unsigned char *)cand,
                 (size_t)(d2 - cand), mac, &maclen);
            mock_base64url(mac, maclen, 0, d2 + 1, sizeof cand - (size_t)(d2 + 1 - cand));
        } else {
            forge(cand, sizeof cand, hj, claims, size > 2 && (data[2] & 2) ? other : key,
                  size > 2 ? data[2] >> 2 & 3 : 0);
        }
        break;
    }
    case 4: /* an issued token with something after it */
        snprintf(cand, sizeof cand, "%s%.*s", toks[pick], (int)(size < 64 ? size : 64),
                 (const char *)data);
        break;
    default: /* raw bytes */
        snprintf(cand, sizeof cand, "%.*s", (int)(size < sizeof cand - 1 ? size : sizeof cand - 1),
                 (const char *)data);
        break;
    }

    const mock_user *u = NULL;
    const char *msg = NULL;
    int rc = mock_tokens_check(&list, cand, now_ns, &u, &msg);
    int want = 0;
    const mock_user *want_u = NULL;
    for (size_t i = 0; i < ntok; i++)
        if (strcmp(cand, toks[i]) == 0 && good[i] && now >= iat[i] && now < exp[i]) {
            want = 1;
            want_u = who[i];
        }
    if ((rc == 0) != want)
        abort(); /* accepted what the list does not hold as valid, or refused what it does */
    if (rc == 0) {
        if (u != want_u)
            abort();
        verify(cand, now);
    } else if (u != NULL || msg == NULL ||
               (strcmp(msg, "token is invalidated") != 0 && strcmp(msg, "token is expired") != 0 &&
                strcmp(msg, "token not active yet") != 0)) {
        abort();
    }
    return 0;
}
