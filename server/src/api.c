/*
 * What every JSON route shares: gin's binding of the request into a Go struct, with gin's and
 * the validator's error texts, and the answer in OpenList's envelope.
 */
#include "api.h"
#include "gojson.h"
#include "gostr.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum MHD_Result mock_call_answer(mock_call *call, unsigned status, int code, const char *msg,
                                 cJSON *data)
{
    call->ans->http_status = status;
    call->ans->code = code;
    /* The token check leaves its refusal in ans->msg itself: snprintf must not copy onto it. */
    if (msg != call->ans->msg)
        snprintf(call->ans->msg, sizeof call->ans->msg, "%s", msg);
    return mock_respond(call->c, status, code, msg, data, 0);
}

/* The struct's name without its package: "LoginReq" of "handles.LoginReq". */
static const char *short_type(const mock_bind_type *t)
{
    const char *dot = strrchr(t->go_type, '.');
    return dot != NULL ? dot + 1 : t->go_type;
}

/*
 * Answers gin's error text, which jsoniter may have given NUL bytes and raw body bytes: the
 * envelope is written here with gin's own string escaping (mock_gj_quote) rather than through a
 * C string. The journal keeps a printable copy.
 */
static enum MHD_Result answer_bind_error(mock_call *call, const char *err, size_t n)
{
    size_t qn = mock_gj_quote(err, n, NULL, 0);
    char *body = malloc(qn + 48);
    if (body == NULL)
        return MHD_NO;
    static const char head[] = "{\"code\":400,\"message\":", tail[] = ",\"data\":null}";
    memcpy(body, head, sizeof head - 1);
    mock_gj_quote(err, n, body + sizeof head - 1, qn + 1);
    memcpy(body + sizeof head - 1 + qn, tail, sizeof tail);
    call->ans->http_status = MHD_HTTP_OK;
    call->ans->code = 400;
    char shown[sizeof call->ans->msg];
    size_t w = 0;
    for (size_t i = 0; i < n && w + 5 < sizeof shown; i++) {
        if (err[i] == '\0') {
            memcpy(shown + w, "\\x00",
                   4); /* sp__printable's spelling, which a C string can't carry */
            w += 4;
        } else
            shown[w++] = err[i];
    }
    shown[w] = '\0';
    sp__printable(shown, call->ans->msg, sizeof call->ans->msg);
    return mock_respond_raw(call->c, MHD_HTTP_OK, body, "application/json; charset=utf-8");
}

/* A string as the routes see it: cut at a NUL, which no path or name may hold anyway. */
static cJSON *str_item(const mock_gj_str *v)
{
    char *tmp = strndup(v->p != NULL ? v->p : "", v->n);
    cJSON *item = tmp != NULL ? cJSON_CreateString(tmp) : NULL;
    free(tmp);
    return item;
}

/*
 * The JSON binder: jsoniter's Decoder over the body as OpenList's build runs it (gojson.c),
 * then the values copied into call->bound, which lives until the route returns.
 */
static int bind_json(mock_call *call, const mock_bind_type *t, mock_value *out, enum MHD_Result *r)
{
    mock_gj_field gf[MOCK_GJ_MAXFIELDS];
    static const mock_gj_kind kinds[] = {
        [MOCK_FIELD_STRING] = MOCK_GJ_STRING,
        [MOCK_FIELD_INT] = MOCK_GJ_INT,
        [MOCK_FIELD_BOOL] = MOCK_GJ_BOOL,
        [MOCK_FIELD_STRINGS] = MOCK_GJ_STRINGS,
    };
    if (t->n > MOCK_GJ_MAXFIELDS)
        return *r = MHD_NO, -1;
    for (size_t i = 0; i < t->n; i++)
        gf[i] = (mock_gj_field){t->fields[i].json, t->fields[i].go, kinds[t->fields[i].kind],
                                t->fields[i].required ? MOCK_GJ_REQUIRED : 0};
    mock_gj_struct gs = {t->go_type, gf, t->n};
    mock_gj_doc doc;
    memset(&doc, 0, sizeof doc);
    /* The head is taken to have come in a read of its own: exact for every body that fits in
     * net/http's first 4 KiB read, which an OpenList request body does. */
    int e = mock_gj_decode(&gs, call->body, call->body_len, 0, &doc);
    if (e == MOCK_GJ_EGO) {
        *r = answer_bind_error(call, doc.err, doc.errlen);
        mock_gj_done(&doc);
        return -1;
    }
    if (e != MOCK_GJ_OK || (call->bound = cJSON_CreateObject()) == NULL) {
        mock_gj_done(&doc);
        return *r = MHD_NO, -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        const mock_gj_value *v = &doc.v[i];
        cJSON *item = NULL;
        switch (t->fields[i].kind) {
        case MOCK_FIELD_STRING:
            item = str_item(&v->s);
            out[i].s = item != NULL ? item->valuestring : "";
            out[i].n = item != NULL ? v->s.n : 0;
            out[i].set = v->s.n > 0;
            break;
        case MOCK_FIELD_INT:
            out[i].i = v->i;
            out[i].set = v->i != 0;
            break;
        case MOCK_FIELD_BOOL:
            out[i].b = v->b;
            out[i].set = v->b;
            break;
        case MOCK_FIELD_STRINGS:
            if (v->nil)
                break;
            item = cJSON_CreateArray();
            for (size_t k = 0; item != NULL && k < v->count; k++)
                cJSON_AddItemToArray(item, str_item(&v->list[k]));
            out[i].strs = item;
            out[i].set = 1;
            break;
        }
        if (item != NULL)
            cJSON_AddItemToObject(call->bound, t->fields[i].json, item);
    }
    mock_gj_done(&doc);
    return 0;
}

/* Go's strconv.ParseBool, whose error gin's form binder returns as is. */
static int parse_bool(const char *v, int *out, char *err, size_t errsz)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return 0;
        }
    }
    char q[256];
    mock_go_quote(v, strlen(v), q, sizeof q);
    snprintf(err, errsz, "strconv.ParseBool: parsing %s: invalid syntax", q);
    return -1;
}

/*
 * The form binder (any other Content-Type, and GET): the request's query fields named by their
 * form tags (the Go names for fields without one), in struct order, the first bad value ending
 * it with strconv's error. As gin's setWithProperType does, a number or bool is trimmed of
 * spaces first, and an empty one is Go's zero value.
 */
static int bind_form(mock_call *call, const mock_bind_type *t, mock_value *out, char *err,
                     size_t errsz)
{
    for (size_t i = 0; i < t->n; i++) {
        const mock_field *f = &t->fields[i];
        const char *v = MHD_lookup_connection_value(call->c, MHD_GET_ARGUMENT_KIND,
                                                    f->form != NULL ? f->form : f->go);
        if (v == NULL)
            continue;
        char num[256];
        size_t lead = strspn(v, " \t\r\n"), len = strlen(v + lead);
        while (len > 0 && strchr(" \t\r\n", v[lead + len - 1]) != NULL)
            len--;
        snprintf(num, sizeof num, "%.*s", (int)len, v + lead);
        int64_t n = 0;
        switch (f->kind) {
        case MOCK_FIELD_STRING:
            out[i].s = v;
            out[i].n = strlen(v);
            break;
        case MOCK_FIELD_INT:
            if (*num != '\0' && mock_go_parse_int(num, &n, err, errsz) < 0)
                return -1;
            out[i].i = n;
            break;
        case MOCK_FIELD_BOOL:
            if (*num != '\0' && parse_bool(num, &out[i].b, err, errsz) < 0)
                return -1;
            break;
        case MOCK_FIELD_STRINGS:
            continue; /* no route takes a list as a form field */
        }
        out[i].set = 1;
    }
    return 0;
}

int mock_call_bind(mock_call *call, const mock_bind_type *t, mock_value *out, enum MHD_Result *r)
{
    for (size_t i = 0; i < t->n; i++)
        out[i] = (mock_value){.s = ""};
    const char *ct = mock_header(call->c, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t ctn = ct != NULL ? strcspn(ct, " ;") : 0;
    /* gin's binding.Default: JSON only for a non-GET request that says application/json. */
    if (strcmp(call->method, "GET") != 0 && ctn == 16 &&
        strncasecmp(ct, "application/json", 16) == 0)
        return bind_json(call, t, out, r);
    char err[512];
    if (bind_form(call, t, out, err, sizeof err) < 0) {
        *r = answer_bind_error(call, err, strlen(err));
        return -1;
    }
    /* go-playground/validator on the form's result: one line per failed field, joined by '\n'. */
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const mock_field *f = &t->fields[i];
        if (f->required && !out[i].set && n < sizeof err)
            n += (size_t)snprintf(err + n, sizeof err - n,
                                  "%sKey: '%s.%s' Error:Field validation for '%s' failed on the "
                                  "'required' tag",
                                  n > 0 ? "\n" : "", short_type(t), f->go, f->go);
    }
    if (n > 0) {
        *r = answer_bind_error(call, err, strlen(err));
        return -1;
    }
    return 0;
}
