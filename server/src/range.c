/*
 * http_range.ParseRange (pkg/http_range/range.go:36-108), which OpenList's ServeHTTP calls for
 * a download's Range header: the same ranges and the same two refusals.
 */
#include "range.h"
#include "gostr.h"

#include <stdio.h>
#include <string.h>

int mock_range_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A copy of s[0 .. n) without textproto.TrimString's blanks, into out (outsz bytes). */
static const char *trimmed(const char *s, size_t n, char *out, size_t outsz)
{
    while (n > 0 && mock_range_blank(*s))
        s++, n--;
    while (n > 0 && mock_range_blank(s[n - 1]))
        n--;
    snprintf(out, outsz, "%.*s", (int)(n < outsz ? n : outsz - 1), s);
    return out;
}

/* Each comma-separated spec is trimmed, then read as "a-b", "a-" or the suffix "-j". */
static mock_range_err parse(const char *s, int64_t size, mock_range *out, size_t cap, size_t *n)
{
    *n = 0;
    if (s == NULL || *s == '\0')
        return MOCK_RANGE_OK;
    if (strncmp(s, "bytes=", 6) != 0)
        return MOCK_RANGE_INVALID;
    int no_overlap = 0;
    for (const char *ra = s + 6; ra != NULL;) {
        const char *comma = strchr(ra, ',');
        size_t len = comma != NULL ? (size_t)(comma - ra) : strlen(ra);
        char one[128], a[128], b[128];
        const char *next = comma != NULL ? comma + 1 : NULL;
        if (len >= sizeof one)
            return MOCK_RANGE_INVALID; /* no number that ParseInt takes is this long */
        trimmed(ra, len, one, sizeof one);
        ra = next;
        if (one[0] == '\0')
            continue;
        char *dash = strchr(one, '-');
        if (dash == NULL)
            return MOCK_RANGE_INVALID;
        trimmed(one, (size_t)(dash - one), a, sizeof a);
        trimmed(dash + 1, strlen(dash + 1), b, sizeof b);
        int64_t i, j;
        mock_range r;
        if (a[0] == '\0') {
            /* A suffix: the last j bytes. */
            if (b[0] == '\0' || b[0] == '-' || mock_go_parse_int(b, &j, NULL, 0) < 0 || j < 0)
                return MOCK_RANGE_INVALID;
            if (j > size)
                j = size;
            r.start = size - j;
            r.length = size - r.start;
        } else {
            if (mock_go_parse_int(a, &i, NULL, 0) < 0 || i < 0)
                return MOCK_RANGE_INVALID;
            if (i >= size) {
                no_overlap = 1;
                continue;
            }
            r.start = i;
            if (b[0] == '\0') {
                r.length = size - r.start;
            } else {
                if (mock_go_parse_int(b, &j, NULL, 0) < 0 || r.start > j)
                    return MOCK_RANGE_INVALID;
                if (j >= size)
                    j = size - 1;
                r.length = j - r.start + 1;
            }
        }
        if (*n < cap)
            out[(*n)++] = r;
    }
    return no_overlap && *n == 0 ? MOCK_RANGE_NO_OVERLAP : MOCK_RANGE_OK;
}

mock_range_err mock_range_parse(const char *s, int64_t size, mock_range *out, size_t cap, size_t *n)
{
    mock_range_err e = parse(s, size, out, cap, n);
    /* A refusal found after some good specs must not leave them counted as parsed. */
    if (e != MOCK_RANGE_OK)
        *n = 0;
    return e;
}
