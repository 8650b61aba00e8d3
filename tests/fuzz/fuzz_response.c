/*
 * Fuzzes the client's response handling: http-parser framing (status line, headers,
 * Content-Length, chunked and close-delimited bodies, 1xx), the 64 KiB / 1 MiB bounds and the
 * JSON envelope, with the input fed in pieces whose size the input itself chooses.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sp_client *c;
    if (c == NULL && (c = sp_client_new()) == NULL)
        abort();
    if (size < 1)
        return 0;
    size_t piece = (size_t)(data[0] & 0x3f) + 1; /* 1..64 bytes per read */
    int eof = data[0] & 0x40;
    data++;
    size--;

    sp_resp r;
    sp__resp_init(&r, c);
    int rc = SP_OK;
    for (size_t at = 0; at < size && rc == SP_OK && !r.done; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        rc = sp__resp_feed(&r, (const char *)data + at, n);
    }
    if (rc == SP_OK && !r.done && eof)
        rc = sp__resp_eof(&r);
    if (c->resp_len > SP_MAX_RESPONSE_BODY || r.header_bytes > SP_MAX_RESPONSE_HEADERS + 65536)
        abort(); /* a bound did not hold */
    if (rc == SP_OK && r.done) {
        sp_result res = {0};
        rc = sp__resp_finish(&r, &res, data[0] & 1, 100);
        if (res.message[sizeof res.message - 1] != '\0')
            abort();
        if (rc == SP_OK && (res.http_status < 200 || res.http_status > 299))
            abort(); /* success only for 2xx */
    }
    return 0;
}
