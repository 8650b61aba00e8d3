#include "sp_common.h"

#include <stdio.h>
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

/*
 * The length (2 to 4) of the well-formed UTF-8 sequence that starts at p, or 0 if the bytes there
 * are not one: a stray continuation byte, a lead byte that never starts a sequence (C0, C1,
 * F5-FF), an overlong form, a surrogate, a code point above U+10FFFF, or a sequence cut short.
 * These are the ranges of RFC 3629's table. Each byte is looked at only after the one before it
 * proved to be a continuation byte, so a NUL ends the look and nothing past it is read.
 */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xbf; /* the range allowed for the second byte */
    size_t n;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        if (p[0] == 0xe0)
            lo = 0xa0; /* below is overlong */
        else if (p[0] == 0xed)
            hi = 0x9f; /* above are the surrogates U+D800-U+DFFF */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        if (p[0] == 0xf0)
            lo = 0x90; /* below is overlong */
        else if (p[0] == 0xf4)
            hi = 0x8f; /* above is beyond U+10FFFF */
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/*
 * Walks s in units: one ASCII byte, one well-formed UTF-8 sequence, or one byte that is neither
 * and is shown as \xHH. A terminal acts on C0 controls and DEL, and on C1 controls both as raw
 * bytes (0x9b is CSI on an 8-bit terminal) and as their UTF-8 form (C2 9B is CSI to xterm and
 * others), so all of those are escaped; bytes that are not UTF-8 are escaped too, since how a
 * terminal resyncs after them is its own business. A unit is written whole or not at all, so a
 * cut copy never ends in half an escape nor in half a character.
 */
const char *sp__printable(const char *s, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0, room = outsz - 4; /* keep space for "..." and the NUL */
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        size_t n = *p < 0x80 ? 1 : utf8_seq_len(p);
        int escape;
        if (n == 0) {
            n = 1;
            escape = 1;
        } else if (n == 1) {
            escape = *p < 0x20 || *p == 0x7f;
        } else {
            escape = n == 2 && p[0] == 0xc2 && p[1] <= 0x9f; /* U+0080-U+009F */
        }
        size_t w = escape ? 4 * n : n;
        if (len + w > room) {
            memcpy(out + len, "...", 4);
            return out;
        }
        for (size_t i = 0; i < n; i++, p++) {
            if (escape) {
                out[len++] = '\\';
                out[len++] = 'x';
                out[len++] = hex[*p >> 4];
                out[len++] = hex[*p & 15];
            } else {
                out[len++] = (char)*p;
            }
        }
    }
    out[len] = '\0';
    return out;
}

int sp__url_is_dir(const char *url)
{
    size_t end = strcspn(url, "?#");
    const char *scheme = strstr(url, "://");
    /* "http://host/" has a path of "/" too; "http://host" has none to append to. */
    return end > 0 && url[end - 1] == '/' && (scheme == NULL || url + end > scheme + 3);
}

int sp__url_append(const char *url, const char *remote, char *out, size_t cap)
{
    size_t end = strcspn(url, "?#");
    while (*remote == '/')
        remote++;
    if (end >= cap)
        return -1;
    memcpy(out, url, end);
    /* sp__pct_encode keeps '/' and escapes the rest, which is encoding each segment alone. */
    size_t need = sp__pct_encode(remote, out + end, cap - end);
    if (need >= cap - end)
        return -1;
    int n = snprintf(out + end + need, cap - end - need, "%s", url + end);
    return n < 0 || (size_t)n >= cap - end - need ? -1 : 0;
}

size_t sp__utf8_repair(const char *in, char *out, size_t outsz, int *replaced)
{
    size_t need = 0, len = 0;
    int full = 0;
    *replaced = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0';) {
        size_t n = *p < 0x80 ? 1 : utf8_seq_len(p);
        const char *unit = (const char *)p;
        size_t w = n;
        if (n == 0) {
            unit = "\xef\xbf\xbd"; /* U+FFFD REPLACEMENT CHARACTER, for the one byte */
            w = 3;
            n = 1;
            *replaced = 1;
        }
        /* Once one unit does not fit, write no more: never half a character. */
        full = full || len + w >= outsz;
        if (!full) {
            memcpy(out + len, unit, w);
            len += w;
        }
        need += w;
        p += n;
    }
    if (outsz > 0)
        out[len] = '\0';
    return need;
}
