/*
 * Who a request is (auth.c): the Authorization header checked as OpenList's Auth middleware
 * checks it, before a route does anything else.
 */
#ifndef MOCK_AUTH_H
#define MOCK_AUTH_H

#include <microhttpd.h>

#include "config.h"
#include "respond.h"

/* The user a request acts as, once its token has been accepted. */
typedef struct mock_who {
    const char *name; /* "admin", "guest" or a --user name; static storage or the config's */
    int admin;        /* role 2 (admin) rather than 1 (guest) */
} mock_who;

/*
 * Checks c's Authorization header. Returns 0 with *who filled in, or -1 with OpenList's code and
 * message for the refusal in ans (its http_status left alone: the caller answers).
 */
int mock_auth_check(const mock_server *srv, struct MHD_Connection *c, mock_who *who,
                    mock_answer *ans);

#endif
