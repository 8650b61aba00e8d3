/*
 * Processes for tests: running a program with its output captured and its own peak memory, the
 * real client, piped input, a process's figures from /proc, and running a whole suite.
 */
#ifndef TH_SPAWN_H
#define TH_SPAWN_H

#include <check.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Directory holding streamput, streamput-mock and th-spawn (set by CMake). */
#ifndef TH_BIN_DIR
#error "TH_BIN_DIR must be defined"
#endif

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

/*
 * Appends the char * arguments of ap, up to a NULL, to argv[0..n) and terminates it; argv has
 * room for cap entries, the NULL included, and what does not fit is dropped. Returns the count.
 */
int th_argv_va(char **argv, int n, int cap, va_list ap);

/* Runs build/bin/streamput with the NULL-terminated arguments, stdin /dev/null, 60 s limit. */
int th_client(th_run *r, ...);

/*
 * As th_run_argv, but stdin is a pipe (a FIFO created at fifo_path and removed afterwards) that a
 * writer process fills from the file src in uneven writes (1 B to 100 KB), so the program sees the
 * short reads a real pipe gives. Returns r->status.
 */
int th_run_piped(th_run *r, char *const argv[], const char *src, const char *fifo_path,
                 int timeout_ms);

/*
 * A program running in the background, in a session of its own: its pid, its output, and, if it
 * was given one, the pseudo-terminal that is its controlling terminal.
 */
typedef struct th_proc {
    pid_t pid;
    int pty;      /* the terminal's master side (what it shows, where typing goes); -1 if none */
    int tty;      /* its slave side, kept open to read the terminal's modes; -1 if none */
    int out, err; /* read ends of its stdout and stderr */
} th_proc;

/*
 * Starts argv (argv[0] a path) with stdin /dev/null and SIGPIPE's default action, in a new
 * session: with_tty gives it a new pty as its controlling terminal, else it has none (opening
 * /dev/tty fails). Returns 0 or -1.
 */
int th_proc_start(th_proc *p, char *const argv[], int with_tty);

/* th_proc_start of build/bin/streamput with the NULL-terminated arguments. */
int th_proc_client(th_proc *p, int with_tty, ...);

/*
 * Reads what p's terminal shows into buf (appended, NUL-terminated, len bytes so far kept in
 * *len) until it contains needle or timeout_ms passes. Returns 1 if needle was seen.
 */
int th_proc_pty_wait(th_proc *p, const char *needle, char *buf, size_t cap, size_t *len,
                     int timeout_ms);

/*
 * Waits up to timeout_ms for p to end (then kills it), with its stdout and stderr in r and
 * r->status as th_run_argv gives it; closes what p holds. Returns r->status.
 */
int th_proc_wait(th_proc *p, th_run *r, int timeout_ms);

/* Reads /proc/PID/<what> ("cmdline", "environ") into buf, NULs kept; returns the length or -1. */
long th_proc_file(pid_t pid, const char *what, char *buf, size_t cap);

/* Peak resident memory (VmHWM, KiB) of a live process, from /proc; -1 on error. */
long th_vmhwm_kib(pid_t pid);

/* Current resident memory (VmRSS, KiB) of a live process, from /proc; -1 on error. */
long th_vmrss_kib(pid_t pid);

/* A numeric field of /proc/PID/status, e.g. "Threads", or "VmRSS" in KiB; -1 on error. */
long th_proc_status(pid_t pid, const char *key);

/* Open descriptors and threads of a live process, from /proc; -1 on error. */
int th_proc_fds(pid_t pid);
int th_proc_threads(pid_t pid);

/*
 * Polls probe(pid) (th_proc_fds, th_proc_threads) every 20 ms for up to timeout_ms until it is at
 * most want (at_least 0) or at least want (at_least 1); returns the last value seen. A server
 * frees a connection's descriptor and thread a little after the client sees it closed.
 */
int th_wait_probe(int (*probe)(pid_t), pid_t pid, int want, int at_least, int timeout_ms);

/* 1 if the child pid is still running (it has not exited or been killed). */
int th_alive(pid_t pid);

/*
 * Runs every test of s the usual way (CK_ENV: CK_VERBOSITY, CK_RUN_CASE, CK_FORK ...) with
 * $TMPDIR pointing at a fresh directory that is removed afterwards, passed or failed, and returns
 * main()'s exit status: 0 when all passed.
 */
int th_run_suite(Suite *s);

/*
 * Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default, and a cache of
 * it in each thread) and would look like growth to a peak-memory check of a program the suite
 * starts (streamput over TLS grew by 2 MiB in 512 MiB with the per-thread cache alone): this
 * turns both off for every program started afterwards (call it first in main()), and
 * TH_HWM_FACTOR widens such budgets for ASan's shadow pages and allocator caches. Without ASan
 * both do nothing.
 */
void th_asan_no_quarantine(void);
#if defined(__SANITIZE_ADDRESS__)
#define TH_HWM_FACTOR 2
#else
#define TH_HWM_FACTOR 1
#endif

#endif
