/*
 * The JSON routes' side of the handler (handler.c): what a route function gets once the
 * request's head and its small JSON body are in, and how it answers.
 */
#ifndef MOCK_API_H
#define MOCK_API_H

#include <stddef.h>

#include <microhttpd.h>

#include "auth.h"
#include "config.h"
#include "respond.h"

/*
 * Bodies of the JSON routes are read whole before the route runs, as gin's ShouldBind reads
 * them; past this many bytes the request is refused instead, so a body sent to the wrong route
 * cannot grow the mock. OpenList's requests are a path and a few fields.
 */
#define MOCK_CALL_BODY_MAX 65536

/* One call of a JSON (or plain GET) route, valid while the route function runs. */
typedef struct mock_call {
    const mock_server *srv;
    struct MHD_Connection *c;
    const char *method;
    const char *url;  /* the path, without the query (MHD splits it off) */
    const char *body; /* the body, NUL-terminated for convenience; "" when there was none */
    size_t body_len;
    mock_who who;     /* whom the token named; routes that need no token see "guest" */
    mock_answer *ans; /* what the route answers, for the journal: fill it through mock_call_* */
    cJSON *bound;     /* what mock_call_bind parsed, freed after the route returns */
} mock_call;

/* A route: answers the call, returns what the access handler returns. */
typedef enum MHD_Result (*mock_call_fn)(mock_call *call);

/* What a request struct's field holds in Go, for gin's binding (mock_call_bind). */
typedef enum mock_field_kind {
    MOCK_FIELD_STRING,
    MOCK_FIELD_INT,
    MOCK_FIELD_BOOL,
    MOCK_FIELD_STRINGS, /* []string */
} mock_field_kind;

/*
 * One field of a request struct: its json tag, its Go name, its kind, binding:"required", and
 * its form tag (NULL when it has none: gin's form binder then uses the Go name).
 */
typedef struct mock_field {
    const char *json;
    const char *go;
    mock_field_kind kind;
    int required;
    const char *form;
} mock_field;

/* A request struct as Go declares it: "handles.LoginReq" and its fields. */
typedef struct mock_bind_type {
    const char *go_type;
    const mock_field *fields;
    size_t n;
} mock_bind_type;

/* A bound field, valid until the route function returns. Unset fields hold Go's zero value. */
typedef struct mock_value {
    int set;           /* the body gave the field a non-null value */
    const char *s;     /* MOCK_FIELD_STRING: never NULL ("" when unset) */
    size_t n;          /* MOCK_FIELD_STRING: its bytes, past strlen(s) when it holds a NUL */
    long long i;       /* MOCK_FIELD_INT */
    int b;             /* MOCK_FIELD_BOOL */
    const cJSON *strs; /* MOCK_FIELD_STRINGS: a cJSON array of strings, NULL when unset */
} mock_value;

/*
 * gin's c.ShouldBind(&req) into out[0..t->n): the binder chosen by method and Content-Type as
 * gin chooses it (JSON only for application/json, the query's form fields otherwise), then the
 * validator's "required". Returns 0, or -1 having answered code 400 with gin's error text, and
 * *r then holds what the route returns.
 */
int mock_call_bind(mock_call *call, const mock_bind_type *t, mock_value *out, enum MHD_Result *r);

/* Answers in OpenList's envelope with HTTP status and records the answer for the journal. */
enum MHD_Result mock_call_answer(mock_call *call, unsigned status, int code, const char *msg,
                                 cJSON *data);

#endif
