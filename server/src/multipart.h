/*
 * OpenList's resumable multipart upload (multipart.c): POST /api/fs/multipart/init, PUT chunk,
 * POST complete, GET status and POST abort, with their sessions, chunk window and expiry.
 */
#ifndef MOCK_MULTIPART_H
#define MOCK_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"
#include "respond.h"

/* The most sessions alive at once; an init past it is refused, so no client can grow the mock. */
#define MOCK_MP_SESSIONS_MAX 1024

/* One request to a multipart route; only multipart.c reads or writes its fields. */
typedef struct mock_mp_req mock_mp_req;

/* Starts the thread that ends expired sessions. Returns 0 or -1. */
int mock_mp_start(const mock_server *srv);

/*
 * Ends every session (their temp files go), wakes the chunks waiting for the window and joins
 * the expiry thread. Called before libmicrohttpd stops, so no connection thread waits out its
 * window; a session a request still holds is freed when that request completes.
 */
void mock_mp_stop(void);

/*
 * Starts a request to the multipart route url (one of the five, any other is refused with 404)
 * whose head is in: checks the token and --max-body and, for a chunk, waits for its place in the
 * window. The request is allocated into *out (NULL when out of memory) and freed by
 * mock_mp_free(); it decides its answer into ans, which must outlive it. Returns what the access
 * handler returns.
 */
enum MHD_Result mock_mp_begin(mock_mp_req **out, const mock_server *srv, struct MHD_Connection *c,
                              const char *url, mock_answer *ans);

/* Consumes one body piece (sets *size to 0). Only while the answer's http_status is 0. */
enum MHD_Result mock_mp_body(mock_mp_req *rq, struct MHD_Connection *c, const char *data,
                             size_t *size);

/* The body is in: runs the route and queues its answer. */
enum MHD_Result mock_mp_finish(mock_mp_req *rq, struct MHD_Connection *c);

/* Gives up what the request holds (its chunk's place, its session) and frees it; NULL is a
 * no-op. */
void mock_mp_free(mock_mp_req *rq);

/* What the journal records of a multipart request; each takes NULL for "none". */

/* Whom the token named, NULL if it was refused. */
const char *mock_mp_user(const mock_mp_req *rq);

/* The session's cleaned path (init: the File-Path's), NULL if none is known. */
const char *mock_mp_path(const mock_mp_req *rq);

/* Body bytes taken off the wire. */
uint64_t mock_mp_received(const mock_mp_req *rq);

/* 1 if complete renamed the file into place. */
int mock_mp_stored(const mock_mp_req *rq);

/* The upload id the request named (init: the one it answered), NULL if none. */
const char *mock_mp_upload_id(const mock_mp_req *rq);

/* The chunk route's X-Chunk-Index into *idx: 1, or 0 on the other routes or when unreadable. */
int mock_mp_chunk(const mock_mp_req *rq, int64_t *idx);

/* If a chunk-reset fault cut the request, why (for the journal) into out and 1; otherwise 0. */
int mock_mp_why(const mock_mp_req *rq, char *out, size_t outsz);

/* The live sessions, at most max of them, as the dashboard shows them: a JSON array (caller
 * deletes); *total gets how many there are in all. */
cJSON *mock_mp_list(size_t max, size_t *total);

#endif
