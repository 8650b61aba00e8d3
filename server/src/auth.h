/*
 * Who a request is (auth.c): the Authorization header checked as OpenList's Auth middleware
 * checks it, before a route does anything else, and the tokens the login routes issue.
 */
#ifndef MOCK_AUTH_H
#define MOCK_AUTH_H

#include <stddef.h>

#include <microhttpd.h>

#include "config.h"
#include "respond.h"

/* The user a request acts as, once its token has been accepted. */
typedef struct mock_who {
    const char *name;      /* "admin", "guest" or a --user name; the users table's */
    int admin;             /* role 2 (admin) */
    unsigned perm;         /* OpenList's permission bits (MOCK_PERM_*) */
    int disabled;          /* a disabled guest let through by MOCK_AUTH_LET_GUEST */
    const mock_user *user; /* the whole row, for /api/me */
} mock_who;

/* How a route checks the token, as OpenList's router wires its middleware. */
typedef enum mock_auth_mode {
    MOCK_AUTH_NONE = 0,  /* no middleware: login, downloads, the mock's own routes */
    MOCK_AUTH_REQUIRE,   /* middlewares.Auth(false): a disabled guest is refused */
    MOCK_AUTH_LET_GUEST, /* middlewares.Auth(true): a disabled guest reaches the handler */
} mock_auth_mode;

/* Draws this run's token signing key (OpenList's jwt_secret). Returns 0 or -1. */
int mock_auth_init(void);

/*
 * Checks c's Authorization header. Returns 0 with *who filled in, or -1 with OpenList's code and
 * message for the refusal in ans (its http_status left alone: the caller answers) and who->name
 * NULL.
 */
int mock_auth_check(const mock_server *srv, struct MHD_Connection *c, mock_auth_mode mode,
                    mock_who *who, mock_answer *ans);

/*
 * common.GenerateToken: a token for u valid for --token-expires, remembered as issued, into out
 * (MOCK_JWT_MAX bytes). Returns 0 or -1.
 */
int mock_auth_issue(const mock_config *cfg, const mock_user *u, char *out, size_t outsz);

/* common.InvalidateToken: forgets tok ("" and unknown tokens change nothing). */
void mock_auth_revoke(const char *tok);

#endif
