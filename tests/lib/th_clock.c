#include "th_clock.h"

#include <check.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <time.h>

int64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void th_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

void th_totp(const unsigned char *key, size_t keylen, int64_t t, char out[7])
{
    unsigned char msg[8], md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    uint64_t c = (uint64_t)t / 30;
    for (int i = 0; i < 8; i++)
        msg[i] = (unsigned char)(c >> (56 - 8 * i));
    ck_assert_ptr_nonnull(HMAC(EVP_sha1(), key, (int)keylen, msg, 8, md, &len));
    int o = md[len - 1] & 15;
    unsigned long v = (md[o] & 0x7fUL) << 24 | (unsigned long)md[o + 1] << 16 |
                      (unsigned long)md[o + 2] << 8 | md[o + 3];
    snprintf(out, 7, "%06lu", v % 1000000);
}
