#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *sp_strerror(int err)
{
    switch (err) {
#define SP_STRERROR_CASE(name, value, msg)                                                         \
    case SP_##name:                                                                                \
        return msg;
        SP_ERRNO_MAP(SP_STRERROR_CASE)
#undef SP_STRERROR_CASE
    }
    return "unknown error";
}

const char *sp_err_name(int err)
{
    switch (err) {
#define SP_NAME_CASE(name, value, msg)                                                             \
    case SP_##name:                                                                                \
        return #name;
        SP_ERRNO_MAP(SP_NAME_CASE)
#undef SP_NAME_CASE
    }
    return "UNKNOWN";
}

int sp__fail(sp_client *c, int err, int sys_errno, const char *fmt, ...)
{
    c->err = err;
    c->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    if (sys_errno != 0 && n >= 0 && (size_t)n < sizeof c->errmsg)
        snprintf(c->errmsg + n, sizeof c->errmsg - (size_t)n, ": %s", strerror(sys_errno));
    return err;
}

void sp__debug(sp_client *c, sp_debug_kind kind, const char *fmt, ...)
{
    if (c->debug == NULL)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    c->debug(c->debug_ud, kind, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int sp_last_error(const sp_client *c)
{
    return c->err;
}

int sp_errno(const sp_client *c)
{
    return c->sys_errno;
}

const char *sp_errmsg(const sp_client *c)
{
    return c->errmsg;
}
