/*
 * One upload attempt: build the request head, open a connection, run one exchange over it, and
 * close the connection. The exchange does not own the connection; this attempt does, and closes
 * it whatever the outcome, since an upload that failed leaves the stream in an unknown state.
 */
#include "exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sp__transfer(sp_client *c, const sp_url *u, int fd, const sp_body_info *b, int regular,
                 int64_t deadline, sp_result *res)
{
    sp__exchange *x = sp__ex_new(c, u, b, res, deadline);
    char *head = NULL;
    sp__conn cn = {.fd = -1};
    int rc;

    if (x == NULL)
        return SP_ENOMEM;
    size_t cap = 4096 + strlen(u->target) + (c->remote_path ? strlen(c->remote_path) : 0) +
                 (c->token ? strlen(c->token) : 0) +
                 (c->content_type ? strlen(c->content_type) : 0);
    for (size_t i = 0; i < c->nheaders; i++)
        cap += strlen(c->headers[i]) + 2;
    if ((head = malloc(cap)) == NULL) {
        rc = sp__fail(c, SP_ENOMEM, errno, "allocate request head");
        goto out;
    }
    int hlen = sp__build_request(c, u, b, head, cap);
    if (hlen < 0) {
        rc = sp__fail(c, SP_EINVAL, 0, "request head too large");
        goto out;
    }
    sp__waiter w = sp__ex_waiter(x);
    const sp__transport *t = &sp__tcp_transport;
#ifdef SP_HAVE_TLS
    if (u->tls)
        t = &sp__tls_transport;
#endif
    if ((rc = sp__conn_open(&cn, c, u, t, &w)) != SP_OK)
        goto out;
    rc = sp__ex_run(x, &cn, head, (size_t)hlen, fd, regular);
out:
    sp__conn_close(&cn);
    free(head);
    sp__ex_free(x);
    return rc;
}
