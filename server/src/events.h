/*
 * The dashboard's live side (events.c): a bounded ring of recent events that uploads publish to
 * and Server-Sent Events viewers read from, and the registry of uploads in flight.
 */
#ifndef MOCK_EVENTS_H
#define MOCK_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

typedef struct cJSON cJSON;

/* The most bytes of one event's JSON; a larger event is replaced by a "dropped" one. */
#define MOCK_EVENT_MAX 4096

/* The most /_mock/events streams open at once; one more is answered 503. */
#define MOCK_VIEWERS_MAX 16

/* The longest path or message an event or the state shows, in bytes (cut on a UTF-8 boundary). */
#define MOCK_EVENT_VALUE_MAX 512

/*
 * 1 while at least one viewer is connected. Publishers check it first, so that with nobody
 * watching an upload spends nothing on rendering events.
 */
int mock_events_wanted(void);

/*
 * Publishes an event of type (a short word, "request", "upload" ...) whose data is v rendered
 * as compact JSON; v stays the caller's. O(1) and never blocks on a viewer: the oldest event is
 * overwritten, and a viewer that had not read it yet is told it missed events.
 */
void mock_events_publish(const char *type, const cJSON *v);

/*
 * Queues the text/event-stream of every event published from now on, with a heartbeat comment
 * at least every heartbeat_ms, for as long as the client reads it and the mock runs; 503 past
 * MOCK_VIEWERS_MAX viewers.
 */
enum MHD_Result mock_events_respond(struct MHD_Connection *c, unsigned heartbeat_ms);

/* Ends every stream now (they return end of stream), so that libmicrohttpd can stop promptly. */
void mock_events_stop(void);

/* s as a cJSON string cut to MOCK_EVENT_VALUE_MAX bytes on a UTF-8 boundary; NULL: JSON null. */
cJSON *mock_events_string(const char *s);

/*
 * One upload in flight as the dashboard shows it. The upload owns it (embedded in its own
 * state) and fills it only through the functions below; the registry reads it under its lock.
 */
typedef struct mock_live {
    struct mock_live *prev, *next;
    uint64_t id;   /* 1, 2, 3 ... in the order uploads started; 0: not registered */
    uint64_t conn; /* the connection's number */
    const char *path, *user;
    int64_t t0;       /* sp__now_ms() of the request head */
    int64_t declared; /* the size the client declared, -1: none */
    uint64_t received;
    int multipart_suspected;
    int64_t published_ms; /* the latest progress event, for the throttle */
} mock_live;

/* Registers l (path and user must stay valid until mock_live_end) and publishes its start. */
void mock_live_begin(mock_live *l, uint64_t conn, const char *path, const char *user, int64_t t0,
                     int64_t declared);

/* The upload has received bytes in all: publishes progress at most every 200 ms. */
void mock_live_progress(mock_live *l, uint64_t received, int multipart_suspected);

/*
 * Unregisters l and publishes its end with the final count; a second call, or one for an
 * unregistered l, is a no-op.
 */
void mock_live_end(mock_live *l, uint64_t received, int multipart_suspected);

/* The uploads in flight, at most max of them, as a JSON array (caller deletes); *total gets
 * how many there are in all. */
cJSON *mock_live_list(size_t max, size_t *total);

#endif
