/*
 * Private to libstreamput. Internal functions that cross files use the sp__ prefix; the library is
 * built with hidden visibility, so they never leave a shared libstreamput, while the unit tests
 * and fuzz targets reach them by linking the static streamput_internal library of the same
 * objects.
 */
#ifndef SP_INTERNAL_H
#define SP_INTERNAL_H

#include "sp_common.h"
#include "streamput.h"

#include <http_parser.h>
#include <stdarg.h>
#include <stdint.h>
#include <time.h>

#define SP_SIZE_UNKNOWN         UINT64_MAX
#define SP_MAX_RESPONSE_HEADERS (64 * 1024)
#define SP_MAX_RESPONSE_BODY    (1024 * 1024)
#define SP_RECV_BUF             16384
/* Informational (1xx) responses tolerated before the final one. */
#define SP_MAX_INTERIM 16
/* Room in front of the body buffer for a chunk-size line ("ffffffff\r\n"), and behind it for CRLF.
 */
#define SP_CHUNK_HEAD 18
#define SP_CHUNK_TAIL 2

typedef struct sp_url {
    char host[256];     /* without brackets for IPv6 literals */
    char port[6];       /* decimal, "80" by default */
    char hostport[270]; /* the Host header value: brackets kept, port only when given */
    char target[8192];  /* path and query, "/" when empty; fragment removed */
    int numeric;        /* host is an IP literal: resolve with AI_NUMERICHOST */
    int tls;            /* https://: the TLS transport, port 443 by default */
    int alist_api;      /* the path is an AList/OpenList API route (sp__url_is_alist_api) */
} sp_url;

/*
 * What one sp_put_*() call came to: the handle keeps the last one for sp_getinfo(). Private, so
 * that its layout is no part of the ABI; the transfer fills it as the attempt goes.
 */
typedef struct sp_result {
    int http_status;         /* final HTTP status, or 0 if none was received */
    int has_code;            /* 1 if the body was a JSON object with a numeric "code" */
    long code;               /* that "code" */
    char message[256];       /* JSON "message", else the reason phrase; raw bytes; cut, NUL-ended */
    uint64_t body_size;      /* bytes the body was declared to have, or UINT64_MAX if unknown */
    uint64_t bytes_sent;     /* body bytes handed to the kernel in the last attempt */
    double seconds;          /* wall time of the whole call, retries included */
    unsigned attempts;       /* connections made (1 + retries used) */
    int body_sent;           /* 0 if the server answered before the body was sent (e.g. Expect) */
    sp_engine engine;        /* the engine actually used */
    int body_complete;       /* the last attempt handed the whole body to the kernel */
    uint64_t response_bytes; /* of the server's final answer, in the last attempt */
    int maybe_stored;        /* on failure: an attempt sent it all and got no complete answer */
    char upload_id[64];      /* the multipart session's, or "" */
    long chunks_total;       /* of the multipart session */
    long chunks_sent;        /* acknowledged in this call */
    long chunks_skipped;     /* held by the server before the call */
    uint64_t bytes_held;     /* by the server for the session at the end of the call */
} sp_result;

struct sp_client {
    size_t chunk_size;
    sp_engine engine;
    char *remote_path; /* already percent-encoded */
    char *token;
    char *content_type;
    char **headers; /* "Name: value", validated */
    size_t nheaders;
    int overwrite;
    int as_task;
    int last_modified;
    unsigned hashes;
    uint64_t size; /* SP_SIZE_UNKNOWN unless sp_set_size() */
    uint64_t connect_timeout_ms;
    uint64_t timeout_ms;
    uint64_t stall_timeout_ms;
    uint64_t answer_timeout_ms;
    uint64_t expect_timeout_ms;
    uint64_t expect_threshold;
    unsigned retries;
    uint64_t retry_delay_ms;
    uint64_t limit_rate;
    sp_multipart multipart;
    uint64_t multipart_threshold;
    unsigned lanes;         /* --parallel-chunks */
    uint64_t mp_chunk_size; /* X-Chunk-Size to ask for; 0: none */
    sp_progress_fn progress;
    void *progress_ud;
    sp_debug_fn debug;
    void *debug_ud;
    char *cacert;        /* --cacert: trust these instead of the system's store */
    char *capath;        /* --capath: a hashed directory of trusted certificates */
    char *pinned_pubkey; /* "sha256//BASE64[;sha256//...]", or NULL */
    int insecure;        /* do not verify the peer (the pin, if any, still holds) */

    /* The login (sp_set_login): the user, the password's static hash (never the password),
     * the one-time code, and the token the last login obtained. The secrets are wiped with
     * sp__wipe() before their memory is freed or reused. */
    char *login_user; /* NULL: no login */
    char login_hash[65];
    char *otp;         /* NULL: "" */
    char *login_token; /* NULL until a login succeeds */

    /* The last sp_put_*() call, and the last failure (of that call or of a setter since). */
    sp_result last;
    int err;
    int sys_errno;
    char errmsg[512];

    /* Transfer buffers, allocated on first use and reused: nothing is allocated per chunk. */
    char *body_buf; /* SP_CHUNK_HEAD + chunk_size + SP_CHUNK_TAIL bytes */
    size_t body_buf_chunk;
    char *resp_body; /* grows up to SP_MAX_RESPONSE_BODY */
    size_t resp_len;
    size_t resp_cap;

    /* The connection the last upload left open, kept for the next one to the same server
     * (sp__conn_take_idle); NULL when there is none. */
    struct sp__conn *idle;
    char idle_key[300]; /* the server it goes to: "http://host:port" */
};

/* Records a failure on c ("what failed: why") and returns err. sys_errno 0 adds no errno text. */
int sp__fail(sp_client *c, int err, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Passes a note or header line to the debug callback, if any. */
void sp__debug(sp_client *c, sp_debug_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Whether the request target names an AList/OpenList API route: its path starts with "/api/",
 * or holds "/api/fs/" after a prefix (AList served under a site_url path such as /alist).
 */
int sp__url_is_alist_api(const char *target);

/* Whether the upload asks the server to keep an existing file (Overwrite: false). */
int sp__overwrite_off(const sp_client *c);

/* Whether pin is curl's "sha256//BASE64[;sha256//BASE64...]" with 32-byte digests (tls.c). */
int sp__tls_pin_valid(const char *pin);

/* Parses an http:// or https:// URL into u. Returns SP_OK, SP_EURL or SP_EUNSUPPORTED with a detail
 * on c. */
int sp__url_parse(sp_client *c, const char *url, sp_url *u);

/* Checks one "Name: value" header line for syntax and CR/LF injection; 0 if valid. */
int sp__header_valid(const char *line, const char **why);

/* Returns the caller's "Name: value" line for name (case-insensitive), or NULL. */
const char *sp__user_header(const sp_client *c, const char *name);

/* The value of the caller's header for name, leading blanks skipped ("" if empty), or NULL. */
const char *sp__user_header_value(const sp_client *c, const char *name);

/* What the request needs to know about the body. */
typedef struct sp_body_info {
    uint64_t size;    /* SP_SIZE_UNKNOWN for chunked */
    int64_t mtime_ms; /* -1 if unknown */
    int expect;       /* send Expect: 100-continue */
    char md5[33];     /* hex digests, empty unless requested */
    char sha1[41];
    char sha256[65];
    /* The body is [offset, offset + size) of a regular file, read with pread/sendfile at that
     * offset so that the fd's own offset, which the multipart lanes share, is never used. */
    int at_offset;
    uint64_t offset;
    /* The body is one piece of a longer stream: more input may follow it. */
    int slice;
    /* The regular file as the upload found it. Before the body's last byte goes out the file
     * must still be so (sp__body_send): a file rewritten meanwhile then fails the upload, and the
     * server, which never gets a whole body, stores nothing, instead of a mix of what the file
     * was and what it became. watch 0: a stream, nothing to compare. */
    int watch;
    uint64_t watch_size;
    struct timespec watch_mtime;
} sp_body_info;

/*
 * Builds the request line and headers into out (NUL-terminated, ending with the blank line).
 * Returns the length, or -1 if they do not fit in outsz.
 */
int sp__build_request(const sp_client *c, const sp_url *u, const sp_body_info *b, char *out,
                      size_t outsz);

/*
 * As sp__build_request for any method: with upload set, the headers that describe the file
 * (Content-Type, File-Path, Overwrite, As-Task, Last-Modified, X-File-*) and every caller
 * header, as a PUT sends them; without, only the Authorization and the caller's headers that do
 * not describe an upload. extra (NULL: none) is more "Name: value\r\n" lines. A GET without a
 * body has no Content-Length; every other request has its length (chunked if unknown).
 */
int sp__build_head(const sp_client *c, const sp_url *u, const char *method, const sp_body_info *b,
                   int upload, const char *extra, char *out, size_t outsz);

/* Bytes sp__build_head needs at most for c toward u, besides extra. */
size_t sp__head_size(const sp_client *c, const sp_url *u);

/* Ensures c->body_buf holds SP_CHUNK_HEAD + chunk_size + SP_CHUNK_TAIL bytes; allocated once. */
int sp__body_buf(sp_client *c);

/* Computes the digests named by c->hashes over [offset, offset + size) of fd, into b. */
int sp__hash_file(sp_client *c, int fd, uint64_t offset, uint64_t size, sp_body_info *b);

/*
 * AList's static hash of a password, the form /api/auth/login/hash takes: lowercase hex of
 * SHA-256(password + "-https://github.com/alist-org/alist"), into out[65]. Returns SP_OK or
 * SP_EUNSUPPORTED (no libcrypto) with a detail on c.
 */
int sp__static_hash(sp_client *c, const char *password, char out[65]);

/* Zeroes n bytes at p in a way the compiler may not drop (OPENSSL_cleanse once libcrypto is
 * loaded, explicit_bzero before). NULL is a no-op. */
void sp__wipe(void *p, size_t n);

/* Wipes and frees a NUL-terminated secret, and sets *s to NULL. */
void sp__free_secret(char **s);

/* The Authorization value an upload sends: the login's token when a login is set, else the
 * token of sp_set_token() (NULL: none). */
const char *sp__auth_token(const sp_client *c);

/*
 * Derives the login route from the URL u: the site's path prefix, then /api/auth/login/hash.
 * u's path must end in /api/fs/put or /api/fs/form; with site set it may also be the login route
 * itself or a path without /api/ (the site's address). Returns SP_OK or SP_EURL with a detail.
 */
int sp__url_login(sp_client *c, const sp_url *u, int site, sp_url *login);

/*
 * The API route beside the upload route of u (.../api/fs/put or .../api/fs/form): route (such
 * as "/api/fs/multipart/init") under the same site path, with query (NULL: none) after '?'.
 * Returns SP_OK, or SP_EURL with a detail when u is no upload route or the target is too long.
 */
int sp__url_route(sp_client *c, const sp_url *u, const char *route, const char *query, sp_url *out);

/*
 * Builds the login request, POST with its JSON body, into out (outsz bytes). Returns the length,
 * or -1 if it does not fit. The caller wipes out after sending: it holds the password's hash.
 */
int sp__build_login(const sp_client *c, const sp_url *u, char *out, size_t outsz);

/* Bytes sp__build_login needs at most for c's login toward u. */
size_t sp__login_size(const sp_client *c, const sp_url *u);

/* The buffer sp__build_json_post needs for a JSON body of jlen bytes. */
size_t sp__json_post_size(const sp_client *c, const sp_url *u, size_t jlen);

/* A POST of the JSON text json to the API route u, with the token; -1 if it does not fit. */
int sp__build_json_post(const sp_client *c, const sp_url *u, const char *json, char *out,
                        size_t outsz);

/*
 * POST .../api/fs/get of the plain remote path beside the upload URL u, over the connection the
 * uploads keep (logging in first toward login if it is not NULL); res records the call. Sets
 * *found 0 for the server's "object not found", else 1 and leaves the answer in c's response.
 */
int sp__fs_get(sp_client *c, const sp_url *u, const sp_url *login, const char *remote,
               int64_t deadline, sp_result *res, int *found);

/*
 * Whether an fs/get answer (rc and res as the exchange left them) is OpenList's "object not
 * found": code 500 with a message that ends so, which tells it from the other failures of a
 * lookup, which are code 500 too.
 */
int sp__fs_get_not_found(int rc, const sp_result *res);

/*
 * One attempt: connect, log in first toward login if it is not NULL (login.c), send the request
 * and body from fd, read the response into res, all by deadline (absolute sp__now_ms() time;
 * INT64_MAX for none), which belongs to the whole call so that retries share it.
 */
int sp__transfer(sp_client *c, const sp_url *u, const sp_url *login, int fd, const sp_body_info *b,
                 int regular, int64_t deadline, sp_result *res);

/*
 * Whether a failed attempt is worth repeating: the connection could not be made or was lost, or
 * the server said it is temporarily unable (408, 429, 5xx but 501 and 505).
 */
int sp__retryable(int err, const sp_result *res);

/* The most chunks of a multipart upload in flight at once (sp_set_parallel_chunks). */
#define SP_MAX_LANES 8

/* sp__multipart_put's answer when the upload is to be one PUT after all. */
#define SP__MP_DECLINED 1

/*
 * The multipart upload of the body b describes (multipart.c), if the client's options and the
 * server call for one: from fd at offset start when regular, else from the stream fd. login is
 * the login route when a login is set. Returns SP__MP_DECLINED, having sent no byte of the
 * body, when a single PUT is to go instead; else SP_OK or an error code, with res filled.
 */
int sp__multipart_put(sp_client *c, const sp_url *u, const sp_url *login, int fd, int regular,
                      uint64_t start, const sp_body_info *b, int64_t deadline, sp_result *res);

/* OpenList's received list is [[0, frontier-1]] and the ready chunks of its 8-slot window
 * (window.go Snapshot): a few ranges. More are not kept; their chunks are simply sent again,
 * which the server acknowledges at once. */
#define SP__MP_MAX_RANGES 32

/* What an answer says of a multipart session (SessionSnapshot, internal/multipart/session.go). */
typedef struct sp__mp_snap {
    char id[64];
    char state[24]; /* receiving, completed, failed_retriable, failed_permanent, aborted */
    uint64_t size, chunk_size, received_bytes;
    long total;
    long ranges[SP__MP_MAX_RANGES][2]; /* inclusive chunk index ranges the server holds */
    int nranges;
    int resumed;
    char error[256];
} sp__mp_snap;

/*
 * Reads the snapshot in data of c's last answer into s; full asks for all a session needs (the
 * answers of status and init), else state and error are enough (the errors of chunk and
 * complete). The upload_id goes into a header line, so it may hold only the characters of a
 * UUID and the like. Returns SP_OK or SP_EPROTO with a detail.
 */
int sp__mp_parse_snap(sp_client *c, int full, sp__mp_snap *s);

/* The chunks s says the server holds, with their bytes in *bytes. */
long sp__mp_count_held(const sp__mp_snap *s, uint64_t *bytes);

/* The response parser's state: fed bytes as they arrive, in pieces of any size. */
typedef struct sp_resp {
    sp_client *c; /* debug callback and the body buffer */
    http_parser parser;
    uint64_t bytes;         /* fed so far */
    uint64_t interim_bytes; /* of those, the ones up to the end of the last 1xx response */
    size_t header_bytes;    /* of the current message, bounded by SP_MAX_RESPONSE_HEADERS */
    unsigned interim;       /* 1xx responses seen */
    int got_continue;       /* a 100 Continue arrived */
    int done;               /* the final response is complete */
    int status;             /* its status code */
    int failed;             /* sticky error code once parsing failed */
    int header_overflow, body_overflow, no_memory;
    int in_message; /* between the first byte of a response and its end */
    int in_value, status_shown;
    char line[4096]; /* the header line being rebuilt for the debug callback */
    size_t line_len;
    char reason[256];
    size_t reason_len;
    char content_type[128]; /* of the current message, cut if longer; "" if none */
    int want_envelope;      /* set by the caller: a 2xx must carry AList's JSON envelope */
    int keep_alive;         /* the final response leaves the connection open for another */
    size_t excess;          /* bytes fed after the final response's end, which nothing asked */
} sp_resp;

/* Starts parsing a response for c; empties c's response body buffer. */
void sp__resp_init(sp_resp *r, sp_client *c);

/* Feeds len bytes; returns SP_OK (check r->done) or the sticky error (SP_EPROTO, SP_ENOMEM). */
int sp__resp_feed(sp_resp *r, const char *data, size_t len);

/* Tells the parser the peer closed: completes a close-delimited body or reports the cut. */
int sp__resp_eof(sp_resp *r);

/*
 * Turns a complete final response into res (status, JSON code and message) and the verdict:
 * SP_OK for 2xx with code 200 or, unless r->want_envelope, with no JSON code at all; else
 * SP_EHTTP (not 2xx), SP_EAPI (another code) or SP_EPROTO (want_envelope and no JSON object
 * with a numeric code). A 2xx that came before the body was complete (answered_early) is
 * SP_EPROTO too, since the upload cannot be whole.
 */
int sp__resp_finish(sp_resp *r, sp_result *res, int answered_early, uint64_t size);

/*
 * The string data.<key> of the JSON envelope in c's response body as a malloc'd copy, or NULL
 * if there is none (or no memory).
 */
char *sp__resp_data_string(sp_client *c, const char *key);

/* The envelope of c's response body parsed (caller cJSON_Delete's), or NULL if it is none. */
struct cJSON *sp__resp_json(const sp_client *c);

/* Formats a chunked-encoding size line for n bytes ending right before end; returns its start. */
char *sp__chunk_head(char *end, size_t n);

#endif
