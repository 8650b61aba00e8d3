/* The request journal and the access log (journal.c). */
#ifndef MOCK_JOURNAL_H
#define MOCK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"

/* The most bytes of one recorded value (a header, the path, the message) an entry keeps. */
#define MOCK_JOURNAL_VALUE_MAX 1024

/* One request's journal entry; only journal.c reads or writes its fields. */
typedef struct mock_entry mock_entry;

/* What a request came to, handed to mock_journal_add() when it is done. */
typedef struct mock_outcome {
    const char *stored_path; /* the cleaned File-Path, NULL if there was none */
    uint64_t bytes_received; /* body bytes on the wire */
    int multipart_suspected;
    unsigned http_status; /* 0: the request ended without an answer */
    int code;             /* AList's code, when there was an answer */
    const char *message;  /* the answer's message, or why there was none */
    int stored;
    int64_t duration_ms;
    const char *user;      /* whom the token named, NULL on a route without a check or if refused */
    int multipart;         /* a multipart route: the entry has upload_id and chunk */
    const char *upload_id; /* the upload id it named or was given, NULL if none */
    int has_chunk;         /* chunk holds the chunk route's X-Chunk-Index */
    int64_t chunk;
} mock_outcome;

/*
 * Sets up a journal of at most capacity entries (0 keeps none) and max_bytes bytes, and the log
 * format. Returns 0 or -1.
 */
int mock_journal_init(size_t capacity, uint64_t max_bytes, mock_log_format fmt);
void mock_journal_free(void);

/* A new entry recording the request head (method, URL, headers) and the number of the connection
 * it came on, or NULL if out of memory. */
mock_entry *mock_entry_new(struct MHD_Connection *c, const char *method, const char *url);

/* Frees an entry that was never added; NULL is a no-op. */
void mock_entry_free(mock_entry *e);

/*
 * Completes e with the outcome o (whose strings are copied), logs it on stderr and keeps it
 * (taken over), dropping the oldest entries past either limit.
 */
void mock_journal_add(mock_entry *e, const mock_outcome *o);

/* Queues the journal as a JSON array, oldest first, streamed one entry at a time. */
enum MHD_Result mock_journal_list(struct MHD_Connection *c);
void mock_journal_clear(void);

/* Logs a warning line on stderr in the configured format. */
__attribute__((format(printf, 1, 2))) void mock_warn(const char *fmt, ...);

/* The current UTC time as 2006-01-02T15:04:05.000Z into out. */
void mock_time_iso(char *out, size_t outsz);

#endif
