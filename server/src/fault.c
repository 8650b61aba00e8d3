/*
 * Fault SPEC parsing, for "--fault SPEC" and "X-Mock-Fault: SPEC". A SPEC is a comma-separated
 * list of
 *   reset-after=BYTES  stall-after=BYTES:MS  delay-response=MS  code=N  status=N
 *   slow-read=BYTES_PER_SEC
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
        char bytes[32];
        const char *colon = strchr(val, ':');
        size_t blen = colon != NULL ? (size_t)(colon - val) : 0;
        if (colon == NULL || blen >= sizeof bytes)
            goto bad;
        memcpy(bytes, val, blen);
        bytes[blen] = '\0';
        if (sp__parse_size(bytes, &v) < 0 || v > INT64_MAX ||
            sp__parse_uint(colon + 1, FAULT_MAX_MS, &ms) < 0)
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
    } else {
        snprintf(err, errsz,
                 "unknown fault '%s' (known: reset-after, stall-after, "
                 "delay-response, code, status, slow-read)",
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
