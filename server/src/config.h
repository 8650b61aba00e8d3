/*
 * The mock's configuration: what option parsing fills once and every part reads afterwards.
 * Plain data, no libmicrohttpd, so pure modules can name a profile.
 */
#ifndef MOCK_CONFIG_H
#define MOCK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "totp.h"

/*
 * Temp files are named this prefix + 16 lower-case hex digits, so start-up can recognise stale
 * ones. No client may name a path component with the prefix (mock_file_path refuses it), so
 * nothing but the mock's own temp files can ever carry it.
 */
#define MOCK_TMP_PREFIX ".streamput-tmp."

/*
 * Which server's rules to follow where AList and OpenList differ. MOCK_PROFILE_ALIST means
 * AList v3.45.0, the last release before the OpenList fork, and no later AList.
 */
typedef enum mock_profile {
    MOCK_PROFILE_OPENLIST = 0,
    MOCK_PROFILE_ALIST,
} mock_profile;

typedef enum mock_log_format {
    MOCK_LOG_TEXT = 0,
    MOCK_LOG_JSON,
} mock_log_format;

/* The longest user name the mock takes, in bytes. */
#define MOCK_USER_NAME_MAX 64

/* The permission bits the routes check (OpenList's internal/model/user.go). */
#define MOCK_PERM_WRITE       (1u << 3) /* mkdir and upload: CanWriteContent */
#define MOCK_PERM_REMOVE      (1u << 7) /* CanRemove */
#define MOCK_PERM_ADMIN       0x71FFu   /* what OpenList gives its admin user */
#define MOCK_PERM_ADMIN_ALIST 0x30FFu   /* what AList v3.45.0 gives it */

/* OpenList's roles (internal/model/user.go): model.GENERAL, GUEST, ADMIN. */
enum { MOCK_ROLE_GENERAL = 0, MOCK_ROLE_GUEST = 1, MOCK_ROLE_ADMIN = 2 };

/*
 * A user as OpenList's users table holds one. Only the static hash of a password is kept (what
 * /api/auth/login/hash compares), never the password itself.
 */
typedef struct mock_user {
    char name[MOCK_USER_NAME_MAX + 1];
    unsigned id;
    int role;
    unsigned perm; /* the permission bits, MOCK_PERM_* */
    int disabled;
    int64_t pwd_ts;   /* what OpenList stamps when a password is set; tokens carry it */
    int has_password; /* 0: no password logs in (the admin without --user admin:...) */
    char static_hash[65];
    size_t otp_len; /* 0: no 2FA */
    unsigned char otp_key[MOCK_OTP_KEY_MAX];
} mock_user;

/* The server-wide configuration, filled once by option parsing and read-only afterwards. */
typedef struct mock_config {
    const char *listen; /* HOST:PORT */
    const char *root;   /* directory that receives uploads */
    const char *token;  /* the static admin token, NULL if none */
    size_t token_len;
    mock_user *users; /* [0] admin, [1] guest, then --user's in order; see users.h */
    size_t nusers;
    int auth_on;               /* --token or a user given: the guest is disabled */
    unsigned login_lock;       /* seconds a locked-out client waits after its last try */
    uint64_t token_expires_ms; /* a token's lifetime */
    mock_profile profile;
    uint64_t max_body; /* 0: unlimited */
    int fsync;
    int verify_hash;
    int strict;
    size_t journal;         /* most entries the request journal keeps */
    uint64_t journal_bytes; /* most bytes the request journal keeps */
    mock_log_format log_format;
    const char *fault_spec; /* --fault, NULL if none */
    mock_fault fault;
    int allow_fault_header;
    unsigned max_connections;
    unsigned idle_timeout;    /* seconds, 0: none */
    unsigned header_timeout;  /* seconds for a request head to arrive, 0: none */
    uint64_t body_min_rate;   /* bytes per second a body must keep up after the grace, 0: none */
    unsigned body_grace;      /* seconds a body may take before the rate applies */
    const char *tls_cert;     /* --tls-cert PEM file, NULL: none */
    const char *tls_key;      /* --tls-key PEM file, NULL: none */
    int tls_self_signed;      /* generate a key and certificate at start */
    const char *tls_cert_out; /* where --tls-self-signed writes its certificate, NULL: nowhere */
    int no_sign;              /* /d and /p need no sign, fs/get and fs/list give none */
    /* OpenList's resumable multipart upload (multipart.c). */
    int no_multipart;        /* setting multipart_enabled off: init answers 403 */
    uint64_t mp_chunk_size;  /* setting multipart_chunk_size in bytes: the chunks' ceiling */
    unsigned mp_expiry;      /* seconds a session lives after its last request */
    unsigned mp_window_wait; /* seconds a chunk ahead of the window waits before its 429 */
} mock_config;

/* The most bytes of the key that signs /d and /p links when it is not --token (sign.c). */
#define MOCK_SIGN_KEY_RANDOM 32

/* The running server: configuration plus the root directory fd everything is resolved against. */
typedef struct mock_server {
    mock_config cfg;
    int rootfd;
    const unsigned char *sign_key; /* the HMAC key of the signs: --token, else sign_random */
    size_t sign_key_len;
    unsigned char sign_random[MOCK_SIGN_KEY_RANDOM];
} mock_server;

#endif
