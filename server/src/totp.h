/*
 * One-time passwords (totp.c): RFC 4648 base32 for the secrets, RFC 4226 HOTP and RFC 6238 TOTP
 * over HMAC-SHA1, as pquerna/otp computes and checks the codes OpenList's 2FA asks for.
 */
#ifndef MOCK_TOTP_H
#define MOCK_TOTP_H

#include <stddef.h>
#include <stdint.h>

/* The longest secret the mock keeps, in bytes (authenticator apps use 10 or 20). */
#define MOCK_OTP_KEY_MAX 64

/*
 * Decodes a secret as pquerna/otp does (hotp.go: TrimSpace, '=' padding added, upper-cased,
 * base32.StdEncoding) into out (outsz bytes). Returns the length, or -1 if s is not base32 or
 * does not fit.
 */
long mock_base32_decode(const char *s, unsigned char *out, size_t outsz);

/*
 * The RFC 6238 code for the Unix time t with a step of step seconds: HOTP(key, t / step)
 * truncated to digits (1..9) decimal digits, zero-padded, into out (digits + 1 bytes).
 * Returns 0, or -1 if digits is out of range or HMAC fails.
 */
int mock_totp_code(const unsigned char *key, size_t keylen, uint64_t t, unsigned step,
                   unsigned digits, char *out);

/*
 * pquerna/otp's totp.Validate at the Unix time now: the code, spaces trimmed, must have six
 * digits and match the 30-second step of now, the next or the previous one. Returns 1 or 0.
 */
int mock_totp_validate(const unsigned char *key, size_t keylen, const char *code, uint64_t now);

#endif
