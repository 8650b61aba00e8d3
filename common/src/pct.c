#include "sp_common.h"

#include <string.h>

/* The bytes encodeURIComponent leaves alone, plus '/', which File-Path keeps readable. */
static int is_kept(unsigned char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("-_.!~*'()/", c) != NULL;
}

size_t sp__pct_encode(const char *in, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need = 0, len = 0;
    int full = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        size_t w = is_kept(*p) ? 1 : 3;
        /* Once one unit does not fit, write no more: the output never ends in half an escape. */
        if (!full && len + w < outsz) {
            if (w == 1) {
                out[len] = (char)*p;
            } else {
                out[len] = '%';
                out[len + 1] = hex[*p >> 4];
                out[len + 2] = hex[*p & 15];
            }
            len += w;
        } else {
            full = 1;
        }
        need += w;
    }
    if (outsz > 0)
        out[len] = '\0';
    return need;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t sp__pct_decode(const char *in, char *out, const char **bad_at)
{
    size_t n = 0;
    for (const char *p = in; *p != '\0'; p++) {
        if (*p != '%') {
            out[n++] = *p;
            continue;
        }
        int hi = hexval((unsigned char)p[1]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
        if (hi < 0 || lo < 0) {
            if (bad_at != NULL)
                *bad_at = p;
            return -1;
        }
        out[n++] = (char)(hi << 4 | lo);
        p += 2;
    }
    out[n] = '\0';
    return (ssize_t)n;
}

const char *sp__printable(const char *s, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0, room = outsz - 4; /* keep space for "..." and the NUL */
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int ctl = *p < 0x20 || *p == 0x7f;
        size_t w = ctl ? 4 : 1;
        if (len + w > room) {
            memcpy(out + len, "...", 4);
            return out;
        }
        if (ctl) {
            out[len] = '\\';
            out[len + 1] = 'x';
            out[len + 2] = hex[*p >> 4];
            out[len + 3] = hex[*p & 15];
        } else {
            out[len] = (char)*p;
        }
        len += w;
    }
    out[len] = '\0';
    return out;
}
