/*
 * streamput-mock internals: shared between the server's own source files only.
 * Every cross-file symbol carries the mock_ prefix.
 */
#ifndef MOCK_H
#define MOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

/*
 * Temp files are named this prefix + 16 lower-case hex digits, so start-up can recognise stale
 * ones. No client may name a path component with the prefix (mock_file_path refuses it), so
 * nothing but the mock's own temp files can ever carry it.
 */
#define MOCK_TMP_PREFIX ".streamput-tmp."

/* Which server's rules to follow where AList and OpenList differ. */
typedef enum mock_profile {
    MOCK_PROFILE_OPENLIST = 0,
    MOCK_PROFILE_ALIST,
} mock_profile;

typedef enum mock_log_format {
    MOCK_LOG_TEXT = 0,
    MOCK_LOG_JSON,
} mock_log_format;

/*
 * An injected fault (faults.c). -1 / 0 mean "not set". Faults that only slow a transfer down
 * (stall-after, slow-read, delay-response) let a complete body be stored; faults that fail it
 * (reset-after, code, status) store nothing.
 */
typedef struct mock_fault {
    int64_t reset_after; /* RST once this many body bytes arrived */
    int64_t stall_after; /* stop reading for stall_ms once this many body bytes arrived */
    uint32_t stall_ms;
    uint32_t delay_ms;  /* wait this long before answering */
    int code;           /* answer with this AList code instead */
    unsigned status;    /* answer with this HTTP status instead */
    uint64_t slow_read; /* consume the body at this many bytes per second */
} mock_fault;

/* The server-wide configuration, filled once by option parsing and read-only afterwards. */
typedef struct mock_config {
    const char *listen; /* HOST:PORT */
    const char *root;   /* directory that receives uploads */
    const char *token;  /* NULL: guest access allowed */
    size_t token_len;
    mock_profile profile;
    uint64_t max_body; /* 0: unlimited */
    int fsync;
    int verify_hash;
    int strict;
    size_t journal;         /* most entries the request journal keeps */
    uint64_t journal_bytes; /* most bytes the request journal keeps */
    mock_log_format log_format;
    const char *fault_spec; /* --fault, NULL if none */
    mock_fault fault;
    int allow_fault_header;
    unsigned max_connections;
    unsigned idle_timeout;   /* seconds, 0: none */
    unsigned header_timeout; /* seconds for a request head to arrive, 0: none */
    uint64_t body_min_rate;  /* bytes per second a body must keep up after the grace, 0: none */
    unsigned body_grace;     /* seconds a body may take before the rate applies */
} mock_config;

/* The running server: configuration plus the root directory fd everything is resolved against. */
typedef struct mock_server {
    mock_config cfg;
    int rootfd;
} mock_server;

/* ---- options.c ---- */

/* Fills cfg from argv; prints --help and exits 0, or a message and exits 2 on a bad option. */
void mock_parse_options(int argc, char **argv, mock_config *cfg);

/* ---- storage.c: all file-system access, confined beneath the root fd ---- */

/* One upload in progress: a temp file in the target's directory. */
typedef struct mock_store {
    int dirfd;        /* the target's directory, -1 when not open */
    int fd;           /* the temp file, -1 when not open */
    int lockfd;       /* a duplicate of fd that keeps its flock() until the rename is done */
    char tmpname[64]; /* the temp file's name inside dirfd */
    const char *name; /* the target's final name inside dirfd (points into the caller's path) */
    int noreplace;    /* commit fails with MOCK_STORE_EXISTS rather than replace the target */
    int fsync;        /* fsync the file and its directory around the rename */
} mock_store;

/* Result of a storage operation, mapped to AList's answers by the caller. */
typedef enum mock_store_err {
    MOCK_STORE_OK = 0,
    MOCK_STORE_ESCAPE,   /* resolution would leave the root (symlink or "..") */
    MOCK_STORE_NOTDIR,   /* a parent component exists and is not a directory */
    MOCK_STORE_EXISTS,   /* target exists and overwrite is off */
    MOCK_STORE_IO,       /* anything else: errno says what */
    MOCK_STORE_UNSYNCED, /* commit only: the target is in place, but --fsync of its directory
                          * failed (errno says why), so it may not survive a crash */
} mock_store_err;

/* Sets every field to the "nothing open" state. */
void mock_store_init(mock_store *st);

/*
 * Opens (creating as needed) the directory of the cleaned absolute path `path` beneath rootfd and
 * creates a fresh temp file in it. A final name longer than the directory's file system allows
 * fails here (MOCK_STORE_IO, ENAMETOOLONG), before any body is read, not at the rename. path must
 * start with '/' and name a file. On failure *failed_dir (if not NULL) is set to the length of the
 * path prefix that could not be made a directory.
 */
mock_store_err mock_store_begin(mock_store *st, int rootfd, const char *path, size_t *failed_dir);

/* Appends a body piece to the temp file with an honest write loop. Returns 0 or -1 (errno). */
int mock_store_write(mock_store *st, const void *buf, size_t len);

/* Sets the temp file's atime and mtime to Unix time ms (milliseconds). Returns 0 or -1. */
int mock_store_set_mtime(mock_store *st, int64_t ms);

/*
 * Renames the temp file onto its target. Returns MOCK_STORE_OK or an error; the store is closed.
 * Only MOCK_STORE_UNSYNCED leaves the target in place with an error.
 */
mock_store_err mock_store_commit(mock_store *st);

/* 1 if the cleaned absolute path names anything (file, directory, symlink) beneath rootfd. */
int mock_store_exists(int rootfd, const char *path);

/* Closes and removes whatever the store still holds; safe to call repeatedly. */
void mock_store_abort(mock_store *st);

/*
 * Removes stale temp files anywhere beneath rootfd (left by a crashed run): only regular files
 * named exactly as mock_store_begin names them that no live mock holds locked. Returns the count.
 */
int mock_store_remove_stale(int rootfd);

/* ---- gostr.c: Go's string conversions, for byte-identical messages ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes; rune receives it), 0 if invalid. */
size_t mock_utf8_len(const unsigned char *s, size_t n, uint32_t *rune);

/* Go's strconv.Quote of n bytes into out (truncated to fit outsz). */
void mock_go_quote(const char *s, size_t n, char *out, size_t outsz);

/*
 * Go's strconv.ParseInt(s, 10, 64). Returns 0, or -1 with Go's error text in msg
 * ("strconv.ParseInt: parsing \"x\": invalid syntax") when msg is not NULL.
 */
int mock_go_parse_int(const char *s, int64_t *out, char *msg, size_t msgsz);

/*
 * Go's text for an errno (syscall.Errno's Error()) into buf, which it returns: glibc's strerror
 * with a lower-case first letter, which is what Go's table says for every error a file system
 * gives ("file too large", "no space left on device", "file name too long").
 */
const char *mock_go_errno(int e, char *buf, size_t bufsz);

/* ---- apath.c: File-Path handling as AList does it ---- */

/* Go's path.Clean on a NUL-terminated path, in place. Returns the new length. */
size_t mock_path_clean(char *p);

/*
 * Turns a raw File-Path header into the cleaned absolute path AList would use, into out, which
 * must hold strlen(raw) + 2 bytes. Returns 0, or the AList error code (400, 403) with the exact
 * message in msg (out is then NUL-terminated but not meaningful). A component starting with
 * MOCK_TMP_PREFIX is refused with 403: every route that takes a path shares this check.
 */
int mock_file_path(const char *raw, mock_profile profile, char *out, char *msg, size_t msgsz);

/* ---- respond.c: AList's JSON envelope, byte-identical to gin's ---- */

typedef struct cJSON cJSON;

/* Renders v compactly with Go's escaping. Returns a malloc'd string (caller frees), or NULL. */
char *mock_json_go(const cJSON *v);

/* As mock_json_go; escape_c1 also writes U+0080-U+009F as \u00XX (for terminal-safe logs). */
char *mock_json_go_ex(const cJSON *v, int escape_c1);

/*
 * Rewrites raw, cJSON's compact output, with Go's escaping into out (outsz bytes, at most six
 * per byte of raw are needed). Returns the length written, or -1 if out is too small.
 */
long mock_json_go_into(const char *raw, char *out, size_t outsz, int escape_c1);

/*
 * Queues {"code":code,"message":msg,"data":data} with HTTP status; data (taken over, may be NULL
 * for null). close_after adds "Connection: close" (used when the body was not read).
 */
enum MHD_Result mock_respond(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                             cJSON *data, int close_after);

/*
 * Writes {"code":code,"message":msg,"data":null} with HTTP status and "Connection: close" straight
 * to the connection's socket and half-closes it. This is for an answer in the middle of a body:
 * MHD 0.9.75 (and 1.0) refuse MHD_queue_response() until the whole body has been read, and a
 * limit that waits for a 200 MB body is no limit. The caller must then return MHD_NO so that MHD
 * closes the connection without writing anything more. Returns 0, or -1 if it could not be sent.
 */
int mock_respond_now(struct MHD_Connection *c, unsigned status, int code, const char *msg);

/* A request header (case-insensitive name, first value, as Go's Header.Get), or NULL. */
const char *mock_header(struct MHD_Connection *c, const char *name);

/* Queues body (malloc'd, taken over) as is with the given Content-Type. */
enum MHD_Result mock_respond_raw(struct MHD_Connection *c, unsigned status, char *body,
                                 const char *type);

typedef struct mock_req mock_req;

/* ---- journal.c: request journal and access log ---- */

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
} mock_outcome;

/*
 * Sets up a journal of at most capacity entries (0 keeps none) and max_bytes bytes, and the log
 * format. Returns 0 or -1.
 */
int mock_journal_init(size_t capacity, uint64_t max_bytes, mock_log_format fmt);
void mock_journal_free(void);

/* A new entry recording the request head (method, URL, headers), or NULL if out of memory. */
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

/* ---- watchdog.c: the request-head deadline and the minimum body rate ---- */

/*
 * Starts the watchdog thread for a head deadline of header_seconds (0: none) and a minimum body
 * rate of min_rate bytes per second after grace_seconds (min_rate 0: none); with neither, nothing
 * runs. Returns 0 or -1.
 */
int mock_watchdog_start(unsigned header_seconds, uint64_t min_rate, unsigned grace_seconds);

/* Stops and joins the watchdog thread; call after MHD_stop_daemon(). */
void mock_watchdog_stop(void);

/* The MHD_OPTION_NOTIFY_CONNECTION callback: registers and forgets connections. */
void mock_watchdog_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);

/* The connection's current request head is complete: the head deadline no longer applies, and
 * if the request has a body (has_body), the body rate applies from now on. */
void mock_watchdog_head_done(struct MHD_Connection *c, int has_body);

/*
 * The access handler starts a call for c: until mock_watchdog_leave, the clock does not run
 * against the client and the connection is not cut. Returns -1 if the watchdog has already cut
 * the connection for its body rate (the handler must then store nothing and return MHD_NO).
 */
int mock_watchdog_enter(struct MHD_Connection *c);

/* The handler call consumed bytes body bytes; body_done: no more of the body will be read. */
void mock_watchdog_leave(struct MHD_Connection *c, uint64_t bytes, int body_done);

/* If the watchdog cut c for its body rate, the journal's reason into out and 1; otherwise 0. */
int mock_watchdog_why(struct MHD_Connection *c, char *out, size_t outsz);

/* A request finished: the next head on this connection has the full deadline from now. */
void mock_watchdog_rearm(struct MHD_Connection *c);

/* ---- sniff.c ---- */

#define MOCK_SNIFF 512

/* The multipart sniffer's state: zero-initialise, then feed the body as it arrives. */
typedef struct mock_sniff {
    unsigned char buf[MOCK_SNIFF]; /* the body's first bytes */
    size_t len;
    int done;      /* a verdict was reached; further bytes are ignored */
    int suspected; /* the verdict: the body starts like multipart/form-data */
} mock_sniff;

/*
 * Feeds len body bytes (at_end: the body is complete). Sets done once the first line and the
 * start of the next decide it, suspected if they are a --boundary line and Content-Disposition.
 */
void mock_sniff_feed(mock_sniff *s, const char *data, size_t len, int at_end);

/* ---- faults.c ---- */

void mock_fault_init(mock_fault *f);

/* Parses a fault SPEC into f. Returns 0, or -1 with a message in err and f untouched. */
int mock_fault_parse(const char *spec, mock_fault *f, char *err, size_t errsz);

/* Sleeps ms milliseconds unless the server is stopping. Returns 0, or -1 if cut short. */
int mock_sleep_ms(uint64_t ms);

/* Wakes every sleeper for good: called once at shutdown. */
void mock_stop_sleepers(void);

/* Resets the connection (RST) at once; the caller then returns MHD_NO. */
void mock_fault_reset(struct MHD_Connection *c);

/* ---- handler.c and upload.c: one request ---- */

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

/* ---- handler.c ---- */

/* The MHD access handler and completion callback; cls is the mock_server. */
enum MHD_Result mock_handle(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_data_size, void **req_cls);
void mock_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe);

#endif
