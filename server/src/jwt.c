/*
 * HS256 JWTs as golang-jwt v4's Token.SignedString writes them. The header is the constant
 * that jwt.NewWithClaims's {"typ":"JWT","alg":"HS256"} marshals to (map keys sorted), and the
 * claims follow UserClaims' field order: username, pwd_ts, then RegisteredClaims' exp, nbf and
 * iat (iss, sub, aud and jti are empty and omitted), all integer seconds.
 */
#include "jwt.h"
#include "respond.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* base64url({"alg":"HS256","typ":"JWT"}) */
static const char header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

long mock_base64url(const unsigned char *in, size_t n, int pad, char *out, size_t outsz)
{
    /* EVP_EncodeBlock writes standard base64 with padding and a NUL: 4 bytes per 3, plus 1. */
    if (n > (size_t)0x7fffffff / 4 || (n + 2) / 3 * 4 + 1 > outsz)
        return -1;
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (!pad && len > 0 && out[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    out[len] = '\0';
    return len;
}

long mock_jwt_sign(const unsigned char *key, size_t keylen, const char *name, int64_t pwd_ts,
                   int64_t iat, int64_t exp, char *out, size_t outsz)
{
    long r = -1;
    /* encoding/json's escaping of the name (golang-jwt marshals with it, not with gin's). */
    cJSON *s = cJSON_CreateString(name);
    char *qname = s != NULL ? mock_json_go(s) : NULL;
    char claims[MOCK_JWT_MAX];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (qname == NULL)
        goto out;
    int cn = snprintf(claims, sizeof claims,
                      "{\"username\":%s,\"pwd_ts\":%lld,\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
                      qname, (long long)pwd_ts, (long long)exp, (long long)iat, (long long)iat);
    size_t hn = sizeof header - 1;
    if (cn < 0 || (size_t)cn >= sizeof claims || outsz < hn + 2)
        goto out;
    memcpy(out, header, hn);
    out[hn] = '.';
    long bn =
        mock_base64url((const unsigned char *)claims, (size_t)cn, 0, out + hn + 1, outsz - hn - 1);
    if (bn < 0)
        goto out;
    size_t signed_len = hn + 1 + (size_t)bn;
    if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)out, signed_len, mac,
             &maclen) == NULL ||
        signed_len + 2 > outsz)
        goto out;
    out[signed_len] = '.';
    long sn = mock_base64url(mac, maclen, 0, out + signed_len + 1, outsz - signed_len - 1);
    if (sn >= 0)
        r = (long)signed_len + 1 + sn;
out:
    free(qname);
    cJSON_Delete(s);
    return r;
}
