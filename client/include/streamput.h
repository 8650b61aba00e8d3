/*
 * libstreamput: stream a file of any size to an HTTP/1.1 PUT endpoint (AList/OpenList's
 * /api/fs/put and anything else that takes a raw PUT body) in constant memory.
 *
 * Lifecycle: sp_client_new() -> sp_set_*() -> sp_put_file() / sp_put_fd() / sp_put_stream(),
 * each followed by sp_getinfo() for what it came to (as many times as wanted) ->
 * sp_client_free(). A handle is not thread-safe; use one per thread.
 *
 * Connections: an upload whose answer lets the connection stay open leaves it on the handle, and
 * the next sp_put_file() or sp_put_fd() of a regular file to the same scheme, host and port sends
 * on it (one that the server closed meanwhile is replaced, and the request sent again, without
 * counting as a failure). sp_client_free() closes it.
 *
 * Errors: every function that can fail returns SP_OK (0) or a negative sp_error code. The handle
 * keeps the system errno and a human-readable detail of the last failure ("what failed: why"),
 * read with sp_errno() and sp_errmsg().
 */
#ifndef STREAMPUT_H
#define STREAMPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SP_VERSION "0.2.0"

/*
 * Marks the public API. The library is built with hidden visibility, so a shared libstreamput
 * exports exactly these names and its internals (sp__*) stay private, as libuv does with
 * UV_EXTERN.
 */
#if defined(SP_BUILDING_LIBRARY) && defined(__GNUC__)
#define SP_EXTERN __attribute__((visibility("default")))
#else
#define SP_EXTERN
#endif

/*
 * The error table: name, value, message. Values are part of the ABI and are never renumbered;
 * new codes are only ever appended.
 */
#define SP_ERRNO_MAP(XX)                                                                           \
    XX(OK, 0, "success")                                                                           \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(EFILE, -3, "local file error")                                                              \
    XX(EURL, -4, "malformed URL")                                                                  \
    XX(EUNSUPPORTED, -5, "not supported")                                                          \
    XX(ERESOLVE, -6, "could not resolve host")                                                     \
    XX(ECONNECT, -7, "could not connect")                                                          \
    XX(ETIMEOUT, -8, "operation timed out")                                                        \
    XX(ESEND, -9, "connection lost while sending")                                                 \
    XX(ERECV, -10, "connection lost while receiving")                                              \
    XX(EPROTO, -11, "malformed HTTP response")                                                     \
    XX(EHTTP, -12, "server answered with a non-2xx HTTP status")                                   \
    XX(EAPI, -13, "server answered with an API error code")                                        \
    XX(ECANCELED, -14, "canceled by the caller")                                                   \
    XX(EHEADER, -15, "invalid request header")                                                     \
    XX(ETLS, -16, "TLS handshake failed or the certificate was not trusted")                       \
    XX(ELOGIN, -17, "the server refused the login")                                                \
    XX(ESESSION, -18, "the server ended the multipart upload session")                             \
    XX(EINCOMPLETE, -19, "multipart upload stopped; the server keeps the session to resume")

typedef enum sp_error {
#define SP_ERR_ENUM(name, value, msg) SP_##name = value,
    SP_ERRNO_MAP(SP_ERR_ENUM)
#undef SP_ERR_ENUM
} sp_error;

/* Returns a static description of err ("unknown error" for values outside the table). */
SP_EXTERN const char *sp_strerror(int err);

/* Returns the static symbolic name of err without the SP_ prefix ("ETIMEOUT"), or "UNKNOWN". */
SP_EXTERN const char *sp_err_name(int err);

/* How the body is put on the wire. */
typedef enum sp_engine {
    /* sendfile for regular files sent to another host; rw toward this host (where sendfile only
     * moves the copy into the receiver), for streams, or where sendfile cannot run */
    SP_ENGINE_AUTO = 0,
    SP_ENGINE_RW = 1,       /* read() into one buffer of chunk_size bytes, then send() */
    SP_ENGINE_SENDFILE = 2, /* sendfile(2), zero-copy; regular files only */
} sp_engine;

/* Digest headers computed in a streaming pre-pass over the file (sp_set_hashes). */
enum {
    SP_HASH_MD5 = 1u << 0,    /* X-File-Md5 */
    SP_HASH_SHA1 = 1u << 1,   /* X-File-Sha1 */
    SP_HASH_SHA256 = 1u << 2, /* X-File-Sha256 */
};

/*
 * What the last sp_put_*() or sp_login() call on a handle came to, read with sp_getinfo().
 * Results are read through one function and an enum, as curl_easy_getinfo() does, rather than
 * a struct the caller allocates: a struct's size and field offsets would be ABI, so a new field
 * (or a longer message) would break every program built against the old header, whereas a new
 * SP_INFO_ value is only a new number. Each value carries the type of what it writes in its high
 * bits (SP_INFO_LONG, SP_INFO_UINT64, SP_INFO_DOUBLE, SP_INFO_STRING), so the library checks
 * the kind generically and a caller can see from the name's table which pointer to pass. Values
 * are part of the ABI: never renumbered, only appended.
 */
#define SP_INFO_LONG     0x100000 /* out is a long * */
#define SP_INFO_UINT64   0x200000 /* out is a uint64_t * */
#define SP_INFO_DOUBLE   0x300000 /* out is a double * */
#define SP_INFO_STRING   0x400000 /* out is a const char **, owned by the handle */
#define SP_INFO_TYPEMASK 0xf00000

typedef enum sp_info {
    /* The final HTTP status, or 0 if none was received. */
    SP_INFO_HTTP_STATUS = SP_INFO_LONG + 1,
    /* 1 if the body was a JSON object with a numeric "code", else 0. */
    SP_INFO_HAS_API_CODE = SP_INFO_LONG + 2,
    /* That "code" (0 without one). */
    SP_INFO_API_CODE = SP_INFO_LONG + 3,
    /* The JSON "message", else the reason phrase, else "": raw bytes from the server (escape
     * them before printing), NUL-terminated, cut at 255 bytes. */
    SP_INFO_MESSAGE = SP_INFO_STRING + 4,
    /* Bytes the body was declared to have, or UINT64_MAX if unknown (chunked, or the call
     * failed before the source was inspected). */
    SP_INFO_BODY_SIZE = SP_INFO_UINT64 + 5,
    /* Body bytes handed to the kernel in the last attempt; for a multipart upload, the bytes of
     * the chunks this call sent and the server acknowledged. */
    SP_INFO_BYTES_SENT = SP_INFO_UINT64 + 6,
    /* Wall time of the whole call in seconds, retries included. */
    SP_INFO_SECONDS = SP_INFO_DOUBLE + 7,
    /* Connections attempted: 1 + retries used; 0 if the call failed before connecting. For a
     * multipart upload, the connections it opened, over all lanes. */
    SP_INFO_ATTEMPTS = SP_INFO_LONG + 8,
    /* 1 once the body began to go out; 0 if the server answered first (e.g. to Expect). */
    SP_INFO_BODY_SENT = SP_INFO_LONG + 9,
    /* The sp_engine actually used for the body. */
    SP_INFO_ENGINE = SP_INFO_LONG + 10,
    /* 1 if the last attempt handed the whole body to the kernel (a chunked one with its last
     * chunk): from then on the server may store the file whatever becomes of the answer. */
    SP_INFO_BODY_COMPLETE = SP_INFO_LONG + 11,
    /* Bytes of the server's final answer received in the last attempt (0: it said nothing but
     * perhaps a 100 Continue). */
    SP_INFO_RESPONSE_BYTES = SP_INFO_UINT64 + 12,
    /* On failure, 1 if an attempt sent the whole body and got no complete answer: the server
     * may have stored the file although the call failed. */
    SP_INFO_MAYBE_STORED = SP_INFO_LONG + 13,
    /* Not about the last call but the handle: the token its last login obtained (sp_login(), or
     * the login of an upload), or "" if it holds none. A secret: never log it. */
    SP_INFO_TOKEN = SP_INFO_STRING + 14,
    /* The multipart session's upload_id, or "" when the call made none (a single PUT). */
    SP_INFO_UPLOAD_ID = SP_INFO_STRING + 15,
    /* Chunks of the session (0 for a single PUT). */
    SP_INFO_CHUNKS_TOTAL = SP_INFO_LONG + 16,
    /* Chunks this call sent and the server acknowledged. */
    SP_INFO_CHUNKS_SENT = SP_INFO_LONG + 17,
    /* Chunks not sent because the server already held them (a resumed session). */
    SP_INFO_CHUNKS_SKIPPED = SP_INFO_LONG + 18,
    /* Bytes the server holds for the session at the end of the call: those it had when the
     * call began plus the chunks acknowledged since (the whole size once completed). */
    SP_INFO_BYTES_HELD = SP_INFO_UINT64 + 19,
} sp_info;

typedef struct sp_client sp_client;

/*
 * Progress callback: called as the body goes out, and at least once a second while the transfer
 * waits (for the server, for input, between retries), with the body bytes sent so far and the
 * total (UINT64_MAX if unknown). Return non-zero to cancel: the call then fails with
 * SP_ECANCELED. A signal handler can set a flag the callback returns. Must not call back into
 * the same handle.
 */
typedef int (*sp_progress_fn)(void *userdata, uint64_t sent, uint64_t total);

/* Kinds of text passed to the debug callback. */
typedef enum sp_debug_kind {
    SP_DEBUG_INFO = 0,       /* a note from the library ("Connected to 127.0.0.1 port 80") */
    SP_DEBUG_HEADER_OUT = 1, /* one request header line, without CRLF (the request line first) */
    SP_DEBUG_HEADER_IN = 2,  /* one response header line, without CRLF (the status line first) */
} sp_debug_kind;

/*
 * Debug callback: receives each request and response header line, unredacted, and informational
 * notes. text is valid only during the call and is not NUL-terminated beyond len.
 */
typedef void (*sp_debug_fn)(void *userdata, sp_debug_kind kind, const char *text, size_t len);

/* Allocates a handle with defaults. Returns NULL if out of memory. Free with sp_client_free(). */
SP_EXTERN sp_client *sp_client_new(void);

/*
 * Allocates a handle with c's options, login and token (a login's too), for another thread: no
 * connection, buffer or record of a call is shared, and the callbacks are c's until set anew.
 * Returns NULL if out of memory. Free with sp_client_free().
 */
SP_EXTERN sp_client *sp_client_dup(const sp_client *c);

/* Releases the handle and everything it owns. sp_client_free(NULL) does nothing. */
SP_EXTERN void sp_client_free(sp_client *c);

/*
 * Options. Each returns SP_OK; or SP_EINVAL for a value outside what its comment allows, SP_ENOMEM
 * if a string cannot be copied, and sp_add_header() SP_EHEADER for a line it refuses: then the
 * option is left unchanged, and sp_last_error() and sp_errmsg() tell what was refused (what
 * sp_getinfo() reports about the last upload stays). String arguments are copied; the caller
 * keeps ownership of what it passed.
 */

/* Bytes per read/send or sendfile call: 1 B .. 1 GiB; default 256 KiB. */
SP_EXTERN int sp_set_chunk_size(sp_client *c, size_t bytes);
/* How the body goes on the wire: one of the sp_engine values; default SP_ENGINE_AUTO. */
SP_EXTERN int sp_set_engine(sp_client *c, sp_engine engine);
/*
 * The File-Path header: path as plain text ("/dir/a b.txt"), which the library percent-encodes
 * as AList expects; NULL sends none.
 */
SP_EXTERN int sp_set_remote_path(sp_client *c, const char *path);
/*
 * The Authorization header (AList's raw token, no "Bearer"); NULL sends none. A control character
 * (CR, LF, ...; tab is allowed) is SP_EINVAL, here and in sp_set_content_type().
 */
SP_EXTERN int sp_set_token(sp_client *c, const char *token);
/*
 * Logging in, as AList's and OpenList's web page does: before an upload that holds no token yet,
 * the library POSTs {"username","password","otp_code"} to the site's /api/auth/login/hash, the
 * password as the server's static hash (the lowercase hex SHA-256 of password +
 * "-https://github.com/alist-org/alist"), and sends the token it gets as Authorization. The
 * login goes over the upload's connection when the server keeps it open. An upload answered
 * code 401 "token is expired" or "token is invalidated" logs in again and is sent once more, if
 * its body can be: a regular file, or a stream not yet begun. A login the server refuses is
 * SP_ELOGIN, with its code and message in sp_getinfo() (401 a wrong user or password, 402 a
 * missing or wrong one-time code, 429 locked out for about 5 minutes after 5 failures); it is
 * never retried, since each failure counts toward that lock. With a login set, the token of
 * sp_set_token() is not used, and a caller's Authorization header makes uploads SP_EINVAL.
 *
 * sp_set_login: the user and password to log in with; user NULL forgets the login (and its token).
 * The password is hashed at once and only the hash is kept, wiped when replaced or freed; the
 * caller owns and should wipe its own copy. Returns SP_OK, SP_EINVAL for a NULL password with a
 * user, SP_EUNSUPPORTED if libcrypto cannot be loaded, or SP_ENOMEM. Forgets any token held.
 */
SP_EXTERN int sp_set_login(sp_client *c, const char *user, const char *password);
/* The one-time code (two-factor authentication) for the next logins; NULL sends "". */
SP_EXTERN int sp_set_otp(sp_client *c, const char *code);

/* The Content-Type; default, and with NULL, application/octet-stream. */
SP_EXTERN int sp_set_content_type(sp_client *c, const char *type);
/*
 * An extra "Name: value" line; it replaces a default header of that name, "Name:" removes it.
 * A NULL, malformed or CR/LF-carrying line is SP_EHEADER.
 */
SP_EXTERN int sp_add_header(sp_client *c, const char *line);
/* 0 sends "Overwrite: false": the server keeps an existing file. Default 1. */
SP_EXTERN int sp_set_overwrite(sp_client *c, int overwrite);
/* 1 sends "As-Task: true": AList queues the upload as a task. Default 0. */
SP_EXTERN int sp_set_as_task(sp_client *c, int as_task);
/* 1 sends a file's mtime as Last-Modified (Unix milliseconds). Default 1. */
SP_EXTERN int sp_set_last_modified(sp_client *c, int send);
/* SP_HASH_* bits of the X-File-* digests to send (other bits are SP_EINVAL). Default 0. */
SP_EXTERN int sp_set_hashes(sp_client *c, unsigned mask);
/*
 * A stream's exact length (Content-Length instead of chunked); a file must match it. UINT64_MAX
 * forgets a size set before (chunked again).
 */
SP_EXTERN int sp_set_size(sp_client *c, uint64_t size);

/*
 * Timeouts, in milliseconds; 0 = none, at most 10^15 (some 31,000 years: more is SP_EINVAL, as
 * for the retry delay). The stall timeout ends a transfer in which no byte moved
 * for that long while bytes had to; it does not run while the server works on a body its TCP has
 * acknowledged in full, from then until the answer begins (storing a big file may take
 * minutes). The answer timeout bounds that wait, from the whole body being sent.
 */

/* Connecting, every address included; default 10000. */
SP_EXTERN int sp_set_connect_timeout_ms(sp_client *c, uint64_t ms);
/* The whole call, retries included; default none. */
SP_EXTERN int sp_set_timeout_ms(sp_client *c, uint64_t ms);
/* Without any progress; default 60000. */
SP_EXTERN int sp_set_stall_timeout_ms(sp_client *c, uint64_t ms);
/* From the whole body being sent to the answer; default none. */
SP_EXTERN int sp_set_answer_timeout_ms(sp_client *c, uint64_t ms);
/* How long to wait for "100 Continue" before sending anyway; default 1000. */
SP_EXTERN int sp_set_expect_timeout_ms(sp_client *c, uint64_t ms);
/* Bodies larger than this send "Expect: 100-continue"; default 1 MiB. */
SP_EXTERN int sp_set_expect_threshold(sp_client *c, uint64_t bytes);

/*
 * Retries start a failed attempt over (regular files only) after a connection failure, a
 * timeout or HTTP 408, 429 or 5xx; never an Overwrite: false upload whose whole body went out
 * unanswered, since the server may have stored it and would refuse the second as existing.
 */
/* How many retries; default 0. */
SP_EXTERN int sp_set_retry(sp_client *c, unsigned retries);
/* The first back-off, doubled after each retry; default 1000. */
SP_EXTERN int sp_set_retry_delay_ms(sp_client *c, uint64_t ms);

/* At most this many body bytes per second; 0 = unlimited (default). */
SP_EXTERN int sp_set_limit_rate(sp_client *c, uint64_t bytes_per_sec);

/*
 * OpenList's resumable multipart upload (/api/fs/multipart/...), for regular files and for
 * streams of a declared size (sp_set_size) sent to an AList/OpenList .../api/fs/put or
 * .../api/fs/form URL. A file goes in chunks of the size the server chooses, several at once
 * over connections of their own, each sent from the file at its offset (sendfile or pread into
 * one buffer per connection), so that no request body is larger than a chunk: a proxy that
 * refuses big bodies lets it through. The call first asks the server for a session of the same
 * path and size (GET .../status): a receiving one is resumed and only the chunks it lacks are
 * sent; one whose storage attempt failed is sent again from chunk 0, as the server requires;
 * else a new session is made (POST .../init, with the headers a PUT sends). The session stays on
 * the server when the call fails or is canceled, so the same call again resumes it. With digests
 * (sp_set_hashes) the init proves the file is the same one instead, and the server resumes or
 * replaces the session itself.
 * Each chunk is sent again after a lost connection, a timeout or a 5xx up to sp_set_retry()
 * times, and after the server's 429 (its window is full) or 409 (the chunk is in flight on
 * another connection) up to 20 times besides, after a short random pause. A chunk that fails
 * after that is SP_EINCOMPLETE: the session stays and the same call again resumes it. A session
 * the server dropped (code 404) or failed for good (failed_permanent, aborted) is SP_ESESSION,
 * with the server's error in sp_errmsg(). The final POST .../complete waits for the server to
 * store the file, as a PUT's answer does (the stall timeout does not run meanwhile).
 * A stream goes as one sequence of chunks over one connection, from chunk 0, never resumed, and
 * a chunk is not sent again once its bytes were read.
 */
typedef enum sp_multipart {
    /* multipart for a body larger than the threshold when the server has the routes; a server
     * without them (HTTP 404, or its web page) or with them disabled gets a single PUT */
    SP_MULTIPART_AUTO = 0,
    SP_MULTIPART_ALWAYS = 1, /* multipart whatever the size; a server without it fails the call */
    SP_MULTIPART_NEVER = 2,  /* always a single PUT */
} sp_multipart;

/* When to upload in chunks: one of the sp_multipart values; default SP_MULTIPART_AUTO. */
SP_EXTERN int sp_set_multipart(sp_client *c, sp_multipart mode);
/* SP_MULTIPART_AUTO uses multipart for bodies larger than this; default 64 MiB. */
SP_EXTERN int sp_set_multipart_threshold(sp_client *c, uint64_t bytes);
/* Chunks in flight at once, each over a connection of its own: 1 to 8; default 4. */
SP_EXTERN int sp_set_parallel_chunks(sp_client *c, unsigned lanes);
/*
 * The chunk size to ask the server for (X-Chunk-Size); 0 (the default) asks for none. OpenList
 * takes at least 1 MiB and at most its multipart_chunk_size setting (10 MiB by default), and
 * the call uses whatever the server answers.
 */
SP_EXTERN int sp_set_multipart_chunk_size(sp_client *c, uint64_t bytes);
/*
 * TLS, for https:// URLs. The server's certificate is verified by default against the system's
 * trusted certificates and must name the URL's host (or, for an IP literal, its address); a
 * failure is SP_ETLS and nothing of the request is sent. The names are curl's options'.
 */
/* PEM file of certificates to trust instead of the system's (--cacert); NULL: the system's. */
SP_EXTERN int sp_set_cacert(sp_client *c, const char *file);
/* Directory of hashed certificates (c_rehash) to trust instead (--capath); NULL: none. */
SP_EXTERN int sp_set_capath(sp_client *c, const char *dir);
/* 1 skips verifying the certificate and its name (-k); a pin still holds. Default 0. */
SP_EXTERN int sp_set_insecure(sp_client *c, int insecure);
/*
 * The server's public key must have one of these SHA-256 digests of its DER SubjectPublicKeyInfo:
 * "sha256//BASE64", several separated by ';' (--pinnedpubkey). Another form is SP_EINVAL; NULL
 * removes the pin.
 */
SP_EXTERN int sp_set_pinned_pubkey(sp_client *c, const char *pins);

/* The progress callback (see sp_progress_fn); NULL removes it. */
SP_EXTERN int sp_set_progress(sp_client *c, sp_progress_fn fn, void *userdata);
/* The debug callback (see sp_debug_fn); NULL removes it. */
SP_EXTERN int sp_set_debug(sp_client *c, sp_debug_fn fn, void *userdata);

/*
 * Uploads the file at path to url with PUT. The body length is the file's size when it is a
 * regular file (Content-Length), otherwise the stream is sent with chunked encoding unless a size
 * was set. Returns SP_OK when the server answered 2xx and, if the body was JSON, with code 200.
 * When the URL's path is an AList/OpenList API route ("/api/...", or ".../api/fs/..." under a
 * site path) the body must be AList's JSON envelope with code 200: a 2xx without it (AList's web
 * page for a mistyped route, say) is SP_EPROTO.
 * A body larger than the multipart threshold, toward a server with OpenList's multipart routes,
 * goes in chunks instead (see sp_set_multipart): the result then names the session, and the
 * final answer is that of its complete.
 * Every call, whatever its outcome and however early it fails (a missing file, a bad URL),
 * replaces the handle's record of the last call: sp_getinfo() and sp_response_body() then
 * describe this call and nothing of an earlier one, until the next sp_put_*() call on the handle
 * or sp_client_free(); sp_last_error(), sp_errno() and sp_errmsg() too, until a setter fails.
 */
SP_EXTERN int sp_put_file(sp_client *c, const char *path, const char *url);

/* As sp_put_file() for an open fd the caller keeps owning; reading starts at its offset. */
SP_EXTERN int sp_put_fd(sp_client *c, int fd, const char *url);

/*
 * As sp_put_fd() for a non-seekable fd (pipe, socket, terminal): always chunked unless a size was
 * set, and never retried, since the bytes cannot be read again.
 */
SP_EXTERN int sp_put_stream(sp_client *c, int fd, const char *url);

/*
 * Asks the AList/OpenList server beside the upload URL url (".../api/fs/put" or ".../api/fs/form")
 * whether it already holds the file at path as the plain remote path remote: POST
 * .../api/fs/get, with the token (or a login first), over the connection the uploads keep.
 * *same is 1 when the server has a non-directory of the file's size and, for each digest asked
 * for with sp_set_hashes() that the server reports too, the same digest (computing it reads the
 * file); 0 when it differs or the server answers "object not found". Returns SP_OK, or the
 * failure of the lookup (SP_EAPI with the server's code and message, SP_EURL for another URL).
 * Like an upload it replaces the record of the last call.
 */
SP_EXTERN int sp_remote_matches(sp_client *c, const char *path, const char *remote, const char *url,
                                int *same);

/*
 * A batch of uploads: up to lanes files at once, each lane a copy of the handle it was made from
 * (sp_client_dup(): its options and the token of a login done before) with a thread and a kept
 * connection of its own, which carries the lane's files one after another. Files are queued with
 * sp_session_put(), which waits while 2 x lanes of them are waiting, so that a caller walking a
 * tree of any size holds a bounded queue, never the list of its files; memory is the lanes'
 * buffers and that queue, never per file. The single-file calls above stay the way to upload
 * one file: a lane is such a handle, and each of its files is one sp_put_file() on it.
 *
 * Every queued file ends in one call of the session's sp_done_fn, in the thread of the lane that
 * took it (or of sp_session_finish() for a file no lane started): calls for different files can
 * run at once, so the callback guards what it shares. It may call sp_session_stop(), and read
 * the lane's handle with sp_getinfo(), sp_errmsg() and sp_response_body() until it returns; it
 * must not start another call on that handle.
 */
typedef struct sp_session sp_session;

/* What became of one file of a session. */
typedef enum sp_outcome {
    SP_UPLOADED = 0,      /* stored; err is SP_OK */
    SP_SKIPPED = 1,       /* sp_session_set_skip_existing(): the server already has it */
    SP_FAILED = 2,        /* the upload failed with err (the lane's sp_errmsg() tells why) */
    SP_LOOKUP_FAILED = 3, /* asking the server whether it has the file failed with err */
    SP_NOT_STARTED = 4,   /* dropped by sp_session_stop() before a lane took it; err SP_ECANCELED */
} sp_outcome;

/*
 * One finished file, passed to the sp_done_fn. The library allocates it and the callback only
 * reads it, so new members are only ever appended and its size is no part of the ABI. The
 * strings are valid until the callback returns.
 */
typedef struct sp_done {
    const char *path;   /* as given to sp_session_put() */
    const char *remote; /* the remote path given (NULL: none) */
    const char *url;    /* the URL the file went to */
    void *userdata;     /* sp_session_put()'s */
    sp_outcome outcome; /* what became of it */
    int err;            /* SP_OK, or the failure */
    unsigned lane;      /* the lane that took it, 0 .. lanes - 1 (0 for SP_NOT_STARTED) */
    sp_client *handle;  /* that lane's handle, whose record is this file's; NULL if not started */
} sp_done;

typedef void (*sp_done_fn)(void *userdata, const sp_done *done);

/*
 * A session's progress callback: as sp_progress_fn for the file lane is sending (sent of total
 * bytes), with the lane's number. It runs in the lane's threads; non-zero cancels that file.
 */
typedef int (*sp_lane_progress_fn)(void *userdata, unsigned lane, uint64_t sent, uint64_t total);

/*
 * Makes a session of lanes (1-64) copies of c, whose threads start at once and wait for files;
 * done (not NULL) hears of each file. c is only read, here: it may be used or freed afterwards.
 * A caller with a login should sp_login() on c first, so that the lanes share its token instead
 * of each logging in. Returns NULL if out of memory, if no thread can start, or for lanes out of
 * range or a NULL c or done.
 */
SP_EXTERN sp_session *sp_session_new(const sp_client *c, unsigned lanes, sp_done_fn done,
                                     void *userdata);

/*
 * Before the first sp_session_put(): ask the server for each file first, as sp_remote_matches()
 * does over the lane's connection, and skip it (SP_SKIPPED) when the server has it. A file with
 * no remote path, or from standard input, is always uploaded. Returns SP_OK, or SP_EINVAL once
 * files were queued.
 */
SP_EXTERN int sp_session_set_skip_existing(sp_session *s, int skip);

/* Before the first sp_session_put(): the lanes' progress callback (NULL: none). Returns SP_OK,
 * or SP_EINVAL once files were queued. */
SP_EXTERN int sp_session_set_progress(sp_session *s, sp_lane_progress_fn fn, void *userdata);

/*
 * Queues the file at path ("-": standard input, sent as sp_put_stream() sends it) for upload to
 * url as remote, a plain remote path as sp_set_remote_path() takes, waiting while the queue is
 * full. remote travels in File-Path; but when url's path ends in '/' (a plain PUT server: nginx's
 * dav_methods, WebDAV, a presigned base), it is appended to url, each segment percent-encoded,
 * as curl -T does, and sp_done's url is that URL. NULL: no File-Path, url names the file (c's
 * own remote path is never used). The strings are copied. Returns SP_OK; SP_ECANCELED
 * once sp_session_stop() was called (the file is then not queued and done never hears of it);
 * SP_ENOMEM; SP_EINVAL for a NULL path or url, or after sp_session_finish().
 */
SP_EXTERN int sp_session_put(sp_session *s, const char *path, const char *remote, const char *url,
                             void *userdata);

/*
 * Starts no more files: those queued end as SP_NOT_STARTED, the ones on their way finish (a
 * progress callback can cancel them). Safe from any thread, the sp_done_fn included.
 */
SP_EXTERN void sp_session_stop(sp_session *s);

/*
 * Waits until every queued file has ended, then ends the lanes' threads and closes their
 * connections. Returns SP_OK if every file was uploaded or skipped, else the err of the first
 * file that failed (in time), SP_ECANCELED if the first was only not started.
 */
SP_EXTERN int sp_session_finish(sp_session *s);

/* Finishes the session if that was not done, then releases it. sp_session_free(NULL) does
 * nothing. */
SP_EXTERN void sp_session_free(sp_session *s);

/*
 * Logs in with the login set by sp_set_login() and keeps the token on the handle for the uploads
 * that follow (read it with SP_INFO_TOKEN). url is an upload URL (".../api/fs/put" or
 * ".../api/fs/form"), the login route itself (".../api/auth/login/hash"), or the site's address
 * ("http://host:5244", "https://host/alist" for a site under a path). Returns SP_OK; SP_ELOGIN
 * when the server refused (see sp_set_login); SP_EINVAL without a login; SP_EURL for a URL whose
 * site cannot be told; or the error of the way there. Like an upload it replaces the record of
 * the last call: sp_getinfo() then tells the login's answer, and after a success
 * sp_response_body() is empty (the token is not kept there).
 */
SP_EXTERN int sp_login(sp_client *c, const char *url);

/*
 * Reads one fact about the last sp_put_*() or sp_login() call on c into *out, whose type the
 * value's SP_INFO_* kind names (long, uint64_t, double, or const char * owned by the handle and
 * valid until the next such call or sp_client_free(); SP_INFO_TOKEN's until the handle's next
 * login or sp_set_login()). Before any call, every number reads 0 but SP_INFO_BODY_SIZE
 * (UINT64_MAX), and SP_INFO_MESSAGE reads "". Returns SP_OK, or SP_EINVAL for an unknown what or
 * a NULL out (leaving *out and the record of the last call untouched).
 */
SP_EXTERN int sp_getinfo(const sp_client *c, sp_info what, void *out);

/* The sp_error of the last failed call on c (SP_OK if none). */
SP_EXTERN int sp_last_error(const sp_client *c);

/* The system errno behind the last failure, or 0 if it was not a system error. */
SP_EXTERN int sp_errno(const sp_client *c);

/*
 * "What failed: why" for the last failure, e.g. "connect 127.0.0.1:8080: Connection refused".
 * Owned by the handle; valid until the next call on it. Never NULL (empty if no failure).
 */
SP_EXTERN const char *sp_errmsg(const sp_client *c);

/* Body bytes of the last response kept by the handle (at most 1 MiB); valid until the next call. */
SP_EXTERN const char *sp_response_body(const sp_client *c, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
