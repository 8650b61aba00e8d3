/*
 * Issued tokens are kept as OpenList keeps them, in an allow-list that only logout and a
 * restart empty (common/auth.go's validTokenCache has no TTL). Here it holds the SHA-256 of each
 * token with what its claims say; past MOCK_TOKENS_MAX the oldest token is forgotten and reads
 * as invalidated, as a logged-out one does. The list is asked first, so a token it does not hold
 * (malformed, foreign, forged, logged out, from an earlier run) is "token is invalidated"
 * whatever else is wrong with it; a token is on it only as the mock signed it.
 */
#include "tokens.h"

#include <openssl/evp.h>
#include <string.h>

static int digest_of(const char *tok, unsigned char out[32])
{
    unsigned n = 0;
    return EVP_Digest(tok, strlen(tok), out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

/* The slot holding the token of digest d, or NULL; the caller holds l->mu. */
static mock_token *find(mock_tokens *l, const unsigned char d[32])
{
    for (size_t k = 1; k <= l->count; k++) {
        mock_token *t = &l->slot[(l->next + MOCK_TOKENS_MAX - k) % MOCK_TOKENS_MAX];
        if (t->used && memcmp(t->digest, d, 32) == 0)
            return t;
    }
    return NULL;
}

void mock_tokens_clear(mock_tokens *l)
{
    memset(l->slot, 0, sizeof l->slot);
    l->next = l->count = 0;
}

int mock_tokens_add(mock_tokens *l, const char *tok, const mock_user *u, int64_t iat, int64_t exp)
{
    unsigned char d[32];
    if (digest_of(tok, d) < 0)
        return -1;
    pthread_mutex_lock(&l->mu);
    /* Two logins within a second give the same token, which the list holds once. */
    if (find(l, d) == NULL) {
        mock_token *t = &l->slot[l->next];
        l->next = (l->next + 1) % MOCK_TOKENS_MAX;
        if (l->count < MOCK_TOKENS_MAX)
            l->count++;
        *t = (mock_token){.user = u, .iat = iat, .exp = exp, .used = 1};
        memcpy(t->digest, d, sizeof d);
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void mock_tokens_revoke(mock_tokens *l, const char *tok)
{
    unsigned char d[32];
    if (*tok == '\0' || digest_of(tok, d) < 0)
        return;
    pthread_mutex_lock(&l->mu);
    mock_token *t = find(l, d);
    if (t != NULL)
        t->used = 0;
    pthread_mutex_unlock(&l->mu);
}

int mock_tokens_check(mock_tokens *l, const char *tok, int64_t now_ns, const mock_user **u,
                      const char **msg)
{
    unsigned char d[32];
    int64_t iat = 0, exp = 0;
    *u = NULL;
    if (digest_of(tok, d) == 0) {
        pthread_mutex_lock(&l->mu);
        const mock_token *t = find(l, d);
        if (t != NULL) {
            *u = t->user;
            iat = t->iat;
            exp = t->exp;
        }
        pthread_mutex_unlock(&l->mu);
    }
    if (*u == NULL) {
        *msg = "token is invalidated";
        return -1;
    }
    /* golang-jwt v4: exp holds while now < exp, nbf and iat once now >= them, no leeway. In
     * whole seconds rounded down, which compares as the nanoseconds do and cannot overflow. */
    int64_t now = now_ns / 1000000000 - (now_ns % 1000000000 < 0);
    if (now >= exp) {
        *u = NULL;
        *msg = "token is expired";
        return -1;
    }
    if (now < iat) {
        *u = NULL;
        *msg = "token not active yet"; /* nbf == iat: both fail together */
        return -1;
    }
    return 0;
}
