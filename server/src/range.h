/*
 * The Range header as OpenList's pkg/http_range/range.go parses it (range.c): pure, so that it
 * can be fuzzed without a server.
 */
#ifndef MOCK_RANGE_H
#define MOCK_RANGE_H

#include <stddef.h>
#include <stdint.h>

/* One range of a file: length bytes from start. */
typedef struct mock_range {
    int64_t start, length;
} mock_range;

typedef enum mock_range_err {
    MOCK_RANGE_OK = 0,
    MOCK_RANGE_INVALID,    /* "invalid range" */
    MOCK_RANGE_NO_OVERLAP, /* "invalid range: failed to overlap" */
} mock_range_err;

/* textproto.TrimString's blanks. */
int mock_range_blank(char c);

/*
 * ParseRange(s, size) into out (at most cap ranges, which a header's commas bound): *n ranges,
 * none for no header (s NULL or "") and none with a refusal.
 */
mock_range_err mock_range_parse(const char *s, int64_t size, mock_range *out, size_t cap,
                                size_t *n);

#endif
