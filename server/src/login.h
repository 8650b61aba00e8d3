/*
 * OpenList's login routes (login.c): POST /api/auth/login and /api/auth/login/hash, GET
 * /api/auth/logout and GET /api/me, with the per-client lockout after failed logins.
 */
#ifndef MOCK_LOGIN_H
#define MOCK_LOGIN_H

#include "api.h"

/* The most clients whose failed logins are counted at once; past it the stalest is dropped. */
#define MOCK_LOCKS_MAX 4096

/* Failed logins from one client before it is locked out (model.DefaultMaxAuthRetries). */
#define MOCK_LOGIN_TRIES 5

enum MHD_Result mock_route_login(mock_call *call);
enum MHD_Result mock_route_login_hash(mock_call *call);
enum MHD_Result mock_route_logout(mock_call *call);
enum MHD_Result mock_route_me(mock_call *call);

#endif
