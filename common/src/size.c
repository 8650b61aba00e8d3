#include "sp_common.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Digits only: strtoull alone would accept leading spaces, '+' and '-', which a size never has. */
static int parse_digits(const char *s, const char **end, uint64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *e;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno == ERANGE)
        return -1;
    *end = e;
    *out = v;
    return 0;
}

int sp__parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    const char *end;
    uint64_t v;
    if (s == NULL || parse_digits(s, &end, &v) < 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int sp__parse_size(const char *s, uint64_t *out)
{
    const char *end;
    uint64_t v;
    if (s == NULL || parse_digits(s, &end, &v) < 0)
        return -1;

    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0':
        break;
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    default:
        return -1;
    }
    if (shift != 0) {
        end++;
        if (strcasecmp(end, "iB") == 0)
            end += 2;
        else if (strcasecmp(end, "B") == 0)
            end += 1;
    }
    if (*end != '\0')
        return -1;
    if (shift != 0 && v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}
