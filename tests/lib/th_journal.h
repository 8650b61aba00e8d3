/*
 * The mock's journal (GET /_mock/requests) for tests: one fetcher that reads the listing however
 * it is framed (length, chunked or close-delimited) and parses it, and one wait for an entry.
 */
#ifndef TH_JOURNAL_H
#define TH_JOURNAL_H

#include "th_http.h"
#include "th_mock.h"

#include <cjson/cJSON.h>

/* The request that lists the journal. */
#define TH_JOURNAL_REQUEST                                                                         \
    "GET /_mock/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

/* Fetches the listing into m (caller th_msg_free's it), asserting a complete 200 answer. */
void th_journal_msg(int port, th_msg *m);

/* Reads a listing from fd, where TH_JOURNAL_REQUEST was already sent, and parses it (caller
 * deletes); fails the test if it is not a JSON array. */
cJSON *th_journal_read(int fd, int timeout_ms);

/* The journal, parsed (caller deletes); fails the test if it is not a JSON array. */
cJSON *th_journal(int port);

/* The newest journal entry's string (or number, formatted) field, into a static buffer. */
const char *th_journal_last(int port, const char *key);

/* Entry e's "connection" number; fails the test if it has none. */
int th_journal_conn(const cJSON *e);

/* How many distinct connections the entries of a carried, from entry from on; with method, only
 * the entries of that method count (NULL: all). */
int th_journal_conns(const cJSON *a, int from, const char *method);

/*
 * Waits until the journal holds a request whose File-Path was file_path and returns a copy of
 * the newest such entry (caller deletes), or NULL after timeout_ms. The mock journals a request
 * once it is completely done with it, temp-file cleanup included, so afterwards "nothing stored,
 * no temp file" can be checked without a race. Drains m's log while it waits.
 */
cJSON *th_journal_find(th_mock *m, const char *file_path, int timeout_ms);

/* th_journal_find without the entry: 1 if it came, 0 after timeout_ms. */
int th_journal_wait(th_mock *m, const char *file_path, int timeout_ms);

#endif
