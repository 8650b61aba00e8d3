/*
 * The mock's users table (users.c), built from --user, --users-file and --otp-secret as
 * OpenList's database would hold it: the admin (id 1), the guest (id 2), then every other user.
 * Pure: no libmicrohttpd, libcrypto for the hashes only.
 */
#ifndef MOCK_USERS_H
#define MOCK_USERS_H

#include <stddef.h>

#include "config.h"

/* The most users --user and --users-file may give together. */
#define MOCK_USERS_MAX 10000

/* The permission bits of a user other than admin and guest: mkdir and upload (3), remove (7). */
#define MOCK_PERM_GENERAL (MOCK_PERM_WRITE | MOCK_PERM_REMOVE)

/*
 * OpenList's model.StaticHash: hex(sha256(pw + "-https://github.com/alist-org/alist")), lower
 * case, into out. Returns 0 or -1.
 */
int mock_static_hash(const char *pw, size_t n, char out[65]);

/*
 * Adds the user spec "NAME:PASSWORD" (split at the first ':'); "admin" sets the admin's
 * password. Returns 0, or -1 with why in err (which never quotes the password).
 */
int mock_users_add(mock_config *cfg, const char *spec, char *err, size_t errsz);

/* Adds every "NAME:PASSWORD" line of the file at path ('#' lines and blank lines skipped). */
int mock_users_file(mock_config *cfg, const char *path, char *err, size_t errsz);

/* Gives the user of the spec "NAME:BASE32" a TOTP secret. */
int mock_users_otp(mock_config *cfg, const char *spec, char *err, size_t errsz);

/*
 * Completes the table once every option is in: ids, roles, the profile's permissions, and the
 * guest disabled when --token or a user was given. Returns 0, or -1 with why in err.
 */
int mock_users_finish(mock_config *cfg, char *err, size_t errsz);

/* The user named name (exact bytes, as OpenList's database lookup), or NULL. */
const mock_user *mock_user_find(const mock_config *cfg, const char *name);

/* What a login's name and password's static hash come to (mock_user_login). */
typedef enum mock_login_verdict {
    MOCK_LOGIN_OK = 0,
    MOCK_LOGIN_NO_USER, /* no user of that name */
    MOCK_LOGIN_EMPTY,   /* errs.EmptyPassword: "password is empty" */
    MOCK_LOGIN_WRONG,   /* errs.WrongPassword: "password is incorrect" */
} mock_login_verdict;

/*
 * handles.loginHash's checks of a bound LoginReq: the user named name (name_n bytes) and
 * User.ValidatePwdStaticHash of hash (hash_n bytes). The lengths count a NUL that JSON's \u0000
 * put inside, which makes a name no user has and a hash no password gives, as in Go. *u is the
 * user found, or NULL.
 */
mock_login_verdict mock_user_login(const mock_config *cfg, const char *name, size_t name_n,
                                   const char *hash, size_t hash_n, const mock_user **u);

#endif
