/*
 * streamput-mock as a test fixture: starting it on 127.0.0.1 port 0 over a scratch root,
 * stopping it, its access log on stderr, and the checks most mock suites share.
 */
#ifndef TH_MOCK_H
#define TH_MOCK_H

#include "th_files.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

/* AList's answer to an upload it accepted, byte for byte. */
#define TH_SUCCESS "{\"code\":200,\"message\":\"success\",\"data\":null}"

/* A running streamput-mock. */
typedef struct th_mock {
    pid_t pid;
    int port;
    int out_fd;    /* the rest of its stdout */
    int err_fd;    /* its stderr (access log), non-blocking */
    char url[128]; /* "http://127.0.0.1:PORT" (https with TLS) without a trailing slash */
} th_mock;

/*
 * Starts streamput-mock --listen 127.0.0.1:0 --root root plus the NULL-terminated extra
 * arguments, and reads the port from its first line. Returns 0, or -1 (with a message on stderr)
 * if it did not start within 10 s.
 */
int th_mock_start(th_mock *m, const char *root, ...);

/* Sends SIGTERM and waits up to 10 s (then SIGKILL). Returns its exit status as th_run does. */
int th_mock_stop(th_mock *m);

/* The suites' fixture: th_env_init, then m started on e->root with one option (and its value,
 * either may be NULL). th_env_down stops m, asserting a clean exit 0, and frees e. */
void th_env_up(th_env *e, th_mock *m, const char *opt, const char *val);
void th_env_down(th_env *e, th_mock *m);

/* Reads and discards whatever the mock has written to its stderr so far (never blocks), so its
 * log never fills the pipe and blocks it. */
void th_mock_drain_log(th_mock *m);

/*
 * Reads the mock's stderr until it contains needle or timeout_ms passes; everything read is
 * appended to buf (NUL-terminated). Returns 1 if needle was seen.
 */
int th_mock_log_wait(th_mock *m, const char *needle, char *buf, size_t cap, int timeout_ms);

/*
 * Drains the mock's stderr on a thread of its own, so an access log line per request never fills
 * the pipe and blocks the server under load.
 */
typedef struct th_drain {
    pthread_t th;
    int fd;
    atomic_int stop;
} th_drain;

void th_drain_start(th_drain *d, const th_mock *m);
void th_drain_stop(th_drain *d);

/* Polls until exactly want temp files are beneath dir (recursively) or timeout_ms passes;
 * returns the last count (-1 while dir does not exist). */
int th_wait_temps(const char *dir, int want, int timeout_ms);

/* th_wait_temps polling every poll_ms, for a suite that waits on hundreds of uploads in turn. */
int th_wait_temps_every(const char *dir, int want, int timeout_ms, int poll_ms);

/* Asserts, waiting up to 5 s for the mock to finish aborted requests, that no temp file is left
 * anywhere beneath root. */
void th_assert_no_temps(const char *root);

/*
 * The proof that the mock still serves: uploads src with the real streamput to file_path and
 * asserts exit 0 within 5 s and a byte-exact copy at root + file_path.
 */
void th_client_upload_ok(const th_mock *m, const char *root, const char *src,
                         const char *file_path);

/* The token in a login's answer body (data.token) into out (outsz bytes); fails the test if
 * there is none. */
void th_token_of(const char *body, char *out, size_t outsz);

/*
 * Logs in to the mock on port as user with password pw (POST /api/auth/login) and copies the
 * token into out (outsz bytes); fails the test if the answer holds none.
 */
void th_login_token(int port, const char *user, const char *pw, char *out, size_t outsz);

#endif
