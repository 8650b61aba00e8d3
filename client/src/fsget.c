/*
 * Asking the server what it holds at a remote path: POST .../api/fs/get {"path"} (OpenList
 * server/handles/fsread.go, FsGet), over the connection the uploads keep, so that a batch that
 * looks before each upload still uses one connection.
 */
#include "exchange.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* OpenList answers a missing path with code 500 and the driver's ErrObjectNotFound wrapped by
 * op.Get ("failed to get obj: object not found", fsread.go:299-305). */
int sp__fs_get_not_found(int rc, const sp_result *res)
{
    static const char tail[] = "object not found";
    size_t n = strlen(res->message), k = sizeof tail - 1;
    return rc == SP_EAPI && res->has_code && res->code == 500 && n >= k &&
           strcmp(res->message + n - k, tail) == 0;
}

/* One exchange of req over cn, which it opens if it is closed; cn stays open after a clean one. */
static int exchange(sp_client *c, const sp_url *u, sp__conn *cn, const char *req, size_t len,
                    int64_t deadline, sp_result *res)
{
    sp_body_info b = {.size = SP_SIZE_UNKNOWN, .mtime_ms = -1};
    sp__exchange *x = sp__ex_new(c, u, &b, res, deadline);
    int rc;
    if (x == NULL)
        return SP_ENOMEM;
    if (cn->fd < 0 && (rc = sp__conn_open_for(cn, c, u, x)) != SP_OK)
        goto out;
    rc = sp__ex_run(x, cn, req, len, -1, 0);
    if (!(rc == SP_OK || rc == SP_EAPI) || !sp__ex_keep_alive(x))
        sp__conn_close(cn);
out:
    sp__ex_free(x);
    return rc;
}

int sp__fs_get(sp_client *c, const sp_url *u, const sp_url *login, const char *remote,
               int64_t deadline, sp_result *res, int *found)
{
    sp__conn cn = {.fd = -1};
    sp_url gu;
    char *json = NULL, *req = NULL;
    size_t cap = 0;
    int rc, len;

    *found = 0;
    if ((rc = sp__url_route(c, u, "/api/fs/get", NULL, &gu)) != SP_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddItemToObject(o, "path", cJSON_CreateStringReference(remote)) ||
        (json = cJSON_PrintUnformatted(o)) == NULL) {
        cJSON_Delete(o);
        return sp__fail(c, SP_ENOMEM, errno, "fs/get: build the request");
    }
    cJSON_Delete(o);
    for (int relogged = 0;; relogged = 1) {
        if (login != NULL && c->login_token == NULL &&
            (rc = sp__login_run(c, login, &cn, SP_SIZE_UNKNOWN, deadline, res)) != SP_OK)
            goto out;
        /* The token may have changed with a login: the request is built anew each time. */
        if (req != NULL)
            sp__wipe(req, cap);
        free(req);
        cap = sp__json_post_size(c, &gu, strlen(json));
        if ((req = malloc(cap)) == NULL) {
            rc = sp__fail(c, SP_ENOMEM, errno, "fs/get: allocate the request");
            goto out;
        }
        if ((len = sp__build_json_post(c, &gu, json, req, cap)) < 0) {
            rc = sp__fail(c, SP_EINVAL, 0, "fs/get: request too large");
            goto out;
        }
        int kept = cn.fd < 0 && sp__conn_take_idle(c, &gu, &cn);
        if (kept)
            sp__debug(c, SP_DEBUG_INFO, "Re-using the connection to %s", cn.addr);
        rc = exchange(c, &gu, &cn, req, (size_t)len, deadline, res);
        /* A kept connection the server closed while it lay idle: once more on a new one, which
         * a lookup, changing nothing, can always be. */
        if (kept && (rc == SP_ESEND || rc == SP_ERECV) && res->response_bytes == 0) {
            sp__debug(c, SP_DEBUG_INFO,
                      "the server had closed the kept connection (%s); asking on a new one",
                      c->errmsg);
            sp__conn_close(&cn);
            rc = exchange(c, &gu, &cn, req, (size_t)len, deadline, res);
        }
        if (relogged || !sp__token_refused(c, rc, res))
            break;
        sp__free_secret(&c->login_token); /* expired or invalidated: one fresh login */
    }
    if (sp__fs_get_not_found(rc, res))
        rc = SP_OK;
    else if (rc == SP_OK)
        *found = 1;
    if (cn.fd >= 0)
        sp__conn_park(c, &gu, &cn);
out:
    sp__conn_close(&cn);
    if (req != NULL)
        sp__wipe(req, cap); /* it holds the token */
    free(req);
    cJSON_free(json);
    return rc;
}
