/*
 * The token check every route makes first. The raw header is the token, with no "Bearer"
 * (OpenList's middlewares.Auth reads c.GetHeader("Authorization") as is). Without --token the
 * mock plays a server whose guest user may write, which is what a developer pointing a client
 * at it expects.
 */
#include "auth.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static void refuse(mock_answer *ans, int code, const char *msg)
{
    ans->code = code;
    snprintf(ans->msg, sizeof ans->msg, "%s", msg);
}

int mock_auth_check(const mock_server *srv, struct MHD_Connection *c, mock_auth_mode mode,
                    mock_who *who, mock_answer *ans)
{
    const mock_config *cfg = &srv->cfg;
    const char *tok = mock_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    /* The open mock's guest may do what an admin may. */
    *who = (mock_who){.name = "guest", .perm = MOCK_PERM_ADMIN};
    if (cfg->token == NULL)
        return 0;
    if (tok == NULL || *tok == '\0') {
        *who = (mock_who){.name = "guest", .disabled = 1};
        if (mode == MOCK_AUTH_LET_GUEST)
            return 0;
        refuse(ans, 401, "Guest user is disabled, login please");
        return -1;
    }
    size_t n = strlen(tok);
    /* The length is not secret (Go's ConstantTimeCompare leaks it as well). */
    if (n != cfg->token_len || CRYPTO_memcmp(tok, cfg->token, n) != 0) {
        refuse(ans, 401, "token is invalidated");
        return -1;
    }
    *who = (mock_who){.name = "admin", .admin = 1, .perm = MOCK_PERM_ADMIN};
    return 0;
}
