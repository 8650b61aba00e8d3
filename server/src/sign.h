/*
 * The signs of /d and /p links (sign.c): OpenList's HMAC-SHA256 sign (pkg/sign/hmac.go), keyed
 * with --token as OpenList keys it with its token setting, or with a key made at start.
 */
#ifndef MOCK_SIGN_H
#define MOCK_SIGN_H

#include <stdint.h>

#include "config.h"

/* A sign's size: 44 base64 characters, ':', at most 20 for the expiry, the NUL. */
#define MOCK_SIGN_MAX 72

/* Sets srv's sign key: --token if given, else MOCK_SIGN_KEY_RANDOM random bytes. 0 or -1. */
int mock_sign_init(mock_server *srv);

/*
 * HMACSign.Sign(data, expire): base64url (with padding) of HMAC-SHA256(key, data ":" expire),
 * then ":" expire. expire 0 never expires. Writes the sign to out and returns it.
 */
const char *mock_sign(const mock_server *srv, const char *data, int64_t expire,
                      char out[MOCK_SIGN_MAX]);

/*
 * HMACSign.Verify(data, sign): NULL when sign is good for data now, else OpenList's error text
 * ("expire missing", "expire invalid", "sign expired", "sign invalid"; pkg/sign/sign.go).
 */
const char *mock_sign_verify(const mock_server *srv, const char *data, const char *sign);

#endif
