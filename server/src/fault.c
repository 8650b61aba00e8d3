/*
 * Fault SPEC parsing, for "--fault SPEC" and "X-Mock-Fault: SPEC". A SPEC is a comma-separated
 * list of
 *   reset-after=BYTES  stall-after=BYTES:MS  delay-response=MS  code=N  status=N
 *   slow-read=BYTES_PER_SEC
 * and, for multipart uploads (each chunk fault fires on the chunk's first request only),
 *   chunk-fail=N[:CODE]  chunk-reset=N:BYTES  chunk-busy=K  chunk-busy-ms=MS  drop-after=N
 * Pure: acting on a fault is upload.c's, with sleep.c's sleeps and respond.c's reset.
 */
#include "fault.h"
#include "sp_common.h"

#include <stdio.h>
#include <string.h>

/* Longest sleep a fault may ask for: an hour is plenty for any client timeout test. */
#define FAULT_MAX_MS 3600000u

void mock_fault_init(mock_fault *f)
{
    memset(f, 0, sizeof *f);
    f->reset_after = -1;
    f->stall_after = -1;
    f->chunk_fail = -1;
    f->chunk_reset = -1;
    f->drop_after = -1;
}

/*
 * Splits "A:B" at its colon into two numbers: A a chunk index or size (sp__parse_size), B a
 * number up to bmax (or, with bsize, a size). With bopt the ":B" may be left out (*b untouched).
 * Returns 0 or -1.
 */
static int parse_pair(const char *val, uint64_t *a, uint64_t *b, uint64_t bmax, int bsize, int bopt)
{
    char head[32];
    const char *colon = strchr(val, ':');
    size_t alen = colon != NULL ? (size_t)(colon - val) : strlen(val);
    if ((colon == NULL && !bopt) || alen == 0 || alen >= sizeof head)
        return -1;
    memcpy(head, val, alen);
    head[alen] = '\0';
    if (sp__parse_size(head, a) < 0 || *a > INT64_MAX)
        return -1;
    if (colon == NULL)
        return 0;
    if (bsize)
        return sp__parse_size(colon + 1, b) < 0 || *b > bmax ? -1 : 0;
    return sp__parse_uint(colon + 1, bmax, b);
}

/* Parses the value of one "name=value" item; returns 0 or -1 with err filled. */
static int parse_item(mock_fault *f, const char *name, const char *val, char *err, size_t errsz)
{
    uint64_t v, ms;
    if (strcmp(name, "reset-after") == 0) {
        if (sp__parse_size(val, &v) < 0 || v > INT64_MAX)
            goto bad;
        f->reset_after = (int64_t)v;
    } else if (strcmp(name, "stall-after") == 0) {
        if (parse_pair(val, &v, &ms, FAULT_MAX_MS, 0, 0) < 0)
            goto bad;
        f->stall_after = (int64_t)v;
        f->stall_ms = (uint32_t)ms;
    } else if (strcmp(name, "delay-response") == 0) {
        if (sp__parse_uint(val, FAULT_MAX_MS, &ms) < 0)
            goto bad;
        f->delay_ms = (uint32_t)ms;
    } else if (strcmp(name, "code") == 0) {
        if (sp__parse_uint(val, 99999, &v) < 0 || v == 0)
            goto bad;
        f->code = (int)v;
    } else if (strcmp(name, "status") == 0) {
        if (sp__parse_uint(val, 599, &v) < 0 || v < 200)
            goto bad;
        f->status = (unsigned)v;
    } else if (strcmp(name, "slow-read") == 0) {
        if (sp__parse_size(val, &v) < 0 || v == 0)
            goto bad;
        f->slow_read = v;
    } else if (strcmp(name, "chunk-fail") == 0) {
        ms = 400;
        if (parse_pair(val, &v, &ms, 99999, 0, 1) < 0 || ms == 0)
            goto bad;
        f->chunk_fail = (int64_t)v;
        f->chunk_fail_code = (int)ms;
    } else if (strcmp(name, "chunk-reset") == 0) {
        if (parse_pair(val, &v, &ms, INT64_MAX, 1, 0) < 0)
            goto bad;
        f->chunk_reset = (int64_t)v;
        f->chunk_reset_at = (int64_t)ms;
    } else if (strcmp(name, "chunk-busy") == 0) {
        if (sp__parse_uint(val, UINT32_MAX, &v) < 0)
            goto bad;
        f->chunk_busy = (uint32_t)v;
    } else if (strcmp(name, "chunk-busy-ms") == 0) {
        if (sp__parse_uint(val, FAULT_MAX_MS, &ms) < 0)
            goto bad;
        f->chunk_busy_ms = (uint32_t)ms;
    } else if (strcmp(name, "drop-after") == 0) {
        if (sp__parse_size(val, &v) < 0 || v > INT64_MAX)
            goto bad;
        f->drop_after = (int64_t)v;
    } else {
        snprintf(err, errsz,
                 "unknown fault '%s' (known: reset-after, stall-after, delay-response, "
                 "code, status, slow-read, chunk-fail, chunk-reset, chunk-busy, "
                 "chunk-busy-ms, drop-after)",
                 name);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errsz, "bad value '%s' for fault '%s'", val, name);
    return -1;
}

int mock_fault_parse(const char *spec, mock_fault *out, char *err, size_t errsz)
{
    char item[256];
    mock_fault parsed, *f = &parsed; /* *out changes only once the whole spec is good */
    mock_fault_init(f);
    const char *p = spec;
    if (*p == '\0') {
        snprintf(err, errsz, "empty fault spec");
        return -1;
    }
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item) {
            snprintf(err, errsz, "bad fault spec '%s'", spec);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            snprintf(err, errsz, "fault '%s' needs =VALUE", item);
            return -1;
        }
        *eq = '\0';
        if (parse_item(f, item, eq + 1, err, errsz) < 0)
            return -1;
        p += len;
        if (*p == ',')
            p++;
    }
    *out = parsed;
    return 0;
}
