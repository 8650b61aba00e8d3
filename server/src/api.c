/*
 * What every JSON route shares: gin's binding of the request into a Go struct, with gin's and
 * the validator's error texts, and the answer in OpenList's envelope.
 */
#include "api.h"
#include "gostr.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum MHD_Result mock_call_answer(mock_call *call, unsigned status, int code, const char *msg,
                                 cJSON *data)
{
    call->ans->http_status = status;
    call->ans->code = code;
    /* The token check leaves its refusal in ans itself: copying a string onto itself with
     * snprintf is undefined (and glibc empties it). */
    if (msg != call->ans->msg)
        snprintf(call->ans->msg, sizeof call->ans->msg, "%s", msg);
    return mock_respond(call->c, status, code, msg, data, 0);
}

static const char *go_kind(mock_field_kind k)
{
    switch (k) {
    case MOCK_FIELD_STRING:
        return "string";
    case MOCK_FIELD_INT:
        return "int";
    case MOCK_FIELD_BOOL:
        return "bool";
    case MOCK_FIELD_STRINGS:
        return "[]string";
    }
    return "?";
}

/* encoding/json's name for what a JSON value is, in "cannot unmarshal X into". */
static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsArray(v))
        return "array";
    return "object";
}

/* The struct's name without its package: "LoginReq" of "handles.LoginReq". */
static const char *short_type(const mock_bind_type *t)
{
    const char *dot = strrchr(t->go_type, '.');
    return dot != NULL ? dot + 1 : t->go_type;
}

/*
 * The member of obj that Go's decoder puts in a field tagged key: an exact match, else the last
 * member whose name equals it ignoring case (Go's decoder folds case, and a later duplicate
 * overwrites an earlier one).
 */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *hit = NULL, *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (m->string != NULL && strcmp(m->string, key) == 0)
            hit = m;
    }
    if (hit != NULL)
        return hit;
    cJSON_ArrayForEach(m, obj)
    {
        if (m->string != NULL && strcasecmp(m->string, key) == 0)
            hit = m;
    }
    return hit;
}

/* Fills out from one JSON value; -1 with encoding/json's text for a value of the wrong type. */
static int take(const mock_bind_type *t, const mock_field *f, const cJSON *v, mock_value *out,
                char *err, size_t errsz)
{
    int ok;
    switch (f->kind) {
    case MOCK_FIELD_STRING:
        if ((ok = cJSON_IsString(v)))
            out->s = v->valuestring;
        break;
    case MOCK_FIELD_INT:
        /* Go refuses a fraction or a value past int64 for an int field. */
        ok = cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble &&
             v->valuedouble >= -9223372036854775808.0 && v->valuedouble < 9223372036854775808.0;
        if (ok)
            out->i = (long long)v->valuedouble;
        else if (cJSON_IsNumber(v)) {
            char num[64];
            snprintf(num, sizeof num, "%.17g", v->valuedouble);
            snprintf(err, errsz,
                     "json: cannot unmarshal number %s into Go struct field %s.%s of type %s", num,
                     short_type(t), f->json, go_kind(f->kind));
            return -1;
        }
        break;
    case MOCK_FIELD_BOOL:
        if ((ok = cJSON_IsBool(v)))
            out->b = cJSON_IsTrue(v);
        break;
    case MOCK_FIELD_STRINGS: {
        ok = cJSON_IsArray(v);
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            if (!cJSON_IsString(e)) {
                snprintf(err, errsz,
                         "json: cannot unmarshal %s into Go struct field %s.%s of type string",
                         json_kind(e), short_type(t), f->json);
                return -1;
            }
        }
        if (ok)
            out->strs = v;
        break;
    }
    default:
        ok = 0;
    }
    if (!ok) {
        snprintf(err, errsz, "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
                 json_kind(v), short_type(t), f->json, go_kind(f->kind));
        return -1;
    }
    out->set = 1;
    return 0;
}

/* The JSON binder: decode the one value the body starts with into the fields. */
static int bind_json(mock_call *call, const mock_bind_type *t, mock_value *out, char *err,
                     size_t errsz)
{
    size_t skip = strspn(call->body, " \t\r\n");
    if (skip == call->body_len) {
        snprintf(err, errsz, "EOF"); /* io.EOF from the decoder: no value at all */
        return -1;
    }
    const char *end = NULL;
    call->bound = cJSON_ParseWithLengthOpts(call->body, call->body_len, &end, 0);
    if (call->bound == NULL) {
        const char *at = cJSON_GetErrorPtr();
        if (at == NULL || at >= call->body + call->body_len)
            snprintf(err, errsz, "unexpected EOF");
        else
            snprintf(err, errsz, "invalid character '%c' looking for beginning of value", *at);
        return -1;
    }
    if (cJSON_IsNull(call->bound))
        return 0;
    if (!cJSON_IsObject(call->bound)) {
        snprintf(err, errsz, "json: cannot unmarshal %s into Go value of type %s",
                 json_kind(call->bound), t->go_type);
        return -1;
    }
    /* Go reports the first field of the wrong type, having decoded the rest. */
    int failed = 0;
    for (size_t i = 0; i < t->n; i++) {
        char later[512];
        const cJSON *v = member(call->bound, t->fields[i].json);
        if (v != NULL && !cJSON_IsNull(v) &&
            take(t, &t->fields[i], v, &out[i], failed ? later : err,
                 failed ? sizeof later : errsz) < 0)
            failed = 1;
    }
    return failed ? -1 : 0;
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
    char err[512] = "";
    for (size_t i = 0; i < t->n; i++)
        out[i] = (mock_value){.s = ""};
    const char *ct = mock_header(call->c, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t ctn = ct != NULL ? strcspn(ct, " ;") : 0;
    int json =
        strcmp(call->method, "GET") != 0 && ctn == 16 && strncmp(ct, "application/json", 16) == 0;
    if (json ? bind_json(call, t, out, err, sizeof err) < 0
             : bind_form(call, t, out, err, sizeof err) < 0) {
        *r = mock_call_answer(call, MHD_HTTP_OK, 400, err, NULL);
        return -1;
    }
    /* go-playground/validator: one line per failed field, joined by '\n'. */
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const mock_field *f = &t->fields[i];
        int zero = f->kind == MOCK_FIELD_STRING ? *out[i].s == '\0'
                   : f->kind == MOCK_FIELD_INT  ? out[i].i == 0
                   : f->kind == MOCK_FIELD_BOOL ? !out[i].b
                                                : out[i].strs == NULL;
        if (f->required && zero && n < sizeof err)
            n += (size_t)snprintf(err + n, sizeof err - n,
                                  "%sKey: '%s.%s' Error:Field validation for '%s' failed on the "
                                  "'required' tag",
                                  n > 0 ? "\n" : "", short_type(t), f->go, f->go);
    }
    if (n > 0) {
        *r = mock_call_answer(call, MHD_HTTP_OK, 400, err, NULL);
        return -1;
    }
    return 0;
}
