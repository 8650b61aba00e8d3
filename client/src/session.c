/*
 * A batch of uploads over kept connections: lanes, each a copy of the caller's handle in a
 * thread of its own, take files from one bounded ring that sp_session_put() fills. The handle is
 * the upload engine; a lane adds only the thread, the queue and the report of each file. One
 * mutex guards the ring and the state; the caller's callbacks run outside it.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_LANES_MAX 64

/* A queued file: path, remote and url in one allocation. */
typedef struct job {
    char *path;
    char *remote; /* NULL: none */
    char *url;    /* with remote appended when in_url */
    int in_url;   /* the URL names the file: no File-Path, nothing to look up */
    void *userdata;
} job;

typedef struct lane {
    sp_session *s;
    sp_client *c;
    unsigned index;
    pthread_t th;
} lane;

struct sp_session {
    sp_done_fn done;
    void *done_ud;
    sp_lane_progress_fn progress;
    void *progress_ud;
    int skip_existing;

    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    job queue[2 * SESSION_LANES_MAX]; /* a ring of qcap entries */
    unsigned qcap, qhead, qlen;
    int queued;    /* a file was put: the settings are fixed */
    int stopped;   /* sp_session_stop(): start no more files */
    int closed;    /* sp_session_finish(): the lanes end once the ring is empty */
    int finished;  /* the threads are joined */
    int first_err; /* the err of the first file that did not succeed, SP_OK while none */
    lane lanes[SESSION_LANES_MAX];
    unsigned nlanes; /* threads running */
};

/* Records a file's end and tells the caller. */
static void report(sp_session *s, const job *j, sp_outcome outcome, int err, lane *l)
{
    if (outcome != SP_UPLOADED && outcome != SP_SKIPPED) {
        pthread_mutex_lock(&s->mu);
        if (s->first_err == SP_OK)
            s->first_err = err;
        pthread_mutex_unlock(&s->mu);
    }
    sp_done d = {.path = j->path,
                 .remote = j->remote,
                 .url = j->url,
                 .userdata = j->userdata,
                 .outcome = outcome,
                 .err = err,
                 .lane = l != NULL ? l->index : 0,
                 .handle = l != NULL ? l->c : NULL};
    s->done(s->done_ud, &d);
}

/* A lane handle's progress callback: the caller's, with the lane's number. */
static int on_progress(void *ud, uint64_t sent, uint64_t total)
{
    lane *l = ud;
    return l->s->progress(l->s->progress_ud, l->index, sent, total);
}

/* Uploads one file through lane l: looks it up first if asked, then puts it. */
static void run_job(lane *l, const job *j)
{
    sp_session *s = l->s;
    sp_client *c = l->c;
    int err = sp_set_remote_path(c, j->in_url ? NULL : j->remote);
    if (err != SP_OK) {
        report(s, j, SP_FAILED, err, l);
        return;
    }
    int from_stdin = strcmp(j->path, "-") == 0;
    if (s->skip_existing && !from_stdin && j->remote != NULL && !j->in_url) {
        int same = 0;
        if ((err = sp_remote_matches(c, j->path, j->remote, j->url, &same)) != SP_OK) {
            report(s, j, SP_LOOKUP_FAILED, err, l);
            return;
        }
        if (same) {
            report(s, j, SP_SKIPPED, SP_OK, l);
            return;
        }
    }
    err = from_stdin ? sp_put_stream(c, 0, j->url) : sp_put_file(c, j->path, j->url);
    report(s, j, err == SP_OK ? SP_UPLOADED : SP_FAILED, err, l);
}

/* Takes the next file off the ring; the caller holds the mutex and the ring is not empty. */
static job take(sp_session *s)
{
    job j = s->queue[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    pthread_cond_signal(&s->not_full);
    return j;
}

/* A lane's thread: files until the ring is empty and closed; after a stop, none. */
static void *lane_main(void *arg)
{
    lane *l = arg;
    sp_session *s = l->s;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->qlen == 0 && !s->closed && !s->stopped)
            pthread_cond_wait(&s->not_empty, &s->mu);
        if (s->stopped || s->qlen == 0)
            break;
        job j = take(s);
        pthread_mutex_unlock(&s->mu);
        run_job(l, &j);
        free(j.path);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

sp_session *sp_session_new(const sp_client *c, unsigned lanes, sp_done_fn done, void *userdata)
{
    if (c == NULL || done == NULL || lanes < 1 || lanes > SESSION_LANES_MAX)
        return NULL;
    sp_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->done = done;
    s->done_ud = userdata;
    s->qcap = 2 * lanes;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->not_empty, NULL);
    pthread_cond_init(&s->not_full, NULL);
    for (unsigned i = 0; i < lanes; i++) {
        lane *l = &s->lanes[s->nlanes];
        *l = (lane){.s = s, .index = s->nlanes};
        if ((l->c = sp_client_dup(c)) == NULL)
            break;
        /* The lanes report progress through the session, never to c's own callback. */
        l->c->progress = NULL;
        if (pthread_create(&l->th, NULL, lane_main, l) != 0) {
            sp_client_free(l->c);
            break;
        }
        s->nlanes++;
    }
    if (s->nlanes == 0) {
        sp_session_free(s);
        return NULL;
    }
    return s;
}

/* Fixes a setting unless files were queued. */
static int before_first_put(sp_session *s)
{
    pthread_mutex_lock(&s->mu);
    int ok = !s->queued;
    pthread_mutex_unlock(&s->mu);
    return ok ? SP_OK : SP_EINVAL;
}

int sp_session_set_skip_existing(sp_session *s, int skip)
{
    int rc = before_first_put(s);
    if (rc == SP_OK)
        s->skip_existing = skip != 0;
    return rc;
}

int sp_session_set_progress(sp_session *s, sp_lane_progress_fn fn, void *userdata)
{
    int rc = before_first_put(s);
    if (rc != SP_OK)
        return rc;
    s->progress = fn;
    s->progress_ud = userdata;
    for (unsigned i = 0; i < s->nlanes; i++)
        sp_set_progress(s->lanes[i].c, fn != NULL ? on_progress : NULL, &s->lanes[i]);
    return SP_OK;
}

/*
 * Copies the strings of a file to queue into one allocation; a URL whose path ends in '/' gets
 * remote appended, each segment percent-encoded (3 bytes a byte at most).
 */
static int make_job(job *j, const char *path, const char *remote, const char *url, void *ud)
{
    int in_url = remote != NULL && sp__url_is_dir(url);
    size_t plen = strlen(path) + 1, rlen = remote != NULL ? strlen(remote) + 1 : 0;
    size_t ulen = strlen(url) + 1 + (in_url ? 3 * rlen : 0);
    char *mem = malloc(plen + rlen + ulen);
    if (mem == NULL)
        return SP_ENOMEM;
    *j = (job){.path = mem, .url = mem + plen + rlen, .in_url = in_url, .userdata = ud};
    memcpy(j->path, path, plen);
    if (remote != NULL) {
        j->remote = mem + plen;
        memcpy(j->remote, remote, rlen);
    }
    if (in_url)
        sp__url_append(url, remote, j->url, ulen);
    else
        memcpy(j->url, url, ulen);
    return SP_OK;
}

int sp_session_put(sp_session *s, const char *path, const char *remote, const char *url,
                   void *userdata)
{
    if (path == NULL || url == NULL)
        return SP_EINVAL;
    job j;
    int rc = make_job(&j, path, remote, url, userdata);
    if (rc != SP_OK)
        return rc;
    pthread_mutex_lock(&s->mu);
    s->queued = 1;
    while (s->qlen == s->qcap && !s->stopped && !s->closed)
        pthread_cond_wait(&s->not_full, &s->mu);
    if (s->stopped || s->closed) {
        rc = s->closed ? SP_EINVAL : SP_ECANCELED;
        pthread_mutex_unlock(&s->mu);
        free(j.path);
        return rc;
    }
    s->queue[(s->qhead + s->qlen) % s->qcap] = j;
    s->qlen++;
    pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->mu);
    return SP_OK;
}

void sp_session_stop(sp_session *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopped = 1;
    pthread_cond_broadcast(&s->not_empty);
    pthread_cond_broadcast(&s->not_full);
    pthread_mutex_unlock(&s->mu);
}

int sp_session_finish(sp_session *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->finished) {
        pthread_mutex_unlock(&s->mu);
        return s->first_err;
    }
    s->closed = 1;
    pthread_cond_broadcast(&s->not_empty);
    pthread_cond_broadcast(&s->not_full);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->nlanes; i++)
        pthread_join(s->lanes[i].th, NULL);
    /* Left by a stop: the files no lane took, each told of in this thread. */
    pthread_mutex_lock(&s->mu);
    while (s->qlen > 0) {
        job j = take(s);
        pthread_mutex_unlock(&s->mu);
        report(s, &j, SP_NOT_STARTED, SP_ECANCELED, NULL);
        free(j.path);
        pthread_mutex_lock(&s->mu);
    }
    s->finished = 1;
    pthread_mutex_unlock(&s->mu);
    return s->first_err;
}

void sp_session_free(sp_session *s)
{
    if (s == NULL)
        return;
    sp_session_finish(s);
    for (unsigned i = 0; i < s->nlanes; i++)
        sp_client_free(s->lanes[i].c);
    pthread_cond_destroy(&s->not_full);
    pthread_cond_destroy(&s->not_empty);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
