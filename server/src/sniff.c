/*
 * The multipart diagnosis: does a body sent to /api/fs/put begin the way a multipart/form-data
 * body does? That is a "--boundary" line (RFC 2046: 1 to 70 characters, no controls) followed by
 * a Content-Disposition header line. Fed the body as it arrives, in pieces of any size; the
 * verdict never depends on where the pieces were cut.
 */
#include "sniff.h"

#include <string.h>
#include <strings.h>

void mock_sniff_feed(mock_sniff *s, const char *data, size_t len, int at_end)
{
    if (s->done)
        return;
    size_t k = len < MOCK_SNIFF - s->len ? len : MOCK_SNIFF - s->len;
    memcpy(s->buf + s->len, data, k);
    s->len += k;
    const char *b = (const char *)s->buf;
    size_t n = s->len;
    if ((n >= 1 && b[0] != '-') || (n >= 2 && b[1] != '-')) {
        s->done = 1;
        return;
    }
    const char *eol = memchr(b, '\n', n);
    if (eol == NULL) {
        s->done = at_end || n == MOCK_SNIFF;
        return;
    }
    /* b starts with "--", so the line is at least 2 bytes before its optional CR. */
    size_t blen = (size_t)(eol - b) - 2 - (eol[-1] == '\r');
    for (size_t i = 2; i < 2 + blen; i++)
        if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f)
            blen = 0;
    const char *next = eol + 1;
    size_t left = n - (size_t)(next - b);
    static const char cd[] = "Content-Disposition:";
    if (left < sizeof cd - 1 && !at_end && n < MOCK_SNIFF)
        return; /* wait for more */
    s->done = 1;
    s->suspected = blen >= 1 && blen <= 70 && left >= sizeof cd - 1 &&
                   strncasecmp(next, cd, sizeof cd - 1) == 0;
}
