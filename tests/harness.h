/*
 * Shared test harness: temporary trees, generated files, running the real binaries with their
 * output captured, and starting streamput-mock on 127.0.0.1 port 0.
 */
#ifndef SP_TEST_HARNESS_H
#define SP_TEST_HARNESS_H

#include <check.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Directory holding streamput and streamput-mock (set by CMake). */
#ifndef TH_BIN_DIR
#error "TH_BIN_DIR must be defined"
#endif

/* Creates a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path, or NULL. */
char *th_tmpdir(void);

/* Removes a tree made by th_tmpdir() and frees path. NULL is a no-op. */
void th_rmtree(char *path);

/* Joins dir and name into a static rotating buffer (valid for the next 8 calls). */
const char *th_path(const char *dir, const char *name);

/* Writes size pseudo-random bytes from seed to path, in constant memory. Returns 0 or -1. */
int th_write_random(const char *path, uint64_t size, uint32_t seed);

/* Writes size bytes to path, repeating the len-byte pattern. Returns 0 or -1. */
int th_write_pattern(const char *path, const void *pattern, size_t len, uint64_t size);

/* Compares two files by content in constant memory: 1 equal, 0 different, -1 on error. */
int th_files_equal(const char *a, const char *b);

/* Copies the first n bytes of src to dst in constant memory. Returns 0, or -1 (src too short). */
int th_copy_prefix(const char *src, const char *dst, uint64_t n);

/* SHA-256 of a file as lower-case hex into out[65]. Returns 0 or -1. */
int th_sha256_file(const char *path, char out[65]);

/* True if the file exists (lstat). */
int th_exists(const char *path);

/* Number of entries in dir whose name starts with prefix (e.g. temp files); -1 on error. */
int th_count_prefix(const char *dir, const char *prefix);

/* The outcome of one child process. */
typedef struct th_run {
    int status;       /* exit code, or 128 + signal, or -1 if it could not be run */
    int timed_out;    /* killed by the harness after its time limit */
    char out[16384];  /* stdout, truncated, NUL-terminated */
    char err[16384];  /* stderr, truncated, NUL-terminated */
    struct rusage ru; /* the program's own peak RSS (ru_maxrss, KiB) and CPU, from wait4 */
    double seconds;
} th_run;

/*
 * Runs argv (argv[0] a path), stdin from stdin_path (NULL: /dev/null), for at most timeout_ms
 * (then SIGKILL). The program is started through th-spawn, a tiny launcher, because Linux counts
 * a forked child's pre-exec memory in its ru_maxrss: forked from the test process, every program
 * would seem at least as large as the test. Only ru_maxrss, ru_utime and ru_stime are filled.
 * Returns r->status.
 */
int th_run_argv(th_run *r, char *const argv[], const char *stdin_path, int timeout_ms);

/* Runs build/bin/streamput with the NULL-terminated arguments, stdin /dev/null, 60 s limit. */
int th_client(th_run *r, ...);

/* A running streamput-mock. */
typedef struct th_mock {
    pid_t pid;
    int port;
    int out_fd;    /* the rest of its stdout */
    int err_fd;    /* its stderr (access log), read it with th_mock_log */
    char url[128]; /* "http://127.0.0.1:PORT" without a trailing slash */
} th_mock;

/*
 * Starts streamput-mock --listen 127.0.0.1:0 --root root plus the NULL-terminated extra
 * arguments, and reads the port from its first line. Returns 0, or -1 (with a message on stderr)
 * if it did not start within 10 s.
 */
int th_mock_start(th_mock *m, const char *root, ...);

/* Sends SIGTERM and waits up to 10 s (then SIGKILL). Returns its exit status as th_run does. */
int th_mock_stop(th_mock *m);

/* Peak resident memory (VmHWM, KiB) of a live process, from /proc; -1 on error. */
long th_vmhwm_kib(pid_t pid);

/* Current resident memory (VmRSS, KiB) of a live process, from /proc; -1 on error. */
long th_vmrss_kib(pid_t pid);

/* Connects a TCP socket to 127.0.0.1:port (blocking). Returns the fd or -1. */
int th_connect(int port);

/* Sends all of buf over a socket; returns 0 or -1 (EPIPE ignored as an error return). */
int th_send_all(int fd, const void *buf, size_t len);

/*
 * Reads a whole HTTP response from fd until the peer closes or timeout_ms passes, into out
 * (truncated, NUL-terminated). Returns the byte count or -1.
 */
long th_recv_all(int fd, char *out, size_t outsz, int timeout_ms);

/* ---- Piped input, scripted servers and the mock's journal ---- */

/*
 * As th_run_argv, but stdin is a pipe (a FIFO created at fifo_path and removed afterwards) that a
 * writer process fills from the file src in uneven writes (1 B to 100 KB), so the program sees the
 * short reads a real pipe gives. Returns r->status.
 */
int th_run_piped(th_run *r, char *const argv[], const char *src, const char *fifo_path,
                 int timeout_ms);

/* What a scripted server does with its nth accepted connection; arg is th_script_start's. */
typedef void (*th_script_fn)(int fd, int nth, void *arg);

/* A scripted server: a child process on 127.0.0.1 port 0 serving connections one at a time. */
typedef struct th_script {
    pid_t pid;
    int port;
    int report; /* read end of what the child passed to th_script_report */
} th_script;

/*
 * Forks a server that accepts `conns` connections in turn and hands each to fn, then exits. It
 * ignores SIGPIPE and dies by alarm after 60 s whatever happens. Returns 0 or -1.
 */
int th_script_start(th_script *s, th_script_fn fn, void *arg, int conns);

/* From inside fn: sends a formatted line (or anything) back to the test. */
void th_script_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Waits up to wait_ms for the server to finish by itself, then kills it; copies what it reported
 * into out (NUL-terminated) and returns out.
 */
const char *th_script_stop(th_script *s, char *out, size_t outsz, int wait_ms);

/*
 * Reads from fd until the end of an HTTP head (CRLF CRLF) into buf (NUL-terminated). Returns
 * the bytes read (the head plus any body bytes that came with it) and sets *head_len; -1 if the
 * peer closed first, the head did not fit, or nothing came within timeout_ms.
 */
long th_read_head(int fd, char *buf, size_t cap, size_t *head_len, int timeout_ms);

/*
 * Sends the raw request (len bytes) to 127.0.0.1:port and reads the whole response into out
 * (NUL-terminated; send "Connection: close"). Returns the response length or -1.
 */
long th_http(int port, const void *request, size_t len, char *out, size_t outsz, int timeout_ms);

/* Reads and discards whatever the mock has written to its stderr so far (never blocks). */
void th_mock_drain_log(th_mock *m);

/* A numeric field of /proc/PID/status, e.g. "Threads", or "VmRSS" in KiB; -1 on error. */
long th_proc_status(pid_t pid, const char *key);

/*
 * Waits until the mock's journal (GET /_mock/requests) holds a request whose File-Path was
 * file_path (plain paths only: no quote or backslash, which JSON would escape). The mock journals
 * a request once it is completely done with it, temp-file cleanup included, so afterwards "nothing
 * stored, no temp file" can be checked without a race. Returns 1, or 0 after timeout_ms.
 */
int th_mock_wait_request(th_mock *m, const char *file_path, int timeout_ms);

/*
 * Runs every test of s the usual way (CK_ENV: CK_VERBOSITY, CK_RUN_CASE, CK_FORK ...) with
 * $TMPDIR pointing at a fresh directory that is removed afterwards, passed or failed, and returns
 * main()'s exit status: 0 when all passed.
 */
int th_run_suite(Suite *s);

#endif
