/*
 * OpenList's resumable multipart upload (server/handles/multipart.go, internal/multipart/): the
 * session is looked up first (GET .../status?path=&size=), made if there is none (POST
 * .../init), fed chunk by chunk (PUT .../chunk with X-Upload-Id and X-Chunk-Index) by up to
 * SP_MAX_LANES lanes at once, and closed (POST .../complete), which answers once the server has
 * stored the file.
 *
 * A lane is one connection, kept alive from chunk to chunk, and one thread, pulling chunk
 * indexes from a shared queue. It works on a copy of the caller's handle: the options are the
 * caller's (their strings shared, read only, for the length of the call), but the buffers, the
 * failure detail and the callbacks are the lane's own, so the exchange and the body engines run
 * in a lane unchanged; its callbacks lock the call's mutex and pass on to the caller's, which
 * therefore never run two at once. Chunks are read from the file at their offset (pread into
 * the lane's one buffer, or sendfile with an offset), so the lanes share the fd but never its
 * offset, and memory is one buffer per lane whatever the size.
 *
 * The session outlives the call whenever the call does not complete it: a canceled or failed
 * call leaves it on the server, and the same call again finds it by path and size and sends
 * only what it lacks.
 */
#include "exchange.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 429 (the window is full) and 409 (the chunk is in flight elsewhere) answers a chunk may get,
 * besides its --retry failures: the server's flow control, not a failure. */
#define MP_BUSY_MAX 20
/* The pause after a busy answer: random up to this, doubling to MP_BUSY_PAUSE_MAX. */
#define MP_BUSY_PAUSE     200
#define MP_BUSY_PAUSE_MAX 2000
/* Internal verdicts: the server's storage attempt failed and wants chunk 0 again; complete
 * found chunks missing (the session's ranges then tell which the server holds). */
#define MP_RESTART 2
#define MP_MISSING 3

typedef sp__mp_snap mp_snap;

typedef struct mp mp;

/* One lane: a connection, a thread, and a copy of the caller's handle for both. */
typedef struct lane {
    mp *m;
    unsigned no;
    sp_client c;       /* the caller's options; buffers, failure detail and callbacks its own */
    sp__conn cn;       /* kept alive from request to request */
    char *head;        /* the request head, built in place for every request */
    size_t cap;        /* its size */
    uint64_t inflight; /* bytes of the chunk being sent, for the progress callback */
    unsigned seed;     /* the busy pauses' randomness */
    unsigned conns;    /* connections opened */
    pthread_t th;
    int started;
    int rc; /* the lane's verdict */
    sp_result res;
} lane;

struct mp {
    sp_client *c;
    const sp_body_info *b;
    int fd, regular;
    uint64_t start; /* the file offset of the body's first byte */
    int64_t deadline;
    sp_result *res;
    sp_url status_url, init_url, chunk_url, complete_url, abort_url;
    mp_snap s; /* the session */
    unsigned nlanes;
    lane lanes[SP_MAX_LANES];
    /* The caller's progress callback, replaced by progress_main for the call. */
    sp_progress_fn progress;
    void *progress_ud;
    sp_debug_fn debug;
    void *debug_ud;

    pthread_mutex_t mu; /* guards what follows, and serialises the caller's callbacks */
    long next;          /* the queue: the next index to look at */
    uint64_t acked;     /* bytes the server holds: held at the start plus acknowledged */
    uint64_t sent;      /* chunk bytes this call sent and had acknowledged */
    long chunks_sent;
    int stop;     /* the lanes are to stop: one failed, or the caller canceled */
    int canceled; /* the caller's progress callback asked to stop */
    int failed;   /* the lane whose failure stopped the others, or -1 */
};

/* The bytes of chunk idx: chunk_size, but the last may be short. */
static uint64_t chunk_len(const mp_snap *s, long idx)
{
    uint64_t off = (uint64_t)idx * s->chunk_size;
    return s->size - off < s->chunk_size ? s->size - off : s->chunk_size;
}

/* Whether the server holds chunk idx, by the ranges of the session's snapshot. */
static int held(const mp_snap *s, long idx)
{
    for (int i = 0; i < s->nranges; i++)
        if (idx >= s->ranges[i][0] && idx <= s->ranges[i][1])
            return 1;
    return 0;
}

/* The progress the caller sees: what the server holds and what the lanes are sending. Under mu.
 */
static int report_progress(mp *m)
{
    uint64_t sent = m->acked;
    for (unsigned i = 0; i < m->nlanes; i++)
        sent += m->lanes[i].inflight;
    if (m->progress != NULL && !m->canceled &&
        m->progress(m->progress_ud, sent > m->b->size ? m->b->size : sent, m->b->size) != 0) {
        m->canceled = 1;
        m->stop = 1;
    }
    return m->stop;
}

/* A lane's progress callback: its chunk's bytes so far. Non-zero stops the lane's exchange. */
static int progress_lane(void *ud, uint64_t sent, uint64_t total)
{
    lane *l = ud;
    mp *m = l->m;
    (void)total;
    pthread_mutex_lock(&m->mu);
    l->inflight = sent;
    int stop = report_progress(m);
    pthread_mutex_unlock(&m->mu);
    return stop;
}

/*
 * A lane's debug callback: the caller's, one line at a time. Notes are marked with their lane;
 * header lines go as they are, so that a caller that hides the Authorization line by its start
 * (the CLI does) still does.
 */
static void debug_lane(void *ud, sp_debug_kind kind, const char *text, size_t len)
{
    lane *l = ud;
    mp *m = l->m;
    char line[1100];
    int n = kind != SP_DEBUG_INFO ? -1
                                  : snprintf(line, sizeof line, "[%u] %.*s", l->no,
                                             (int)(len < 1024 ? len : 1024), text);
    pthread_mutex_lock(&m->mu);
    if (n < 0)
        m->debug(m->debug_ud, kind, text, len);
    else
        m->debug(m->debug_ud, kind, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    pthread_mutex_unlock(&m->mu);
}

/* Stops every lane; the first lane to fail, unless the caller canceled, is the one whose
 * failure the call reports. */
static void stop_lanes(mp *m, int failed)
{
    pthread_mutex_lock(&m->mu);
    if (!m->canceled && m->failed < 0)
        m->failed = failed;
    m->stop = 1;
    pthread_mutex_unlock(&m->mu);
}

/*
 * Sleeps ms milliseconds between tries of a chunk, ticking the progress callback so that a
 * cancel or another lane's failure ends the wait. Returns SP_OK or SP_ECANCELED.
 */
static int pause_for(sp_client *c, uint64_t ms)
{
    while (ms > 0) {
        int step = ms > 100 ? 100 : (int)ms;
        poll(NULL, 0, step);
        ms -= (uint64_t)step;
        if (c->progress(c->progress_ud, 0, 0) != 0)
            return sp__fail(c, SP_ECANCELED, 0, "canceled while waiting to send a chunk again");
    }
    return SP_OK;
}

/* Reads an integral JSON number in [0, 2^53] into *out; 0 if it is none. */
static int json_count(const cJSON *o, const char *key, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != floor(v->valuedouble))
        return 0;
    *out = (uint64_t)v->valuedouble;
    return 1;
}

/* Copies a JSON string into out (outsz bytes, cut if longer); 0 if it is none. */
static int json_string(const cJSON *o, const char *key, char *out, size_t outsz)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    if (v == NULL)
        return 0;
    snprintf(out, outsz, "%s", v);
    return 1;
}

int sp__mp_parse_snap(sp_client *c, int full, mp_snap *s)
{
    cJSON *json = sp__resp_json(c);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    const cJSON *received = cJSON_GetObjectItemCaseSensitive(data, "received");
    uint64_t total = 0;
    int ok = cJSON_IsObject(data) && json_string(data, "state", s->state, sizeof s->state);
    memset(s->error, 0, sizeof s->error);
    json_string(data, "error", s->error, sizeof s->error);
    if (ok && full) {
        s->resumed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "resumed"));
        ok = json_string(data, "upload_id", s->id, sizeof s->id) && s->id[0] != '\0' &&
             strlen(s->id) < sizeof s->id - 1 &&
             strspn(s->id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") ==
                 strlen(s->id) &&
             json_count(data, "size", &s->size) && json_count(data, "chunk_size", &s->chunk_size) &&
             s->chunk_size > 0 && json_count(data, "total_chunks", &total) &&
             total == (s->size + s->chunk_size - 1) / s->chunk_size && cJSON_IsArray(received);
        s->total = (long)total;
        json_count(data, "received_bytes", &s->received_bytes);
        s->nranges = 0;
        const cJSON *r, *list = ok ? received : NULL;
        cJSON_ArrayForEach(r, list)
        {
            const cJSON *a = cJSON_GetArrayItem(r, 0), *z = cJSON_GetArrayItem(r, 1);
            if (!cJSON_IsNumber(a) || !cJSON_IsNumber(z) || a->valuedouble < 0 ||
                z->valuedouble < a->valuedouble || z->valuedouble >= (double)total) {
                ok = 0;
                break;
            }
            if (s->nranges < SP__MP_MAX_RANGES) {
                s->ranges[s->nranges][0] = (long)a->valuedouble;
                s->ranges[s->nranges][1] = (long)z->valuedouble;
                s->nranges++;
            }
        }
    }
    cJSON_Delete(json);
    if (!ok)
        return sp__fail(c, SP_EPROTO, 0,
                        "the server's answer holds no multipart session that can be used");
    return SP_OK;
}

/*
 * One request of the session over lane l's connection on behalf of c (the caller's handle in
 * the calling thread, the lane's copy in its own), opening the connection if it is closed and
 * keeping it open after a clean answer. src -1 sends no body. *stale is set when a connection
 * that had carried a request before was lost before any answer: the server may have closed it
 * while it was idle, and one more try on a fresh one is not a retry of the request's own.
 */
static int request(lane *l, sp_client *c, const char *method, const sp_url *url, int upload,
                   const char *extra, const sp_body_info *b, int src, sp_result *res, int *stale)
{
    mp *m = l->m;
    int rc, reused = 0;
    *stale = 0;
    sp__exchange *x = sp__ex_new(c, url, b, res, m->deadline);
    if (x == NULL)
        return SP_ENOMEM;
    int hlen = sp__build_head(c, url, method, b, upload, extra, l->head, l->cap);
    if (hlen < 0) {
        rc = sp__fail(c, SP_EINVAL, 0, "request head too large");
        goto out;
    }
    if (l->cn.fd >= 0 && sp__conn_idle(&l->cn)) {
        reused = 1;
        l->cn.c = c;
    } else {
        sp__conn_close(&l->cn);
        if ((rc = sp__conn_open_for(&l->cn, c, url, x)) != SP_OK)
            goto out;
        l->conns++;
    }
    rc = sp__ex_run(x, &l->cn, l->head, (size_t)hlen, src, m->regular);
    *stale =
        reused && res->response_bytes == 0 && (rc == SP_ESEND || rc == SP_ERECV || rc == SP_EPROTO);
    if (!sp__ex_keep_alive(x))
        sp__conn_close(&l->cn);
out:
    sp__ex_free(x);
    return rc;
}

/* The server's code of a failed answer, or 0 if it gave none. */
static long api_code(int rc, const sp_result *res)
{
    return rc == SP_EAPI && res->has_code ? res->code : 0;
}

/* Whether an answer tells of a server that has no multipart routes: HTTP 404, 405 or 501, or
 * the web page AList and OpenList answer a route they do not know with (a 2xx without the
 * envelope). */
static int no_routes(int rc, const sp_result *res)
{
    return (rc == SP_EHTTP &&
            (res->http_status == 404 || res->http_status == 405 || res->http_status == 501)) ||
           (rc == SP_EPROTO && res->http_status >= 200 && res->http_status <= 299 &&
            !res->has_code);
}

/* Turns the answer of a session that is gone or failed for good into SP_ESESSION with the
 * server's reason: its snapshot's error, else its message. */
static int session_ended(sp_client *c, const mp *m, const mp_snap *s, const char *what,
                         const sp_result *res)
{
    char why[256];
    sp__printable(s->error[0] != '\0' ? s->error : res->message, why, sizeof why);
    return sp__fail(c, SP_ESESSION, 0, "%s: the server ended multipart session %s (%s): %s", what,
                    m->s.id, s->state[0] != '\0' ? s->state : "not found", why);
}

/*
 * Judges a failed chunk or complete answer that carries the session's snapshot: MP_RESTART when
 * the server's storage attempt failed and wants the file again from chunk 0, SP_ESESSION when
 * the session is gone (code 404) or failed for good, else rc unchanged.
 */
static int judge_session(sp_client *c, mp *m, int rc, const sp_result *res, const char *what)
{
    mp_snap s;
    memset(&s, 0, sizeof s);
    if (rc != SP_EAPI || !res->has_code)
        return rc;
    int parsed = sp__mp_parse_snap(c, 0, &s) == SP_OK;
    sp__fail(c, SP_EAPI, 0, "%s", ""); /* parse_snap's complaint is not the news */
    if (res->code == 404)
        return session_ended(c, m, &s, what, res);
    if (parsed && strcmp(s.state, "failed_retriable") == 0) {
        char why[256];
        sp__fail(c, SP_EINCOMPLETE, 0,
                 "%s: the server's attempt to store the file failed (%s); it wants the file again "
                 "from chunk 0",
                 what, sp__printable(s.error[0] != '\0' ? s.error : res->message, why, sizeof why));
        return MP_RESTART;
    }
    if (parsed && (strcmp(s.state, "failed_permanent") == 0 || strcmp(s.state, "aborted") == 0))
        return session_ended(c, m, &s, what, res);
    char shown[sizeof res->message];
    return sp__fail(c, SP_EAPI, 0, "%s: server answered code %ld: %s", what, res->code,
                    sp__printable(res->message, shown, sizeof shown));
}

/* Restates the failure on c as err, "what: detail" + note, keeping its errno. */
static int restate(sp_client *c, int err, const char *what, const char *note)
{
    char detail[sizeof c->errmsg];
    int sys_errno = c->sys_errno;
    memcpy(detail, c->errmsg, sizeof detail);
    size_t n = strlen(what);
    int named = strncmp(detail, what, n) == 0 && detail[n] == ':'; /* said once is enough */
    sp__fail(c, err, 0, "%s%s%.400s%s", named ? "" : what, named ? "" : ": ", detail, note);
    c->sys_errno = sys_errno;
    return err;
}

/* Records that the server acknowledged chunk idx: its bytes count as held from now on. */
static void chunk_acked(lane *l, long idx)
{
    mp *m = l->m;
    uint64_t len = chunk_len(&m->s, idx);
    pthread_mutex_lock(&m->mu);
    l->inflight = 0;
    m->acked += len;
    m->sent += len;
    m->chunks_sent++;
    pthread_mutex_unlock(&m->mu);
}

/*
 * Sends chunk idx over lane l on behalf of c until the server acknowledges it: again after a
 * busy answer (429, 409) up to MP_BUSY_MAX times with a short random pause, and after a failure
 * worth repeating (a lost connection, a timeout, a 5xx) up to --retry times with the doubling
 * back-off. A stream's chunk goes once its bytes were read: they cannot be read again. Returns
 * SP_OK, MP_RESTART, or the error with the detail on c.
 */
static int send_chunk(lane *l, sp_client *c, long idx)
{
    mp *m = l->m;
    uint64_t len = chunk_len(&m->s, idx);
    sp_body_info b = {.size = len,
                      .mtime_ms = -1,
                      .at_offset = m->regular,
                      .offset = m->start + (uint64_t)idx * m->s.chunk_size,
                      .slice = !m->regular && idx != m->s.total - 1,
                      .watch = m->b->watch,
                      .watch_size = m->b->watch_size,
                      .watch_mtime = m->b->watch_mtime};
    char extra[160], what[64];
    snprintf(extra, sizeof extra, "X-Upload-Id: %s\r\nX-Chunk-Index: %ld\r\n", m->s.id, idx);
    snprintf(what, sizeof what, "chunk %ld", idx);
    unsigned busy = 0, failures = 0;
    uint64_t delay = c->retry_delay_ms, busy_pause = MP_BUSY_PAUSE;
    int fresh = 0; /* a stale connection was replaced once already */
    for (;;) {
        int stale;
        int rc = request(l, c, "PUT", &m->chunk_url, 0, extra, &b, m->fd, &l->res, &stale);
        pthread_mutex_lock(&m->mu);
        l->inflight = 0;
        pthread_mutex_unlock(&m->mu);
        if (rc == SP_OK) {
            chunk_acked(l, idx);
            return SP_OK;
        }
        if (rc == SP_ECANCELED)
            return rc;
        long code = api_code(rc, &l->res);
        int consumed = !m->regular && l->res.body_sent;
        char said[sizeof l->res.message];
        sp__printable(l->res.message, said, sizeof said);
        if (code == 429 || code == 409) {
            if (consumed || ++busy > MP_BUSY_MAX)
                return sp__fail(c, SP_EINCOMPLETE, 0,
                                "%s: the server answered code %ld %u time%s: %s%s", what, code,
                                busy, busy == 1 ? "" : "s", said,
                                consumed ? " (not sent again: the input is a stream whose "
                                           "bytes were read)"
                                         : "");
            uint64_t ms = busy_pause / 2 + (uint64_t)rand_r(&l->seed) % (busy_pause / 2 + 1);
            sp__debug(c, SP_DEBUG_INFO,
                      "multipart: %s: server busy (code %ld: %s); again in %llu ms", what, code,
                      said, (unsigned long long)ms);
            busy_pause = busy_pause * 2 > MP_BUSY_PAUSE_MAX ? MP_BUSY_PAUSE_MAX : busy_pause * 2;
            if ((rc = pause_for(c, ms)) != SP_OK)
                return rc;
            continue;
        }
        if (l->res.http_status == 413 || code == 413)
            return restate(c, rc, what,
                           " (a limit on request bodies on the way? --multipart-chunk-size asks "
                           "for smaller chunks)");
        /* The session's own verdicts end the chunk; a plain refusal of a chunk in a receiving
         * session (400: its body was cut short on the way, say) or a 5xx code is worth sending
         * again, which the server takes idempotently. */
        if (rc == SP_EAPI && ((rc = judge_session(c, m, rc, &l->res, what)) != SP_EAPI ||
                              (code != 400 && code < 500)))
            return rc;
        if (consumed)
            return restate(c, rc, what,
                           " (not sent again: the input is a stream whose bytes were read)");
        if (stale && !fresh) {
            fresh = 1;
            sp__debug(c, SP_DEBUG_INFO,
                      "multipart: %s: the kept connection was closed (%s); "
                      "sending on a new one",
                      what, c->errmsg);
            continue;
        }
        if (rc != SP_EAPI && !sp__retryable(rc, &l->res))
            return rc;
        if (failures >= c->retries) {
            char note[48];
            snprintf(note, sizeof note, " (after %u retries)", failures);
            return restate(c, SP_EINCOMPLETE, what, note);
        }
        if (sp__now_ms() + (int64_t)delay >= m->deadline)
            return restate(c, SP_EINCOMPLETE, what, " (the back-off would outlast --timeout)");
        failures++;
        sp__debug(c, SP_DEBUG_INFO, "multipart: %s failed (%s); retry %u of %u in %llu ms", what,
                  c->errmsg, failures, c->retries, (unsigned long long)delay);
        if ((rc = pause_for(c, delay)) != SP_OK)
            return rc;
        delay = delay * 2 > 60000 ? 60000 : delay * 2;
    }
}

/* The next chunk to send, skipping those the server holds; -1 when none is left or the lanes
 * are to stop. */
static long next_chunk(mp *m)
{
    pthread_mutex_lock(&m->mu);
    while (m->next < m->s.total && held(&m->s, m->next))
        m->next++;
    long idx = m->stop || m->next >= m->s.total ? -1 : m->next++;
    pthread_mutex_unlock(&m->mu);
    return idx;
}

/* A lane's loop: chunks from the queue until it is empty, the lane fails, or the lanes stop. */
static void *lane_main(void *arg)
{
    lane *l = arg;
    l->rc = SP_OK;
    for (long idx; (idx = next_chunk(l->m)) >= 0;) {
        if ((l->rc = send_chunk(l, &l->c, idx)) != SP_OK) {
            stop_lanes(l->m, (int)l->no);
            break;
        }
    }
    return NULL;
}

/* Gives lane l its request head buffer and a closed connection. */
static int lane_init(mp *m, lane *l, unsigned no)
{
    l->m = m;
    l->no = no;
    l->cn.fd = -1;
    l->seed = (unsigned)sp__now_ms() ^ (no * 2654435761u);
    l->cap = sp__head_size(m->c, &m->chunk_url) + 256;
    if ((l->head = malloc(l->cap)) == NULL)
        return sp__fail(m->c, SP_ENOMEM, errno, "allocate request head");
    return SP_OK;
}

/*
 * Makes lane l's copy of the caller's handle, once the session is found (a login on the way
 * may have replaced the token): the options, with buffers, failure detail and callbacks of its
 * own.
 */
static void lane_copy(mp *m, lane *l)
{
    sp_client *c = m->c;
    l->c = *c;
    l->c.body_buf = NULL;
    l->c.body_buf_chunk = 0;
    l->c.resp_body = NULL;
    l->c.resp_len = l->c.resp_cap = 0;
    l->c.err = SP_OK;
    l->c.sys_errno = 0;
    l->c.errmsg[0] = '\0';
    l->c.progress = progress_lane;
    l->c.progress_ud = l;
    l->c.debug = m->debug != NULL ? debug_lane : NULL;
    l->c.debug_ud = l;
    /* OpenList answers a chunk once it has it, or after parking it at most WindowWaitTimeout
     * (10 s) for room in its window (window.go WriteChunk): not the long wait of a whole file
     * going to storage that the answer timeout is off for by default. A chunk whose answer does
     * not come within the stall timeout is sent again instead of waited for without end. */
    if (l->c.answer_timeout_ms == 0)
        l->c.answer_timeout_ms = c->stall_timeout_ms;
    /* --limit-rate is the upload's, shared by the lanes. */
    if (c->limit_rate != 0)
        l->c.limit_rate = (c->limit_rate + m->nlanes - 1) / m->nlanes;
}

/* Releases what lane l holds; its handle copy's strings are the caller's and stay. */
static void lane_free(lane *l)
{
    sp__conn_close(&l->cn);
    if (l->head != NULL)
        sp__wipe(l->head, l->cap); /* it held the token */
    free(l->head);
    free(l->c.body_buf);
    sp__wipe(l->c.resp_body, l->c.resp_len);
    free(l->c.resp_body);
}

/*
 * Sends the chunks the server lacks: lane 0 in the calling thread, the others in threads of
 * their own, until the queue is empty or one fails. Returns SP_OK, MP_RESTART, SP_ECANCELED, or
 * the failing lane's error, whose detail it copies onto the caller's handle.
 */
static int run_lanes(mp *m)
{
    sp_client *c = m->c;
    for (unsigned i = 1; i < m->nlanes; i++) {
        lane *l = &m->lanes[i];
        int e = pthread_create(&l->th, NULL, lane_main, l);
        l->started = e == 0;
        if (!l->started) /* its chunks go to the other lanes */
            sp__debug(c, SP_DEBUG_INFO, "multipart: cannot start lane %u: %s", i, strerror(e));
    }
    lane_main(&m->lanes[0]);
    for (unsigned i = 1; i < m->nlanes; i++)
        if (m->lanes[i].started)
            pthread_join(m->lanes[i].th, NULL);
    if (m->canceled)
        return sp__fail(c, SP_ECANCELED, 0, "canceled by the progress callback after %llu bytes",
                        (unsigned long long)m->sent);
    if (m->failed < 0)
        return SP_OK;
    lane *f = &m->lanes[m->failed];
    c->sys_errno = f->c.sys_errno;
    memcpy(c->errmsg, f->c.errmsg, sizeof c->errmsg);
    c->err = f->rc == MP_RESTART ? SP_EINCOMPLETE : f->rc;
    sp_result *res = m->res;
    res->http_status = f->res.http_status;
    res->has_code = f->res.has_code;
    res->code = f->res.code;
    memcpy(res->message, f->res.message, sizeof res->message);
    return f->rc;
}

/*
 * A request of the calling thread (status, init, complete) over lane 0's connection, again
 * after a failure worth repeating up to --retry times, and once more on a fresh connection if
 * the kept one had been closed. *unanswered is set when a try sent it all and got no answer.
 */
static int control(mp *m, const char *method, const sp_url *url, int upload, const char *extra,
                   int *unanswered)
{
    sp_client *c = m->c;
    lane *l = &m->lanes[0];
    sp_body_info b = *m->b; /* the file's description for init's headers; no body */
    b.size = 0;
    b.expect = 0;
    b.at_offset = b.slice = 0;
    uint64_t delay = c->retry_delay_ms;
    int fresh = 0;
    for (unsigned failures = 0;;) {
        int stale;
        int rc = request(l, c, method, url, upload, extra, &b, -1, m->res, &stale);
        if (rc != SP_OK && m->res->body_complete && m->res->http_status == 0 && unanswered)
            *unanswered = 1;
        if (stale && !fresh) {
            fresh = 1;
            continue;
        }
        if (rc == SP_OK || !sp__retryable(rc, m->res) || failures >= c->retries ||
            sp__now_ms() + (int64_t)delay >= m->deadline)
            return rc;
        failures++;
        sp__debug(c, SP_DEBUG_INFO, "multipart: %s failed (%s); retry %u of %u in %llu ms",
                  url->target, c->errmsg, failures, c->retries, (unsigned long long)delay);
        if ((rc = pause_for(c, delay)) != SP_OK)
            return rc;
        delay = delay * 2 > 60000 ? 60000 : delay * 2;
    }
}

/* The server's session must be for this body: the same size. */
static int check_session(mp *m)
{
    if (m->s.size != m->b->size)
        return sp__fail(m->c, SP_EPROTO, 0,
                        "the server's multipart session %s is for %llu bytes, not %llu", m->s.id,
                        (unsigned long long)m->s.size, (unsigned long long)m->b->size);
    return SP_OK;
}

/*
 * The server cannot take this upload in chunks: with auto a single PUT goes instead (one -v
 * line says why); with always the call fails with rc.
 */
static int decline(mp *m, int rc, const char *why)
{
    sp_client *c = m->c;
    if (c->multipart == SP_MULTIPART_ALWAYS)
        return rc == SP_OK ? sp__fail(c, SP_EUNSUPPORTED, 0, "multipart: %s", why) : rc;
    sp__debug(c, SP_DEBUG_INFO, "multipart: %s; uploading with a single PUT", why);
    return SP__MP_DECLINED;
}

/*
 * Finds the session to send into: a live one for this path and size (status), so that an init
 * cannot replace what an interrupted run left, or one init makes or resumes. A stream has
 * nothing to resume (its bytes cannot be skipped), so it goes to init at once, which replaces a
 * session of the same path and size. With digests init decides: OpenList resumes a receiving
 * session only when the digests prove the same file (session.go hashesQualifyResume).
 */
static int discover(mp *m)
{
    sp_client *c = m->c;
    sp_result *res = m->res;
    int rc;
    char why[300];
    if (m->regular) {
        rc = control(m, "GET", &m->status_url, 0, NULL, NULL);
        if (rc == SP_OK) {
            if ((rc = sp__mp_parse_snap(c, 1, &m->s)) != SP_OK || (rc = check_session(m)) != SP_OK)
                return rc;
            int receiving = strcmp(m->s.state, "receiving") == 0;
            if ((receiving && c->hashes == 0) || strcmp(m->s.state, "failed_retriable") == 0) {
                m->s.resumed = 1;
                return SP_OK;
            }
            sp__debug(c, SP_DEBUG_INFO,
                      "multipart: the server has session %s (%s) for this path "
                      "and size; %s",
                      m->s.id, m->s.state,
                      receiving ? "init resumes it if the digests match, else replaces it"
                                : "init replaces it");
        } else if (no_routes(rc, res)) {
            snprintf(why, sizeof why, "the server has no multipart upload routes (%.200s)",
                     c->errmsg);
            return decline(m, SP_OK, why);
        } else if (api_code(rc, res) != 404) {
            return rc;
        }
    }
    char extra[128];
    int n = snprintf(extra, sizeof extra, "X-File-Size: %llu\r\n", (unsigned long long)m->b->size);
    if (c->mp_chunk_size != 0)
        snprintf(extra + n, sizeof extra - (size_t)n, "X-Chunk-Size: %llu\r\n",
                 (unsigned long long)c->mp_chunk_size);
    rc = control(m, "POST", &m->init_url, 1, extra, NULL);
    if (no_routes(rc, res)) {
        snprintf(why, sizeof why, "the server has no multipart upload routes (%.200s)", c->errmsg);
        return decline(m, SP_OK, why);
    }
    /* OpenList checks its multipart_enabled setting in init only (handles/multipart.go). */
    if (api_code(rc, res) == 403 && strcmp(res->message, "multipart upload is disabled") == 0)
        return decline(m, rc, "multipart upload is disabled on the server");
    if (rc != SP_OK)
        return rc;
    memset(&m->s, 0, sizeof m->s);
    if ((rc = sp__mp_parse_snap(c, 1, &m->s)) != SP_OK || (rc = check_session(m)) != SP_OK)
        return rc;
    return SP_OK;
}

/*
 * Closes the session: the server answers once it has stored the file. MP_RESTART when its
 * storage attempt failed retriably, MP_MISSING with m->s's ranges renewed when it lacks chunks,
 * else SP_OK or the error.
 */
static int complete(mp *m)
{
    sp_client *c = m->c;
    char extra[96];
    int unanswered = 0;
    snprintf(extra, sizeof extra, "X-Upload-Id: %s\r\n", m->s.id);
    sp__debug(c, SP_DEBUG_INFO,
              "multipart: all %ld chunks are on the server; completing session "
              "%s (the server stores the file now)",
              m->s.total, m->s.id);
    int rc = control(m, "POST", &m->complete_url, 0, extra, &unanswered);
    mp_snap s;
    memset(&s, 0, sizeof s);
    if (rc == SP_OK) {
        if ((rc = sp__mp_parse_snap(c, 0, &s)) != SP_OK)
            return rc;
        if (strcmp(s.state, "completed") != 0)
            return sp__fail(c, SP_EPROTO, 0,
                            "complete: the server answered success with the "
                            "session %s",
                            s.state);
        return SP_OK;
    }
    if (rc == SP_EAPI && m->res->code == 400 && sp__mp_parse_snap(c, 1, &s) == SP_OK &&
        strcmp(s.state, "receiving") == 0 && strcmp(s.id, m->s.id) == 0 && s.size == m->s.size &&
        s.chunk_size == m->s.chunk_size) {
        char why[256];
        sp__fail(c, SP_EINCOMPLETE, 0, "complete: %s",
                 sp__printable(m->res->message, why, sizeof why));
        memcpy(m->s.ranges, s.ranges, sizeof s.ranges);
        m->s.nranges = s.nranges;
        return MP_MISSING;
    }
    rc = judge_session(c, m, rc, m->res, "complete");
    if (rc == SP_ESESSION && unanswered) {
        /* A complete that went out and whose answer was lost may have stored the file, after
         * which the server forgets the session (session.go Complete). */
        m->res->maybe_stored = 1;
        restate(c, rc, "complete",
                "; an earlier complete got no answer: the server may have "
                "stored the file");
    }
    return rc;
}

/*
 * After a failure: when the file changed while its chunks went out (sp__body_send then held a
 * chunk's last byte back), the session holds chunks of two files, and a rerun of the same size
 * would resume it into a mix of them. So the session goes (POST .../abort, which removes its
 * temp file), and the failure says so; a rerun starts anew.
 */
static void abort_if_changed(mp *m, const sp_url *u)
{
    const sp_body_info *b = m->b;
    struct stat st;
    if (!b->watch || m->s.id[0] == '\0' || fstat(m->fd, &st) != 0 ||
        ((uint64_t)st.st_size == b->watch_size && st.st_mtim.tv_sec == b->watch_mtime.tv_sec &&
         st.st_mtim.tv_nsec == b->watch_mtime.tv_nsec))
        return;
    sp_client *c = m->c;
    int err = c->err;
    char detail[sizeof c->errmsg], extra[96], note[160];
    memcpy(detail, c->errmsg, sizeof detail);
    snprintf(extra, sizeof extra, "X-Upload-Id: %s\r\n", m->s.id);
    int gone = sp__url_route(c, u, "/api/fs/multipart/abort", NULL, &m->abort_url) == SP_OK &&
               control(m, "POST", &m->abort_url, 0, extra, NULL) == SP_OK;
    snprintf(note, sizeof note,
             gone ? "; multipart session %s aborted: the same upload again starts anew"
                  : "; multipart session %s could not be aborted: it expires on the server",
             m->s.id);
    sp__fail(c, err, 0, "%.400s", detail);
    restate(c, err, "multipart", note);
}

/* Whether this upload goes in chunks at all, before anything is asked of the server. */
static int wanted(sp_client *c, const sp_url *u, const sp_body_info *b)
{
    if (c->multipart == SP_MULTIPART_NEVER)
        return SP__MP_DECLINED;
    int always = c->multipart == SP_MULTIPART_ALWAYS;
    if (b->size == SP_SIZE_UNKNOWN)
        return always ? sp__fail(c, SP_EINVAL, 0,
                                 "multipart needs the body's size: give a stream's with --size")
                      : SP__MP_DECLINED;
    if (!always && b->size <= c->multipart_threshold)
        return SP__MP_DECLINED;
    if (b->size == 0) {
        /* OpenList: "upload empty files via /fs/put" (handles/multipart.go). */
        sp__debug(c, SP_DEBUG_INFO, "multipart: an empty body goes with a single PUT");
        return SP__MP_DECLINED;
    }
    sp_url r;
    if (sp__url_route(c, u, "/api/fs/multipart/init", NULL, &r) != SP_OK)
        return always ? c->err : SP__MP_DECLINED;
    if (c->remote_path == NULL && sp__user_header(c, "File-Path") == NULL)
        return always ? sp__fail(c, SP_EINVAL, 0, "multipart needs the remote path (File-Path)")
                      : SP__MP_DECLINED;
    return SP_OK;
}

/* The status route's query: the remote path as a query value, and the size. */
static int status_route(mp *m, const sp_url *u)
{
    sp_client *c = m->c;
    const char *raw = sp__user_header_value(c, "File-Path");
    char *plain = NULL, *query = NULL;
    int rc = SP_ENOMEM;
    if (raw == NULL) {
        raw = c->remote_path; /* already percent-encoded, '+' and '&' included */
    } else {
        /* A caller's File-Path is sent as given, for the server to PathUnescape; a query's
         * '+' would read as a space, so it is decoded and encoded again. */
        if ((plain = malloc(strlen(raw) + 1)) == NULL || sp__pct_decode(raw, plain, NULL) < 0) {
            rc = plain == NULL ? sp__fail(c, SP_ENOMEM, errno, "status query")
                               : sp__fail(c, SP_EHEADER, 0, "File-Path: malformed escape");
            goto out;
        }
    }
    size_t need = plain != NULL ? sp__pct_encode(plain, NULL, 0) : strlen(raw);
    if ((query = malloc(need + 40)) == NULL) {
        rc = sp__fail(c, SP_ENOMEM, errno, "status query");
        goto out;
    }
    memcpy(query, "path=", 5);
    if (plain != NULL)
        sp__pct_encode(plain, query + 5, need + 1);
    else
        memcpy(query + 5, raw, need + 1);
    snprintf(query + 5 + need, 35, "&size=%llu", (unsigned long long)m->b->size);
    rc = sp__url_route(c, u, "/api/fs/multipart/status", query, &m->status_url);
out:
    free(plain);
    free(query);
    return rc;
}

/* The chunks of the session the server holds, by its ranges. */
long sp__mp_count_held(const mp_snap *s, uint64_t *bytes)
{
    long n = 0;
    *bytes = 0;
    for (long i = 0; i < s->total; i = i + 1) {
        if (held(s, i)) {
            n++;
            *bytes += chunk_len(s, i);
        }
    }
    return n;
}

/* The sessions' chunks, sent and closed: rounds until completed, restarted from chunk 0 when the
 * server's storage attempt failed (up to --retry times), and once more for chunks it lacks. */
static int send_session(mp *m)
{
    sp_client *c = m->c;
    unsigned restarts = 0, rounds = 0;
    int from_zero = strcmp(m->s.state, "failed_retriable") == 0;
    for (;;) {
        if (from_zero || !m->regular) {
            m->s.nranges = 0; /* everything goes again */
            pthread_mutex_lock(&m->mu);
            m->acked = 0;
            pthread_mutex_unlock(&m->mu);
        }
        m->next = 0;
        m->stop = m->canceled = 0; /* a new round: the last one's stop is over */
        m->failed = -1;
        int rc = SP_OK;
        if (from_zero) {
            /* Other chunks are refused until chunk 0 starts the server's new attempt. */
            sp__debug(c, SP_DEBUG_INFO, "multipart: sending session %s again from chunk 0",
                      m->s.id);
            if ((rc = send_chunk(&m->lanes[0], c, 0)) == SP_OK)
                m->next = 1;
        }
        if (rc == SP_OK)
            rc = run_lanes(m);
        if (rc == SP_OK)
            rc = complete(m);
        from_zero = rc == MP_RESTART;
        if (rc == MP_RESTART && restarts < c->retries) {
            restarts++;
            sp__debug(c, SP_DEBUG_INFO, "multipart: %s; retry %u of %u", c->errmsg, restarts,
                      c->retries);
            continue;
        }
        /* Before the give-up below, or the round for what the server lacks never comes: a
         * status that claimed chunks the server does not hold would end the upload at once. */
        if (rc == MP_MISSING && rounds++ == 0) {
            sp__debug(c, SP_DEBUG_INFO, "multipart: %s; sending what the server lacks", c->errmsg);
            uint64_t bytes;
            sp__mp_count_held(&m->s, &bytes);
            pthread_mutex_lock(&m->mu);
            m->acked = bytes;
            pthread_mutex_unlock(&m->mu);
            continue;
        }
        if (rc == MP_RESTART || rc == MP_MISSING)
            return SP_EINCOMPLETE;
        return rc;
    }
}

int sp__multipart_put(sp_client *c, const sp_url *u, const sp_url *login, int fd, int regular,
                      uint64_t start, const sp_body_info *b, int64_t deadline, sp_result *res)
{
    int rc = wanted(c, u, b);
    if (rc != SP_OK)
        return rc;
    mp *m = calloc(1, sizeof *m);
    if (m == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "allocate the multipart upload");
    *m = (mp){.c = c,
              .b = b,
              .fd = fd,
              .regular = regular,
              .start = start,
              .deadline = deadline,
              .res = res,
              .nlanes = 1,
              .progress = c->progress,
              .progress_ud = c->progress_ud,
              .debug = c->debug,
              .debug_ud = c->debug_ud,
              .failed = -1};
    pthread_mutex_init(&m->mu, NULL);
    /* The calling thread's requests tick the call's progress: what the server holds. */
    c->progress = progress_lane;
    c->progress_ud = &m->lanes[0];
    if ((rc = status_route(m, u)) != SP_OK ||
        (rc = sp__url_route(c, u, "/api/fs/multipart/init", NULL, &m->init_url)) != SP_OK ||
        (rc = sp__url_route(c, u, "/api/fs/multipart/chunk", NULL, &m->chunk_url)) != SP_OK ||
        (rc = sp__url_route(c, u, "/api/fs/multipart/complete", NULL, &m->complete_url)) != SP_OK ||
        (rc = lane_init(m, &m->lanes[0], 0)) != SP_OK)
        goto out;
    if (login != NULL && c->login_token == NULL) {
        if ((rc = sp__login_run(c, login, &m->lanes[0].cn, b->size, deadline, res)) != SP_OK)
            goto out;
        m->lanes[0].conns++;
    }
    if ((rc = discover(m)) != SP_OK)
        goto out;

    uint64_t held_bytes = 0;
    long skipped = m->regular && strcmp(m->s.state, "failed_retriable") != 0
                       ? sp__mp_count_held(&m->s, &held_bytes)
                       : 0;
    m->acked = held_bytes;
    res->chunks_skipped = skipped;
    snprintf(res->upload_id, sizeof res->upload_id, "%s", m->s.id);
    res->chunks_total = m->s.total;
    if (!m->regular)
        sp__debug(c, SP_DEBUG_INFO,
                  "multipart: standard input goes over one connection from "
                  "chunk 0: a stream cannot be resumed, nor a chunk sent again once read");
    if (m->s.resumed)
        sp__debug(c, SP_DEBUG_INFO,
                  "multipart: resuming session %s (%s): the server holds %ld "
                  "of %ld chunks of %llu bytes (%llu of %llu bytes)",
                  m->s.id, m->s.state, skipped, m->s.total, (unsigned long long)m->s.chunk_size,
                  (unsigned long long)held_bytes, (unsigned long long)m->s.size);
    else
        sp__debug(c, SP_DEBUG_INFO, "multipart: new session %s: %ld chunks of %llu bytes", m->s.id,
                  m->s.total, (unsigned long long)m->s.chunk_size);

    /* Lanes beyond the chunks to send would only hold connections. */
    long todo = m->s.total - skipped;
    unsigned want = m->regular ? c->lanes : 1;
    m->nlanes = todo < (long)want ? (unsigned)(todo > 0 ? todo : 1) : want;
    for (unsigned i = 1; i < m->nlanes && rc == SP_OK; i++)
        rc = lane_init(m, &m->lanes[i], i);
    for (unsigned i = 0; i < m->nlanes; i++)
        lane_copy(m, &m->lanes[i]);
    if (rc == SP_OK)
        rc = send_session(m);
    if (rc == SP_EFILE)
        abort_if_changed(m, u);
    if (rc == SP_EINCOMPLETE || rc == SP_ECANCELED) {
        char note[200];
        snprintf(note, sizeof note,
                 "; multipart session %s holds %llu of %llu bytes: the same "
                 "upload again resumes it",
                 m->s.id, (unsigned long long)m->acked, (unsigned long long)m->s.size);
        restate(c, rc, "multipart", note);
    }

out:
    c->progress = m->progress;
    c->progress_ud = m->progress_ud;
    res->body_size = b->size;
    res->bytes_sent = m->sent;
    res->chunks_sent = m->chunks_sent;
    res->bytes_held = rc == SP_OK ? b->size : m->acked;
    res->body_sent = m->sent > 0;
    res->body_complete = rc == SP_OK;
    res->attempts = 0;
    for (unsigned i = 0; i < SP_MAX_LANES; i++) {
        lane *l = &m->lanes[i];
        res->attempts += l->conns;
        if (l->res.body_sent && res->engine == SP_ENGINE_AUTO)
            res->engine = l->res.engine;
        if (l->head != NULL)
            lane_free(l);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
    return rc;
}
