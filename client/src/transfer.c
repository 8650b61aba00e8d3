/*
 * One upload attempt: log in first if asked, build the request head, open a connection (or keep
 * the login's), run one exchange over it, and close the connection. The exchange does not own
 * the connection; this attempt does, and closes it whatever the outcome, since an upload that
 * failed leaves the stream in an unknown state.
 */
#include "exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sp__transfer(sp_client *c, const sp_url *u, const sp_url *login, int fd, const sp_body_info *b,
                 int regular, int64_t deadline, sp_result *res)
{
    sp__conn cn = {.fd = -1};
    sp__exchange *x = NULL;
    char *head = NULL;
    int rc;

    /* The login leaves its connection open when the upload can follow on it. */
    if (login != NULL && (rc = sp__login_run(c, login, &cn, b->size, deadline, res)) != SP_OK)
        return rc;
    if ((x = sp__ex_new(c, u, b, res, deadline)) == NULL) {
        rc = SP_ENOMEM;
        goto out;
    }
    size_t cap = sp__head_size(c, u);
    if ((head = malloc(cap)) == NULL) {
        rc = sp__fail(c, SP_ENOMEM, errno, "allocate request head");
        goto out;
    }
    int hlen = sp__build_request(c, u, b, head, cap);
    if (hlen < 0) {
        rc = sp__fail(c, SP_EINVAL, 0, "request head too large");
        goto out;
    }
    if (cn.fd >= 0)
        sp__debug(c, SP_DEBUG_INFO, "Re-using the login's connection to %s", cn.addr);
    else if ((rc = sp__conn_open_for(&cn, c, u, x)) != SP_OK)
        goto out;
    rc = sp__ex_run(x, &cn, head, (size_t)hlen, fd, regular);
out:
    sp__conn_close(&cn);
    if (head != NULL)
        sp__wipe(head, cap); /* it holds the token */
    free(head);
    sp__ex_free(x);
    return rc;
}
