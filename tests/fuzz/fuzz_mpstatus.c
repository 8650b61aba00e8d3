/*
 * Fuzzes the client's reading of a multipart session snapshot (sp__mp_parse_snap: the answers
 * of status, init, chunk and complete) and what it then counts as held (sp__mp_count_held).
 * Properties: a snapshot taken is one a session can use: an upload_id of header-safe
 * characters, a chunk size above 0, the chunk count the size and chunk size give, every range
 * inside [0, total) with its start at or before its end, at most SP__MP_MAX_RANGES kept, and
 * strings NUL-terminated; the chunks and bytes counted as held never exceed the chunks and the
 * size, and equal what a bitmap built here from the same ranges says. The first byte picks
 * full (bit 0); the rest is the JSON body as the server sent it.
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Totals up to this are counted against a bitmap (the client walks every chunk, as it sends). */
#define BITMAP_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sp_client *c;
    if (c == NULL && (c = sp_client_new()) == NULL)
        abort();
    if (size < 1)
        return 0;
    int full = data[0] & 1;
    char *body = malloc(size);
    if (body == NULL)
        abort();
    memcpy(body, data + 1, size - 1);
    /* The body as the response parser leaves it in c. */
    char *keep = c->resp_body;
    size_t keep_len = c->resp_len, keep_cap = c->resp_cap;
    c->resp_body = body;
    c->resp_len = size - 1;
    c->resp_cap = size;

    sp__mp_snap s;
    memset(&s, 0x5a, sizeof s); /* what a caller's snapshot held before */
    s.nranges = 0;
    int rc = sp__mp_parse_snap(c, full, &s);
    if (rc != SP_OK && rc != SP_EPROTO)
        abort();
    if (s.error[sizeof s.error - 1] != '\0')
        abort();
    if (rc == SP_OK) {
        if (memchr(s.state, '\0', sizeof s.state) == NULL)
            abort();
    }
    if (rc == SP_OK && full) {
        size_t idn = strnlen(s.id, sizeof s.id);
        if (idn == 0 || idn >= sizeof s.id - 1 ||
            strspn(s.id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") !=
                idn)
            abort(); /* an upload_id unfit for a header line */
        if (s.chunk_size == 0 || s.total < 0 ||
            (uint64_t)s.total != (s.size + s.chunk_size - 1) / s.chunk_size)
            abort();
        if (s.nranges < 0 || s.nranges > SP__MP_MAX_RANGES)
            abort();
        for (int i = 0; i < s.nranges; i++)
            if (s.ranges[i][0] < 0 || s.ranges[i][0] > s.ranges[i][1] || s.ranges[i][1] >= s.total)
                abort(); /* a range outside the session's chunks */
        if (s.total <= BITMAP_MAX) {
            static uint8_t map[BITMAP_MAX];
            memset(map, 0, (size_t)s.total);
            for (int i = 0; i < s.nranges; i++)
                memset(map + s.ranges[i][0], 1, (size_t)(s.ranges[i][1] - s.ranges[i][0] + 1));
            long want = 0;
            uint64_t want_bytes = 0;
            for (long i = 0; i < s.total; i++) {
                if (!map[i])
                    continue;
                want++;
                uint64_t off = (uint64_t)i * s.chunk_size;
                want_bytes += s.size - off < s.chunk_size ? s.size - off : s.chunk_size;
            }
            uint64_t bytes = 0;
            long held = sp__mp_count_held(&s, &bytes);
            if (held != want || bytes != want_bytes || held > s.total || bytes > s.size)
                abort(); /* more held than the session has, or other than its ranges say */
        }
    }
    c->resp_body = keep;
    c->resp_len = keep_len;
    c->resp_cap = keep_cap;
    free(body);
    return 0;
}
