/*
 * Injected faults: the parsed form of a "--fault SPEC" / "X-Mock-Fault: SPEC" (fault.c, pure).
 * Acting on one (sleeping, resetting) belongs to sleep.c and respond.c.
 */
#ifndef MOCK_FAULT_H
#define MOCK_FAULT_H

#include <stddef.h>
#include <stdint.h>

/*
 * An injected fault. -1 / 0 mean "not set". Faults that only slow a transfer down (stall-after,
 * slow-read, delay-response) let a complete body be stored; faults that fail it (reset-after,
 * code, status) store nothing.
 */
typedef struct mock_fault {
    int64_t reset_after; /* RST once this many body bytes arrived */
    int64_t stall_after; /* stop reading for stall_ms once this many body bytes arrived */
    uint32_t stall_ms;
    uint32_t delay_ms;  /* wait this long before answering */
    int code;           /* answer with this AList code instead */
    unsigned status;    /* answer with this HTTP status instead */
    uint64_t slow_read; /* consume the body at this many bytes per second */
    /*
     * The multipart upload's faults, per session (multipart.c): each names a chunk index (-1:
     * not set) and fires on the first request for that chunk only, so a retry gets through.
     */
    int64_t chunk_fail;  /* the chunk's first request is answered chunk_fail_code after its body */
    int chunk_fail_code; /* 400 unless given */
    int64_t chunk_reset; /* the chunk's first request is reset ... */
    int64_t chunk_reset_at; /* ... once this many bytes of its body arrived */
    uint32_t chunk_busy;    /* the session's first K chunk requests are answered 429 */
    uint32_t chunk_busy_ms; /* as are those that start within MS ms of its init */
    int64_t drop_after;     /* the session vanishes once this chunk is received */
} mock_fault;

/* Sets f to "no fault at all". */
void mock_fault_init(mock_fault *f);

/* Parses a fault SPEC into f. Returns 0, or -1 with a message in err and f untouched. */
int mock_fault_parse(const char *spec, mock_fault *f, char *err, size_t errsz);

#endif
