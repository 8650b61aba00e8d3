/*
 * One-time passwords. Neither libcrypto nor any other library the mock links decodes base32,
 * so the decoder is here; the HMAC is libcrypto's.
 */
#include "totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

/* Go's strings.TrimSpace for the ASCII spaces a secret or a code may carry. */
static void trim(const char **s, size_t *n)
{
    static const char sp[] = " \t\n\v\f\r";
    while (*n > 0 && memchr(sp, (*s)[0], sizeof sp - 1) != NULL) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && memchr(sp, (*s)[*n - 1], sizeof sp - 1) != NULL)
        (*n)--;
}

static int b32_value(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= '2' && ch <= '7')
        return ch - '2' + 26;
    return -1;
}

long mock_base32_decode(const char *s, unsigned char *out, size_t outsz)
{
    size_t n = strlen(s);
    trim(&s, &n);
    /* Padding is optional (pquerna/otp adds it); what is there must be at the end. */
    size_t data = n;
    while (data > 0 && s[data - 1] == '=')
        data--;
    size_t padded = (data + 7) / 8 * 8;
    if (n > padded)
        return -1;
    /* A last group of 8 characters holds 2, 4, 5, 7 or 8 of them; 1, 3 or 6 are impossible. */
    size_t tail = data % 8;
    if (tail == 1 || tail == 3 || tail == 6)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t len = 0;
    for (size_t i = 0; i < data; i++) {
        int v = b32_value(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (len == outsz)
                return -1;
            out[len++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)len;
}

int mock_totp_code(const unsigned char *key, size_t keylen, uint64_t t, unsigned step,
                   unsigned digits, char *out)
{
    if (digits < 1 || digits > 9 || step == 0 || keylen > MOCK_OTP_KEY_MAX)
        return -1;
    uint64_t counter = t / step;
    unsigned char msg[8], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)counter;
        counter >>= 8;
    }
    if (HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, md, &mdlen) == NULL || mdlen != 20)
        return -1;
    /* RFC 4226 section 5.4, dynamic truncation. */
    unsigned off = md[19] & 0xf;
    uint32_t v = (uint32_t)(md[off] & 0x7f) << 24 | (uint32_t)md[off + 1] << 16 |
                 (uint32_t)md[off + 2] << 8 | md[off + 3];
    uint32_t mod = 1;
    for (unsigned i = 0; i < digits; i++)
        mod *= 10;
    v %= mod;
    for (int i = (int)digits - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    out[digits] = '\0';
    return 0;
}

int mock_totp_validate(const unsigned char *key, size_t keylen, const char *code, uint64_t now)
{
    size_t n = strlen(code);
    trim(&code, &n);
    if (n != 6)
        return 0;
    /* The order totp.ValidateCustom tries the steps in: now, then one later, one earlier. */
    const int64_t skew[] = {0, 1, -1};
    int ok = 0;
    for (size_t i = 0; i < sizeof skew / sizeof skew[0]; i++) {
        char want[7];
        int64_t step = (int64_t)(now / 30) + skew[i];
        if (step < 0 || mock_totp_code(key, keylen, (uint64_t)step * 30, 30, 6, want) < 0)
            continue;
        ok |= CRYPTO_memcmp(want, code, 6) == 0;
    }
    return ok;
}
