/*
 * Fuzzes the download's Range parser (mock_range_parse): every range it gives lies inside the
 * file and starts at or before where it ends, at most one per comma and one more, the same
 * answer twice; and for the simple forms "bytes=a-b", "bytes=a-" and "bytes=-j" (digits only,
 * one spec) it answers what a reference written from RFC 7233 and Go's ParseRange answers.
 * The first byte picks the file's size (a small one, or the next 8 bytes'), the rest is the
 * header up to its first NUL.
 */
#include "range.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decimal digits only, at most 18 of them (so no overflow): the number, else -1. */
static int64_t digits(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * The reference for one spec without blanks: 1 when h is a simple form (its verdict in *e and
 * its range in *r), 0 when it is not one the reference knows.
 */
static int reference(const char *h, int64_t size, mock_range_err *e, mock_range *r)
{
    if (strncmp(h, "bytes=", 6) != 0)
        return 0;
    const char *spec = h + 6, *dash = strchr(spec, '-');
    if (dash == NULL || strchr(dash + 1, '-') != NULL)
        return 0;
    size_t an = (size_t)(dash - spec), bn = strlen(dash + 1);
    int64_t a = digits(spec, an), b = digits(dash + 1, bn);
    if ((an > 0 && a < 0) || (bn > 0 && b < 0) || (an == 0 && bn == 0))
        return 0;
    *e = MOCK_RANGE_OK;
    if (an == 0) { /* the last b bytes */
        int64_t j = b > size ? size : b;
        *r = (mock_range){size - j, j};
    } else if (a >= size) {
        *e = MOCK_RANGE_NO_OVERLAP;
    } else if (bn == 0) {
        *r = (mock_range){a, size - a};
    } else if (b < a) {
        *e = MOCK_RANGE_INVALID;
    } else {
        *r = (mock_range){a, (b >= size ? size - 1 : b) - a + 1};
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int64_t fsize;
    if (data[0] & 0x80) {
        if (size < 9)
            return 0;
        uint64_t v = 0;
        for (int i = 1; i <= 8; i++)
            v = v << 8 | data[i];
        fsize = (int64_t)(v >> 1); /* 0 .. INT64_MAX */
        data += 9;
        size -= 9;
    } else {
        fsize = data[0]; /* 0 .. 127 */
        data++;
        size--;
    }
    char *h = malloc(size + 1);
    if (h == NULL)
        return 0;
    memcpy(h, data, size);
    h[size] = '\0';
    size_t cap = 1;
    for (const char *p = h; (p = strchr(p, ',')) != NULL; p++)
        cap++;
    mock_range *rs = malloc(cap * sizeof *rs), *again = malloc(cap * sizeof *again);
    if (rs == NULL || again == NULL)
        abort();
    size_t n = 0, n2 = 0;
    mock_range_err e = mock_range_parse(h, fsize, rs, cap, &n);
    mock_range_err e2 = mock_range_parse(h, fsize, again, cap, &n2);
    if (e != e2 || n != n2 || (n > 0 && memcmp(rs, again, n * sizeof *rs) != 0))
        abort(); /* the same header, another answer */
    if (n > cap || (e != MOCK_RANGE_OK && n != 0))
        abort();
    for (size_t i = 0; i < n; i++) {
        const mock_range *r = &rs[i];
        if (r->start < 0 || r->length < 0 || r->start > fsize || r->length > fsize - r->start)
            abort(); /* outside the file */
        /* Empty only as Go's ParseRange makes it: the suffix "-0", at the end of the file. */
        if (r->length == 0 && r->start != fsize)
            abort();
    }
    mock_range_err re;
    mock_range ref = {0, 0};
    if (reference(h, fsize, &re, &ref)) {
        if (re != e || (e == MOCK_RANGE_OK && (n != 1 || memcmp(&ref, rs, sizeof ref) != 0)))
            abort(); /* disagrees with the reference */
    }
    free(again);
    free(rs);
    free(h);
    return 0;
}
