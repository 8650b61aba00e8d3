/*
 * The login: one exchange, POST /api/auth/login/hash with the user, the password's static hash
 * and the one-time code, over the connection the upload is to use, and the judging of its answer
 * as OpenList gives it (server/handles/auth.go:43-82): HTTP 200 always, code 200 with
 * data.token, or 400 (a bind error; AList v3.45 also for a wrong user or password), 401, 402,
 * 429 with a message.
 */
#include "exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* OpenList server/common/auth.go:45-53: what ParseToken says of a token that a fresh login would
 * replace. The other texts (a malformed token, one not active yet) are not cured by one. */
static const char *const refused_token[] = {"token is expired", "token is invalidated"};

int sp__token_refused(const sp_client *c, int rc, const sp_result *res)
{
    if (rc != SP_EAPI || c->login_user == NULL || !res->has_code || res->code != 401)
        return 0;
    for (size_t i = 0; i < sizeof refused_token / sizeof refused_token[0]; i++)
        if (strcmp(res->message, refused_token[i]) == 0)
            return 1;
    return 0;
}

/* Puts "login: " in front of the detail of a failure on the way to the server's verdict. */
static int on_the_way(sp_client *c, int rc)
{
    static const char prefix[] = "login: ";
    size_t n = strnlen(c->errmsg, sizeof c->errmsg - sizeof prefix);
    memmove(c->errmsg + sizeof prefix - 1, c->errmsg, n);
    memcpy(c->errmsg, prefix, sizeof prefix - 1);
    c->errmsg[n + sizeof prefix - 1] = '\0';
    return rc;
}

/*
 * Turns the server's refusal into SP_ELOGIN with its code and message. A lock is worth
 * explaining: OpenList (internal/model/user.go:36-37, handles/auth.go:45-51) refuses every try
 * after 5 failures from one address, the right password included, until 5 minutes have passed
 * since the last refused try, so trying again at once only prolongs it.
 */
static int refused(sp_client *c, const sp_result *res)
{
    char shown[sizeof res->message];
    sp__printable(res->message, shown, sizeof shown);
    return sp__fail(c, SP_ELOGIN, 0, "login failed: code %ld: %s%s", res->code, shown,
                    res->code == 429 ? " (the server locks sign-in from this address for about "
                                       "5 minutes from the last attempt; each attempt meanwhile "
                                       "restarts the wait)"
                                     : "");
}

/* Takes data.token from a successful answer into c->login_token, and wipes the body it was in. */
static int keep_token(sp_client *c)
{
    char *token = sp__resp_data_string(c, "token");
    sp__wipe(c->resp_body, c->resp_len);
    c->resp_len = 0;
    if (token == NULL || *token == '\0') {
        sp__free_secret(&token);
        return sp__fail(c, SP_EPROTO, 0, "login: the server answered code 200 without a token");
    }
    for (const unsigned char *p = (const unsigned char *)token; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) { /* it goes into a header line */
            sp__free_secret(&token);
            return sp__fail(c, SP_EPROTO, 0, "login: the server's token holds a control character");
        }
    }
    sp__free_secret(&c->login_token);
    c->login_token = token;
    return SP_OK;
}

/* Opens cn toward u with the exchange's waiter, over TLS for https://. */
int sp__conn_open_for(sp__conn *cn, sp_client *c, const sp_url *u, sp__exchange *x)
{
    sp__waiter w = sp__ex_waiter(x);
    const sp__transport *t = &sp__tcp_transport;
#ifdef SP_HAVE_TLS
    if (u->tls)
        t = &sp__tls_transport;
#endif
    return sp__conn_open(cn, c, u, t, &w);
}

int sp__login_run(sp_client *c, const sp_url *lu, sp__conn *cn, uint64_t total, int64_t deadline,
                  sp_result *res)
{
    /* The login carries no body of the upload's; the upload's size is what a progress bar
     * shows meanwhile. */
    sp_body_info b = {.size = total, .mtime_ms = -1};
    sp_result lres = {0};
    size_t cap = sp__login_size(c, lu);
    char *req = malloc(cap);
    sp__exchange *x = NULL;
    char who[128];
    int rc, len = -1, reuse = 0;

    if (req == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "allocate the login request");
    if ((x = sp__ex_new(c, lu, &b, &lres, deadline)) == NULL) {
        rc = SP_ENOMEM;
        goto out;
    }
    if ((len = sp__build_login(c, lu, req, cap)) < 0) {
        rc = sp__fail(c, SP_EINVAL, 0, "login: request too large");
        goto out;
    }
    if (cn->fd < 0 && (rc = sp__conn_open_for(cn, c, lu, x)) != SP_OK)
        goto out;
    sp__debug(c, SP_DEBUG_INFO, "Logging in as %s", sp__printable(c->login_user, who, sizeof who));
    rc = sp__ex_run(x, cn, req, (size_t)len, -1, 0);
    if (rc == SP_OK)
        rc = keep_token(c);
    else if (rc == SP_EAPI)
        rc = refused(c, &lres);
    else
        rc = on_the_way(c, rc);
    if (rc != SP_OK) {
        /* The call's record tells the login's answer: what the caller needs to act on it. */
        res->http_status = lres.http_status;
        res->has_code = lres.has_code;
        res->code = lres.code;
        memcpy(res->message, lres.message, sizeof res->message);
    } else if (sp__ex_keep_alive(x) && sp__conn_idle(cn)) {
        reuse = 1;
    } else {
        sp__debug(c, SP_DEBUG_INFO, "the login's connection cannot carry the upload; closing it");
    }
out:
    if (!reuse)
        sp__conn_close(cn);
    sp__wipe(req, cap);
    free(req);
    sp__ex_free(x);
    return rc;
}
