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

/* Temp files carry this fixed prefix so start-up can recognise and remove stale ones. */
#define MOCK_TMP_PREFIX ".streamput-tmp."

/* Which server's rules to follow where AList and OpenList differ. */
typedef enum mock_profile {
    MOCK_PROFILE_OPENLIST = 0,
    MOCK_PROFILE_ALIST,
} mock_profile;

/* The server-wide configuration, filled once by option parsing and read-only afterwards. */
typedef struct mock_config {
    const char *listen; /* HOST:PORT */
    const char *root;   /* directory that receives uploads */
    const char *token;  /* NULL: guest access allowed */
    size_t token_len;
    mock_profile profile;
} mock_config;

/* The running server: configuration plus the root directory fd everything is resolved against. */
typedef struct mock_server {
    mock_config cfg;
    int rootfd;
} mock_server;

/* ---- storage.c: all file-system access, confined beneath the root fd ---- */

/* One upload in progress: a temp file in the target's directory. */
typedef struct mock_store {
    int dirfd;        /* the target's directory, -1 when not open */
    int fd;           /* the temp file, -1 when not open */
    char tmpname[64]; /* the temp file's name inside dirfd */
    const char *name; /* the target's final name inside dirfd (points into the caller's path) */
} mock_store;

/* Result of a storage operation, mapped to AList's answers by the caller. */
typedef enum mock_store_err {
    MOCK_STORE_OK = 0,
    MOCK_STORE_ESCAPE, /* resolution would leave the root (symlink or "..") */
    MOCK_STORE_NOTDIR, /* a parent component exists and is not a directory */
    MOCK_STORE_EXISTS, /* target exists and overwrite is off */
    MOCK_STORE_IO,     /* anything else: errno says what */
} mock_store_err;

/* Sets every field to the "nothing open" state. */
void mock_store_init(mock_store *st);

/*
 * Opens (creating as needed) the directory of the cleaned absolute path `path` beneath rootfd and
 * creates a fresh temp file in it. path must start with '/' and name a file. On failure *failed_dir
 * (if not NULL) is set to the length of the path prefix that could not be made a directory.
 */
mock_store_err mock_store_begin(mock_store *st, int rootfd, const char *path, size_t *failed_dir);

/* Appends a body piece to the temp file with an honest write loop. Returns 0 or -1 (errno). */
int mock_store_write(mock_store *st, const void *buf, size_t len);

/* Renames the temp file onto its target. Returns MOCK_STORE_OK or an error; the store is closed. */
mock_store_err mock_store_commit(mock_store *st);

/* Closes and removes whatever the store still holds; safe to call repeatedly. */
void mock_store_abort(mock_store *st);

/* Removes stale temp files anywhere beneath rootfd (left by a crashed run). Returns the count. */
int mock_store_remove_stale(int rootfd);

/* ---- apath.c: File-Path handling as AList does it ---- */

/* Go's path.Clean on a NUL-terminated path, in place. Returns the new length. */
size_t mock_path_clean(char *p);

/*
 * Turns a raw File-Path header into the cleaned absolute path AList would use, into out, which
 * must hold strlen(raw) + 2 bytes. Returns 0, or the AList error code (400, 403) with the exact
 * message in msg.
 */
int mock_file_path(const char *raw, mock_profile profile, char *out, char *msg, size_t msgsz);

/* ---- respond.c: AList's JSON envelope, byte-identical to gin's ---- */

typedef struct cJSON cJSON;

/* Renders v compactly with Go's escaping. Returns a malloc'd string (caller frees), or NULL. */
char *mock_json_go(const cJSON *v);

/*
 * Queues {"code":code,"message":msg,"data":data} with HTTP status; data (taken over, may be NULL
 * for null). close_after adds "Connection: close" (used when the body was not read).
 */
enum MHD_Result mock_respond(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                             cJSON *data, int close_after);

/* Queues body (malloc'd, taken over) as is with the given Content-Type. */
enum MHD_Result mock_respond_raw(struct MHD_Connection *c, unsigned status, char *body,
                                 const char *type);

/* ---- handler.c ---- */

/* The MHD access handler and completion callback; cls is the mock_server. */
enum MHD_Result mock_handle(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_data_size, void **req_cls);
void mock_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe);

#endif
