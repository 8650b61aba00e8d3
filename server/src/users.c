/*
 * The users table. It is built while the options are parsed and read-only once the mock
 * serves, so lookups need no lock. Passwords pass through here only to be hashed: the caller
 * wipes its copy, and what a message quotes is at most the user's name.
 */
#include "users.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* model.StaticHashSalt, the same in OpenList and AList (internal/model/user.go). */
static const char static_salt[] = "-https://github.com/alist-org/alist";

int mock_static_hash(const char *pw, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, pw, n) == 1 &&
             EVP_DigestUpdate(ctx, static_salt, sizeof static_salt - 1) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* The admin and the guest, which OpenList's bootstrap creates before anyone logs in. */
static int ensure_table(mock_config *cfg)
{
    if (cfg->users != NULL)
        return 0;
    cfg->users = calloc(2, sizeof *cfg->users);
    if (cfg->users == NULL)
        return -1;
    snprintf(cfg->users[0].name, sizeof cfg->users[0].name, "admin");
    snprintf(cfg->users[1].name, sizeof cfg->users[1].name, "guest");
    cfg->nusers = 2;
    return 0;
}

const mock_user *mock_user_find(const mock_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nusers; i++)
        if (strcmp(cfg->users[i].name, name) == 0)
            return &cfg->users[i];
    return NULL;
}

mock_login_verdict mock_user_login(const mock_config *cfg, const char *name, size_t name_n,
                                   const char *hash, size_t hash_n, const mock_user **u)
{
    *u = strlen(name) == name_n ? mock_user_find(cfg, name) : NULL;
    if (*u == NULL)
        return MOCK_LOGIN_NO_USER;
    if (hash_n == 0)
        return MOCK_LOGIN_EMPTY;
    /* The comparison is exact: an upper-case hash is wrong, as it is for OpenList. */
    if (!(*u)->has_password || hash_n != 64 || strlen(hash) != 64 ||
        CRYPTO_memcmp(hash, (*u)->static_hash, 64) != 0)
        return MOCK_LOGIN_WRONG;
    return MOCK_LOGIN_OK;
}

/*
 * The entry for the user that spec, "NAME:VALUE" for option opt, names, made if new; *value is
 * what follows the ':'. Returns it, or NULL with why in err: no ':', a bad name, the guest, too
 * many users, no memory.
 */
static mock_user *entry(mock_config *cfg, const char *spec, const char *opt, const char *form,
                        const char **value, char *err, size_t errsz)
{
    const char *colon = strchr(spec, ':');
    if (colon == NULL) {
        snprintf(err, errsz, "%s needs %s", opt, form);
        return NULL;
    }
    size_t namelen = (size_t)(colon - spec);
    *value = colon + 1;
    if (namelen == 0 || namelen > MOCK_USER_NAME_MAX) {
        snprintf(err, errsz, "%s needs a user name of 1 to %d bytes", opt, MOCK_USER_NAME_MAX);
        return NULL;
    }
    for (size_t i = 0; i < namelen; i++)
        if ((unsigned char)spec[i] < 0x20 || spec[i] == 0x7f) {
            snprintf(err, errsz, "%s: a user name must not hold control characters", opt);
            return NULL;
        }
    char name[MOCK_USER_NAME_MAX + 1];
    memcpy(name, spec, namelen);
    name[namelen] = '\0';
    if (strcmp(name, "guest") == 0) {
        snprintf(err, errsz, "%s: guest is OpenList's guest user, which cannot be given here", opt);
        return NULL;
    }
    if (ensure_table(cfg) < 0)
        goto nomem;
    mock_user *u = (mock_user *)mock_user_find(cfg, name);
    if (u != NULL)
        return u;
    if (cfg->nusers >= MOCK_USERS_MAX) {
        snprintf(err, errsz, "more than %d users", MOCK_USERS_MAX);
        return NULL;
    }
    mock_user *t = realloc(cfg->users, (cfg->nusers + 1) * sizeof *t);
    if (t == NULL)
        goto nomem;
    cfg->users = t;
    u = &t[cfg->nusers++];
    memset(u, 0, sizeof *u);
    memcpy(u->name, name, namelen + 1);
    return u;
nomem:
    snprintf(err, errsz, "out of memory for the users");
    return NULL;
}

int mock_users_add(mock_config *cfg, const char *spec, char *err, size_t errsz)
{
    const char *pw;
    mock_user *u = entry(cfg, spec, "--user", "NAME:PASSWORD", &pw, err, errsz);
    if (u == NULL)
        return -1;
    if (u->has_password) {
        snprintf(err, errsz, "--user %s is given twice", u->name);
        return -1;
    }
    if (*pw == '\0') {
        snprintf(err, errsz, "--user %s needs a password after the ':'", u->name);
        return -1;
    }
    if (mock_static_hash(pw, strlen(pw), u->static_hash) < 0) {
        snprintf(err, errsz, "cannot hash the password of %s", u->name);
        return -1;
    }
    u->has_password = 1;
    cfg->auth_on = 1;
    return 0;
}

int mock_users_file(mock_config *cfg, const char *path, char *err, size_t errsz)
{
    char line[1024 + 3], why[256];
    int rc = 0;
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errsz, "--users-file %s: %s", path, strerror(errno));
        return -1;
    }
    cfg->auth_on = 1;
    for (unsigned no = 1; rc == 0 && fgets(line, sizeof line, f) != NULL; no++) {
        size_t n = strlen(line);
        int whole = n > 0 && line[n - 1] == '\n';
        if (!whole && !feof(f)) {
            snprintf(err, errsz, "--users-file %s line %u: longer than 1024 bytes", path, no);
            rc = -1;
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        if (mock_users_add(cfg, line, why, sizeof why) < 0) {
            snprintf(err, errsz, "--users-file %s line %u: %s", path, no, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errsz, "--users-file %s: read error", path);
        rc = -1;
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return rc;
}

int mock_users_otp(mock_config *cfg, const char *spec, char *err, size_t errsz)
{
    const char *b32;
    mock_user *u = entry(cfg, spec, "--otp-secret", "NAME:BASE32", &b32, err, errsz);
    if (u == NULL)
        return -1;
    if (u->otp_len > 0) {
        snprintf(err, errsz, "--otp-secret %s is given twice", u->name);
        return -1;
    }
    long n = mock_base32_decode(b32, u->otp_key, sizeof u->otp_key);
    if (n <= 0) {
        snprintf(err, errsz, "--otp-secret %s needs a base32 secret of 1 to %d bytes", u->name,
                 MOCK_OTP_KEY_MAX);
        return -1;
    }
    u->otp_len = (size_t)n;
    return 0;
}

int mock_users_finish(mock_config *cfg, char *err, size_t errsz)
{
    if (ensure_table(cfg) < 0) {
        snprintf(err, errsz, "out of memory for the users");
        return -1;
    }
    if (cfg->token != NULL)
        cfg->auth_on = 1;
    unsigned admin_perm =
        cfg->profile == MOCK_PROFILE_ALIST ? MOCK_PERM_ADMIN_ALIST : MOCK_PERM_ADMIN;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < cfg->nusers; i++) {
        mock_user *u = &cfg->users[i];
        if (u->otp_len > 0 && !u->has_password && i != 1) {
            snprintf(err, errsz, "--otp-secret %s: no --user %s gives it a password", u->name,
                     u->name);
            return -1;
        }
        u->id = (unsigned)i + 1;
        if (i == 0) {
            /* The bootstrap admin's password is set without SetPassword: pwd_ts stays 0. */
            u->role = MOCK_ROLE_ADMIN;
            u->perm = admin_perm;
        } else if (i == 1) {
            /* Created disabled with no permission and the password "guest"; the open mock's
             * guest may do what an admin may instead. */
            u->role = MOCK_ROLE_GUEST;
            u->disabled = cfg->auth_on;
            u->perm = cfg->auth_on ? 0 : admin_perm;
            u->has_password = mock_static_hash("guest", 5, u->static_hash) == 0;
        } else {
            /* A user the admin creates: SetPassword stamps pwd_ts. */
            u->role = MOCK_ROLE_GENERAL;
            u->perm = MOCK_PERM_GENERAL;
            u->pwd_ts = now;
        }
    }
    return 0;
}
