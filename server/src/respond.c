/*
 * Responses in AList's envelope. gin renders with encoding/json, which escapes '<', '>', '&',
 * U+2028 and U+2029 and replaces invalid UTF-8 with U+FFFD; cJSON does none of that, so its
 * compact output is rewritten here to be byte-identical to what a Go server sends.
 */
#include "mock.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long mock_json_go_into(const char *raw, char *out, size_t outsz, int escape_c1)
{
    const unsigned char *s = (const unsigned char *)raw;
    size_t n = strlen(raw), w = 0;
    for (size_t i = 0; i < n;) {
        char esc[8] = "";
        size_t k = 1; /* bytes of raw this step consumes */
        if (s[i] == '<' || s[i] == '>' || s[i] == '&') {
            snprintf(esc, sizeof esc, "\\u%04x", s[i]);
        } else if (s[i] >= 0x80 && (k = mock_utf8_len(s + i, n - i, NULL)) == 0) {
            k = 1;
            snprintf(esc, sizeof esc, "\\ufffd");
        } else if (k == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
            snprintf(esc, sizeof esc, "\\u%04x", 0x2000u + s[i + 2] - 0x80u);
        } else if (escape_c1 && k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
            snprintf(esc, sizeof esc, "\\u%04x", s[i + 1]);
        }
        const char *from = esc[0] != '\0' ? esc : (const char *)s + i;
        size_t m = esc[0] != '\0' ? 6 : k;
        if (w + m >= outsz)
            return -1;
        memcpy(out + w, from, m);
        w += m;
        i += k;
    }
    out[w] = '\0';
    return (long)w;
}

char *mock_json_go_ex(const cJSON *v, int escape_c1)
{
    char *raw = cJSON_PrintUnformatted(v);
    if (raw == NULL)
        return NULL;
    /* Worst case every byte becomes a six-byte \uXXXX escape. */
    size_t sz = 6 * strlen(raw) + 1;
    char *out = malloc(sz);
    if (out != NULL)
        mock_json_go_into(raw, out, sz, escape_c1);
    cJSON_free(raw);
    return out;
}

char *mock_json_go(const cJSON *v)
{
    return mock_json_go_ex(v, 0);
}

/* Queues body (malloc'd, taken over) with a Content-Type; Connection: close when asked. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, char *body,
                             const char *type, int close_after)
{
    if (body == NULL)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (close_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result mock_respond(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                             cJSON *data, int close_after)
{
    cJSON *o = cJSON_CreateObject();
    char *body = NULL;
    if (o == NULL) {
        cJSON_Delete(data);
        return MHD_NO;
    }
    cJSON_AddNumberToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToObject(o, "data", data != NULL ? data : cJSON_CreateNull());
    body = mock_json_go(o);
    cJSON_Delete(o);
    return queue(c, status, body, "application/json; charset=utf-8", close_after);
}

enum MHD_Result mock_respond_raw(struct MHD_Connection *c, unsigned status, char *body,
                                 const char *type)
{
    return queue(c, status, body, type, 0);
}
