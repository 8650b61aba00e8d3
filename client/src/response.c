/*
 * The response side of a transfer, independent of any socket: bytes go in as they arrive, in
 * pieces of any size, and come out as a final status, a bounded body and a verdict. http-parser
 * does the HTTP framing (status line, headers, Content-Length, chunked or close-delimited
 * bodies); cJSON reads AList's {"code","message","data"} envelope.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int count_header(sp_resp *r, size_t len)
{
    r->header_bytes += len;
    if (r->header_bytes > SP_MAX_RESPONSE_HEADERS) {
        r->header_overflow = 1;
        return -1;
    }
    return 0;
}

/* Response header lines are rebuilt for the debug callback; long ones are cut, not refused. */
static void line_add(sp_resp *r, const char *at, size_t len)
{
    size_t room = sizeof r->line - 1 - r->line_len;
    if (len > room)
        len = room;
    memcpy(r->line + r->line_len, at, len);
    r->line_len += len;
}

/* Passes a rebuilt header line on, and keeps the Content-Type value for messages. */
static void line_flush(sp_resp *r)
{
    static const char ct[] = "content-type: ";
    if (r->line_len >= sizeof ct - 1 && strncasecmp(r->line, ct, sizeof ct - 1) == 0)
        snprintf(r->content_type, sizeof r->content_type, "%.*s",
                 (int)(r->line_len - (sizeof ct - 1)), r->line + sizeof ct - 1);
    if (r->line_len > 0 && r->c->debug != NULL)
        r->c->debug(r->c->debug_ud, SP_DEBUG_HEADER_IN, r->line, r->line_len);
    r->line_len = 0;
}

/* The status line is emitted once the reason phrase is complete: at the first header or end. */
static void status_line(sp_resp *r)
{
    if (r->status_shown)
        return;
    r->status_shown = 1;
    sp__debug(r->c, SP_DEBUG_HEADER_IN, "HTTP/%u.%u %u %s", r->parser.http_major,
              r->parser.http_minor, r->parser.status_code, r->reason);
}

static int on_message_begin(http_parser *p)
{
    sp_resp *r = p->data;
    r->in_message = 1;
    r->header_bytes = 0;
    r->reason_len = 0;
    r->reason[0] = '\0';
    r->line_len = 0;
    r->in_value = 0;
    r->status_shown = 0;
    r->content_type[0] = '\0';
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    sp_resp *r = p->data;
    size_t room = sizeof r->reason - 1 - r->reason_len;
    size_t k = len < room ? len : room;
    memcpy(r->reason + r->reason_len, at, k);
    r->reason_len += k;
    r->reason[r->reason_len] = '\0';
    return count_header(r, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    sp_resp *r = p->data;
    status_line(r);
    if (r->in_value) {
        line_flush(r);
        r->in_value = 0;
    }
    line_add(r, at, len);
    return count_header(r, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    sp_resp *r = p->data;
    if (!r->in_value) {
        line_add(r, ": ", 2);
        r->in_value = 1;
    }
    line_add(r, at, len);
    return count_header(r, len);
}

static int on_headers_complete(http_parser *p)
{
    sp_resp *r = p->data;
    status_line(r);
    line_flush(r);
    r->in_value = 0;
    return 0;
}

/* Keeps the body in the handle's buffer, which grows by doubling up to the 1 MiB bound. */
static int on_body(http_parser *p, const char *at, size_t len)
{
    sp_resp *r = p->data;
    sp_client *c = r->c;
    if (c->resp_len + len > SP_MAX_RESPONSE_BODY) {
        r->body_overflow = 1;
        return -1;
    }
    if (c->resp_len + len + 1 > c->resp_cap) {
        size_t cap = c->resp_cap != 0 ? c->resp_cap : 4096;
        while (cap < c->resp_len + len + 1)
            cap *= 2;
        char *grown = realloc(c->resp_body, cap);
        if (grown == NULL) {
            r->no_memory = 1;
            return -1;
        }
        c->resp_body = grown;
        c->resp_cap = cap;
    }
    memcpy(c->resp_body + c->resp_len, at, len);
    c->resp_len += len;
    c->resp_body[c->resp_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    sp_resp *r = p->data;
    r->in_message = 0;
    if (p->status_code >= 100 && p->status_code < 200) {
        if (p->status_code == 100)
            r->got_continue = 1;
        if (++r->interim > SP_MAX_INTERIM)
            return -1;
        http_parser_pause(p, 1); /* so that sp__resp_feed learns where it ended */
        return 0;
    }
    r->done = 1;
    r->status = (int)p->status_code;
    /* HTTP/1.1 without "Connection: close", and a body that did not end with the stream. */
    r->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1); /* anything after the final response is not ours to read */
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void sp__resp_init(sp_resp *r, sp_client *c)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    c->resp_len = 0;
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->parser.data = r;
}

int sp__resp_feed(sp_resp *r, const char *data, size_t len)
{
    if (r->done)
        return SP_OK;
    if (r->failed)
        return r->failed;
    uint64_t before = r->bytes;
    r->bytes += len;
    size_t off = 0;
    enum http_errno e;
    for (;;) {
        off += http_parser_execute(&r->parser, &parser_settings, data + off, len - off);
        e = HTTP_PARSER_ERRNO(&r->parser);
        if (e != HPE_PAUSED || r->done)
            break;
        /* An interim response ended here: the final answer's bytes are counted from here on. */
        r->interim_bytes = before + off;
        http_parser_pause(&r->parser, 0);
        e = HPE_OK;
        if (off == len)
            break; /* never execute on nothing, which would mean end of stream */
    }
    if (r->done)
        r->excess = len - off; /* a server's bytes past its answer: the stream is not clean */
    if (e == HPE_OK || e == HPE_PAUSED)
        return SP_OK;
    sp_client *c = r->c;
    if (r->no_memory)
        r->failed = sp__fail(c, SP_ENOMEM, 0, "response body");
    else if (r->header_overflow)
        r->failed = sp__fail(c, SP_EPROTO, 0, "response headers exceed %d KiB",
                             SP_MAX_RESPONSE_HEADERS / 1024);
    else if (r->body_overflow)
        r->failed =
            sp__fail(c, SP_EPROTO, 0, "response body exceeds %d KiB", SP_MAX_RESPONSE_BODY / 1024);
    else if (r->interim > SP_MAX_INTERIM)
        r->failed =
            sp__fail(c, SP_EPROTO, 0, "more than %d informational responses", SP_MAX_INTERIM);
    else
        r->failed = sp__fail(c, SP_EPROTO, 0, "malformed response: %s", http_errno_description(e));
    return r->failed;
}

int sp__resp_eof(sp_resp *r)
{
    if (r->done || r->failed)
        return r->failed;
    /* Nothing, or only interim responses (100 Continue): the final answer never began. */
    if (!r->in_message)
        return sp__fail(r->c, SP_ERECV, 0, "server closed the connection without a response");
    /* Only a close-delimited body may end at EOF; anything else was cut short. */
    http_parser_execute(&r->parser, &parser_settings, NULL, 0);
    if (r->done)
        return SP_OK;
    return r->failed = sp__fail(r->c, SP_EPROTO, 0, "response truncated after %llu bytes",
                                (unsigned long long)r->bytes);
}

/*
 * Fails a 2xx that is not AList's envelope. AList and OpenList answer every route they do not
 * know, /api/fs/puut included, with HTTP 200 and the HTML of their web interface: taken for
 * success, a mistyped URL would say "uploaded" and store nothing. The message shows what came
 * instead, escaped and cut short.
 */
static int not_envelope(sp_resp *r)
{
    sp_client *c = r->c;
    char type[sizeof r->content_type + 32], body[80];
    if (r->content_type[0] != '\0') {
        char shown[sizeof r->content_type];
        snprintf(type, sizeof type, " with %s",
                 sp__printable(r->content_type, shown, sizeof shown));
    } else {
        type[0] = '\0';
    }
    if (c->resp_len == 0)
        return sp__fail(c, SP_EPROTO, 0,
                        "server answered HTTP %d%s%s an empty body, not AList's JSON envelope",
                        r->status, type, type[0] != '\0' ? " and" : " with");
    /* Copies stop at a NUL byte; one in the body gets the "..." a long body gets. Uncut, the
     * copy leaves room for it. */
    sp__printable(c->resp_body, body, sizeof body);
    size_t n = strlen(body);
    int cut = n >= 3 && strcmp(body + n - 3, "...") == 0;
    if (!cut && strlen(c->resp_body) < c->resp_len)
        memcpy(body + n, "...", 4);
    int html = strncasecmp(r->content_type, "text/html", 9) == 0;
    return sp__fail(c, SP_EPROTO, 0,
                    "server answered HTTP %d%s, not AList's JSON envelope: \"%s\"%s", r->status,
                    type, body,
                    html ? " (AList answers a path it does not know with its web page: check the "
                           "URL)"
                         : "");
}

int sp__resp_finish(sp_resp *r, sp_result *res, int answered_early, uint64_t size)
{
    sp_client *c = r->c;
    res->http_status = r->status;
    res->has_code = 0;
    res->code = 0;
    snprintf(res->message, sizeof res->message, "%s", r->reason);

    cJSON *json = c->resp_len > 0 ? cJSON_ParseWithLength(c->resp_body, c->resp_len) : NULL;
    if (cJSON_IsObject(json)) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(json, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(json, "message");
        if (cJSON_IsNumber(code) && code->valuedouble >= -1e15 && code->valuedouble <= 1e15) {
            res->has_code = 1;
            res->code = (long)code->valuedouble;
        }
        if (cJSON_IsString(msg))
            snprintf(res->message, sizeof res->message, "%s", msg->valuestring);
    }
    cJSON_Delete(json);

    /* The server's words go into our message escaped: a JSON "\u001b" must not reach a
     * terminal as an escape sequence, nor "\n" forge a line. */
    char shown[sizeof res->message];
    sp__printable(res->message, shown, sizeof shown);
    if (r->status < 200 || r->status > 299)
        return sp__fail(c, SP_EHTTP, 0, "server answered HTTP %d: %s", r->status, shown);
    if (r->want_envelope && !res->has_code)
        return not_envelope(r);
    if (res->has_code && res->code != 200)
        return sp__fail(c, SP_EAPI, 0, "server answered code %ld: %s", res->code, shown);
    if (answered_early)
        return sp__fail(c, SP_EPROTO, 0,
                        "server answered HTTP %d before the body was complete (%llu of %llu "
                        "bytes sent)",
                        r->status, (unsigned long long)res->bytes_sent, (unsigned long long)size);
    return SP_OK;
}

cJSON *sp__resp_json(const sp_client *c)
{
    cJSON *json = c->resp_len > 0 ? cJSON_ParseWithLength(c->resp_body, c->resp_len) : NULL;
    if (json != NULL && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        json = NULL;
    }
    return json;
}

char *sp__resp_data_string(sp_client *c, const char *key)
{
    cJSON *json = c->resp_len > 0 ? cJSON_ParseWithLength(c->resp_body, c->resp_len) : NULL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(data, key);
    char *copy = cJSON_IsString(item) ? strdup(item->valuestring) : NULL;
    if (cJSON_IsString(item))
        sp__wipe(item->valuestring, strlen(item->valuestring)); /* it may be a secret */
    cJSON_Delete(json);
    return copy;
}
