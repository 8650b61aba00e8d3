/*
 * The dashboard's event bus and its Server-Sent Events streams, and the uploads in flight.
 *
 * Memory is constant however many events are published and however slowly a viewer reads: the
 * bus is one ring of EVENT_SLOTS fixed slots numbered by a sequence, and each viewer keeps only
 * the number of the next event it wants and one event's worth of text being sent. Publishing
 * renders the event on the publisher's stack, then copies it into the next slot under a mutex
 * held for that memcpy alone, and broadcasts; it never waits for a viewer. A viewer whose socket
 * is full simply does not come back for events, and when it does and its next event has been
 * overwritten, it skips to the newest and is sent a "dropped" event, so that the page refetches
 * the state instead of showing a gap as if nothing happened.
 *
 * In libmicrohttpd's thread-per-connection mode, a stream's content reader runs in the viewer's
 * own connection thread, so it may block: it waits on the bus's condition variable for the next
 * event, or until the heartbeat is due, which keeps the connection inside --idle-timeout.
 */
#include "events.h"
#include "respond.h"
#include "sleep.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Events kept for viewers that are behind: enough for a burst of a few hundred requests. */
#define EVENT_SLOTS 256

/* The longest event type. */
#define EVENT_TYPE_MAX 16

/* One event as a stream sends it: "id: ", "event: ", "data: " lines and the blank one. */
#define EVENT_TEXT_MAX (MOCK_EVENT_MAX + EVENT_TYPE_MAX + 64)

/* How long a browser waits before it reconnects a stream that ended. */
#define RETRY_MS 2000

/*
 * How often a waiting stream looks whether its viewer has gone: a closed tab gives its place
 * back within this, not only when the next heartbeat fails to be sent.
 */
#define GONE_CHECK_MS 1000

/*
 * A stream's socket send buffer. Left to autotuning, the kernel would queue megabytes for a
 * viewer that does not read before the stream ever blocks; fixed, a stuck viewer costs the
 * kernel this much and is lapped by the ring soon after.
 */
#define STREAM_SNDBUF (32 * 1024)

/* A progress event per upload at most this often, so that a fast upload cannot flood the ring. */
#define PROGRESS_EVERY_MS 200

typedef struct event_slot {
    uint64_t seq;
    char type[EVENT_TYPE_MAX];
    size_t len;
    char data[MOCK_EVENT_MAX];
} event_slot;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: an event was published, or the mock stops */
    uint64_t next_seq; /* the ring holds max(0, next_seq - EVENT_SLOTS) .. next_seq - 1 */
    int viewers;
    int stopping;
    event_slot ring[EVENT_SLOTS];
} bus = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t bus_once = PTHREAD_ONCE_INIT;

/* bus.viewers as publishers read it without the lock. */
static atomic_int watched;

static void bus_init(void)
{
    mock_cond_init_monotonic(&bus.cv);
}

int mock_events_wanted(void)
{
    return atomic_load_explicit(&watched, memory_order_relaxed) > 0;
}

/* Copies one rendered event into the next slot; the caller holds bus.mu. */
static void put(const char *type, const char *data, size_t len)
{
    event_slot *s = &bus.ring[bus.next_seq % EVENT_SLOTS];
    s->seq = bus.next_seq++;
    snprintf(s->type, sizeof s->type, "%s", type);
    memcpy(s->data, data, len);
    s->len = len;
}

void mock_events_publish(const char *type, const cJSON *v)
{
    char raw[MOCK_EVENT_MAX], out[MOCK_EVENT_MAX];
    long n = -1;
    pthread_once(&bus_once, bus_init);
    if (cJSON_PrintPreallocated((cJSON *)v, raw, sizeof raw, 0))
        n = mock_json_go_into(raw, out, sizeof out, 0);
    if (n < 0) {
        /* Paths and messages are cut before they get here, so only an unforeseen event is this
         * large; the viewer refetches the state rather than miss it silently. */
        n = snprintf(out, sizeof out,
                     "{\"reason\":\"an event of type %s was larger than %d bytes\"}", type,
                     MOCK_EVENT_MAX);
        type = "dropped";
    }
    pthread_mutex_lock(&bus.mu);
    put(type, out, (size_t)n);
    pthread_cond_broadcast(&bus.cv);
    pthread_mutex_unlock(&bus.mu);
}

/* ---- streams ---- */

/* One viewer: where it is in the bus, and the text of one event being sent. */
typedef struct viewer {
    int fd;           /* the connection's socket, only ever peeked at */
    uint64_t next;    /* the next event it is to get */
    int greeted;      /* the hello event is out */
    unsigned beat_ms; /* the heartbeat's period */
    size_t len, off;  /* text[off .. len) is still to be sent */
    char text[EVENT_TEXT_MAX];
} viewer;

/*
 * text gets a complete event of type with data, with the event's number in an id line unless
 * it is a notice of the stream's own (the hello, dropped events) that has none; the caller holds
 * bus.mu.
 */
static void say(viewer *v, const uint64_t *id, const char *type, const char *data, size_t len)
{
    char idl[32] = "";
    if (id != NULL)
        snprintf(idl, sizeof idl, "id: %llu\n", (unsigned long long)*id);
    int n =
        snprintf(v->text, sizeof v->text, "%sevent: %s\ndata: %.*s\n\n", idl, type, (int)len, data);
    v->off = 0;
    v->len = n > 0 && (size_t)n < sizeof v->text ? (size_t)n : 0;
}

/* 1 if the viewer closed its side: a peek that reads the end of the stream, never its bytes. */
static int gone(const viewer *v)
{
    char c;
    return v->fd >= 0 && recv(v->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * Puts the viewer's next text in place: the hello, a dropped notice, the next event or, after
 * waiting a heartbeat period with may_wait, a heartbeat comment. Returns 1 with text ready, 0 if
 * nothing is ready and may_wait is 0, -1 once the mock stops, -2 if the viewer has gone.
 */
static int next_text(viewer *v, int may_wait)
{
    int r = 1;
    char d[128];
    unsigned waited = 0;
    pthread_mutex_lock(&bus.mu);
    for (;;) {
        uint64_t oldest = bus.next_seq > EVENT_SLOTS ? bus.next_seq - EVENT_SLOTS : 0;
        unsigned slice = v->beat_ms - waited < GONE_CHECK_MS ? v->beat_ms - waited : GONE_CHECK_MS;
        struct timespec until;
        if (bus.stopping) {
            r = -1;
        } else if (!v->greeted) {
            /* The page loads the state when it is greeted: every event after it is news. */
            v->greeted = 1;
            v->next = bus.next_seq;
            int n = snprintf(d, sizeof d, "{\"seq\":%llu,\"heartbeat_ms\":%u}",
                             (unsigned long long)bus.next_seq, v->beat_ms);
            say(v, NULL, "hello", d, (size_t)n);
            int k = snprintf(v->text + v->len, sizeof v->text - v->len, "retry: %d\n\n", RETRY_MS);
            v->len += k > 0 ? (size_t)k : 0;
        } else if (v->next < oldest) {
            int n = snprintf(d, sizeof d, "{\"missed\":%llu}",
                             (unsigned long long)(bus.next_seq - v->next));
            say(v, NULL, "dropped", d, (size_t)n);
            v->next = bus.next_seq;
        } else if (v->next < bus.next_seq) {
            const event_slot *s = &bus.ring[v->next % EVENT_SLOTS];
            say(v, &s->seq, s->type, s->data, s->len);
            v->next++;
        } else if (!may_wait) {
            r = 0;
        } else {
            until = mock_deadline_in(slice);
            if (pthread_cond_timedwait(&bus.cv, &bus.mu, &until) == 0)
                continue; /* published, or stopping: look again */
            if (gone(v)) {
                r = -2;
                break;
            }
            waited += slice;
            if (waited < v->beat_ms)
                continue;
            /* A comment line: it keeps the connection busy and proxies awake, and shows no
             * event to the page. */
            v->off = 0;
            v->len = (size_t)snprintf(v->text, sizeof v->text, ":\n\n");
        }
        break;
    }
    pthread_mutex_unlock(&bus.mu);
    return r;
}

/* libmicrohttpd's content reader: what is ready fits into buf; it waits only if nothing is. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    viewer *v = cls;
    size_t w = 0;
    (void)pos;
    while (w < max) {
        if (v->off == v->len) {
            int r = next_text(v, w == 0);
            if (r == -2)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            if (r < 0 && w == 0)
                return MHD_CONTENT_READER_END_OF_STREAM;
            if (r <= 0)
                break;
        }
        w += mock_hand_out(buf + w, max - w, v->text, v->len, &v->off);
    }
    return (ssize_t)w;
}

static void stream_free(void *cls)
{
    pthread_mutex_lock(&bus.mu);
    bus.viewers--;
    atomic_store_explicit(&watched, bus.viewers, memory_order_relaxed);
    pthread_mutex_unlock(&bus.mu);
    free(cls);
}

enum MHD_Result mock_events_respond(struct MHD_Connection *c, unsigned heartbeat_ms)
{
    pthread_once(&bus_once, bus_init);
    pthread_mutex_lock(&bus.mu);
    int full = bus.viewers >= MOCK_VIEWERS_MAX || bus.stopping;
    if (!full) {
        bus.viewers++;
        atomic_store_explicit(&watched, bus.viewers, memory_order_relaxed);
    }
    pthread_mutex_unlock(&bus.mu);
    if (full) {
        char m[128];
        snprintf(m, sizeof m, "%d dashboard event streams are open already, the most there may be",
                 MOCK_VIEWERS_MAX);
        return mock_respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, 503, m, NULL, 0);
    }
    viewer *v = calloc(1, sizeof *v);
    struct MHD_Response *r = NULL;
    if (v != NULL) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        v->fd = ci != NULL ? ci->connect_fd : -1;
        int sndbuf = STREAM_SNDBUF;
        if (v->fd >= 0)
            setsockopt(v->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        v->beat_ms = heartbeat_ms;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, v,
                                              stream_free);
    }
    if (r == NULL) {
        /* stream_free gives the place back, as it will for every stream that did start. */
        stream_free(v);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

void mock_events_stop(void)
{
    pthread_once(&bus_once, bus_init);
    pthread_mutex_lock(&bus.mu);
    bus.stopping = 1;
    pthread_cond_broadcast(&bus.cv);
    pthread_mutex_unlock(&bus.mu);
}

cJSON *mock_events_string(const char *s)
{
    if (s == NULL)
        return cJSON_CreateNull();
    size_t n = strnlen(s, MOCK_EVENT_VALUE_MAX + 1);
    if (n <= MOCK_EVENT_VALUE_MAX)
        return cJSON_CreateString(s);
    char cut[MOCK_EVENT_VALUE_MAX + 4];
    n = MOCK_EVENT_VALUE_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    snprintf(cut, sizeof cut, "%.*s...", (int)n, s);
    return cJSON_CreateString(cut);
}

/* ---- uploads in flight ---- */

/*
 * The registry's list. Its fields that others read (received, multipart_suspected) are written
 * under live_mu; the rest is set before the upload is linked and never changes.
 */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static mock_live *live_head;
static uint64_t live_last;
static size_t live_count;

/* l as the dashboard shows it; the caller holds live_mu or is l's upload. */
static cJSON *live_json(const mock_live *l, const char *change)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    if (change != NULL)
        cJSON_AddStringToObject(o, "change", change);
    cJSON_AddNumberToObject(o, "id", (double)l->id);
    cJSON_AddNumberToObject(o, "connection", (double)l->conn);
    cJSON_AddItemToObject(o, "path", mock_events_string(l->path));
    cJSON_AddItemToObject(o, "user", mock_events_string(l->user));
    if (l->declared >= 0)
        cJSON_AddNumberToObject(o, "declared", (double)l->declared);
    else
        cJSON_AddNullToObject(o, "declared");
    cJSON_AddNumberToObject(o, "received", (double)l->received);
    cJSON_AddNumberToObject(o, "elapsed_ms", (double)(sp__now_ms() - l->t0));
    cJSON_AddBoolToObject(o, "multipart_suspected", l->multipart_suspected);
    return o;
}

/* Publishes l's change, if anyone watches; the caller is l's upload. */
static void live_publish(const mock_live *l, const char *change)
{
    if (!mock_events_wanted())
        return;
    cJSON *o = live_json(l, change);
    if (o != NULL)
        mock_events_publish("upload", o);
    cJSON_Delete(o);
}

void mock_live_begin(mock_live *l, uint64_t conn, const char *path, const char *user, int64_t t0,
                     int64_t declared)
{
    l->conn = conn;
    l->path = path;
    l->user = user;
    l->t0 = t0;
    l->declared = declared;
    l->received = 0;
    l->multipart_suspected = 0;
    l->published_ms = sp__now_ms();
    pthread_mutex_lock(&live_mu);
    l->id = ++live_last;
    l->prev = NULL;
    l->next = live_head;
    if (live_head != NULL)
        live_head->prev = l;
    live_head = l;
    live_count++;
    pthread_mutex_unlock(&live_mu);
    live_publish(l, "started");
}

void mock_live_progress(mock_live *l, uint64_t received, int multipart_suspected)
{
    if (l->id == 0)
        return;
    int64_t now = sp__now_ms();
    if (now - l->published_ms < PROGRESS_EVERY_MS)
        return;
    l->published_ms = now;
    pthread_mutex_lock(&live_mu);
    l->received = received;
    l->multipart_suspected = multipart_suspected;
    pthread_mutex_unlock(&live_mu);
    live_publish(l, "progress");
}

void mock_live_end(mock_live *l, uint64_t received, int multipart_suspected)
{
    if (l->id == 0)
        return;
    pthread_mutex_lock(&live_mu);
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        live_head = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    live_count--;
    l->received = received;
    l->multipart_suspected = multipart_suspected;
    pthread_mutex_unlock(&live_mu);
    live_publish(l, "ended");
    l->id = 0;
}

cJSON *mock_live_list(size_t max, size_t *total)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&live_mu);
    size_t n = 0;
    for (const mock_live *l = live_head; a != NULL && l != NULL && n < max; l = l->next, n++)
        cJSON_AddItemToArray(a, live_json(l, NULL));
    *total = live_count;
    pthread_mutex_unlock(&live_mu);
    return a;
}
