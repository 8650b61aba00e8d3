#include "tool.h"
#include "streamput.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tool_exit_code(int sp_err)
{
    switch (sp_err) {
    case SP_OK:
        return TOOL_EXIT_OK;
    case SP_EINVAL:
    case SP_EURL:
    case SP_EUNSUPPORTED:
    case SP_EHEADER:
        return TOOL_EXIT_USAGE;
    case SP_EFILE:
        return TOOL_EXIT_FILE;
    case SP_ERESOLVE:
    case SP_ECONNECT:
        return TOOL_EXIT_CONNECT;
    case SP_ETIMEOUT:
        return TOOL_EXIT_TIMEOUT;
    case SP_EHTTP:
        return TOOL_EXIT_HTTP;
    case SP_EAPI:
    case SP_ELOGIN:
        return TOOL_EXIT_API;
    case SP_EPROTO:
        return TOOL_EXIT_PROTO;
    case SP_ESEND:
    case SP_ERECV:
        return TOOL_EXIT_LOST;
    case SP_ECANCELED:
        return TOOL_EXIT_CANCEL;
    case SP_ETLS:
        return TOOL_EXIT_TLS;
    case SP_ESESSION:
        return TOOL_EXIT_SESSION;
    case SP_EINCOMPLETE:
        return TOOL_EXIT_INCOMPLETE;
    default:
        return TOOL_EXIT_INTERNAL;
    }
}

int tool_parse_duration(const char *s, uint64_t *ms)
{
    if (s == NULL)
        return -1;
    /* Plain decimals only: strtod alone would also take "0x10", "1e3" and "infinity". */
    size_t digits = strspn(s, "0123456789");
    size_t frac = s[digits] == '.' ? strspn(s + digits + 1, "0123456789") : 0;
    size_t num = digits + (s[digits] == '.' ? 1 + frac : 0);
    if (digits + frac == 0)
        return -1;
    const char *unit = s + num;
    double scale;
    if (strcmp(unit, "") == 0 || strcmp(unit, "s") == 0)
        scale = 1000.0;
    else if (strcmp(unit, "ms") == 0)
        scale = 1.0;
    else if (strcmp(unit, "m") == 0)
        scale = 60000.0;
    else
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || end != unit || !isfinite(v))
        return -1;
    double r = v * scale;
    if (r > 1e15)
        return -1;
    *ms = (uint64_t)(r + 0.5);
    return 0;
}

int tool_parse_hashes(const char *s, unsigned *mask)
{
    unsigned m = 0;
    const char *p = s;
    if (s == NULL || *s == '\0')
        return -1;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 3 && strncmp(p, "md5", 3) == 0)
            m |= SP_HASH_MD5;
        else if (n == 4 && strncmp(p, "sha1", 4) == 0)
            m |= SP_HASH_SHA1;
        else if (n == 6 && strncmp(p, "sha256", 6) == 0)
            m |= SP_HASH_SHA256;
        else
            return -1;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *mask = m;
    return 0;
}

void tool_format_bytes(uint64_t n, char *out, size_t outsz)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    unsigned u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, outsz, "%llu B", (unsigned long long)n);
    else
        snprintf(out, outsz, "%.1f %s", v, units[u]);
}
