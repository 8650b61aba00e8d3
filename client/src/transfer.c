/*
 * One upload attempt: log in first if asked, build the request head, open a connection (or take
 * the login's, or the one the last upload to the same server left open), run one exchange over
 * it, and then keep the connection on the handle for the next upload if the answer left it fit
 * for another request, or close it. The exchange does not own the connection; this attempt
 * does, and closes it after any failure, since an upload that failed leaves the stream in an
 * unknown state.
 */
#include "exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Whether a failed exchange on a kept connection met a server that had closed it while it lay
 * idle, before this request: the stream ended or broke with no byte of an answer. The request
 * then goes again on a new connection, as curl does, and the attempt is not a failure. With
 * Overwrite: false and the whole body sent, a server that stored the file and then broke the
 * connection would refuse the second as existing, so that case stays the failure it is.
 */
static int stale(const sp_client *c, int rc, const sp_result *res)
{
    return (rc == SP_ESEND || rc == SP_ERECV) && res->http_status == 0 &&
           res->response_bytes == 0 && !(res->body_complete && sp__overwrite_off(c));
}

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
    /* Only a body that can be read again goes on a kept connection, since it may have to. */
    off_t start = regular ? lseek(fd, 0, SEEK_CUR) : -1;
    int kept = 0;
    if (cn.fd >= 0)
        sp__debug(c, SP_DEBUG_INFO, "Re-using the login's connection to %s", cn.addr);
    else if (start >= 0 && (kept = sp__conn_take_idle(c, u, &cn)) != 0)
        sp__debug(c, SP_DEBUG_INFO, "Re-using the connection to %s", cn.addr);
    else if ((rc = sp__conn_open_for(&cn, c, u, x)) != SP_OK)
        goto out;
    rc = sp__ex_run(x, &cn, head, (size_t)hlen, fd, regular);
    if (kept && stale(c, rc, res)) {
        sp__debug(c, SP_DEBUG_INFO,
                  "the server had closed the kept connection (%s); sending again on a new one",
                  c->errmsg);
        sp__conn_close(&cn);
        sp__ex_free(x);
        c->errmsg[0] = '\0';
        c->sys_errno = 0;
        if ((x = sp__ex_new(c, u, b, res, deadline)) == NULL) {
            rc = SP_ENOMEM;
            goto out;
        }
        if (lseek(fd, start, SEEK_SET) < 0) {
            rc = sp__fail(c, SP_EFILE, errno, "rewind input for a new connection");
            goto out;
        }
        if ((rc = sp__conn_open_for(&cn, c, u, x)) != SP_OK)
            goto out;
        rc = sp__ex_run(x, &cn, head, (size_t)hlen, fd, regular);
    }
    if (rc == SP_OK && sp__ex_keep_alive(x))
        sp__conn_park(c, u, &cn); /* out of memory: closed, and the next upload connects */
out:
    sp__conn_close(&cn);
    if (head != NULL)
        sp__wipe(head, cap); /* it holds the token */
    free(head);
    sp__ex_free(x);
    return rc;
}
