/*
 * The tokens OpenList's login hands out (jwt.c): HS256 JWTs whose claims are common.UserClaims
 * as golang-jwt v4 serialises them.
 */
#ifndef MOCK_JWT_H
#define MOCK_JWT_H

#include <stddef.h>
#include <stdint.h>

/* The longest token mock_jwt_sign writes for a user name of at most 64 bytes, with its NUL. */
#define MOCK_JWT_MAX 1024

/*
 * Signs {"username":name,"pwd_ts":pwd_ts,"exp":exp,"nbf":iat,"iat":iat} with HMAC-SHA256 and
 * key into out (outsz bytes): header, claims and signature in base64url without padding,
 * joined by '.'. Returns the token's length, or -1 if it does not fit or a step fails.
 */
long mock_jwt_sign(const unsigned char *key, size_t keylen, const char *name, int64_t pwd_ts,
                   int64_t iat, int64_t exp, char *out, size_t outsz);

/*
 * Base64url of n bytes into out (outsz bytes, NUL-terminated): with pad, Go's
 * base64.URLEncoding (the download signs), without, RawURLEncoding (JWTs). Returns the length
 * written, or -1 if it does not fit.
 */
long mock_base64url(const unsigned char *in, size_t n, int pad, char *out, size_t outsz);

#endif
