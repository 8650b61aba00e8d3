/*
 * Clocks for tests: a monotonic millisecond count, a sleep that survives signals, and the
 * time-based one-time codes of two-factor logins.
 */
#ifndef TH_CLOCK_H
#define TH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t th_now_ms(void);

/* Sleeps ms milliseconds, resuming after a signal. */
void th_sleep_ms(int ms);

/*
 * The six-digit TOTP code (RFC 6238: HMAC-SHA1 over the 30-second step of Unix time t, RFC
 * 4226's truncation) of the keylen-byte secret key, into out: the tests' own, so that the mock's
 * codes are checked against something it did not compute. The test fails if HMAC does.
 */
void th_totp(const unsigned char *key, size_t keylen, int64_t t, char out[7]);

#endif
