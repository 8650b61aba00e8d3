/*
 * The mock's configuration: what option parsing fills once and every part reads afterwards.
 * Plain data, no libmicrohttpd, so pure modules can name a profile.
 */
#ifndef MOCK_CONFIG_H
#define MOCK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "fault.h"

/*
 * Temp files are named this prefix + 16 lower-case hex digits, so start-up can recognise stale
 * ones. No client may name a path component with the prefix (mock_file_path refuses it), so
 * nothing but the mock's own temp files can ever carry it.
 */
#define MOCK_TMP_PREFIX ".streamput-tmp."

/* Which server's rules to follow where AList and OpenList differ. */
typedef enum mock_profile {
    MOCK_PROFILE_OPENLIST = 0,
    MOCK_PROFILE_ALIST,
} mock_profile;

typedef enum mock_log_format {
    MOCK_LOG_TEXT = 0,
    MOCK_LOG_JSON,
} mock_log_format;

/* The server-wide configuration, filled once by option parsing and read-only afterwards. */
typedef struct mock_config {
    const char *listen; /* HOST:PORT */
    const char *root;   /* directory that receives uploads */
    const char *token;  /* NULL: guest access allowed */
    size_t token_len;
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
