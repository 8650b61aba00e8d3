/*
 * OpenList's resumable multipart upload (server/handles/multipart.go, internal/multipart/
 * session.go and window.go at OpenList 0b1e9d09): the same checks in the same order, the same
 * messages and the same JSON bytes, over a storage of the mock's own.
 *
 * OpenList buffers up to 8 chunks in a ring file and feeds them in order to the storage driver,
 * which frees a slot as it reads past it. Here a chunk is written at its offset into one temp
 * file beside the target as its body arrives, which "consumes" it at once: the window's frontier
 * is the first chunk not yet wholly received, a chunk is admitted while it lies below frontier +
 * 8, and memory stays constant whatever the file's size, since a session keeps only its frontier
 * and two bytes of flags for the chunks above it. complete renames the temp file into place.
 *
 * One mutex guards every session, and one condition variable (on CLOCK_MONOTONIC) wakes the
 * chunks waiting for the window, the completes waiting for each other and the expiry thread.
 */
#include "multipart.h"
#include "apath.h"
#include "auth.h"
#include "events.h"
#include "gostr.h"
#include "journal.h"
#include "respond.h"
#include "sleep.h"
#include "storage.h"
#include "upload.h"
#include "window.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* How often the expiry thread looks, so a session's temp file is gone within this of expiry. */
#define MP_SWEEP_MS 200

/* net/http's maxPostHandlerReadBytes: the most of a body a handler left unread that Go's server
 * reads, to keep the connection, before it answers; past it, it answers at once and closes. */
#define GO_DISCARD_MAX (256 * 1024)

/* The longest X-File-* value a session keeps: SHA-512's hex digits. */
#define MP_HASH_MAX 128

/* The buffer complete digests the temp file through for --verify-hash. */
#define MP_HASH_BUFFER 65536

/* What a terminated session's chunk in flight learns (session.go errAborted, wrapping
 * context.Canceled as OpenList's sticky window error does). */
#define MP_ABORTED_ERR "multipart upload aborted: context canceled"

/* Manager.gc's cause, which the dashboard tells apart from an abort. */
#define MP_EXPIRED "multipart upload session expired"

typedef enum mp_route {
    MP_INIT = 0,
    MP_CHUNK,
    MP_COMPLETE,
    MP_STATUS,
    MP_ABORT,
} mp_route;

static const struct {
    const char *url;
    const char *method;
} mp_routes[] = {
    [MP_INIT] = {"/api/fs/multipart/init", "POST"},
    [MP_CHUNK] = {"/api/fs/multipart/chunk", "PUT"},
    [MP_COMPLETE] = {"/api/fs/multipart/complete", "POST"},
    [MP_STATUS] = {"/api/fs/multipart/status", "GET"},
    [MP_ABORT] = {"/api/fs/multipart/abort", "POST"},
};

/* multipart.State; failed_retriable, an attempt of the storage driver failing, has no cause in
 * the mock, whose chunk writes are its storage's. */
typedef enum mp_state {
    ST_RECEIVING = 0,
    ST_COMPLETED,
    ST_FAILED_PERMANENT,
    ST_ABORTED,
} mp_state;

static const char *const state_name[] = {
    [ST_RECEIVING] = "receiving",
    [ST_COMPLETED] = "completed",
    [ST_FAILED_PERMANENT] = "failed_permanent",
    [ST_ABORTED] = "aborted",
};

/* One session: OpenList's Session with its Window folded in. */
typedef struct mp_session {
    char id[37];
    char *path; /* the cleaned destination path (malloc'd); st.name points into it */
    const mock_user *owner;
    mock_window w; /* size, chunk size, chunks, and which are received */
    int overwrite;
    int has_mtime;
    int64_t mtime_ms;
    char *hash[MOCK_NHASH]; /* the X-File-* values init gave (malloc'd), NULL for none */
    mock_fault fault;       /* the chunk faults, counted here */
    mock_store st;          /* the temp file beside the target */

    mp_state state;
    char err[512];   /* the session's error, "" for none */
    int live;        /* in the table; a session out of it is freed with its last reference */
    int finishing;   /* a complete is verifying and renaming it, outside the lock */
    unsigned refs;   /* the requests that hold it, plus one for the table */
    double progress; /* storage_progress once the window is gone */
    int64_t last_ms; /* sp__now_ms() of the latest request: the sliding expiry */
    int64_t born_ms;
    uint32_t chunk_reqs; /* chunk requests so far, for chunk-busy */
    int fail_fired, reset_fired;
} mp_session;

struct mock_mp_req {
    const mock_server *srv;
    mock_answer *ans;
    mp_route route;
    mock_who who;
    int authed;
    char *path;      /* init: the cleaned File-Path (malloc'd) */
    char *upload_id; /* the id named, or the one init answered (malloc'd) */
    mp_session *s;   /* a session the request holds a reference to */
    cJSON *data;     /* a decided error's data (taken by the answer), NULL: null */
    int answer_now;  /* the answer goes before the body: Connection: close */
    int stored;
    int has_idx;
    int64_t idx;
    int claimed;          /* the chunk's place in the window is this request's */
    int64_t chunk_len;    /* its length */
    uint64_t got;         /* chunk bytes written (at most chunk_len) */
    int over;             /* the body went on past the chunk */
    int write_errno;      /* a write failed with this, 0: none */
    int fail_code;        /* a chunk-fail fault answers this after the body, 0: none */
    int64_t reset_at;     /* a chunk-reset fault cuts the connection at this body byte, -1: none */
    int reset;            /* it did */
    uint64_t received;    /* body bytes on the wire */
    uint64_t drain_limit; /* the chunk's answer goes once the body passes this, 0: never */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static mp_session *table[MOCK_MP_SESSIONS_MAX];
static const mock_server *server;
static int stopping;
static int sweeper_on;
static pthread_t sweeper;

/* ---- sessions (the caller holds mu unless said otherwise) ---- */

/*
 * The local driver's progress as utils.CopyWithCtx reports it: read bytes over size / 100 in
 * integer division, never reported (0) when size is below 100.
 */
static double progress_of(const mp_session *s)
{
    int64_t per = s->w.size / 100;
    return per > 0 ? (double)mock_window_consumed(&s->w) / (double)per : 0;
}

static void free_session(mp_session *s)
{
    mock_store_abort(&s->st);
    for (int i = 0; i < MOCK_NHASH; i++)
        free(s->hash[i]);
    free(s->path);
    free(s);
}

static void unref(mp_session *s)
{
    if (--s->refs == 0)
        free_session(s);
}

/* A deadline's wait on cv, or a plain one with deadline_ms 0. */
static void wait_until(int64_t deadline_ms)
{
    if (deadline_ms == 0) {
        pthread_cond_wait(&cv, &mu);
        return;
    }
    int64_t left = deadline_ms - sp__now_ms();
    if (left <= 0)
        return;
    struct timespec ts = mock_deadline_in((uint64_t)left);
    pthread_cond_timedwait(&cv, &mu, &ts);
}

static void publish(const mp_session *s, const char *change);

/*
 * Manager.terminate: the session leaves the table at once, a receiving one becomes aborted with
 * cause, its temp file is removed now (a writer still in flight writes on into the unlinked
 * file), its descriptors go with its last reference. A complete in progress is waited for, with
 * a reference of the wait's own: the complete ends a completed session itself and its request
 * may drop the last other reference before this wait has mu again.
 */
static void session_end(mp_session *s, const char *cause)
{
    s->refs++;
    while (s->finishing)
        wait_until(0);
    if (s->live) {
        for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX; i++)
            if (table[i] == s)
                table[i] = NULL;
        s->live = 0;
        if (s->state == ST_RECEIVING) {
            s->state = ST_ABORTED;
            snprintf(s->err, sizeof s->err, "%s", cause);
        }
        if (s->state != ST_COMPLETED)
            s->progress = progress_of(s);
        if (s->st.dirfd >= 0 && s->st.tmpname[0] != '\0')
            unlinkat(s->st.dirfd, s->st.tmpname, 0);
        s->st.tmpname[0] = '\0';
        publish(s, s->state == ST_COMPLETED         ? "completed"
                   : strcmp(cause, MP_EXPIRED) == 0 ? "expired"
                                                    : "aborted");
        pthread_cond_broadcast(&cv);
        s->refs--; /* the table's, never the last: the wait's own is still held */
    }
    unref(s);
}

static mp_session *find_id(const char *id)
{
    for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX; i++)
        if (table[i] != NULL && strcmp(table[i]->id, id) == 0)
            return table[i];
    return NULL;
}

/* sessionKey(user.ID, path, size): the live session of that user, path and size. */
static mp_session *find_key(const mock_user *u, const char *path, int64_t size)
{
    for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX; i++)
        if (table[i] != NULL && table[i]->owner->id == u->id && table[i]->w.size == size &&
            strcmp(table[i]->path, path) == 0)
            return table[i];
    return NULL;
}

/* ---- snapshots (SessionSnapshot, in its fields' order) ---- */

static void add_int(cJSON *o, const char *key, int64_t v)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)v);
    cJSON_AddRawToObject(o, key, n);
}

static cJSON *range(int64_t a, int64_t b)
{
    char n[48];
    snprintf(n, sizeof n, "[%lld,%lld]", (long long)a, (long long)b);
    return cJSON_CreateRaw(n);
}

/*
 * Window.Snapshot's received: [0, frontier - 1] once the frontier moved, then each run of
 * received chunks above it; received_bytes counts them all.
 */
static cJSON *received(const mp_session *s, int64_t *bytes)
{
    cJSON *a = cJSON_CreateArray();
    const mock_window *w = &s->w;
    *bytes = mock_window_received(w);
    if (w->frontier > 0)
        cJSON_AddItemToArray(a, range(0, w->frontier - 1));
    for (int k = 0; k < MOCK_WINDOW_SLOTS; k++) {
        if (!(w->got & (1u << k)))
            continue;
        int e = k;
        while (e + 1 < MOCK_WINDOW_SLOTS && (w->got & (1u << (e + 1))))
            e++;
        cJSON_AddItemToArray(a, range(w->frontier + k, w->frontier + e));
        k = e;
    }
    return a;
}

/* snapshotLocked; resumed < 0 leaves MultipartInitResp's "resumed" out. */
static cJSON *snapshot(const mp_session *s, int resumed)
{
    cJSON *o = cJSON_CreateObject();
    char f[64];
    int64_t bytes = 0, frontier = 0;
    double progress = s->progress;
    cJSON *got;
    cJSON_AddStringToObject(o, "upload_id", s->id);
    cJSON_AddStringToObject(o, "state", state_name[s->state]);
    add_int(o, "attempt", 0);
    cJSON_AddStringToObject(o, "path", s->path);
    add_int(o, "size", s->w.size);
    add_int(o, "chunk_size", s->w.chunk_size);
    add_int(o, "total_chunks", s->w.total);
    if (s->state == ST_COMPLETED) {
        got = cJSON_CreateArray();
        cJSON_AddItemToArray(got, range(0, s->w.total - 1));
        bytes = s->w.size;
        frontier = s->w.total;
        progress = 100;
    } else if (s->state == ST_RECEIVING) {
        got = received(s, &bytes);
        frontier = s->w.frontier;
        progress = progress_of(s);
    } else {
        got = cJSON_CreateArray(); /* the window is gone with the attempt */
    }
    cJSON_AddItemToObject(o, "received", got);
    add_int(o, "received_bytes", bytes);
    add_int(o, "frontier", frontier);
    cJSON_AddRawToObject(o, "storage_progress", mock_go_float(progress, f, sizeof f));
    if (s->err[0] != '\0')
        cJSON_AddStringToObject(o, "error", s->err);
    if (resumed >= 0)
        cJSON_AddBoolToObject(o, "resumed", resumed);
    return o;
}

/* The zero SessionSnapshot ErrorWithDataResp renders when there is no session: a nil Received. */
static cJSON *zero_snapshot(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "upload_id", "");
    cJSON_AddStringToObject(o, "state", "");
    add_int(o, "attempt", 0);
    cJSON_AddStringToObject(o, "path", "");
    add_int(o, "size", 0);
    add_int(o, "chunk_size", 0);
    add_int(o, "total_chunks", 0);
    cJSON_AddNullToObject(o, "received");
    add_int(o, "received_bytes", 0);
    add_int(o, "frontier", 0);
    add_int(o, "storage_progress", 0);
    return o;
}

/* ---- the dashboard's view ---- */

/* The session's snapshot with its owner and its path cut for the dashboard (caller deletes). */
static cJSON *session_view(const mp_session *s)
{
    cJSON *o = snapshot(s, -1);
    cJSON_ReplaceItemInObject(o, "path", mock_events_string(s->path));
    cJSON_AddItemToObject(o, "user", mock_events_string(s->owner->name));
    return o;
}

/* Tells the dashboard what happened to s (created, chunk, completed ...), if anyone watches. */
static void publish(const mp_session *s, const char *change)
{
    if (!mock_events_wanted())
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "change", change);
    cJSON_AddItemToObject(o, "session", session_view(s));
    mock_events_publish("session", o);
    cJSON_Delete(o);
}

/* ---- answers ---- */

/* Records an error: the first one wins. data (taken over) is its answer's data, NULL: null. */
__attribute__((format(printf, 4, 5))) static void fail(mock_mp_req *rq, int code, cJSON *data,
                                                       const char *fmt, ...)
{
    if (rq->ans->code != 0) {
        cJSON_Delete(data);
        return;
    }
    rq->ans->code = code;
    rq->data = data;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rq->ans->msg, sizeof rq->ans->msg, fmt, ap);
    va_end(ap);
}

/*
 * Answers what was decided (code 0: success with data, taken over). mid_body writes the answer
 * now, past the body's unread rest, and closes, as Go's server answers a handler that left a
 * body unread (see mock_respond_now); otherwise it is queued.
 */
static enum MHD_Result answer_as(mock_mp_req *rq, struct MHD_Connection *c, cJSON *data,
                                 int mid_body)
{
    if (rq->ans->code == 0) {
        rq->ans->code = 200;
        snprintf(rq->ans->msg, sizeof rq->ans->msg, "success");
    } else {
        cJSON_Delete(data);
        data = rq->data;
    }
    rq->data = NULL;
    rq->ans->http_status = MHD_HTTP_OK;
    if (!mid_body)
        return mock_respond(c, MHD_HTTP_OK, rq->ans->code, rq->ans->msg, data, rq->answer_now);
    if (mock_respond_now(c, MHD_HTTP_OK, rq->ans->code, rq->ans->msg, data) == 0)
        mock_sleep_ms(MOCK_RST_AVOIDANCE_MS);
    else
        rq->ans->http_status = 0; /* the journal says how the connection ended instead */
    return MHD_NO;
}

static enum MHD_Result answer(mock_mp_req *rq, struct MHD_Connection *c, cJSON *data)
{
    return answer_as(rq, c, data, 0);
}

/* Manager.get: the session of id if u owns it, referenced for the request; else an error
 * decided with data (chunk, complete: the zero snapshot) or without. The caller holds mu. */
static mp_session *get(mock_mp_req *rq, const char *id, int with_data)
{
    mp_session *s = find_id(id != NULL ? id : "");
    if (s == NULL) {
        fail(rq, 404, with_data ? zero_snapshot() : NULL, "multipart upload session not found");
        return NULL;
    }
    if (s->owner->id != rq->who.user->id) {
        fail(rq, 403, with_data ? zero_snapshot() : NULL,
             "multipart upload session belongs to another user");
        return NULL;
    }
    s->refs++;
    rq->s = s;
    s->last_ms = sp__now_ms();
    return s;
}

static void keep_id(mock_mp_req *rq, const char *id)
{
    free(rq->upload_id);
    rq->upload_id = id != NULL ? strdup(id) : NULL;
}

/* ---- init ---- */

/* uuid.NewString(): a random (version 4, RFC 4122 variant) UUID in lower-case hex. */
static int new_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    size_t w = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[w++] = '-';
        snprintf(out + w, 3, "%02x", b[i]);
        w += 2;
    }
    out[w] = '\0';
    return 0;
}

/* hashesQualifyResume: at least one hash type shared, and every shared one equal. */
static int hashes_qualify(char *const old[MOCK_NHASH], char *const new[MOCK_NHASH])
{
    int shared = 0;
    for (int i = 0; i < MOCK_NHASH; i++) {
        if (old[i] == NULL || new[i] == NULL)
            continue;
        if (strcmp(old[i], new[i]) != 0)
            return 0;
        shared = 1;
    }
    return shared;
}

/* The session init would create, with its temp file; NULL having decided the error. */
static mp_session *new_session(mock_mp_req *rq, struct MHD_Connection *c, int64_t size,
                               int64_t csize)
{
    const mock_config *cfg = &rq->srv->cfg;
    mp_session *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(rq->path)) == NULL || new_uuid(s->id) < 0) {
        free(s);
        fail(rq, 500, NULL, "out of memory or random bytes for a multipart upload session");
        return NULL;
    }
    mock_store_init(&s->st);
    s->owner = rq->who.user;
    mock_window_init(&s->w, size, csize);
    const char *ow = mock_header(c, "Overwrite");
    s->overwrite = ow == NULL || strcmp(ow, "false") != 0;
    const char *lm = mock_header(c, "Last-Modified");
    s->has_mtime = lm != NULL && mock_go_parse_int(lm, &s->mtime_ms, NULL, 0) == 0;
    for (int i = 0; i < MOCK_NHASH; i++) {
        const char *v = mock_header(c, mock_hashes[i].header);
        if (v != NULL && *v != '\0')
            s->hash[i] = strdup(v);
    }
    s->fault = rq->srv->cfg.fault;
    s->last_ms = s->born_ms = sp__now_ms();
    s->refs = 1;
    s->st.noreplace = !s->overwrite;
    s->st.fsync = cfg->fsync;
    size_t failed_dir = 0;
    mock_store_err e = mock_store_begin(&s->st, rq->srv->rootfd, s->path, &failed_dir);
    if (e != MOCK_STORE_OK) {
        char m[sizeof rq->ans->msg];
        int code = mock_store_error(rq->srv, s->path, e, failed_dir, m, sizeof m);
        fail(rq, code, NULL, "%s", m);
        free_session(s);
        return NULL;
    }
    return s;
}

/* The X-Mock-Fault of an init, when allowed: the session's faults. Returns 0 or -1 (decided). */
static int init_fault(mock_mp_req *rq, struct MHD_Connection *c, mock_fault *f)
{
    const char *spec = mock_header(c, "X-Mock-Fault");
    char err[256];
    *f = rq->srv->cfg.fault;
    if (spec == NULL)
        return 0;
    if (!rq->srv->cfg.allow_fault_header) {
        mock_warn("X-Mock-Fault '%s' ignored: start streamput-mock with --allow-fault-header",
                  spec);
        return 0;
    }
    if (mock_fault_parse(spec, f, err, sizeof err) < 0) {
        fail(rq, 400, NULL, "invalid X-Mock-Fault: %s", err);
        return -1;
    }
    return 0;
}

/* FsUp then MultipartInit then Manager.Init. */
static enum MHD_Result route_init(mock_mp_req *rq, struct MHD_Connection *c)
{
    const mock_config *cfg = &rq->srv->cfg;
    char m[300];
    mock_fault f;
    if (rq->ans->code != 0 || init_fault(rq, c, &f) < 0)
        return answer(rq, c, NULL);
    /* FsUp: url.PathUnescape (400), JoinPath (403), then the write permission (403). */
    const char *raw = mock_header(c, "File-Path");
    if (raw == NULL || *raw == '\0')
        raw = "";
    if ((rq->path = malloc(strlen(raw) + 2)) == NULL)
        return MHD_NO;
    int code = mock_file_path(raw, cfg->profile, rq->path, m, sizeof m);
    if (code != 0) {
        free(rq->path);
        rq->path = NULL;
        fail(rq, code, NULL, "%s", m);
    } else if (*raw == '\0') {
        /* As on /api/fs/put: OpenList would go on with "/", a developer is better served. */
        fail(rq, 400, NULL, "missing File-Path header");
    } else if (strcmp(rq->path, "/") == 0) {
        fail(rq, 400, NULL, "File-Path names the root directory, not a file");
    } else if (!(rq->who.perm & MOCK_PERM_WRITE)) {
        fail(rq, 403, NULL, "permission denied");
    } else if (cfg->no_multipart) {
        fail(rq, 403, NULL, "multipart upload is disabled");
    }
    int64_t size = 0, requested = 0;
    const char *xs = mock_header(c, "X-File-Size"), *xc = mock_header(c, "X-Chunk-Size");
    if (mock_go_parse_int(xs != NULL ? xs : "", &size, NULL, 0) < 0)
        fail(rq, 400, NULL, "multipart upload requires a valid X-File-Size header");
    else if (size <= 0)
        fail(rq, 400, NULL,
             "multipart upload requires a positive X-File-Size; upload empty files via /fs/put");
    if (xc != NULL && *xc != '\0' && mock_go_parse_int(xc, &requested, m, sizeof m) < 0)
        fail(rq, 400, NULL, "%s", m);
    const char *ow = mock_header(c, "Overwrite");
    if (rq->ans->code == 0 && ow != NULL && strcmp(ow, "false") == 0 &&
        mock_store_exists(rq->srv->rootfd, rq->path))
        fail(rq, 403, NULL, "file exists");
    /* Our addition: a session keeps its hashes, and 1024 sessions must not keep a connection's
     * worth of headers each. */
    for (int i = 0; i < MOCK_NHASH; i++) {
        const char *v = mock_header(c, mock_hashes[i].header);
        if (v != NULL && strlen(v) > MP_HASH_MAX)
            fail(rq, 400, NULL,
                 "%s is longer than %d bytes, which no hex digest is: a session keeps at most "
                 "that of each hash",
                 mock_hashes[i].header, MP_HASH_MAX);
    }
    if (rq->ans->code != 0)
        return answer(rq, c, NULL);

    char *hash[MOCK_NHASH];
    for (int i = 0; i < MOCK_NHASH; i++) {
        const char *v = mock_header(c, mock_hashes[i].header);
        hash[i] = v != NULL && *v != '\0' ? (char *)v : NULL;
    }
    pthread_mutex_lock(&mu);
    mp_session *old = find_key(rq->who.user, rq->path, size);
    if (old != NULL && old->state == ST_RECEIVING && !old->finishing &&
        hashes_qualify(old->hash, hash)) {
        old->last_ms = sp__now_ms();
        keep_id(rq, old->id);
        cJSON *d = snapshot(old, 1);
        pthread_mutex_unlock(&mu);
        return answer(rq, c, d);
    }
    if (old != NULL)
        session_end(old, "superseded by a new upload of the same path and size");
    pthread_mutex_unlock(&mu);

    mp_session *s =
        new_session(rq, c, size, mock_window_chunk_size((int64_t)cfg->mp_chunk_size, requested));
    if (s == NULL)
        return answer(rq, c, NULL);
    s->fault = f;
    pthread_mutex_lock(&mu);
    /* A concurrent init of the same key may have come first: the later one supersedes it. */
    if ((old = find_key(rq->who.user, rq->path, size)) != NULL)
        session_end(old, "superseded by a new upload of the same path and size");
    size_t slot = MOCK_MP_SESSIONS_MAX;
    for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX && slot == MOCK_MP_SESSIONS_MAX; i++)
        if (table[i] == NULL)
            slot = i;
    cJSON *d = NULL;
    if (stopping) {
        fail(rq, 500, NULL, "the mock is shutting down");
    } else if (slot == MOCK_MP_SESSIONS_MAX) {
        fail(rq, 500, NULL,
             "too many multipart upload sessions (%d live): complete or abort one, or wait "
             "for one to expire",
             MOCK_MP_SESSIONS_MAX);
    } else {
        table[slot] = s;
        s->live = 1;
        keep_id(rq, s->id);
        d = snapshot(s, 0);
        publish(s, "created");
        s = NULL;
    }
    pthread_mutex_unlock(&mu);
    if (s != NULL)
        free_session(s);
    return answer(rq, c, d);
}

/* ---- chunk ---- */

/* Decides the chunk's admission (Manager.Chunk up to Window.WriteChunk's wait); holds mu. */
static void admit(mock_mp_req *rq, struct MHD_Connection *c)
{
    const mock_config *cfg = &rq->srv->cfg;
    mp_session *s = get(rq, mock_header(c, "X-Upload-Id"), 1);
    if (s == NULL)
        return;
    /* A completed session leaves the table with its complete, so no chunk finds one. */
    if (s->state != ST_RECEIVING) {
        fail(rq, 400, NULL, "session is %s: %s", state_name[s->state], s->err);
        return;
    }
    int64_t idx = rq->idx;
    s->chunk_reqs++;
    if ((s->fault.chunk_busy > 0 && s->chunk_reqs <= s->fault.chunk_busy) ||
        (s->fault.chunk_busy_ms > 0 && sp__now_ms() - s->born_ms < s->fault.chunk_busy_ms)) {
        fail(rq, 429, NULL, "chunk is out of the receiving window");
        return;
    }
    if (idx < 0 || idx >= s->w.total) {
        fail(rq, 400, NULL, "chunk index %lld out of range [0,%lld)", (long long)idx,
             (long long)s->w.total);
        return;
    }
    int64_t deadline = sp__now_ms() + (int64_t)cfg->mp_window_wait * 1000;
    for (;;) {
        if (!s->live || stopping) {
            fail(rq, 400, NULL, MP_ABORTED_ERR);
            return;
        }
        mock_window_take t = mock_window_claim(&s->w, idx);
        if (t == MOCK_WINDOW_HAVE)
            return; /* received already */
        if (t == MOCK_WINDOW_BUSY) {
            fail(rq, 409, NULL, "chunk is being uploaded by another request");
            return;
        }
        if (t == MOCK_WINDOW_TAKEN)
            break;
        if (sp__now_ms() >= deadline) {
            fail(rq, 429, NULL, "chunk is out of the receiving window");
            return;
        }
        wait_until(deadline);
    }
    rq->claimed = 1;
    rq->chunk_len = mock_window_chunk_len(&s->w, idx);
    if (s->fault.chunk_fail == idx && !s->fail_fired) {
        s->fail_fired = 1;
        rq->fail_code = s->fault.chunk_fail_code;
    }
    if (s->fault.chunk_reset == idx && !s->reset_fired) {
        s->reset_fired = 1;
        rq->reset_at = s->fault.chunk_reset_at;
    }
}

/* Gives the chunk's place in the window back; holds mu. */
static void unclaim(mock_mp_req *rq)
{
    if (!rq->claimed)
        return;
    rq->claimed = 0;
    mock_window_release(&rq->s->w, rq->idx);
    pthread_cond_broadcast(&cv);
}

/* The chunk's body is in: received or not (WriteChunk's tail); holds mu. */
static void land(mock_mp_req *rq)
{
    mp_session *s = rq->s;
    long long idx = (long long)rq->idx, len = (long long)rq->chunk_len;
    unclaim(rq);
    if (!s->live) {
        fail(rq, 400, NULL, MP_ABORTED_ERR);
    } else if (rq->fail_code != 0) {
        fail(rq, rq->fail_code, NULL, "injected fault: chunk-fail=%lld", idx);
    } else if (rq->write_errno != 0) {
        char why[128], m[300];
        mock_go_errno(rq->write_errno, why, sizeof why);
        snprintf(m, sizeof m, "write %s: %s", s->path, why);
        fail(rq, 400, NULL, "incomplete chunk %lld: got %llu of %lld bytes: %s", idx,
             (unsigned long long)rq->got, len, m);
    } else if ((long long)rq->got < len) {
        fail(rq, 400, NULL, "incomplete chunk %lld: got %llu of %lld bytes: EOF", idx,
             (unsigned long long)rq->got, len);
    } else if (rq->over) {
        fail(rq, 400, NULL, "chunk %lld larger than expected %lld bytes", idx, len);
    } else {
        mock_window_land(&s->w, rq->idx);
        publish(s, "chunk");
    }
}

/* ---- complete ---- */

/* Streams the temp file through the digests init announced; 0, or the code with msg. */
static int verify(mp_session *s, char *msg, size_t msgsz)
{
    EVP_MD_CTX *md[MOCK_NHASH] = {NULL};
    unsigned char *buf = malloc(MP_HASH_BUFFER);
    int fd = openat(s->st.dirfd, s->st.tmpname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int code = 0;
    if (buf == NULL || fd < 0) {
        snprintf(msg, msgsz, "cannot read the temp file back to check its hashes");
        code = 500;
        goto out;
    }
    for (int i = 0; i < MOCK_NHASH; i++) {
        if (s->hash[i] == NULL)
            continue;
        if ((md[i] = EVP_MD_CTX_new()) == NULL ||
            EVP_DigestInit_ex(md[i], mock_hashes[i].md(), NULL) != 1) {
            snprintf(msg, msgsz, "cannot start %s digest", mock_hashes[i].name);
            code = 500;
            goto out;
        }
    }
    for (;;) {
        ssize_t n = read(fd, buf, MP_HASH_BUFFER);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            char why[128];
            snprintf(msg, msgsz, "read %s: %s", s->path, mock_go_errno(errno, why, sizeof why));
            code = 500;
            goto out;
        }
        if (n == 0)
            break;
        for (int i = 0; i < MOCK_NHASH; i++)
            if (md[i] != NULL)
                EVP_DigestUpdate(md[i], buf, (size_t)n);
    }
    for (int i = 0; i < MOCK_NHASH && code == 0; i++)
        if (md[i] != NULL)
            code = mock_hash_verdict(i, md[i], s->hash[i], msg, msgsz);
out:
    for (int i = 0; i < MOCK_NHASH; i++)
        EVP_MD_CTX_free(md[i]);
    if (fd >= 0)
        close(fd);
    free(buf);
    return code;
}

/*
 * The pipeline's end, run by complete outside the lock (s->finishing keeps everyone else off
 * the store): the hashes, the modification time, fsync and the rename. Returns 1 if the file is
 * in place, with a message in msg when something failed.
 */
static int finish_store(mock_mp_req *rq, mp_session *s, char *msg, size_t msgsz)
{
    msg[0] = '\0';
    int code = rq->srv->cfg.verify_hash ? verify(s, msg, msgsz) : 0;
    if (code == 0 && s->has_mtime && mock_store_set_mtime(&s->st, s->mtime_ms) < 0) {
        char why[128];
        snprintf(msg, msgsz, "failed to set the modification time: %s",
                 mock_go_errno(errno, why, sizeof why));
        code = 500;
    }
    if (code != 0) {
        mock_store_abort(&s->st);
        return 0;
    }
    mock_store_err e = mock_store_commit(&s->st);
    if (e != MOCK_STORE_OK)
        mock_store_error(rq->srv, s->path, e, 0, msg, msgsz);
    return e == MOCK_STORE_OK || e == MOCK_STORE_UNSYNCED;
}

/* Manager.Complete. */
static enum MHD_Result route_complete(mock_mp_req *rq, struct MHD_Connection *c)
{
    pthread_mutex_lock(&mu);
    mp_session *s = rq->ans->code == 0 ? get(rq, mock_header(c, "X-Upload-Id"), 1) : NULL;
    while (s != NULL && s->finishing)
        wait_until(0);
    if (s != NULL && s->state == ST_RECEIVING) {
        int64_t bytes = 0;
        cJSON_Delete(received(s, &bytes));
        if (bytes < s->w.size) {
            fail(rq, 400, snapshot(s, -1), "cannot complete: %lld of %lld bytes received",
                 (long long)bytes, (long long)s->w.size);
            s = NULL;
        } else {
            char msg[sizeof rq->ans->msg];
            s->finishing = 1;
            pthread_mutex_unlock(&mu);
            rq->stored = finish_store(rq, s, msg, sizeof msg);
            pthread_mutex_lock(&mu);
            s->finishing = 0;
            s->progress = progress_of(s);
            s->state = msg[0] == '\0' ? ST_COMPLETED : ST_FAILED_PERMANENT;
            snprintf(s->err, sizeof s->err, "%s", msg);
            if (s->state != ST_COMPLETED)
                publish(s, "failed");
            pthread_cond_broadcast(&cv);
        }
    }
    cJSON *d = NULL;
    if (s != NULL && s->state != ST_COMPLETED)
        fail(rq, 400, snapshot(s, -1), "upload failed (%s): %s", state_name[s->state], s->err);
    else if (s != NULL)
        d = snapshot(s, -1);
    if (s != NULL && s->state == ST_COMPLETED)
        session_end(s, ""); /* served its purpose: status now answers 404 */
    pthread_mutex_unlock(&mu);
    return answer(rq, c, d);
}

/* ---- status and abort ---- */

/* MultipartStatus: by upload_id, or by path and size. */
static enum MHD_Result route_status(mock_mp_req *rq, struct MHD_Connection *c)
{
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "upload_id");
    cJSON *d = NULL;
    if (rq->ans->code != 0)
        return answer(rq, c, NULL);
    pthread_mutex_lock(&mu);
    if (id != NULL && *id != '\0') {
        keep_id(rq, id);
        mp_session *s = get(rq, id, 0);
        d = s != NULL ? snapshot(s, -1) : NULL;
        pthread_mutex_unlock(&mu);
        return answer(rq, c, d);
    }
    pthread_mutex_unlock(&mu);
    const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path");
    const char *sz = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "size");
    char m[128];
    int64_t size = 0;
    if (p == NULL)
        p = "";
    if ((rq->path = malloc(strlen(p) + 2)) == NULL)
        return MHD_NO;
    if (mock_join_path(p, rq->srv->cfg.profile, rq->path, m, sizeof m) != 0) {
        fail(rq, 403, NULL, "%s", m);
        return answer(rq, c, NULL);
    }
    if (mock_go_parse_int(sz != NULL ? sz : "", &size, NULL, 0) < 0) {
        fail(rq, 400, NULL, "status lookup requires upload_id, or path and size");
        return answer(rq, c, NULL);
    }
    pthread_mutex_lock(&mu);
    mp_session *s = find_key(rq->who.user, rq->path, size);
    if (s == NULL)
        fail(rq, 404, NULL, "multipart upload session not found");
    else if ((s = get(rq, s->id, 0)) != NULL) {
        keep_id(rq, s->id);
        d = snapshot(s, -1);
    }
    pthread_mutex_unlock(&mu);
    return answer(rq, c, d);
}

/* MultipartAbort: the session goes, and its temp file. */
static enum MHD_Result route_abort(mock_mp_req *rq, struct MHD_Connection *c)
{
    pthread_mutex_lock(&mu);
    mp_session *s = rq->ans->code == 0 ? get(rq, mock_header(c, "X-Upload-Id"), 0) : NULL;
    if (s != NULL)
        session_end(s, "multipart upload aborted by client");
    pthread_mutex_unlock(&mu);
    return answer(rq, c, NULL);
}

/* ---- the request ---- */

static void reset(mock_mp_req *rq, struct MHD_Connection *c)
{
    pthread_mutex_lock(&mu);
    unclaim(rq);
    pthread_mutex_unlock(&mu);
    rq->reset = 1;
    mock_respond_reset(c);
}

enum MHD_Result mock_mp_begin(mock_mp_req **out, const mock_server *srv, struct MHD_Connection *c,
                              const char *url, mock_answer *ans)
{
    mock_mp_req *rq = *out = calloc(1, sizeof *rq);
    if (rq == NULL)
        return MHD_NO;
    rq->srv = srv;
    rq->ans = ans;
    rq->reset_at = -1;
    rq->route = MP_INIT;
    while (strcmp(mp_routes[rq->route].url, url) != 0)
        rq->route++; /* the route table only sends the five here */
    rq->authed = mock_auth_check(srv, c, MOCK_AUTH_REQUIRE, &rq->who, ans) == 0;
    if (rq->route != MP_STATUS && rq->route != MP_INIT)
        keep_id(rq, mock_header(c, "X-Upload-Id"));

    /* Our addition, as on /api/fs/put: a body over --max-body is refused before it is read. */
    const char *cl = mock_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = mock_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    uint64_t clv = 0;
    if (te == NULL && cl != NULL && sp__parse_uint(cl, UINT64_MAX, &clv) < 0)
        clv = 0;
    if (srv->cfg.max_body > 0 && clv > srv->cfg.max_body) {
        fail(rq, 413, NULL, "http: request body too large");
        rq->answer_now = 1;
        return answer(rq, c, NULL);
    }
    if (rq->route == MP_CHUNK && rq->authed) {
        /* MultipartChunk: strconv.Atoi of X-Chunk-Index, an error without data. */
        const char *xi = mock_header(c, "X-Chunk-Index");
        rq->has_idx = mock_go_parse_int(xi != NULL ? xi : "", &rq->idx, NULL, 0) == 0;
        if (!rq->has_idx)
            fail(rq, 400, NULL, "invalid X-Chunk-Index header");
    }
    /*
     * The token middleware and that refusal return without reading the body: Go's server then
     * answers a client that waits for "100 Continue" at once, and one whose Content-Length
     * reaches GO_DISCARD_MAX too, closing the connection; it reads a smaller body, and up to
     * GO_DISCARD_MAX of a chunked one, first. Every other error drains the body first.
     */
    const char *expect = mock_header(c, MHD_HTTP_HEADER_EXPECT);
    if (rq->ans->code != 0 && ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
                               (te == NULL && clv >= GO_DISCARD_MAX))) {
        rq->answer_now = 1;
        return answer(rq, c, NULL);
    }
    if (rq->ans->code != 0)
        rq->drain_limit = GO_DISCARD_MAX; /* a chunked body: read that much, then answered */
    if (rq->route != MP_CHUNK || rq->ans->code != 0)
        return MHD_YES;
    pthread_mutex_lock(&mu);
    admit(rq, c);
    int64_t cs = rq->s != NULL ? rq->s->w.chunk_size
                               : mock_window_chunk_size((int64_t)srv->cfg.mp_chunk_size, 0);
    uint64_t taken = (uint64_t)cs + 65536 + (rq->claimed ? (uint64_t)rq->chunk_len + 1 : 0);
    pthread_mutex_unlock(&mu);
    /*
     * Past what MultipartChunk reads, Go's server reads the rest of a Content-Length body less
     * than GO_DISCARD_MAX long and keeps the connection, answers a longer one at once, and
     * reads GO_DISCARD_MAX more of a chunked one before it answers and closes.
     */
    if (te != NULL)
        rq->drain_limit = taken + GO_DISCARD_MAX;
    else
        rq->drain_limit = clv < taken + GO_DISCARD_MAX ? 0 : taken;
    if (rq->reset_at == 0) {
        reset(rq, c);
        return MHD_NO;
    }
    return MHD_YES;
}

/*
 * The chunk's answer (the error decided, or success) and its data: the session's snapshot on
 * both, as ErrorWithDataResp and SuccessResp carry it (a failed get's is the zero one, decided
 * already). A received chunk may fire the drop-after fault.
 */
static cJSON *verdict(mock_mp_req *rq)
{
    cJSON *d = NULL;
    pthread_mutex_lock(&mu);
    if (rq->claimed)
        land(rq);
    if (rq->s != NULL) {
        d = snapshot(rq->s, -1);
        if (rq->ans->code != 0 && rq->data == NULL)
            rq->data = cJSON_Duplicate(d, 1);
    }
    if (rq->s != NULL && rq->ans->code == 0 && rq->s->fault.drop_after == rq->idx && rq->s->live)
        session_end(rq->s, "injected fault: drop-after");
    pthread_mutex_unlock(&mu);
    return d;
}

enum MHD_Result mock_mp_body(mock_mp_req *rq, struct MHD_Connection *c, const char *data,
                             size_t *size)
{
    const mock_config *cfg = &rq->srv->cfg;
    size_t n = *size;
    *size = 0;
    uint64_t before = rq->received;
    if (rq->reset_at > 0 && before + n >= (uint64_t)rq->reset_at) {
        rq->received = (uint64_t)rq->reset_at;
        reset(rq, c);
        return MHD_NO;
    }
    rq->received += n;
    if (cfg->max_body > 0 && rq->received > cfg->max_body) {
        /* The limit is the first error only if nothing came before it, as fail() decides. */
        fail(rq, 413, NULL, "http: request body too large");
        pthread_mutex_lock(&mu);
        unclaim(rq);
        pthread_mutex_unlock(&mu);
        return answer_as(rq, c, NULL, 1);
    }
    /* MultipartChunk drains at most chunk_size + 64 KiB after what WriteChunk read. */
    if (rq->drain_limit > 0 && rq->received > rq->drain_limit)
        return answer_as(rq, c, rq->route == MP_CHUNK ? verdict(rq) : NULL, 1);
    if (!rq->claimed)
        return MHD_YES; /* drained: the answer waits for the body's end */
    uint64_t room = (uint64_t)rq->chunk_len - rq->got;
    size_t w = n < room ? n : (size_t)room;
    if (n > w)
        rq->over = 1;
    while (w > 0 && rq->write_errno == 0) {
        off_t off = (off_t)(rq->idx * rq->s->w.chunk_size + (int64_t)rq->got);
        ssize_t k = pwrite(rq->s->st.fd, data, w, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rq->write_errno = k < 0 ? errno : EIO;
            break;
        }
        rq->got += (uint64_t)k;
        data += k;
        w -= (size_t)k;
    }
    return MHD_YES;
}

enum MHD_Result mock_mp_finish(mock_mp_req *rq, struct MHD_Connection *c)
{
    switch (rq->route) {
    case MP_INIT:
        return route_init(rq, c);
    case MP_COMPLETE:
        return route_complete(rq, c);
    case MP_STATUS:
        return route_status(rq, c);
    case MP_ABORT:
        return route_abort(rq, c);
    case MP_CHUNK:
        break;
    }
    return answer(rq, c, verdict(rq));
}

void mock_mp_free(mock_mp_req *rq)
{
    if (rq == NULL)
        return;
    if (rq->s != NULL) {
        pthread_mutex_lock(&mu);
        unclaim(rq);
        unref(rq->s);
        pthread_mutex_unlock(&mu);
    }
    cJSON_Delete(rq->data);
    free(rq->path);
    free(rq->upload_id);
    free(rq);
}

const char *mock_mp_user(const mock_mp_req *rq)
{
    return rq != NULL ? rq->who.name : NULL;
}

const char *mock_mp_path(const mock_mp_req *rq)
{
    if (rq == NULL)
        return NULL;
    return rq->s != NULL ? rq->s->path : rq->path;
}

uint64_t mock_mp_received(const mock_mp_req *rq)
{
    return rq != NULL ? rq->received : 0;
}

int mock_mp_stored(const mock_mp_req *rq)
{
    return rq != NULL && rq->stored;
}

const char *mock_mp_upload_id(const mock_mp_req *rq)
{
    return rq != NULL ? rq->upload_id : NULL;
}

int mock_mp_chunk(const mock_mp_req *rq, int64_t *idx)
{
    if (rq == NULL || !rq->has_idx)
        return 0;
    *idx = rq->idx;
    return 1;
}

int mock_mp_why(const mock_mp_req *rq, char *out, size_t outsz)
{
    if (rq == NULL || !rq->reset)
        return 0;
    snprintf(out, outsz, "injected fault: chunk-reset=%lld:%lld, connection reset after %llu bytes",
             (long long)rq->idx, (long long)rq->reset_at, (unsigned long long)rq->received);
    return 1;
}

cJSON *mock_mp_list(size_t max, size_t *total)
{
    cJSON *a = cJSON_CreateArray();
    size_t n = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX; i++) {
        if (table[i] == NULL)
            continue;
        if (a != NULL && n < max)
            cJSON_AddItemToArray(a, session_view(table[i]));
        n++;
    }
    pthread_mutex_unlock(&mu);
    *total = n;
    return a;
}

/* ---- expiry ---- */

/* Manager.gc, every MP_SWEEP_MS rather than every minute, so a temp file outlives its session's
 * expiry by that at most. */
static void *sweep(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        int64_t now = sp__now_ms(), ttl = (int64_t)server->cfg.mp_expiry * 1000;
        for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX; i++) {
            mp_session *s = table[i];
            if (s != NULL && !s->finishing && now - s->last_ms >= ttl)
                session_end(s, MP_EXPIRED);
        }
        wait_until(sp__now_ms() + MP_SWEEP_MS);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int mock_mp_start(const mock_server *srv)
{
    server = srv;
    if (mock_cond_init_monotonic(&cv) != 0 || pthread_create(&sweeper, NULL, sweep, NULL) != 0)
        return -1;
    sweeper_on = 1;
    return 0;
}

void mock_mp_stop(void)
{
    pthread_mutex_lock(&mu);
    stopping = 1;
    for (size_t i = 0; i < MOCK_MP_SESSIONS_MAX; i++)
        if (table[i] != NULL)
            session_end(table[i], "the mock is shutting down");
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (sweeper_on)
        pthread_join(sweeper, NULL);
    sweeper_on = 0;
}
