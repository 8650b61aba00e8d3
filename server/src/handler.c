/*
 * Routing and the life of one request. MHD calls the access handler once with the headers,
 * once per body piece, and once more at the end; mock_completed() runs when the connection is
 * done with the request, however it ended, and is where the journal entry is finished and any
 * temp file of an aborted upload is removed.
 */
#include "handler.h"
#include "api.h"
#include "dashboard.h"
#include "download.h"
#include "fsapi.h"
#include "journal.h"
#include "login.h"
#include "multipart.h"
#include "respond.h"
#include "upload.h"
#include "watchdog.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum mock_kind {
    MOCK_KIND_NONE = 0, /* unknown: HTTP 404 with a JSON body */
    MOCK_KIND_PUT,      /* an upload streamed as the body */
    MOCK_KIND_FORM,     /* an upload as multipart/form-data */
    MOCK_KIND_PING,
    MOCK_KIND_JOURNAL,
    MOCK_KIND_CALL,      /* a route function, run once its small body is in (api.h) */
    MOCK_KIND_DOWNLOAD,  /* a call whose answer is a file streamed from disk (download.c) */
    MOCK_KIND_MULTIPART, /* a resumable multipart upload's route (multipart.c) */
    MOCK_KIND_DASHBOARD, /* the dashboard's page, state and event stream (dashboard.c) */
} mock_kind;

/* A route: method ("*" for gin's g.Any), path (a prefix when it ends in '/'), what serves it. */
typedef struct mock_route {
    const char *method;
    const char *path;
    mock_kind kind;
    mock_call_fn fn;     /* MOCK_KIND_CALL */
    mock_auth_mode auth; /* how the token is checked before fn runs */
} mock_route;

static const mock_route routes[] = {
    /* The uploads check the token themselves, in AList's order of checks. */
    {"PUT", "/api/fs/put", MOCK_KIND_PUT, NULL, MOCK_AUTH_NONE},
    {"PUT", "/api/fs/form", MOCK_KIND_FORM, NULL, MOCK_AUTH_NONE},
    {"POST", "/api/auth/login", MOCK_KIND_CALL, mock_route_login, MOCK_AUTH_NONE},
    {"POST", "/api/auth/login/hash", MOCK_KIND_CALL, mock_route_login_hash, MOCK_AUTH_NONE},
    {"GET", "/api/auth/logout", MOCK_KIND_CALL, mock_route_logout, MOCK_AUTH_REQUIRE},
    {"GET", "/api/me", MOCK_KIND_CALL, mock_route_me, MOCK_AUTH_REQUIRE},
    {"*", "/ping", MOCK_KIND_PING, NULL, MOCK_AUTH_NONE},
    /* OpenList's fs routes (server/router.go:106-107, 194-212): list and get take any method
     * and let a disabled guest reach the handler, which refuses it after binding. */
    {"*", "/api/fs/get", MOCK_KIND_CALL, mock_fs_get, MOCK_AUTH_LET_GUEST},
    {"*", "/api/fs/list", MOCK_KIND_CALL, mock_fs_list, MOCK_AUTH_LET_GUEST},
    {"POST", "/api/fs/mkdir", MOCK_KIND_CALL, mock_fs_mkdir, MOCK_AUTH_REQUIRE},
    {"POST", "/api/fs/remove", MOCK_KIND_CALL, mock_fs_remove_route, MOCK_AUTH_REQUIRE},
    /* server/router.go:217-223; multipart.c checks the token itself, before the head's body. */
    {"POST", "/api/fs/multipart/init", MOCK_KIND_MULTIPART, NULL, MOCK_AUTH_NONE},
    {"PUT", "/api/fs/multipart/chunk", MOCK_KIND_MULTIPART, NULL, MOCK_AUTH_NONE},
    {"POST", "/api/fs/multipart/complete", MOCK_KIND_MULTIPART, NULL, MOCK_AUTH_NONE},
    {"GET", "/api/fs/multipart/status", MOCK_KIND_MULTIPART, NULL, MOCK_AUTH_NONE},
    {"POST", "/api/fs/multipart/abort", MOCK_KIND_MULTIPART, NULL, MOCK_AUTH_NONE},
    /* Downloads check a sign, not a token (server/router.go:49-52). */
    {"GET", "/d/", MOCK_KIND_DOWNLOAD, mock_download, MOCK_AUTH_NONE},
    {"HEAD", "/d/", MOCK_KIND_DOWNLOAD, mock_download, MOCK_AUTH_NONE},
    {"GET", "/p/", MOCK_KIND_DOWNLOAD, mock_download, MOCK_AUTH_NONE},
    {"HEAD", "/p/", MOCK_KIND_DOWNLOAD, mock_download, MOCK_AUTH_NONE},
    {"GET", "/_mock/requests", MOCK_KIND_JOURNAL, NULL, MOCK_AUTH_NONE},
    {"DELETE", "/_mock/requests", MOCK_KIND_JOURNAL, NULL, MOCK_AUTH_NONE},
    /* No token, as for the journal: the mock's own namespace is for the developer's eyes. */
    {"GET", "/_mock/", MOCK_KIND_DASHBOARD, NULL, MOCK_AUTH_NONE},
    {"GET", "/_mock/state", MOCK_KIND_DASHBOARD, NULL, MOCK_AUTH_NONE},
    {"GET", "/_mock/events", MOCK_KIND_DASHBOARD, NULL, MOCK_AUTH_NONE},
};

static const mock_route no_route = {"*", "", MOCK_KIND_NONE, NULL, MOCK_AUTH_NONE};

/*
 * Per-request state, allocated on the first handler call and freed by mock_completed(). An
 * upload's own state is upload.c's: the request holds it, and asks it only through its functions.
 */
typedef struct mock_req {
    mock_server *srv;
    const mock_route *route;
    int64_t t0;        /* sp__now_ms() at the first call */
    mock_entry *entry; /* the journal entry, NULL for requests that are not journaled */
    mock_answer ans;   /* what the request was answered, as the journal records it */
    uint64_t drained;  /* body bytes discarded because the request had answered already */
    mock_upload *up;   /* the upload, NULL on every other route */
    mock_mp_req *mp;   /* a multipart route's request, NULL on every other route */
    char *body;        /* a call's body so far (malloc'd, NUL-terminated), NULL before any */
    size_t body_len;
    int body_over; /* the call's body passed MOCK_CALL_BODY_MAX (or memory ran out) */
    mock_who who;  /* whom the token named, on a call that checks it (name NULL otherwise) */
} mock_req;

static const mock_route *route_of(const char *method, const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const mock_route *r = &routes[i];
        size_t n = strlen(r->path);
        /* The dashboard's page is the one exact path that ends in '/'. */
        int prefix = r->path[n - 1] == '/' && r->kind != MOCK_KIND_DASHBOARD;
        if ((strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0) &&
            (prefix ? strncmp(url, r->path, n) == 0 : strcmp(url, r->path) == 0))
            return r;
    }
    return &no_route;
}

/* 1 if MHD itself queued an answer (its error page) for the request c was ending. */
static int mhd_answered(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    return ci != NULL && ci->http_status != 0;
}

/* Why a request ended without an answer, for the journal. */
static void unanswered(mock_req *rq, struct MHD_Connection *c, enum MHD_RequestTerminationCode toe,
                       char *out, size_t n)
{
    unsigned long long got =
        (unsigned long long)(mock_upload_received(rq->up) + mock_mp_received(rq->mp) + rq->drained);
    if (mock_watchdog_why(c, out, n) || mock_upload_why(rq->up, out, n) ||
        mock_mp_why(rq->mp, out, n))
        return;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
        snprintf(out, n, "idle timeout after %llu body bytes; nothing stored", got);
    else if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
        snprintf(out, n, "server shut down after %llu body bytes; nothing stored", got);
    else if (toe == MHD_REQUEST_TERMINATED_WITH_ERROR && mhd_answered(c))
        /* MHD ends a request this way when the client broke HTTP (bad chunk framing, a chunk
         * size that overflows) and answers it with its own error page, not with JSON. */
        snprintf(out, n,
                 "malformed request (e.g. bad chunked framing), refused by the HTTP layer after "
                 "%llu body bytes; nothing stored",
                 got);
    else if (toe == MHD_REQUEST_TERMINATED_WITH_ERROR &&
             MHD_get_connection_info(c, MHD_CONNECTION_INFO_PROTOCOL) != NULL)
        /* ... and, unanswered, when GnuTLS refused what the client sent: a renegotiation, a
         * flood of KeyUpdates, a record that does not decrypt. */
        snprintf(out, n,
                 "TLS error (e.g. a refused renegotiation, too many KeyUpdates) after %llu body "
                 "bytes; nothing stored",
                 got);
    else if (toe == MHD_REQUEST_TERMINATED_WITH_ERROR)
        snprintf(out, n, "connection failed (socket error) after %llu body bytes; nothing stored",
                 got);
    else if (toe == MHD_REQUEST_TERMINATED_READ_ERROR)
        snprintf(out, n, "connection failed (read error) after %llu body bytes; nothing stored",
                 got);
    else
        snprintf(out, n, "client closed the connection after %llu body bytes; nothing stored", got);
}

/* Hands the request's outcome to its journal entry, which the journal then keeps. */
static void journal_outcome(mock_req *rq, struct MHD_Connection *c,
                            enum MHD_RequestTerminationCode toe)
{
    char why[256];
    mock_outcome o = {
        .stored_path = rq->mp != NULL ? mock_mp_path(rq->mp) : mock_upload_path(rq->up),
        .bytes_received =
            mock_upload_received(rq->up) + mock_mp_received(rq->mp) + rq->body_len + rq->drained,
        .multipart_suspected = mock_upload_multipart(rq->up),
        .http_status = rq->ans.http_status,
        .code = rq->ans.code,
        .message = rq->ans.msg,
        .stored = mock_upload_stored(rq->up) || mock_mp_stored(rq->mp),
        .duration_ms = sp__now_ms() - rq->t0,
        .user = rq->up != NULL   ? mock_upload_user(rq->up)
                : rq->mp != NULL ? mock_mp_user(rq->mp)
                                 : rq->who.name,
        .multipart = rq->mp != NULL,
        .upload_id = mock_mp_upload_id(rq->mp),
    };
    o.has_chunk = mock_mp_chunk(rq->mp, &o.chunk);
    if (rq->ans.http_status == 0) {
        unanswered(rq, c, toe, why, sizeof why);
        o.message = why;
    } else if (rq->route->kind == MOCK_KIND_DOWNLOAD &&
               toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        /* The answer was queued in full, but the connection ended before all of it was sent. */
        snprintf(why, sizeof why,
                 "%.150s; cut short: the connection ended before the whole answer "
                 "was sent",
                 rq->ans.msg);
        o.message = why;
    }
    mock_journal_add(rq->entry, &o);
    rq->entry = NULL;
}

/* Answers a route that has no body of interest, remembering the answer for the journal. */
static enum MHD_Result answer(mock_req *rq, struct MHD_Connection *c, unsigned status, int code,
                              const char *msg, cJSON *data)
{
    rq->ans.http_status = status;
    rq->ans.code = code;
    snprintf(rq->ans.msg, sizeof rq->ans.msg, "%s", msg);
    return mock_respond(c, status, code, msg, data, 0);
}

static enum MHD_Result first_call(mock_req *rq, struct MHD_Connection *c, const char *method,
                                  const char *url)
{
    char m[512];
    switch (rq->route->kind) {
    case MOCK_KIND_PUT:
    case MOCK_KIND_FORM:
        return mock_upload_begin(&rq->up, rq->srv, c, rq->route->kind == MOCK_KIND_FORM, rq->t0,
                                 &rq->ans);
    case MOCK_KIND_PING: {
        /* gin's c.String(200, "pong"): no newline. */
        rq->ans.http_status = MHD_HTTP_OK;
        rq->ans.code = 200;
        snprintf(rq->ans.msg, sizeof rq->ans.msg, "pong");
        return mock_respond_raw(c, MHD_HTTP_OK, strdup("pong"), "text/plain; charset=utf-8");
    }
    case MOCK_KIND_JOURNAL:
        if (strcmp(method, "DELETE") == 0) {
            mock_journal_clear();
            return mock_respond(c, MHD_HTTP_OK, 200, "success", NULL, 0);
        }
        return mock_journal_list(c);
    case MOCK_KIND_MULTIPART:
        return mock_mp_begin(&rq->mp, rq->srv, c, url, &rq->ans);
    case MOCK_KIND_DASHBOARD:
        return mock_dashboard_serve(rq->srv, c, url);
    case MOCK_KIND_CALL:
    case MOCK_KIND_DOWNLOAD:
        return MHD_YES; /* the route runs once the body is in */
    case MOCK_KIND_NONE:
        break;
    }
    /*
     * Real AList answers unknown routes with its web UI (HTML, status 200) and OpenList with an
     * empty 405 for other methods; a mock serves developers better with a plain JSON 404.
     */
    snprintf(m, sizeof m, "no route for %s %s", method, url);
    return answer(rq, c, MHD_HTTP_NOT_FOUND, 404, m, NULL);
}

/*
 * Keeps a piece of a call's body. Past MOCK_CALL_BODY_MAX the body is only counted: the call is
 * then refused once the body is over, so that memory stays bounded whatever a client sends.
 */
static void call_body(mock_req *rq, const char *data, size_t n)
{
    if (!rq->body_over && rq->body_len + n > MOCK_CALL_BODY_MAX)
        rq->body_over = 1;
    char *b = rq->body_over ? NULL : realloc(rq->body, rq->body_len + n + 1);
    if (b == NULL) {
        rq->body_over = 1;
        rq->drained += n;
        return;
    }
    memcpy(b + rq->body_len, data, n);
    rq->body = b;
    rq->body_len += n;
    b[rq->body_len] = '\0';
}

/* The body of a call is in: check the token where the route asks, then run it. */
static enum MHD_Result run_call(mock_req *rq, struct MHD_Connection *c, const char *method,
                                const char *url)
{
    mock_call call = {
        .srv = rq->srv,
        .c = c,
        .method = method,
        .url = url,
        .body = rq->body != NULL ? rq->body : "",
        .body_len = rq->body_len,
        .who = {.name = "guest", .user = &rq->srv->cfg.users[1]},
        .ans = &rq->ans,
    };
    if (rq->body_over) {
        char m[128];
        snprintf(m, sizeof m,
                 "request body larger than %d bytes, which no JSON route of this mock takes",
                 MOCK_CALL_BODY_MAX);
        return mock_call_answer(&call, MHD_HTTP_OK, 400, m, NULL);
    }
    if (rq->route->auth != MOCK_AUTH_NONE) {
        if (mock_auth_check(rq->srv, c, rq->route->auth, &call.who, &rq->ans) < 0)
            return mock_call_answer(&call, MHD_HTTP_OK, rq->ans.code, rq->ans.msg, NULL);
        rq->who = call.who;
    }
    enum MHD_Result r = rq->route->fn(&call);
    cJSON_Delete(call.bound);
    return r;
}

/* One call of the access handler: the first sets the request up, later ones take body pieces
 * and, with no piece, finish it. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
    mock_req *rq = *req_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        rq->srv = cls;
        rq->t0 = sp__now_ms();
        rq->route = route_of(method, url);
        /* The journal does not record reads of itself, nor the dashboard that shows it. */
        if (rq->route->kind != MOCK_KIND_JOURNAL && rq->route->kind != MOCK_KIND_DASHBOARD &&
            (rq->entry = mock_entry_new(c, method, url)) == NULL) {
            free(rq);
            return MHD_NO;
        }
        *req_cls = rq;
        return first_call(rq, c, method, url);
    }
    int upload = rq->up != NULL && rq->ans.http_status == 0;
    int mp = rq->mp != NULL && rq->ans.http_status == 0;
    int call = (rq->route->kind == MOCK_KIND_CALL || rq->route->kind == MOCK_KIND_DOWNLOAD) &&
               rq->ans.http_status == 0;
    if (*upload_data_size > 0) {
        if (upload)
            return mock_upload_body(rq->up, c, upload_data, upload_data_size);
        if (mp)
            return mock_mp_body(rq->mp, c, upload_data, upload_data_size);
        if (call)
            call_body(rq, upload_data, *upload_data_size);
        else
            /* A body sent to a route that has already answered is discarded. */
            rq->drained += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (upload)
        return mock_upload_finish(rq->up, c);
    if (mp)
        return mock_mp_finish(rq->mp, c);
    if (call)
        return run_call(rq, c, method, url);
    return MHD_YES;
}

/* 1 if the request has a body for MHD to read: chunked, or a Content-Length above 0. */
static int has_body(struct MHD_Connection *c)
{
    const char *cl = mock_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t n;
    return mock_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
           (cl != NULL && sp__parse_uint(cl, UINT64_MAX, &n) == 0 && n > 0);
}

/*
 * The access handler proper runs between mock_watchdog_enter and _leave, which tell the watchdog
 * how fast the client sends its body, leaving out the time the mock itself spends in here.
 */
enum MHD_Result mock_handle(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_data_size, void **req_cls)
{
    (void)version;
    int first = *req_cls == NULL;
    size_t offered = *upload_data_size;
    if (first)
        mock_watchdog_head_done(c, has_body(c)); /* the first call comes once the head is in */
    if (mock_watchdog_enter(c) < 0) {
        /* Cut for a body too slow: whatever the upload holds goes, nothing is stored. */
        mock_req *rq = *req_cls;
        if (rq != NULL)
            mock_upload_release(rq->up);
        mock_watchdog_leave(c, 0, 1);
        return MHD_NO;
    }
    enum MHD_Result r = handle(cls, c, url, method, upload_data, upload_data_size, req_cls);
    mock_watchdog_leave(c, offered - *upload_data_size, (!first && offered == 0) || r != MHD_YES);
    return r;
}

void mock_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe)
{
    mock_req *rq = *req_cls;
    (void)cls;
    mock_watchdog_rearm(c); /* a keep-alive connection's next head gets the full deadline */
    if (rq == NULL)
        return;
    /* A client that went away mid-body leaves a temp file behind: it must not survive. */
    mock_upload_release(rq->up);
    if (rq->entry != NULL)
        journal_outcome(rq, c, toe);
    mock_upload_free(rq->up);
    mock_mp_free(rq->mp);
    free(rq->body);
    free(rq);
    *req_cls = NULL;
}
