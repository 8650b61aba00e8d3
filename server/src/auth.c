/*
 * The token check every route makes first, and the tokens login issues. The raw header is the
 * token, with no "Bearer" (OpenList's middlewares.Auth reads c.GetHeader("Authorization") as
 * is). Without --token and without users the mock plays a server whose guest may write, and
 * takes any header as the guest: what a developer pointing a client at it expects.
 *
 * Issued tokens are kept as OpenList keeps them, in an allow-list that only logout and a
 * restart empty (common/auth.go's validTokenCache has no TTL). Here it holds the SHA-256 of each
 * token with what its claims say, in a ring of MOCK_TOKENS_MAX slots, so memory stays fixed
 * however many logins a run sees; past that the oldest token is forgotten and reads as
 * invalidated, as a logged-out one does.
 */
#include "auth.h"
#include "jwt.h"
#include "users.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The signing key: OpenList draws conf.JwtSecret once (random.String(16)); here per run. */
static unsigned char secret[32];

typedef struct issued {
    unsigned char digest[32]; /* SHA-256 of the token */
    const mock_user *user;    /* whom its username claim names */
    int64_t iat, exp;         /* its iat (= nbf) and exp claims */
    int used;
} issued;

static pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
static issued toks[MOCK_TOKENS_MAX];
static size_t tok_next;  /* the slot the next token takes: the oldest */
static size_t tok_count; /* slots filled so far, up to MOCK_TOKENS_MAX */

int mock_auth_init(void)
{
    return RAND_bytes(secret, sizeof secret) == 1 ? 0 : -1;
}

static int digest_of(const char *tok, unsigned char out[32])
{
    unsigned n = 0;
    return EVP_Digest(tok, strlen(tok), out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

/* The slot holding the token of digest d, or NULL; the caller holds tok_mu. */
static issued *find(const unsigned char d[32])
{
    for (size_t k = 1; k <= tok_count; k++) {
        issued *t = &toks[(tok_next + MOCK_TOKENS_MAX - k) % MOCK_TOKENS_MAX];
        if (t->used && memcmp(t->digest, d, 32) == 0)
            return t;
    }
    return NULL;
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
    unsigned char d[32];
    if (mock_jwt_sign(secret, sizeof secret, u->name, u->pwd_ts, iat, exp, out, outsz) < 0 ||
        digest_of(out, d) < 0)
        return -1;
    pthread_mutex_lock(&tok_mu);
    /* Two logins within a second give the same token, which the list holds once. */
    if (find(d) == NULL) {
        issued *t = &toks[tok_next];
        tok_next = (tok_next + 1) % MOCK_TOKENS_MAX;
        if (tok_count < MOCK_TOKENS_MAX)
            tok_count++;
        *t = (issued){.user = u, .iat = iat, .exp = exp, .used = 1};
        memcpy(t->digest, d, sizeof d);
    }
    pthread_mutex_unlock(&tok_mu);
    return 0;
}

void mock_auth_revoke(const char *tok)
{
    unsigned char d[32];
    if (*tok == '\0' || digest_of(tok, d) < 0)
        return;
    pthread_mutex_lock(&tok_mu);
    issued *t = find(d);
    if (t != NULL)
        t->used = 0;
    pthread_mutex_unlock(&tok_mu);
}

/*
 * common.ParseToken for a token that is not the static one: *u the user it names, or -1 with
 * its message. The allow-list is asked first, so a token it does not hold (malformed, foreign,
 * logged out, from an earlier run) is "token is invalidated" whatever else is wrong with it.
 */
static int parse_token(const char *tok, const mock_user **u, const char **msg)
{
    unsigned char d[32];
    int64_t iat = 0, exp = 0;
    *u = NULL;
    if (digest_of(tok, d) == 0) {
        pthread_mutex_lock(&tok_mu);
        const issued *t = find(d);
        if (t != NULL) {
            *u = t->user;
            iat = t->iat;
            exp = t->exp;
        }
        pthread_mutex_unlock(&tok_mu);
    }
    if (*u == NULL) {
        *msg = "token is invalidated";
        return -1;
    }
    /* golang-jwt v4: exp holds while now < exp, nbf and iat once now >= them, no leeway. */
    int64_t now = wall_ns();
    if (now >= exp * 1000000000) {
        *msg = "token is expired";
        return -1;
    }
    if (now < iat * 1000000000) {
        *msg = "token not active yet"; /* nbf == iat: both fail together */
        return -1;
    }
    return 0;
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
    int bad = n > 0 && parse_token(tok, &u, &msg) < 0;
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
