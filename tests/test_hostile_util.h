/*
 * Helpers shared by the hostile-client, crash/disk and load suites (tests/test_hostile_*.c,
 * tests/test_load.c): walking trees for stray files, the real-client upload that proves the mock
 * still serves, the mock's figures from /proc, and a thread that drains its access log.
 */
#ifndef TEST_HOSTILE_UTIL_H
#define TEST_HOSTILE_UTIL_H

#include "test_mock_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define HU_TMP_PREFIX ".streamput-tmp."

/*
 * Every entry beneath dir as sorted "TYPE relative/path" lines (f file, d directory, l symlink,
 * o other), leaving out the subtree skip (NULL: nothing) and its contents. Caller frees.
 */
char *hu_listing(const char *dir, const char *skip);

/* Asserts that dir's listing (without skip) still equals before, naming what changed. */
void hu_assert_listing(const char *before, const char *dir, const char *skip);

/* Regular files beneath dir (recursively) whose name starts with prefix ("" for all). */
int hu_count_files(const char *dir, const char *prefix);

/* Asserts, waiting up to 5 s for the mock to finish aborted requests, that no temp file is left
 * anywhere beneath root. */
void hu_assert_no_temps(const char *root);

/*
 * The proof that the mock still serves: uploads src with the real streamput to file_path and
 * asserts exit 0 within 5 s and a byte-exact copy at root + file_path.
 */
void hu_client_upload_ok(const th_mock *m, const char *root, const char *src,
                         const char *file_path);

/* Open descriptors and threads of a live process, from /proc; -1 on error. */
int hu_proc_fds(pid_t pid);
int hu_proc_threads(pid_t pid);

/* 1 if the child pid is still running (it has not exited or been killed). */
int hu_alive(pid_t pid);

/*
 * Drains the mock's stderr on a thread of its own, so an access log line per request never fills
 * the pipe and blocks the server under load.
 */
typedef struct hu_drain {
    pthread_t th;
    int fd;
    atomic_int stop;
} hu_drain;

void hu_drain_start(hu_drain *d, const th_mock *m);
void hu_drain_stop(hu_drain *d);

/* Makes fd non-blocking. */
void hu_nonblock(int fd);

/* Monotonic milliseconds. */
int64_t hu_now_ms(void);

#endif
