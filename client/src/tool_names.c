/*
 * Remote names for a batch upload: where each local file goes under --remote-dir. Pure
 * functions, so the unit tests reach them without a server.
 */
#include "tool.h"

#include <stdio.h>
#include <string.h>

size_t tool_source_prefix(const char *source)
{
    size_t len = strlen(source);
    int contents = len > 1 && source[len - 1] == '/';
    while (len > 1 && source[len - 1] == '/')
        len--;
    /* "dir/" names what is inside dir, rsync's rule; "." and ".." can only mean that too. */
    size_t base = len;
    while (base > 0 && source[base - 1] != '/')
        base--;
    const char *name = source + base;
    size_t nlen = len - base;
    if ((nlen == 1 && name[0] == '.') || (nlen == 2 && strncmp(name, "..", 2) == 0))
        contents = 1;
    if (len == 1 && source[0] == '/')
        return 1; /* "/": every path under it, less the root's slash */
    return contents ? len + 1 : base;
}

int tool_remote_name(const char *dir, const char *rel, char *out, size_t cap)
{
    while (*dir == '/')
        dir++;
    size_t dlen = strlen(dir);
    while (dlen > 0 && dir[dlen - 1] == '/')
        dlen--;
    while (*rel == '/')
        rel++;
    int n = dlen > 0 ? snprintf(out, cap, "/%.*s/%s", (int)dlen, dir, rel)
                     : snprintf(out, cap, "/%s", rel);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
