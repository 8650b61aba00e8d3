/*
 * The request head: validation of caller-supplied headers and the serialisation of the request
 * line and headers. Caller headers replace defaults of the same name, as in curl; "Name:" with an
 * empty value removes a default.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 token characters, the only ones allowed in a field name. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

int sp__header_valid(const char *line, const char **why)
{
    const unsigned char *p = (const unsigned char *)line;
    while (is_tchar(*p))
        p++;
    if (p == (const unsigned char *)line) {
        *why = "expected 'Name: value'";
        return -1;
    }
    if (*p != ':') {
        *why = *p == '\0' ? "missing ':'" : "invalid character in header name";
        return -1;
    }
    size_t nlen = (size_t)(p - (const unsigned char *)line);
    if ((nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) ||
        (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)) {
        *why = "the body framing is set by streamput (use --size)";
        return -1;
    }
    for (p++; *p != '\0'; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            *why = *p == '\r' || *p == '\n' ? "CR or LF in value (header injection)"
                                            : "control character in value";
            return -1;
        }
    }
    return 0;
}

/* Length of the name part of a validated "Name: value" line. */
static size_t name_len(const char *line)
{
    return strcspn(line, ":");
}

const char *sp__user_header(const sp_client *c, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < c->nheaders; i++)
        if (name_len(c->headers[i]) == n && strncasecmp(c->headers[i], name, n) == 0)
            return c->headers[i];
    return NULL;
}

const char *sp__user_header_value(const sp_client *c, const char *name)
{
    const char *line = sp__user_header(c, name);
    if (line == NULL)
        return NULL;
    const char *value = line + name_len(line) + 1;
    return value + strspn(value, " \t");
}

/* A bounded appender: once something does not fit, the whole build fails. */
typedef struct sp_out {
    char *p;
    size_t len, cap;
    int overflow;
} sp_out;

static void out_add(sp_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_add(sp_out *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = 1;
    else
        o->len += (size_t)n;
}

/* Adds a default header unless the caller set one of the same name. */
static void add_default(sp_out *o, const sp_client *c, const char *name, const char *value)
{
    if (sp__user_header(c, name) == NULL)
        out_add(o, "%s: %s\r\n", name, value);
}

int sp__build_request(const sp_client *c, const sp_url *u, const sp_body_info *b, char *out,
                      size_t outsz)
{
    sp_out o = {out, 0, outsz, 0};
    char num[32];

    out_add(&o, "PUT %s HTTP/1.1\r\n", u->target);
    add_default(&o, c, "Host", u->hostport);
    add_default(&o, c, "User-Agent", "streamput/" SP_VERSION);
    add_default(&o, c, "Accept", "*/*");
    add_default(&o, c, "Content-Type",
                c->content_type != NULL ? c->content_type : "application/octet-stream");
    if (b->size != SP_SIZE_UNKNOWN) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)b->size);
        out_add(&o, "Content-Length: %s\r\n", num);
    } else {
        out_add(&o, "Transfer-Encoding: chunked\r\n");
    }
    if (c->remote_path != NULL)
        add_default(&o, c, "File-Path", c->remote_path);
    if (c->token != NULL)
        add_default(&o, c, "Authorization", c->token);
    if (!c->overwrite)
        add_default(&o, c, "Overwrite", "false");
    if (c->as_task)
        add_default(&o, c, "As-Task", "true");
    if (b->mtime_ms >= 0) {
        snprintf(num, sizeof num, "%lld", (long long)b->mtime_ms);
        add_default(&o, c, "Last-Modified", num);
    }
    if (b->md5[0] != '\0')
        add_default(&o, c, "X-File-Md5", b->md5);
    if (b->sha1[0] != '\0')
        add_default(&o, c, "X-File-Sha1", b->sha1);
    if (b->sha256[0] != '\0')
        add_default(&o, c, "X-File-Sha256", b->sha256);
    if (b->expect)
        add_default(&o, c, "Expect", "100-continue");
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *value = c->headers[i] + name_len(c->headers[i]) + 1;
        value += strspn(value, " \t"); /* as sp__user_header_value(), for each header */
        if (*value != '\0')            /* "Name:" alone only removes a default */
            out_add(&o, "%.*s: %s\r\n", (int)name_len(c->headers[i]), c->headers[i], value);
    }
    out_add(&o, "\r\n");
    return o.overflow ? -1 : (int)o.len;
}
