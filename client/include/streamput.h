/*
 * libstreamput: stream a file of any size to an HTTP/1.1 PUT endpoint (AList/OpenList's
 * /api/fs/put and anything else that takes a raw PUT body) in constant memory.
 *
 * Lifecycle: sp_client_new() -> sp_set_*() -> sp_put_file() / sp_put_fd() / sp_put_stream()
 * (as many times as wanted) -> sp_client_free(). A handle is not thread-safe; use one per thread.
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

#define SP_VERSION "0.1.0"

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
    XX(EHEADER, -15, "invalid request header")

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
    SP_ENGINE_AUTO = 0,     /* sendfile for regular files, rw otherwise */
    SP_ENGINE_RW = 1,       /* read() into one buffer of chunk_size bytes, then send() */
    SP_ENGINE_SENDFILE = 2, /* sendfile(2), zero-copy; regular files only */
} sp_engine;

/* Digest headers computed in a streaming pre-pass over the file (sp_set_hashes). */
enum {
    SP_HASH_MD5 = 1u << 0,    /* X-File-Md5 */
    SP_HASH_SHA1 = 1u << 1,   /* X-File-Sha1 */
    SP_HASH_SHA256 = 1u << 2, /* X-File-Sha256 */
};

/* What one transfer came to. Filled by the sp_put_* functions, on success and on failure. */
typedef struct sp_result {
    int http_status;     /* final HTTP status, or 0 if none was received */
    int has_code;        /* 1 if the body was a JSON object with a numeric "code" */
    long code;           /* that "code" */
    char message[256];   /* JSON "message", else the reason phrase; raw bytes (escape before
                           printing); truncated, NUL-terminated */
    uint64_t body_size;  /* bytes the body was declared to have, or UINT64_MAX if unknown */
    uint64_t bytes_sent; /* body bytes handed to the kernel in the last attempt */
    double seconds;      /* wall time of the whole call, retries included */
    unsigned attempts;   /* connections made (1 + retries used) */
    int body_sent;       /* 0 if the server answered before the body was sent (e.g. Expect) */
    sp_engine engine;    /* the engine actually used */
    /* 1 if the last attempt handed the whole body to the kernel (a chunked one with its last
     * chunk): from then on the server may store the file whatever becomes of the answer. */
    int body_complete;
    /* Bytes of the server's final answer received in the last attempt (0: it said nothing but
     * perhaps a 100 Continue). */
    uint64_t response_bytes;
    /* On failure, 1 if an attempt sent the whole body and got no complete answer: the server
     * may have stored the file although the call failed. */
    int maybe_stored;
} sp_result;

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

/* Releases the handle and everything it owns. sp_client_free(NULL) does nothing. */
SP_EXTERN void sp_client_free(sp_client *c);

/*
 * Options. Each returns SP_OK, or SP_EINVAL (with a detail in sp_errmsg()) and leaves the option
 * unchanged; sp_add_header() returns SP_EHEADER for a line it refuses. String arguments are
 * copied; the caller keeps ownership of what it passed.
 */

/* Bytes per read/send or sendfile call: 1 B .. 1 GiB; default 256 KiB. */
SP_EXTERN int sp_set_chunk_size(sp_client *c, size_t bytes);
/* How the body goes on the wire; default SP_ENGINE_AUTO. */
SP_EXTERN int sp_set_engine(sp_client *c, sp_engine engine);
/*
 * The File-Path header: path as plain text ("/dir/a b.txt"), which the library percent-encodes
 * as AList expects; NULL sends none.
 */
SP_EXTERN int sp_set_remote_path(sp_client *c, const char *path);
/* The Authorization header (AList's raw token, no "Bearer"); NULL sends none. */
SP_EXTERN int sp_set_token(sp_client *c, const char *token);
/* The Content-Type; default application/octet-stream. */
SP_EXTERN int sp_set_content_type(sp_client *c, const char *type);
/* An extra "Name: value" line; it replaces a default header of that name, "Name:" removes it. */
SP_EXTERN int sp_add_header(sp_client *c, const char *line);
/* 0 sends "Overwrite: false": the server keeps an existing file. Default 1. */
SP_EXTERN int sp_set_overwrite(sp_client *c, int overwrite);
/* 1 sends "As-Task: true": AList queues the upload as a task. Default 0. */
SP_EXTERN int sp_set_as_task(sp_client *c, int as_task);
/* 1 sends a file's mtime as Last-Modified (Unix milliseconds). Default 1. */
SP_EXTERN int sp_set_last_modified(sp_client *c, int send);
/* SP_HASH_* bits of the X-File-* digests to send. Default 0. */
SP_EXTERN int sp_set_hashes(sp_client *c, unsigned mask);
/* A stream's exact length (Content-Length instead of chunked); a file must match it. */
SP_EXTERN int sp_set_size(sp_client *c, uint64_t size);

/*
 * Timeouts, in milliseconds; 0 = none. The stall timeout ends a transfer in which no byte moved
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
/* The progress callback (see sp_progress_fn); NULL removes it. */
SP_EXTERN int sp_set_progress(sp_client *c, sp_progress_fn fn, void *userdata);
/* The debug callback (see sp_debug_fn); NULL removes it. */
SP_EXTERN int sp_set_debug(sp_client *c, sp_debug_fn fn, void *userdata);

/*
 * Uploads the file at path to url with PUT. The body length is the file's size when it is a
 * regular file (Content-Length), otherwise the stream is sent with chunked encoding unless a size
 * was set. res may be NULL; when given it is filled in whatever the outcome.
 * Returns SP_OK when the server answered 2xx and, if the body was JSON, with code 200. When the
 * URL's path is an AList/OpenList API route ("/api/...", or ".../api/fs/..." under a site path)
 * the body must be AList's JSON envelope with code 200: a 2xx without it (AList's web page for
 * a mistyped route, say) is SP_EPROTO.
 */
SP_EXTERN int sp_put_file(sp_client *c, const char *path, const char *url, sp_result *res);

/* As sp_put_file() for an open fd the caller keeps owning; reading starts at its offset. */
SP_EXTERN int sp_put_fd(sp_client *c, int fd, const char *url, sp_result *res);

/*
 * As sp_put_fd() for a non-seekable fd (pipe, socket, terminal): always chunked unless a size was
 * set, and never retried, since the bytes cannot be read again.
 */
SP_EXTERN int sp_put_stream(sp_client *c, int fd, const char *url, sp_result *res);

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
