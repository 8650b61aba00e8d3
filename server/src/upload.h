/* PUT /api/fs/put and PUT /api/fs/form: one upload's checks, body and answer (upload.c). */
#ifndef MOCK_UPLOAD_H
#define MOCK_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "config.h"
#include "respond.h"
#include "storage.h"

/* The digests a client may announce, in the order the journal lists them. */
#define MOCK_NHASH 3
typedef struct mock_hash_kind {
    const char *header; /* "X-File-Md5" */
    const char *name;   /* "md5", as messages name it */
    const EVP_MD *(*md)(void);
} mock_hash_kind;
extern const mock_hash_kind mock_hashes[MOCK_NHASH];

/*
 * Finishes digest i (mock_hashes' index) in md and compares it with expect (hex, either case).
 * Returns 0 when they match, or the code (400 mismatch, 500 failure) with its message in msg.
 */
int mock_hash_verdict(int i, EVP_MD_CTX *md, const char *expect, char *msg, size_t msgsz);

/*
 * What a storage failure e on the cleaned path answers, as an upload answers it: returns the
 * code (0 for MOCK_STORE_OK) with the message in msg; errno must still be the failure's.
 * failed_dir is what mock_store_begin set.
 */
int mock_store_error(const mock_server *srv, const char *path, mock_store_err e, size_t failed_dir,
                     char *msg, size_t msgsz);

/* One upload in progress; only upload.c reads or writes its fields. */
typedef struct mock_upload mock_upload;

/*
 * Starts an upload to PUT /api/fs/put (form 0) or PUT /api/fs/form (form 1) whose head arrived
 * at t0 (sp__now_ms()): makes every check AList makes before it reads the body, opens the temp
 * file, and queues the answer at once when the body should not be read. The upload is allocated
 * into *out (NULL when out of memory) and freed by mock_upload_free(); it decides the request's
 * answer into ans, which must outlive it. Returns what the access handler returns.
 */
enum MHD_Result mock_upload_begin(mock_upload **out, const mock_server *srv,
                                  struct MHD_Connection *c, int form, int64_t t0, mock_answer *ans);

/* Consumes one body piece (sets *size to 0). Only while the answer's http_status is 0. */
enum MHD_Result mock_upload_body(mock_upload *up, struct MHD_Connection *c, const char *data,
                                 size_t *size);

/* The body is complete: verify, commit or not, and queue the answer. */
enum MHD_Result mock_upload_finish(mock_upload *up, struct MHD_Connection *c);

/*
 * Releases what an upload holds (temp file, digests, post processor), so that nothing of it is
 * stored; what it says about itself stays readable. Safe to call twice; NULL is a no-op.
 */
void mock_upload_release(mock_upload *up);

/* Releases and frees the upload; NULL is a no-op. */
void mock_upload_free(mock_upload *up);

/* What the journal records of an upload; each takes NULL for "no upload". */

/* The cleaned File-Path (valid until mock_upload_free), NULL if there was none. */
const char *mock_upload_path(const mock_upload *up);

/* Body bytes the upload took off the wire. */
uint64_t mock_upload_received(const mock_upload *up);

/* Whom the token named (the users table's name), NULL if it was refused. */
const char *mock_upload_user(const mock_upload *up);

/* 1 if the file is in place, even when the answer is an error (an unsynced directory). */
int mock_upload_stored(const mock_upload *up);

/* 1 if the body looked like multipart/form-data on /api/fs/put. */
int mock_upload_multipart(const mock_upload *up);

/* If a reset-after fault cut the upload, why (for the journal) into out and 1; otherwise 0. */
int mock_upload_why(const mock_upload *up, char *out, size_t outsz);

#endif
