/* PUT /api/fs/put and PUT /api/fs/form: one upload's checks, body and answer (upload.c). */
#ifndef MOCK_UPLOAD_H
#define MOCK_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"
#include "journal.h"
#include "sniff.h"
#include "storage.h"

typedef struct mock_req mock_req;

typedef enum mock_route {
    MOCK_ROUTE_NONE = 0, /* unknown: HTTP 404 with a JSON body */
    MOCK_ROUTE_PUT,      /* PUT /api/fs/put */
    MOCK_ROUTE_FORM,     /* PUT /api/fs/form */
    MOCK_ROUTE_PING,     /* any method /ping */
    MOCK_ROUTE_JOURNAL,  /* GET|DELETE /_mock/requests */
} mock_route;

#define MOCK_NHASH 3

struct evp_md_ctx_st;
struct MHD_PostProcessor;

/*
 * The multipart framing as it passes (upload.c's form_scan), for what MHD's post processor does
 * not tell: which part a piece belongs to, and where a cut-off body ended. Only upload.c reads it.
 */
typedef struct mock_frame {
    char *delim; /* "\r\n--" and the boundary, exactly as MHD matches it (malloc'd) */
    size_t dlen;
    size_t matched; /* bytes of delim matched by the body's latest bytes */
    unsigned parts; /* delimiters passed to the post processor so far */
    unsigned file;  /* parts while the "file" part was being delivered */
    int at;         /* where the body stands: upload.c's enum form_at */
    size_t line;    /* bytes of the current boundary or header line */
    int dash;       /* the boundary line so far is a single '-' */
    int cr;         /* the latest header byte was '\r' */
} mock_frame;

/* Per-request state, allocated on the first handler call and freed by mock_completed(). */
struct mock_req {
    mock_server *srv;
    mock_route route;
    int64_t t0;        /* sp__now_ms() at the first call */
    mock_entry *entry; /* the journal entry, NULL for requests that are not journaled */

    /* The answer. code 0 means "no error yet"; the first error wins, as AList stops at its
     * first failed check. */
    int code;
    char msg[512];
    unsigned http_status; /* 0 until a response is queued */
    int answer_now;       /* the error must be answered before the body is read */
    int stored;
    int reset; /* a reset-after fault fired */

    /* The upload. */
    mock_store st;
    char *path;           /* cleaned File-Path (malloc'd) */
    uint64_t received;    /* body bytes on the wire */
    uint64_t file_bytes;  /* bytes written to the temp file */
    int64_t declared;     /* the size the client declared (Content-Length / X-File-Size), -1 */
    int size_from_header; /* declared comes from X-File-Size and must match */
    int has_body;
    int overwrite, as_task;
    int has_mtime;
    int64_t mtime_ms;
    struct evp_md_ctx_st *md[MOCK_NHASH];
    const char *md_expect[MOCK_NHASH]; /* header values, valid until the request completes */
    mock_sniff sniff;                  /* the multipart diagnosis of the body's first bytes */
    int multipart_suspected;
    mock_fault fault;
    int stalled;
    int stop_now; /* a limit was crossed mid-body: answer and close without reading on */
    struct MHD_PostProcessor *pp;
    int form_part;    /* 0 before the "file" part, 1 inside it, 2 after it */
    mock_frame frame; /* the multipart framing, for /api/fs/form */
};

/* Makes every check AList makes before it reads the body and opens the temp file; queues the
 * answer at once when the body should not be read. Returns what the access handler returns. */
enum MHD_Result mock_upload_begin(mock_req *rq, struct MHD_Connection *c);

/* Consumes one body piece (sets *size to 0). */
enum MHD_Result mock_upload_body(mock_req *rq, struct MHD_Connection *c, const char *data,
                                 size_t *size);

/* The body is complete: verify, commit or not, and queue the answer. */
enum MHD_Result mock_upload_finish(mock_req *rq, struct MHD_Connection *c);

/* Releases what an upload holds (temp file, digests, post processor); safe to call twice. */
void mock_upload_release(mock_req *rq);

#endif
