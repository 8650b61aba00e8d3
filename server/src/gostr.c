/*
 * The few pieces of Go's standard library whose exact output clients see in AList's messages:
 * strconv.Quote, strconv.ParseInt (base 10, 64 bits), UTF-8 validation as encoding/json and
 * strconv apply it, net/url's escaping, and the two time formats of JSON and HTTP.
 */
#include "gostr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t mock_utf8_len(const unsigned char *s, size_t n, uint32_t *rune)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80) {
        len = 1, min = 0, cp = c;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (rune != NULL)
        *rune = cp;
    return len;
}

/*
 * An approximation of Go's unicode.IsPrint for runes >= U+00A0: the format characters, line and
 * paragraph separators, private use areas and non-characters that a path might plausibly carry
 * are not printable; everything else is.
 */
static int go_isprint(uint32_t r)
{
    if (r < 0xa0)
        return r >= 0x20 && r < 0x7f;
    if (r == 0xad || (r >= 0x200b && r <= 0x200f) || (r >= 0x2028 && r <= 0x202e) ||
        (r >= 0x2060 && r <= 0x206f) || r == 0xfeff || (r >= 0xfff9 && r <= 0xfffb) ||
        (r >= 0xe000 && r <= 0xf8ff) || (r & 0xfffe) == 0xfffe || r >= 0xf0000)
        return 0;
    return 1;
}

void mock_go_quote(const char *str, size_t n, char *out, size_t outsz)
{
    static const char shorts[] = "\a\b\f\n\r\t\v";
    static const char letters[] = "abfnrtv";
    const unsigned char *s = (const unsigned char *)str;
    size_t w = 0;
    out[w++] = '"';
    /* Each step writes at most 10 bytes (\U0010ffff); stop early rather than overflow. */
    for (size_t i = 0; i < n && w + 12 < outsz;) {
        uint32_t r;
        size_t k = mock_utf8_len(s + i, n - i, &r);
        const char *sh = s[i] != 0 ? strchr(shorts, s[i]) : NULL;
        if (k == 0) {
            w += (size_t)snprintf(out + w, outsz - w, "\\x%02x", s[i]);
            k = 1;
        } else if (r == '"' || r == '\\') {
            out[w++] = '\\';
            out[w++] = (char)r;
        } else if (go_isprint(r)) {
            memcpy(out + w, s + i, k);
            w += k;
        } else if (sh != NULL) {
            out[w++] = '\\';
            out[w++] = letters[sh - shorts];
        } else if (r < 0x80) {
            w += (size_t)snprintf(out + w, outsz - w, "\\x%02x", r);
        } else if (r < 0x10000) {
            w += (size_t)snprintf(out + w, outsz - w, "\\u%04x", r);
        } else {
            w += (size_t)snprintf(out + w, outsz - w, "\\U%08x", r);
        }
        i += k;
    }
    out[w++] = '"';
    out[w] = '\0';
}

int mock_go_parse_int(const char *s, int64_t *out, char *msg, size_t msgsz)
{
    const char *p = s;
    int neg = 0;
    const char *why = "invalid syntax";
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (*p == '\0')
        goto bad;
    uint64_t v = 0;
    /* The magnitude may reach 2^63 for a negative value; more is out of range. */
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int range = 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            range = 1;
        else
            v = v * 10 + d;
    }
    if (range) {
        why = "value out of range";
        goto bad;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
bad:
    if (msg != NULL) {
        char q[256];
        mock_go_quote(s, strlen(s), q, sizeof q);
        snprintf(msg, msgsz, "strconv.ParseInt: parsing %s: %s", q, why);
    }
    return -1;
}

const char *mock_go_errno(int e, char *buf, size_t bufsz)
{
    /* The GNU strerror_r: thread-safe, and returns the text (not always in buf). */
    const char *s = strerror_r(e, buf, bufsz);
    if (s != buf)
        snprintf(buf, bufsz, "%s", s);
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

size_t mock_go_escape(const char *s, size_t n, mock_go_esc mode, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '.' || c == '~' ||
                   (mode == MOCK_ESC_PATH_SEGMENT && c != '\0' && strchr("$&+:=@", c) != NULL);
        char e[3] = {(char)c, 0, 0};
        size_t k = 1;
        if (!keep) {
            e[0] = '%';
            e[1] = hex[c >> 4];
            e[2] = hex[c & 15];
            k = 3;
        }
        for (size_t j = 0; j < k; j++, w++)
            if (w + 1 < outsz)
                out[w] = e[j];
    }
    if (outsz > 0)
        out[w < outsz ? w : outsz - 1] = '\0';
    return w;
}

const char *mock_go_time(struct timespec t, char *out, size_t outsz)
{
    struct tm tm;
    char base[64], frac[16] = "", zone[16] = "Z";
    localtime_r(&t.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (t.tv_nsec > 0) {
        int n = snprintf(frac, sizeof frac, ".%09ld", t.tv_nsec);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    /* Go writes the offset in whole minutes, and "Z" only for an offset of zero. */
    long off = tm.tm_gmtoff / 60;
    if (off != 0)
        snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(labs(off) / 60 % 100),
                 (int)(labs(off) % 60));
    snprintf(out, outsz, "%s%s%s", base, frac, zone);
    return out;
}

const char *mock_http_date(time_t t, char *out, size_t outsz)
{
    struct tm tm;
    /* The C locale's day and month names are the English ones HTTP wants. */
    strftime(out, outsz, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
    return out;
}

int mock_http_parse_date(const char *s, time_t *t)
{
    /* http.ParseTime's three layouts: TimeFormat, RFC 850 and asctime. */
    static const char *const layouts[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                          "%a %b %e %H:%M:%S %Y"};
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, layouts[i], &tm);
        if (end != NULL && *end == '\0') {
            *t = timegm(&tm);
            return 0;
        }
    }
    return -1;
}

const char *mock_go_float(double v, char *out, size_t outsz)
{
    /* The shortest precision that round-trips: Go's strconv.FormatFloat(v, f, -1, 64) digits. */
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    char digits[24];
    size_t nd = 0;
    const char *q = e;
    int neg = *q == '-';
    q += neg;
    for (; *q != '\0' && *q != 'e' && nd < sizeof digits - 1; q++)
        if (*q != '.')
            digits[nd++] = *q;
    digits[nd] = '\0';
    long exp = *q == 'e' ? strtol(q + 1, NULL, 10) : 0;
    double a = fabs(v);
    size_t w = 0;
    char buf[400];
    if (neg)
        buf[w++] = '-';
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        buf[w++] = digits[0];
        if (nd > 1) {
            buf[w++] = '.';
            memcpy(buf + w, digits + 1, nd - 1);
            w += nd - 1;
        }
        /* strconv writes at least two exponent digits; encoding/json trims "e-07" to "e-7". */
        w += (size_t)snprintf(buf + w, sizeof buf - w, "e%c%02ld", exp < 0 ? '-' : '+',
                              exp < 0 ? -exp : exp);
        if (exp < 0 && exp > -10) {
            buf[w - 2] = buf[w - 1];
            w--;
        }
    } else if (exp >= 0) {
        /* The integer part is the first exp + 1 digits, zero-padded; the rest is the fraction. */
        for (long i = 0; i <= exp; i++)
            buf[w++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)exp + 1 < nd) {
            buf[w++] = '.';
            memcpy(buf + w, digits + exp + 1, nd - (size_t)exp - 1);
            w += nd - (size_t)exp - 1;
        }
    } else {
        buf[w++] = '0';
        buf[w++] = '.';
        for (long i = 0; i < -exp - 1; i++)
            buf[w++] = '0';
        memcpy(buf + w, digits, nd);
        w += nd;
    }
    buf[w] = '\0';
    snprintf(out, outsz, "%s", buf);
    return out;
}
