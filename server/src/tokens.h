/*
 * The tokens the mock has issued (tokens.c), as OpenList's common/auth.go validTokenCache keeps
 * them: a token is good while it is on the list, unexpired and active. Pure (no libmicrohttpd,
 * no clock of its own), so that a fuzz target can drive the check every route makes first.
 */
#ifndef MOCK_TOKENS_H
#define MOCK_TOKENS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The most tokens a list remembers as issued; past it, the oldest is forgotten. */
#define MOCK_TOKENS_MAX 10000

typedef struct mock_token {
    unsigned char digest[32]; /* SHA-256 of the token */
    const mock_user *user;    /* whom its username claim names */
    int64_t iat, exp;         /* its iat (= nbf) and exp claims */
    int used;
} mock_token;

/* A ring of MOCK_TOKENS_MAX slots, so memory stays fixed however many logins a run sees. */
typedef struct mock_tokens {
    pthread_mutex_t mu;
    mock_token slot[MOCK_TOKENS_MAX];
    size_t next;  /* the slot the next token takes: the oldest */
    size_t count; /* slots filled so far, up to MOCK_TOKENS_MAX */
} mock_tokens;

/* A list as static storage starts it: empty. */
#define MOCK_TOKENS_INIT                                                                           \
    {                                                                                              \
        .mu = PTHREAD_MUTEX_INITIALIZER                                                            \
    }

/* Empties l (for a list not in use by another thread). */
void mock_tokens_clear(mock_tokens *l);

/* Remembers tok, issued for u with claims iat and exp (seconds). Returns 0 or -1. */
int mock_tokens_add(mock_tokens *l, const char *tok, const mock_user *u, int64_t iat, int64_t exp);

/* common.InvalidateToken: forgets tok ("" and unknown tokens change nothing). */
void mock_tokens_revoke(mock_tokens *l, const char *tok);

/*
 * common.ParseToken for a token that is not the static one, at now_ns (wall clock,
 * nanoseconds): 0 with *u the user it names, or -1 with *u NULL and its message in *msg.
 */
int mock_tokens_check(mock_tokens *l, const char *tok, int64_t now_ns, const mock_user **u,
                      const char **msg);

#endif
