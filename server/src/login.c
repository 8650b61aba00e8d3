/*
 * The login routes, as OpenList's server/handles/auth.go answers them (AList v3.45.0's texts
 * under --profile alist), and the lockout: model.LoginCache counts failed logins per client
 * (gin's ClientIP), a client with MOCK_LOGIN_TRIES failures is refused with code 429 even with
 * the right password, and each refused try keeps it locked --login-lock seconds longer. Only a
 * successful login resets the count; before the lock it never decays.
 *
 * The count is kept in a table of MOCK_LOCKS_MAX clients. When it is full the entry touched
 * longest ago goes (an expired lock first), so a client flooding it with forged
 * X-Forwarded-For keys can lose a lock early: OpenList's cache grows without bound instead.
 */
#include "login.h"
#include "jwt.h"
#include "totp.h"
#include "users.h"
#include "sp_common.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* model.TooManyAttempts (OpenList internal/model/user.go:28; AList handles/auth.go:55). */
static const char too_many[] = "Too many unsuccessful sign-in attempts have been made using an "
                               "incorrect username or password, Try again later.";

/* The longest client key: an IPv6 address with an IPv4 tail, with room to spare. */
#define KEY_MAX 64

typedef struct lock {
    char key[KEY_MAX];
    int count;
    int64_t until_ms; /* sp__now_ms() when a lock ends; 0: no expiry */
    int64_t touched_ms;
} lock;

static pthread_mutex_t lock_mu = PTHREAD_MUTEX_INITIALIZER;
static lock locks[MOCK_LOCKS_MAX];
static size_t nlocks;

/* ---- the client key: gin's Context.ClientIP with every proxy trusted ---- */

/* Go's net.ParseIP of n bytes at s, Go's strings.TrimSpace first; 1 if it is an address. */
static int parse_ip(const char *s, size_t n, char *out)
{
    while (n > 0 && strchr(" \t\n\v\f\r", *s) != NULL) {
        s++;
        n--;
    }
    while (n > 0 && strchr(" \t\n\v\f\r", s[n - 1]) != NULL)
        n--;
    unsigned char a[16];
    if (n == 0 || n >= KEY_MAX)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return inet_pton(AF_INET, out, a) == 1 || inet_pton(AF_INET6, out, a) == 1;
}

/* What Engine.validateHeader makes of one header's values, joined by ',' as gin joins them. */
typedef struct fwd {
    const char *name;
    int items;   /* items seen */
    int invalid; /* an item that is not an address: the header does not count */
    char first[KEY_MAX];
} fwd;

static enum MHD_Result fwd_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    fwd *f = cls;
    (void)kind;
    if (key == NULL || strcasecmp(key, f->name) != 0)
        return MHD_YES;
    if (value == NULL)
        value = "";
    /*
     * validateHeader walks the items from the right and gives up at the first that is not an
     * address; with every proxy trusted it returns the leftmost only if it got that far, so
     * every item must be an address.
     */
    for (const char *p = value;;) {
        size_t n = strcspn(p, ",");
        char ip[KEY_MAX];
        if (!parse_ip(p, n, ip))
            f->invalid = 1;
        else if (f->items == 0)
            memcpy(f->first, ip, sizeof ip);
        f->items++;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    return MHD_YES;
}

/* The key a client's failed logins are counted under, into out (KEY_MAX bytes). */
static void client_key(struct MHD_Connection *c, char *out)
{
    static const char *const headers[] = {"X-Forwarded-For", "X-Real-IP"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        fwd f = {.name = headers[i]};
        MHD_get_connection_values(c, MHD_HEADER_KIND, fwd_value, &f);
        if (f.items > 0 && !f.invalid) {
            memcpy(out, f.first, KEY_MAX);
            return;
        }
    }
    /* The peer's address, printed as Go's net.IP.String prints it. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
    out[0] = '\0';
    if (sa != NULL && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, KEY_MAX);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, KEY_MAX);
        else
            inet_ntop(AF_INET6, a, out, KEY_MAX);
    }
}

/* ---- the failure count ---- */

/* The entry of key, dropping it if its lock has run out; the caller holds lock_mu. */
static lock *lock_find(const char *key, int64_t now)
{
    for (size_t i = 0; i < nlocks; i++) {
        lock *l = &locks[i];
        if (strcmp(l->key, key) != 0)
            continue;
        if (l->until_ms != 0 && now >= l->until_ms) {
            *l = locks[--nlocks];
            return NULL;
        }
        return l;
    }
    return NULL;
}

/*
 * LoginCache.Get(ip): the failures counted for key. When they reach the limit, the client is
 * refused and LoginCache.Expire(ip, lock) gives it lock_s more seconds from now: returns -1.
 */
static int lock_check(const char *key, unsigned lock_s)
{
    int64_t now = sp__now_ms();
    pthread_mutex_lock(&lock_mu);
    lock *l = lock_find(key, now);
    int count = l != NULL ? l->count : 0;
    if (l != NULL && count >= MOCK_LOGIN_TRIES) {
        l->until_ms = now + (int64_t)lock_s * 1000;
        l->touched_ms = now;
        count = -1;
    }
    pthread_mutex_unlock(&lock_mu);
    return count;
}

/* LoginCache.Set(ip, count) with no expiry. */
static void lock_set(const char *key, int count)
{
    int64_t now = sp__now_ms();
    pthread_mutex_lock(&lock_mu);
    lock *l = lock_find(key, now);
    if (l == NULL && nlocks < MOCK_LOCKS_MAX) {
        l = &locks[nlocks++];
    } else if (l == NULL) {
        /* Full: an expired lock goes first, else the entry touched longest ago. */
        l = &locks[0];
        for (size_t i = 0; i < nlocks; i++) {
            lock *e = &locks[i];
            int gone = e->until_ms != 0 && now >= e->until_ms;
            if (gone || e->touched_ms < l->touched_ms)
                l = e;
            if (gone)
                break;
        }
    }
    snprintf(l->key, sizeof l->key, "%s", key);
    l->count = count;
    l->until_ms = 0;
    l->touched_ms = now;
    pthread_mutex_unlock(&lock_mu);
}

/* LoginCache.Del(ip). */
static void lock_clear(const char *key)
{
    pthread_mutex_lock(&lock_mu);
    for (size_t i = 0; i < nlocks; i++)
        if (strcmp(locks[i].key, key) == 0) {
            locks[i] = locks[--nlocks];
            break;
        }
    pthread_mutex_unlock(&lock_mu);
}

/* ---- the routes ---- */

/* handles.LoginReq: username is binding:"required". */
static const mock_field login_fields[] = {
    {"username", "Username", MOCK_FIELD_STRING, 1, NULL},
    {"password", "Password", MOCK_FIELD_STRING, 0, NULL},
    {"otp_code", "OtpCode", MOCK_FIELD_STRING, 0, NULL},
};
static const mock_bind_type login_req = {"handles.LoginReq", login_fields,
                                         sizeof login_fields / sizeof login_fields[0]};

/* handles.loginHash, once the body is bound: name (a bound string) and the password's static
 * hash of hash_n bytes. */
static enum MHD_Result login_hash(mock_call *call, const mock_value *name, const char *hash,
                                  size_t hash_n, const char *otp)
{
    const mock_config *cfg = &call->srv->cfg;
    int alist = cfg->profile == MOCK_PROFILE_ALIST;
    /* model.InvalidUsernameOrPassword hides which of the two was wrong; AList tells. */
    static const char invalid[] = "Invalid username or password";
    char key[KEY_MAX];
    client_key(call->c, key);
    int count = lock_check(key, cfg->login_lock);
    if (count < 0)
        return mock_call_answer(call, MHD_HTTP_OK, 429, too_many, NULL);
    const mock_user *u;
    mock_login_verdict lv = mock_user_login(cfg, name->s, name->n, hash, hash_n, &u);
    if (lv == MOCK_LOGIN_NO_USER) {
        lock_set(key, count + 1);
        return alist ? mock_call_answer(call, MHD_HTTP_OK, 400,
                                        "failed find user: record not found", NULL)
                     : mock_call_answer(call, MHD_HTTP_OK, 401, invalid, NULL);
    }
    if (lv != MOCK_LOGIN_OK) {
        const char *bad = lv == MOCK_LOGIN_EMPTY ? "password is empty" : "password is incorrect";
        lock_set(key, count + 1);
        return mock_call_answer(call, MHD_HTTP_OK, alist ? 400 : 401, alist ? bad : invalid, NULL);
    }
    if (u->otp_len > 0 && !mock_totp_validate(u->otp_key, u->otp_len, otp, (uint64_t)time(NULL))) {
        lock_set(key, count + 1);
        return mock_call_answer(call, MHD_HTTP_OK, 402, "Invalid 2FA code", NULL);
    }
    char tok[MOCK_JWT_MAX];
    if (mock_auth_issue(cfg, u, tok, sizeof tok) < 0)
        return mock_call_answer(call, MHD_HTTP_OK, alist ? 400 : 500, "cannot sign the token",
                                NULL);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "token", tok);
    OPENSSL_cleanse(tok, sizeof tok);
    lock_clear(key);
    return mock_call_answer(call, MHD_HTTP_OK, 200, "success", data);
}

/* handles.Login: the password comes in plain and the server hashes it. */
enum MHD_Result mock_route_login(mock_call *call)
{
    mock_value v[3];
    enum MHD_Result r;
    char hash[65];
    if (mock_call_bind(call, &login_req, v, &r) < 0)
        return r;
    if (mock_static_hash(v[1].s, strlen(v[1].s), hash) < 0)
        return mock_call_answer(call, MHD_HTTP_OK, 500, "cannot hash the password", NULL);
    /* Go hashes a password's every byte, a NUL from \u0000 and what follows it too, which gives
     * the hash of no user's password (those are C strings): a length no hash has stands for it. */
    return login_hash(call, &v[0], hash, strlen(v[1].s) == v[1].n ? 64 : 65, v[2].s);
}

/* handles.LoginHash: the client sends the static hash. */
enum MHD_Result mock_route_login_hash(mock_call *call)
{
    mock_value v[3];
    enum MHD_Result r;
    if (mock_call_bind(call, &login_req, v, &r) < 0)
        return r;
    return login_hash(call, &v[0], v[1].s, v[1].n, v[2].s);
}

/* handles.LogOut, behind Auth(false): the token it was called with is forgotten. */
enum MHD_Result mock_route_logout(mock_call *call)
{
    const char *tok = mock_header(call->c, MHD_HTTP_HEADER_AUTHORIZATION);
    mock_auth_revoke(tok != NULL ? tok : "");
    return mock_call_answer(call, MHD_HTTP_OK, 200, "success", NULL);
}

/*
 * handles.CurrentUser: model.User's JSON fields in their order with the password emptied, and
 * "otp". AList v3.45.0's User has no AllowLdap.
 */
enum MHD_Result mock_route_me(mock_call *call)
{
    const mock_user *u = call->who.user;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "id", u->id);
    cJSON_AddStringToObject(d, "username", u->name);
    cJSON_AddStringToObject(d, "password", "");
    cJSON_AddStringToObject(d, "base_path", "/");
    cJSON_AddNumberToObject(d, "role", u->role);
    cJSON_AddBoolToObject(d, "disabled", u->disabled);
    cJSON_AddNumberToObject(d, "permission", u->perm);
    cJSON_AddStringToObject(d, "sso_id", "");
    if (call->srv->cfg.profile != MOCK_PROFILE_ALIST)
        cJSON_AddBoolToObject(d, "allow_ldap", 1); /* gorm:"default:true" */
    cJSON_AddBoolToObject(d, "otp", u->otp_len > 0);
    return mock_call_answer(call, MHD_HTTP_OK, 200, "success", d);
}
