/*
 * The request head: validation of caller-supplied headers and the serialisation of the request
 * line and headers. Caller headers replace defaults of the same name, as in curl; "Name:" with an
 * empty value removes a default.
 */
#include "internal.h"

#include <cjson/cJSON.h>
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

/* The request line and the defaults every request starts with. */
static void add_start(sp_out *o, const sp_client *c, const char *method, const sp_url *u)
{
    out_add(o, "%s %s HTTP/1.1\r\n", method, u->target);
    add_default(o, c, "Host", u->hostport);
    add_default(o, c, "User-Agent", "streamput/" SP_VERSION);
    add_default(o, c, "Accept", "*/*");
}

/* The caller's header lines but those skip refuses ("Name:" alone only removes a default). */
static void add_user(sp_out *o, const sp_client *c, int (*skip)(const char *line, size_t nlen))
{
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *line = c->headers[i];
        size_t nlen = name_len(line);
        const char *value = line + nlen + 1;
        value += strspn(value, " \t"); /* as sp__user_header_value(), for each header */
        if (*value != '\0' && (skip == NULL || !skip(line, nlen)))
            out_add(o, "%.*s: %s\r\n", (int)nlen, line, value);
    }
}

/*
 * The caller's headers go on every request of a multipart upload, as curl's -H goes on every
 * request (a proxy's credentials, a Host), but not those that describe the upload's body and
 * file on the requests that carry none of it: they would mean nothing there.
 */
static int file_only(const char *line, size_t nlen)
{
    static const char *const names[] = {"Expect",      "File-Path",     "Overwrite",
                                        "As-Task",     "Last-Modified", "X-File-Md5",
                                        "X-File-Sha1", "X-File-Sha256"};
    if (nlen >= 8 && strncasecmp(line, "Content-", 8) == 0)
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == nlen && strncasecmp(line, names[i], nlen) == 0)
            return 1;
    return 0;
}

/*
 * Nor on the login, where they would misdescribe its JSON (a Content-Type the server's binder
 * would follow), nor an Authorization, which the login is there to obtain.
 */
static int upload_only(const char *line, size_t nlen)
{
    return (nlen == 13 && strncasecmp(line, "Authorization", 13) == 0) || file_only(line, nlen);
}

int sp__build_head(const sp_client *c, const sp_url *u, const char *method, const sp_body_info *b,
                   int upload, const char *extra, char *out, size_t outsz)
{
    sp_out o = {out, 0, outsz, 0};
    char num[32];

    add_start(&o, c, method, u);
    if (upload)
        add_default(&o, c, "Content-Type",
                    c->content_type != NULL ? c->content_type : "application/octet-stream");
    if (b->size == SP_SIZE_UNKNOWN) {
        out_add(&o, "Transfer-Encoding: chunked\r\n");
    } else if (b->size != 0 || strcmp(method, "GET") != 0) {
        snprintf(num, sizeof num, "%llu", (unsigned long long)b->size);
        out_add(&o, "Content-Length: %s\r\n", num);
    }
    if (upload && c->remote_path != NULL)
        add_default(&o, c, "File-Path", c->remote_path);
    if (sp__auth_token(c) != NULL)
        add_default(&o, c, "Authorization", sp__auth_token(c));
    if (upload && !c->overwrite)
        add_default(&o, c, "Overwrite", "false");
    if (upload && c->as_task)
        add_default(&o, c, "As-Task", "true");
    if (upload && b->mtime_ms >= 0) {
        snprintf(num, sizeof num, "%lld", (long long)b->mtime_ms);
        add_default(&o, c, "Last-Modified", num);
    }
    if (upload && b->md5[0] != '\0')
        add_default(&o, c, "X-File-Md5", b->md5);
    if (upload && b->sha1[0] != '\0')
        add_default(&o, c, "X-File-Sha1", b->sha1);
    if (upload && b->sha256[0] != '\0')
        add_default(&o, c, "X-File-Sha256", b->sha256);
    if (b->expect)
        add_default(&o, c, "Expect", "100-continue");
    if (extra != NULL)
        out_add(&o, "%s", extra);
    add_user(&o, c, upload ? NULL : file_only);
    out_add(&o, "\r\n");
    return o.overflow ? -1 : (int)o.len;
}

int sp__build_request(const sp_client *c, const sp_url *u, const sp_body_info *b, char *out,
                      size_t outsz)
{
    return sp__build_head(c, u, "PUT", b, 1, NULL, out, outsz);
}

/*
 * A POST of the JSON at json (jlen bytes, which may lie in out past head_cap) to u: the head into
 * out's first head_cap bytes, the JSON moved behind it. auth sends the token, as every API call
 * but the login that gets one does. Returns the request's length, or -1 if it does not fit.
 */
static int json_post(const sp_client *c, const sp_url *u, int auth, const char *json, size_t jlen,
                     char *out, size_t head_cap)
{
    sp_out h = {out, 0, head_cap, 0};
    add_start(&h, c, "POST", u);
    /* gin binds JSON by this type alone (gin binding/binding.go:95-120, binding.Default). */
    out_add(&h, "Content-Type: application/json\r\n");
    out_add(&h, "Content-Length: %zu\r\n", jlen);
    if (auth && sp__auth_token(c) != NULL)
        add_default(&h, c, "Authorization", sp__auth_token(c));
    add_user(&h, c, auth ? file_only : upload_only);
    out_add(&h, "\r\n");
    if (h.overflow)
        return -1;
    memmove(out + h.len, json, jlen);
    return (int)(h.len + jlen);
}

size_t sp__head_size(const sp_client *c, const sp_url *u)
{
    const char *token = sp__auth_token(c);
    size_t cap = 4096 + strlen(u->target) + (c->remote_path ? strlen(c->remote_path) : 0) +
                 (token ? strlen(token) : 0) + (c->content_type ? strlen(c->content_type) : 0);
    for (size_t i = 0; i < c->nheaders; i++)
        cap += strlen(c->headers[i]) + 2;
    return cap;
}

/* JSON escapes a byte in at most 6 ("\u001f"); the names, quotes and braces take the rest. */
static size_t login_json_size(const sp_client *c)
{
    return 64 + 6 * strlen(c->login_user) + sizeof c->login_hash +
           6 * (c->otp != NULL ? strlen(c->otp) : 0);
}

size_t sp__login_size(const sp_client *c, const sp_url *u)
{
    size_t n = 1024 + strlen(u->target) + strlen(u->hostport) + login_json_size(c);
    for (size_t i = 0; i < c->nheaders; i++)
        n += strlen(c->headers[i]) + 2;
    return n;
}

int sp__build_login(const sp_client *c, const sp_url *u, char *out, size_t outsz)
{
    /* OpenList server/handles/auth.go:16-20, LoginReq. The strings are referenced, not copied:
     * no copy of the hash is left in cJSON's freed memory. The JSON goes to the end of out
     * first, so that its length is known for the head. */
    cJSON *o = cJSON_CreateObject();
    size_t room = login_json_size(c) + 5; /* cJSON's advice for its estimate */
    if (o == NULL || room > outsz ||
        !cJSON_AddItemToObject(o, "username", cJSON_CreateStringReference(c->login_user)) ||
        !cJSON_AddItemToObject(o, "password", cJSON_CreateStringReference(c->login_hash)) ||
        !cJSON_AddItemToObject(o, "otp_code",
                               cJSON_CreateStringReference(c->otp != NULL ? c->otp : "")) ||
        !cJSON_PrintPreallocated(o, out + outsz - room, (int)room, 0)) {
        cJSON_Delete(o);
        return -1;
    }
    cJSON_Delete(o);
    char *json = out + outsz - room;
    size_t jlen = strlen(json);

    return json_post(c, u, 0, json, jlen, out, outsz - room);
}

size_t sp__json_post_size(const sp_client *c, const sp_url *u, size_t jlen)
{
    const char *token = sp__auth_token(c);
    size_t n = 1024 + strlen(u->target) + strlen(u->hostport) + jlen;
    for (size_t i = 0; i < c->nheaders; i++)
        n += strlen(c->headers[i]) + 2;
    return n + (token != NULL ? strlen(token) : 0);
}

int sp__build_json_post(const sp_client *c, const sp_url *u, const char *json, char *out,
                        size_t outsz)
{
    size_t jlen = strlen(json);
    if (jlen > outsz)
        return -1;
    memcpy(out + outsz - jlen, json, jlen);
    return json_post(c, u, 1, out + outsz - jlen, jlen, out, outsz - jlen);
}
