/*
 * Responses in AList's envelope. gin renders with encoding/json, which escapes '<', '>', '&',
 * U+2028 and U+2029 and replaces invalid UTF-8 with U+FFFD; cJSON does none of that, so its
 * compact output is rewritten here to be byte-identical to what a Go server sends.
 */
#include "mock.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

char *mock_json_go(const cJSON *v)
{
    char *raw = cJSON_PrintUnformatted(v);
    if (raw == NULL)
        return NULL;
    size_t n = strlen(raw);
    /* Worst case every byte becomes a six-byte \uXXXX escape. */
    char *out = malloc(6 * n + 1);
    if (out == NULL)
        goto out;
    const unsigned char *s = (const unsigned char *)raw;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t k;
        const char *esc = NULL;
        if (s[i] == '<')
            esc = "\\u003c";
        else if (s[i] == '>')
            esc = "\\u003e";
        else if (s[i] == '&')
            esc = "\\u0026";
        if (esc != NULL) {
            memcpy(out + w, esc, 6);
            w += 6;
            i++;
        } else if (s[i] < 0x80) {
            out[w++] = (char)s[i++];
        } else if ((k = mock_utf8_len(s + i, n - i, NULL)) == 0) {
            memcpy(out + w, "\\ufffd", 6);
            w += 6;
            i++;
        } else if (k == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
            memcpy(out + w, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            w += 6;
            i += 3;
        } else {
            memcpy(out + w, s + i, k);
            w += k;
            i += k;
        }
    }
    out[w] = '\0';
out:
    cJSON_free(raw);
    return out;
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
