/*
 * The deadlines libmicrohttpd's connection timeout cannot give: the request head's
 * (--header-timeout) and the body's minimum rate (--body-min-rate after --body-grace).
 * MHD's timeout restarts on every byte, so a client that dribbles its request line and headers
 * (slowloris), or a body one byte at a time, holds a connection, and its thread, as long as it
 * likes; with --max-connections of them, nobody else gets in. Every connection is registered
 * when MHD accepts it, marked when its head is complete (the access handler's first call), told
 * how many body bytes each handler call consumed, and re-armed when a request completes
 * (keep-alive); a watchdog thread shuts down the sockets that miss their deadline. MHD's
 * connection thread then sees the end of the stream and closes the connection itself.
 *
 * The body rule is Apache mod_reqtimeout's "body=GRACE,MinRate=RATE": the body must be complete
 * GRACE seconds after the head arrived, and every RATE bytes received extend that by a second.
 * Only the client's time counts: while the access handler runs (writing to disk, or sleeping in
 * a stall-after or slow-read fault) the mock is not reading, so that time is added back, and a
 * connection is never cut while its handler runs. That also makes the cut and the store
 * exclusive: a request the watchdog cut gets no further handler call, so it cannot be stored.
 *
 * The same registration numbers every connection 1, 2, 3 ... in the order MHD accepted them,
 * which the journal records so that a test can count the connections a client used; that part
 * runs with or without the watchdog thread.
 *
 * shutdown(), never close(): the descriptor stays MHD's. MHD reports a connection closed before
 * it closes the socket, and entries leave the list under the lock in that report, so the
 * watchdog never touches a descriptor that could already belong to another connection.
 */
#include "watchdog.h"
#include "journal.h"
#include "sp_common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* Where a connection's current request stands. */
typedef enum wd_phase {
    WD_HEAD = 0, /* its head is awaited: --header-timeout applies */
    WD_BODY,     /* its body is being read: --body-min-rate applies */
    WD_DONE,     /* read completely (or not at all): neither applies until the next head */
} wd_phase;

typedef struct wd_conn {
    struct wd_conn *prev, *next; /* in wd's list only while the watchdog runs */
    uint64_t id;                 /* the connection's number, see mock_connection_id() */
    int fd;
    wd_phase phase;
    int64_t since;      /* when the current phase began */
    uint64_t bytes;     /* body bytes the handler has consumed */
    int64_t paused_ms;  /* time spent inside the handler during the body: not the client's */
    int64_t busy_since; /* when the running handler call began */
    int busy;           /* the handler is running for this connection */
    int cut;            /* already shut down */
    int body_cut;       /* ... because its body came too slowly */
    uint64_t cut_bytes; /* what it had sent by then, and in how much of its own time */
    int64_t cut_ms;
} wd_conn;

static struct {
    pthread_mutex_t lock;
    pthread_t thread;
    int running, stopping;
    int64_t head_ms;   /* 0: no head deadline */
    uint64_t min_rate; /* bytes per second, 0: no body rule */
    int64_t grace_ms;
    wd_conn *head;
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The last connection number given out; process-wide, never reset (not even by DELETE). */
static atomic_uint_fast64_t last_id;

/* The client's own time in the body so far: wall time minus the handler's. */
static int64_t client_ms(const wd_conn *w, int64_t now)
{
    return now - w->since - w->paused_ms;
}

/* 1 if w's body is behind the minimum rate: more client time than grace + 1 s per min_rate B. */
static int body_late(const wd_conn *w, int64_t now)
{
    if (wd.min_rate == 0 || w->phase != WD_BODY || w->busy)
        return 0;
    int64_t earned =
        (int64_t)(w->bytes / wd.min_rate * 1000 + w->bytes % wd.min_rate * 1000 / wd.min_rate);
    return client_ms(w, now) > wd.grace_ms + earned;
}

static void *watch(void *arg)
{
    (void)arg;
    static const struct timespec tick = {0, 250 * 1000000L};
    for (;;) {
        unsigned heads = 0, bodies = 0;
        pthread_mutex_lock(&wd.lock);
        if (wd.stopping) {
            pthread_mutex_unlock(&wd.lock);
            return NULL;
        }
        int64_t now = sp__now_ms();
        for (wd_conn *w = wd.head; w != NULL; w = w->next) {
            if (w->cut)
                continue;
            if (wd.head_ms > 0 && w->phase == WD_HEAD && now - w->since >= wd.head_ms) {
                heads++;
            } else if (body_late(w, now)) {
                w->body_cut = 1;
                w->cut_bytes = w->bytes;
                w->cut_ms = client_ms(w, now);
                bodies++;
            } else {
                continue;
            }
            shutdown(w->fd, SHUT_RDWR);
            w->cut = 1;
        }
        pthread_mutex_unlock(&wd.lock);
        /* Logged outside the lock: a slow stderr must not stall connections. */
        if (heads > 0)
            mock_warn("closed %u connection(s) whose request head did not arrive within %lld s "
                      "(--header-timeout)",
                      heads, (long long)(wd.head_ms / 1000));
        if (bodies > 0)
            mock_warn("closed %u connection(s) whose body came slower than --body-min-rate "
                      "%llu B/s after the first %lld s (--body-grace); nothing of them is stored",
                      bodies, (unsigned long long)wd.min_rate, (long long)(wd.grace_ms / 1000));
        nanosleep(&tick, NULL);
    }
}

int mock_watchdog_start(unsigned header_seconds, uint64_t min_rate, unsigned grace_seconds)
{
    if (header_seconds == 0 && min_rate == 0)
        return 0;
    wd.head_ms = (int64_t)header_seconds * 1000;
    wd.min_rate = min_rate;
    wd.grace_ms = (int64_t)grace_seconds * 1000;
    if (pthread_create(&wd.thread, NULL, watch, NULL) != 0)
        return -1;
    wd.running = 1;
    return 0;
}

void mock_watchdog_stop(void)
{
    if (!wd.running)
        return;
    pthread_mutex_lock(&wd.lock);
    wd.stopping = 1;
    pthread_mutex_unlock(&wd.lock);
    pthread_join(wd.thread, NULL);
    wd.running = 0;
}

void mock_watchdog_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        wd_conn *w = ci != NULL ? calloc(1, sizeof *w) : NULL;
        if (w == NULL)
            return; /* unregistered: this connection only loses its deadlines and its number */
        /* MHD reports connections from its one accepting thread, so numbers follow accept order. */
        w->id = atomic_fetch_add_explicit(&last_id, 1, memory_order_relaxed) + 1;
        w->fd = ci->connect_fd;
        w->since = sp__now_ms();
        *socket_context = w;
        if (!wd.running)
            return;
        pthread_mutex_lock(&wd.lock);
        w->next = wd.head;
        if (wd.head != NULL)
            wd.head->prev = w;
        wd.head = w;
        pthread_mutex_unlock(&wd.lock);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        wd_conn *w = *socket_context;
        /* wd.running cannot change while MHD runs: it is set before MHD starts and after it ends.
         */
        if (wd.running) {
            pthread_mutex_lock(&wd.lock);
            if (w->prev != NULL)
                w->prev->next = w->next;
            else
                wd.head = w->next;
            if (w->next != NULL)
                w->next->prev = w->prev;
            pthread_mutex_unlock(&wd.lock);
        }
        free(w);
        *socket_context = NULL;
    }
}

/* The connection's entry, or NULL if it was never registered. */
static wd_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

uint64_t mock_connection_id(struct MHD_Connection *c)
{
    const wd_conn *w = conn_of(c);
    return w != NULL ? w->id : 0;
}

uint64_t mock_connections_accepted(void)
{
    return atomic_load_explicit(&last_id, memory_order_relaxed);
}

/* The connection's watchdog entry, locked; NULL (and nothing locked) if it is not watched. */
static wd_conn *lock_conn(struct MHD_Connection *c)
{
    if (!wd.running)
        return NULL;
    wd_conn *w = conn_of(c);
    if (w != NULL)
        pthread_mutex_lock(&wd.lock);
    return w;
}

void mock_watchdog_head_done(struct MHD_Connection *c, int has_body)
{
    wd_conn *w = lock_conn(c);
    if (w == NULL)
        return;
    w->phase = has_body ? WD_BODY : WD_DONE;
    w->since = sp__now_ms();
    w->bytes = 0;
    w->paused_ms = 0;
    pthread_mutex_unlock(&wd.lock);
}

int mock_watchdog_enter(struct MHD_Connection *c)
{
    wd_conn *w = lock_conn(c);
    if (w == NULL)
        return 0;
    int cut = w->body_cut;
    w->busy = 1;
    w->busy_since = sp__now_ms();
    pthread_mutex_unlock(&wd.lock);
    return cut ? -1 : 0;
}

void mock_watchdog_leave(struct MHD_Connection *c, uint64_t bytes, int body_done)
{
    wd_conn *w = lock_conn(c);
    if (w == NULL)
        return;
    if (w->busy && w->phase == WD_BODY)
        w->paused_ms += sp__now_ms() - w->busy_since;
    w->busy = 0;
    w->bytes += bytes;
    if (body_done && w->phase == WD_BODY)
        w->phase = WD_DONE;
    pthread_mutex_unlock(&wd.lock);
}

int mock_watchdog_why(struct MHD_Connection *c, char *out, size_t outsz)
{
    wd_conn *w = lock_conn(c);
    if (w == NULL)
        return 0;
    int cut = w->body_cut;
    if (cut)
        snprintf(out, outsz,
                 "body slower than --body-min-rate %llu B/s: %llu bytes in %.1f s; nothing stored",
                 (unsigned long long)wd.min_rate, (unsigned long long)w->cut_bytes,
                 (double)w->cut_ms / 1000.0);
    pthread_mutex_unlock(&wd.lock);
    return cut;
}

void mock_watchdog_rearm(struct MHD_Connection *c)
{
    wd_conn *w = lock_conn(c);
    if (w == NULL)
        return;
    w->phase = WD_HEAD;
    w->since = sp__now_ms();
    pthread_mutex_unlock(&wd.lock);
}
