/*
 * Helpers shared by the streamput-mock suites (tests/test_mock_*.c): raw HTTP requests with
 * exact bytes, the mock's journal as cJSON, and its stderr log.
 */
#ifndef TEST_MOCK_UTIL_H
#define TEST_MOCK_UTIL_H

#include "harness.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stddef.h>

/* One HTTP response, split. The mock's answers are small; larger ones are truncated. */
typedef struct tm_resp {
    int status;       /* the final status (a 100 Continue before it is skipped), -1 if none */
    char raw[16384];  /* everything received, NUL-terminated */
    const char *body; /* points into raw, after the head */
} tm_resp;

/* A test's scratch directory with an empty root/ for the mock; both freed by tm_env_free. */
typedef struct tm_env {
    char *dir;
    char *root;
} tm_env;

void tm_env_init(tm_env *e);
void tm_env_free(tm_env *e);

/* The suites' fixture: tm_env_init, then m started on e->root with one option (and its value,
 * either may be NULL). tm_env_down stops m, asserting a clean exit 0, and frees e. */
void tm_env_up(tm_env *e, th_mock *m, const char *opt, const char *val);
void tm_env_down(tm_env *e, th_mock *m);

/* Parses raw (len bytes already in r->raw) into status and body. */
void tm_parse(tm_resp *r);

/* Sends len raw bytes and reads the response until the mock closes (send Connection: close). */
int tm_raw(int port, const void *req, size_t len, tm_resp *r);

/*
 * PUT to route (e.g. "/api/fs/put") with extra header lines ("Name: value\r\n"..., may be "")
 * and a body of len bytes. chunk 0 sends Content-Length; otherwise the body is sent chunked,
 * chunk bytes per chunk. Returns the response status or -1.
 */
int tm_put(int port, const char *route, const char *headers, const void *body, size_t len,
           size_t chunk, tm_resp *r);

/* tm_put to /api/fs/put with "File-Path: file_path" in front of the extra headers. */
int tm_upload(int port, const char *file_path, const char *headers, const char *body, tm_resp *r);

/* GET /_mock/requests, parsed (caller deletes); fails the test if it is not a JSON array. */
cJSON *tm_journal(int port);

/* The newest journal entry's string (or number, formatted) field, into a static buffer. */
const char *tm_last_field(int port, const char *key);

/*
 * Reads the mock's stderr until it contains needle or timeout_ms passes; everything read is
 * appended to buf (NUL-terminated). Returns 1 if needle was seen.
 */
int tm_log_wait(th_mock *m, const char *needle, char *buf, size_t cap, int timeout_ms);

/* Reads and discards the mock's stderr, so its log never fills the pipe and blocks it. */
void tm_log_drain(th_mock *m);

/* Sleeps ms milliseconds. */
void tm_sleep_ms(int ms);

#endif
