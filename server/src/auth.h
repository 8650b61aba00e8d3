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
    unsigned perm;    /* OpenList's permission bits (MOCK_PERM_*) */
    int disabled;     /* a disabled guest let through by MOCK_AUTH_LET_GUEST */
} mock_who;

/* The permission bits the routes check (OpenList's internal/model/user.go). */
#define MOCK_PERM_WRITE  (1u << 3) /* mkdir and upload: CanWriteContent */
#define MOCK_PERM_REMOVE (1u << 7) /* CanRemove */
#define MOCK_PERM_ADMIN  0x71FFu   /* what OpenList gives its admin user */

/* How a route checks the token, as OpenList's router wires its middleware. */
typedef enum mock_auth_mode {
    MOCK_AUTH_NONE = 0,  /* no middleware: login, downloads, the mock's own routes */
    MOCK_AUTH_REQUIRE,   /* middlewares.Auth(false): a disabled guest is refused */
    MOCK_AUTH_LET_GUEST, /* middlewares.Auth(true): a disabled guest reaches the handler */
} mock_auth_mode;

/*
 * Checks c's Authorization header. Returns 0 with *who filled in, or -1 with OpenList's code and
 * message for the refusal in ans (its http_status left alone: the caller answers).
 */
int mock_auth_check(const mock_server *srv, struct MHD_Connection *c, mock_auth_mode mode,
                    mock_who *who, mock_answer *ans);

#endif
