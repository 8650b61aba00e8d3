/*
 * Fuzzes the shared codecs: size parsing, and percent-encoding against Go-style decoding, which
 * must invert it exactly.
 */
#include "sp_common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[1024], enc[3 * 1024 + 1], dec[3 * 1024 + 1];
    if (size >= sizeof in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    size_t len = strlen(in);

    uint64_t v;
    if (sp__parse_size(in, &v) == 0 && (len == 0 || in[0] < '0' || in[0] > '9'))
        abort(); /* accepted something that does not start with a digit */
    sp__parse_uint(in, 65535, &v);

    size_t need = sp__pct_encode(in, enc, sizeof enc);
    if (need >= sizeof enc || strlen(enc) != need)
        abort();
    if (sp__pct_decode(enc, dec, NULL) != (ssize_t)len || memcmp(dec, in, len) != 0)
        abort(); /* decode(encode(x)) != x */

    /* Truncated output must still be a whole number of escapes and NUL-terminated. */
    size_t small = (size_t)(data[0 % (size ? size : 1)] % 16);
    char tiny[16];
    sp__pct_encode(in, tiny, small);
    if (small > 0 && (strlen(tiny) >= small || sp__pct_decode(tiny, dec, NULL) < 0))
        abort();

    /* Printable copies are one bounded line whatever the input. */
    char shown[64];
    sp__printable(in, shown, sizeof shown);
    if (strlen(shown) >= sizeof shown)
        abort();
    for (const unsigned char *q = (const unsigned char *)shown; *q != '\0'; q++)
        if (*q < 0x20 || *q == 0x7f)
            abort();

    const char *bad = NULL;
    ssize_t n = sp__pct_decode(in, dec, &bad);
    if (n < 0 && (bad == NULL || *bad != '%'))
        abort();
    if (n > (ssize_t)len)
        abort();
    return 0;
}
