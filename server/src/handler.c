/*
 * Request handling: routing, AList's checks in AList's order, and the streaming upload itself.
 * MHD calls the handler once with the headers, once per body piece, and once more at the end;
 * each piece goes straight to the temp file, so no body is ever held in memory.
 */
#include "mock.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-request state, allocated on the first handler call and freed by mock_completed(). */
typedef struct mock_req {
    mock_store st;
    int code;      /* a deferred AList error code (0: none), answered once the body is drained */
    char msg[512]; /* its message */
    uint64_t received;
    char *path; /* the cleaned File-Path */
} mock_req;

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Sets the request's deferred error (the first one wins, as AList stops at its first check). */
static void fail(mock_req *rq, int code, const char *msg)
{
    if (rq->code != 0)
        return;
    rq->code = code;
    snprintf(rq->msg, sizeof rq->msg, "%s", msg);
}

/* AList's Auth middleware: the raw header, compared in constant time with the admin token. */
static void check_auth(const mock_server *srv, struct MHD_Connection *c, mock_req *rq)
{
    const char *tok = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    if (srv->cfg.token == NULL)
        return;
    if (tok == NULL || *tok == '\0') {
        fail(rq, 401, "Guest user is disabled, login please");
        return;
    }
    size_t n = strlen(tok);
    if (n != srv->cfg.token_len || CRYPTO_memcmp(tok, srv->cfg.token, n) != 0)
        fail(rq, 401, "token is invalidated");
}

/* Maps a storage failure to AList's code and message. */
static void fail_store(mock_req *rq, mock_store_err e, size_t failed_dir)
{
    char m[512];
    switch (e) {
    case MOCK_STORE_OK:
        return;
    case MOCK_STORE_ESCAPE:
        /* A symlink leading out of the root: AList would refuse access, errs.PermissionDenied. */
        fail(rq, 403, "permission denied");
        return;
    case MOCK_STORE_NOTDIR:
        /* op.Put's MakeDir failure text for a parent component that is a file. */
        snprintf(m, sizeof m, "failed to make dir [%.*s]: file exists", (int)failed_dir, rq->path);
        fail(rq, 500, m);
        return;
    case MOCK_STORE_EXISTS:
        fail(rq, 403, "file exists");
        return;
    case MOCK_STORE_IO:
        snprintf(m, sizeof m, "failed to put [%s]: %s", rq->path, strerror(errno));
        fail(rq, 500, m);
        return;
    }
}

/* First call for PUT /api/fs/put: every check AList makes before it reads the body. */
static void put_begin(mock_server *srv, struct MHD_Connection *c, mock_req *rq)
{
    check_auth(srv, c, rq);
    if (rq->code != 0)
        return;
    const char *raw = header(c, "File-Path");
    if (raw == NULL)
        raw = "";
    rq->path = malloc(strlen(raw) + 2);
    if (rq->path == NULL) {
        fail(rq, 500, "out of memory");
        return;
    }
    char m[256];
    int code = mock_file_path(raw, srv->cfg.profile, rq->path, m, sizeof m);
    if (code != 0) {
        fail(rq, code, m);
        return;
    }
    size_t failed_dir = 0;
    fail_store(rq, mock_store_begin(&rq->st, srv->rootfd, rq->path, &failed_dir), failed_dir);
}

static enum MHD_Result put_finish(mock_server *srv, struct MHD_Connection *c, mock_req *rq)
{
    (void)srv;
    if (rq->code == 0)
        fail_store(rq, mock_store_commit(&rq->st), 0);
    mock_store_abort(&rq->st);
    if (rq->code != 0)
        return mock_respond(c, MHD_HTTP_OK, rq->code, rq->msg, NULL, 0);
    return mock_respond(c, MHD_HTTP_OK, 200, "success", NULL, 0);
}

enum MHD_Result mock_handle(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_data_size, void **req_cls)
{
    mock_server *srv = cls;
    mock_req *rq = *req_cls;
    (void)version;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        mock_store_init(&rq->st);
        *req_cls = rq;
        if (strcmp(method, "PUT") != 0 || strcmp(url, "/api/fs/put") != 0) {
            char m[256];
            snprintf(m, sizeof m, "no route for %s %s", method, url);
            return mock_respond(c, MHD_HTTP_NOT_FOUND, 404, m, NULL, 1);
        }
        put_begin(srv, c, rq);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (rq->code == 0 && mock_store_write(&rq->st, upload_data, *upload_data_size) < 0) {
            char m[512];
            snprintf(m, sizeof m, "failed to write [%s]: %s", rq->path, strerror(errno));
            fail(rq, 500, m);
            mock_store_abort(&rq->st);
        }
        rq->received += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return put_finish(srv, c, rq);
}

void mock_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    mock_req *rq = *req_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (rq == NULL)
        return;
    /* A client that went away mid-body leaves a temp file behind: it must not survive. */
    mock_store_abort(&rq->st);
    free(rq->path);
    free(rq);
    *req_cls = NULL;
}
