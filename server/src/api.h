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
} mock_call;

/* A route: answers the call, returns what the access handler returns. */
typedef enum MHD_Result (*mock_call_fn)(mock_call *call);

/* Answers in OpenList's envelope with HTTP status and records the answer for the journal. */
enum MHD_Result mock_call_answer(mock_call *call, unsigned status, int code, const char *msg,
                                 cJSON *data);

#endif
