/*
 * The token check every route makes first, and the tokens login issues. The raw header is the
 * token, with no "Bearer" (OpenList's middlewares.Auth reads c.GetHeader("Authorization") as
 * is). Without --token and without users the mock plays a server whose guest may write, and
 * takes any header as the guest: what a developer pointing a client at it expects.
 *
 * Issued tokens are on an allow-list (tokens.c) that only logout and a restart empty.
 */
#include "auth.h"
#include "jwt.h"
#include "tokens.h"
#include "users.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The signing key: OpenList draws conf.JwtSecret once (random.String(16)); here per run. */
static unsigned char secret[32];

static mock_tokens issued = MOCK_TOKENS_INIT;

int mock_auth_init(void)
{
    return RAND_bytes(secret, sizeof secret) == 1 ? 0 : -1;
}

/* The wall clock in nanoseconds: token times are Unix seconds, compared as Go's time.Now(). */
static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int mock_auth_issue(const mock_config *cfg, const mock_user *u, char *out, size_t outsz)
{
    int64_t now = wall_ns();
    /* jwt.NewNumericDate truncates to whole seconds. */
    int64_t iat = now / 1000000000;
    int64_t exp = (now + (int64_t)cfg->token_expires_ms * 1000000) / 1000000000;
    if (mock_jwt_sign(secret, sizeof secret, u->name, u->pwd_ts, iat, exp, out, outsz) < 0)
        return -1;
    return mock_tokens_add(&issued, out, u, iat, exp);
}

void mock_auth_revoke(const char *tok)
{
    mock_tokens_revoke(&issued, tok);
}

static void refuse(mock_who *who, mock_answer *ans, int code, const char *msg)
{
    *who = (mock_who){0};
    ans->code = code;
    snprintf(ans->msg, sizeof ans->msg, "%s", msg);
}

static void act_as(mock_who *who, const mock_user *u)
{
    *who = (mock_who){.name = u->name,
                      .admin = u->role == MOCK_ROLE_ADMIN,
                      .perm = u->perm,
                      .disabled = u->disabled,
                      .user = u};
}

int mock_auth_check(const mock_server *srv, struct MHD_Connection *c, mock_auth_mode mode,
                    mock_who *who, mock_answer *ans)
{
    const mock_config *cfg = &srv->cfg;
    const char *tok = mock_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    const mock_user *admin = &cfg->users[0], *guest = &cfg->users[1], *u = NULL;
    const char *msg;
    if (tok == NULL)
        tok = "";
    size_t n = strlen(tok);
    /* The length is not secret (Go's ConstantTimeCompare leaks it as well). */
    if (cfg->token != NULL && n == cfg->token_len && CRYPTO_memcmp(tok, cfg->token, n) == 0) {
        act_as(who, admin);
        return 0;
    }
    int bad = n > 0 && mock_tokens_check(&issued, tok, wall_ns(), &u, &msg) < 0;
    if (n == 0 || (bad && !cfg->auth_on)) {
        if (guest->disabled && mode != MOCK_AUTH_LET_GUEST) {
            refuse(who, ans, 401, "Guest user is disabled, login please");
            return -1;
        }
        act_as(who, guest);
        return 0;
    }
    if (bad) {
        refuse(who, ans, 401, msg);
        return -1;
    }
    /* pwd_ts cannot change within a run, so "Password has been changed" never applies. */
    if (u->disabled) {
        refuse(who, ans, 401, "Current user is disabled, replace please");
        return -1;
    }
    act_as(who, u);
    return 0;
}
