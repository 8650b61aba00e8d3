/*
 * A multipart session's receiving window (window.c), as OpenList's internal/multipart/window.go
 * keeps it: the frontier (the first chunk not yet wholly received) and, for the chunks just
 * above it, which are received and which a request is writing. Pure, so that a fuzz target can
 * drive it without sockets; multipart.c holds one per session under its mutex.
 */
#ifndef MOCK_WINDOW_H
#define MOCK_WINDOW_H

#include <stdint.h>

/* multipart.WindowSlots: how many chunks a session takes ahead of its frontier. */
#define MOCK_WINDOW_SLOTS 8

/* handles/multipart.go: multipartMinChunkSize, the least a client's X-Chunk-Size gets. */
#define MOCK_WINDOW_MIN_CHUNK ((int64_t)1 << 20)

typedef struct mock_window {
    int64_t size, chunk_size, total;
    int64_t frontier;
    unsigned got;     /* bit k: chunk frontier + k is received */
    unsigned filling; /* bit k: chunk frontier + k is being written by a request */
} mock_window;

/* What a chunk request finds (mock_window_claim). */
typedef enum mock_window_take {
    MOCK_WINDOW_TAKEN = 0, /* the chunk's place is the caller's until release or land */
    MOCK_WINDOW_HAVE,      /* received already */
    MOCK_WINDOW_BUSY,      /* another request is writing it */
    MOCK_WINDOW_AHEAD,     /* past frontier + MOCK_WINDOW_SLOTS: wait for the window */
} mock_window_take;

/* multipartChunkSize: the setting is the ceiling, a smaller requested size at least 1 MiB. */
int64_t mock_window_chunk_size(int64_t setting, int64_t requested);

/* An empty window for size bytes (> 0) in chunks of chunk_size (> 0). */
void mock_window_init(mock_window *w, int64_t size, int64_t chunk_size);

/* The bytes of chunk idx: chunk_size, the last one what is left. */
int64_t mock_window_chunk_len(const mock_window *w, int64_t idx);

/* Bytes before the frontier: what OpenList's driver would have read (Window.readPos). */
int64_t mock_window_consumed(const mock_window *w);

/* Bytes of every chunk received: those before the frontier and those above it. */
int64_t mock_window_received(const mock_window *w);

/* Admission of chunk idx, in [0, total): marks it being written when it answers TAKEN. */
mock_window_take mock_window_claim(mock_window *w, int64_t idx);

/* Gives a TAKEN chunk's place back, its bytes not (or not all) received. */
void mock_window_release(mock_window *w, int64_t idx);

/* A TAKEN chunk is wholly received: its place is released and the frontier moves past it. */
void mock_window_land(mock_window *w, int64_t idx);

#endif
