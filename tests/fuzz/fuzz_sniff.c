/*
 * Fuzzes the multipart sniffer: its verdict on a body must not depend on how the body was cut
 * into pieces on the way in (whole, one byte at a time, or at a point the input chooses).
 */
#include "sniff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int verdict(const uint8_t *d, size_t n, size_t piece)
{
    mock_sniff s;
    memset(&s, 0, sizeof s);
    for (size_t at = 0; at < n && !s.done; at += piece)
        mock_sniff_feed(&s, (const char *)d + at, n - at < piece ? n - at : piece, 0);
    mock_sniff_feed(&s, "", 0, 1);
    if (!s.done || s.len > MOCK_SNIFF)
        abort();
    return s.suspected;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] + 1u;
    data++;
    size--;
    int whole = verdict(data, size, size > 0 ? size : 1);
    if (verdict(data, size, 1) != whole || verdict(data, size, piece) != whole)
        abort();
    return 0;
}
