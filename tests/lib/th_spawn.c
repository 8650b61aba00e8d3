#include "th_spawn.h"

#include "th_clock.h"
#include "th_files.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Appends what fd has to buf (bounded, NUL-terminated); returns 0 at EOF. */
static int drain(int fd, char *buf, size_t cap, size_t *len)
{
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (n == 0)
        return 0;
    size_t room = cap - 1 - *len;
    size_t k = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *len, tmp, k);
    *len += k;
    buf[*len] = '\0';
    return 1;
}

/*
 * Reads the stdout and stderr pipes of process group pid into r until both end or deadline
 * passes (then kills the group and sets r->timed_out); closes both.
 */
static void collect(th_run *r, pid_t pid, int out, int err, int64_t deadline)
{
    size_t olen = strlen(r->out), elen = strlen(r->err);
    int open_out = 1, open_err = 1;
    while (open_out || open_err) {
        int64_t left = deadline - th_now_ms();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            r->timed_out = 1;
            break;
        }
        struct pollfd p[2] = {{.fd = open_out ? out : -1, .events = POLLIN},
                              {.fd = open_err ? err : -1, .events = POLLIN}};
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            open_out = drain(out, r->out, sizeof r->out, &olen);
        if (p[1].revents)
            open_err = drain(err, r->err, sizeof r->err, &elen);
    }
    close(out);
    close(err);
}

int th_run_argv(th_run *r, char *const argv[], const char *stdin_path, int timeout_ms)
{
    int outp[2], errp[2], rup[2];
    memset(r, 0, sizeof *r);
    r->status = -1;
    if (pipe2(outp, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(outp[0]);
        close(outp[1]);
        return -1;
    }
    if (pipe(rup) < 0) { /* inherited by th-spawn, which reports the rusage on it */
        close(outp[0]);
        close(outp[1]);
        close(errp[0]);
        close(errp[1]);
        return -1;
    }
    /* th-spawn forks the program from a tiny process, so ru_maxrss is the program's own. */
    char *spawn_argv[66];
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", rup[1]);
    spawn_argv[0] = TH_BIN_DIR "/th-spawn";
    spawn_argv[1] = fdarg;
    int n = 0;
    while (argv[n] != NULL && n < 63) {
        spawn_argv[n + 2] = argv[n];
        n++;
    }
    spawn_argv[n + 2] = NULL;

    int64_t t0 = th_now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* so a timeout can kill th-spawn and the program together */
        int in = open(stdin_path != NULL ? stdin_path : "/dev/null", O_RDONLY);
        if (in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(outp[1], 1);
        dup2(errp[1], 2);
        close(rup[0]);
        execv(spawn_argv[0], spawn_argv);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    close(rup[1]);
    if (pid < 0) {
        close(outp[0]);
        close(errp[0]);
        close(rup[0]);
        return -1;
    }
    setpgid(pid, pid);
    collect(r, pid, outp[0], errp[0], t0 + timeout_ms);
    int st;
    struct rusage spawn_ru;
    while (wait4(pid, &st, 0, &spawn_ru) < 0 && errno == EINTR) {
    }
    r->seconds = (double)(th_now_ms() - t0) / 1000.0;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

    char line[128];
    long maxrss, ut, stime;
    ssize_t k = read(rup[0], line, sizeof line - 1);
    close(rup[0]);
    if (k > 0) {
        line[k] = '\0';
        if (sscanf(line, "%ld %ld %ld", &maxrss, &ut, &stime) == 3) {
            r->ru.ru_maxrss = maxrss;
            r->ru.ru_utime.tv_sec = ut / 1000000;
            r->ru.ru_utime.tv_usec = ut % 1000000;
            r->ru.ru_stime.tv_sec = stime / 1000000;
            r->ru.ru_stime.tv_usec = stime % 1000000;
        }
    }
    return r->status;
}

int th_argv_va(char **argv, int n, int cap, va_list ap)
{
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < cap - 1)
        argv[n++] = a;
    argv[n] = NULL;
    return n;
}

/* build/bin/streamput and the arguments of ap, into argv (64 entries). */
static void client_argv(char **argv, va_list ap)
{
    argv[0] = TH_BIN_DIR "/streamput";
    th_argv_va(argv, 1, 64, ap);
}

int th_client(th_run *r, ...)
{
    char *argv[64];
    va_list ap;
    va_start(ap, r);
    client_argv(argv, ap);
    va_end(ap);
    return th_run_argv(r, argv, NULL, 60000);
}

/* The writer behind th_run_piped: copies src into the FIFO in deliberately uneven pieces. */
static void pipe_writer(const char *src, const char *fifo_path)
{
    static const size_t steps[] = {1, 7, 1000, 4096, 65536, 100000, 13};
    static char buf[100000];
    signal(SIGPIPE, SIG_IGN);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(fifo_path, O_WRONLY | O_CLOEXEC);
    if (in < 0 || out < 0)
        _exit(1);
    for (unsigned i = 0;; i++) {
        ssize_t n = th_read_full(in, buf, steps[i % (sizeof steps / sizeof steps[0])]);
        if (n < 0)
            _exit(1);
        if (n == 0)
            _exit(0);
        if (th_write_all(out, buf, (size_t)n) < 0)
            _exit(2); /* the reader went away: EPIPE */
    }
}

int th_run_piped(th_run *r, char *const argv[], const char *src, const char *fifo_path,
                 int timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    unlink(fifo_path);
    if (mkfifo(fifo_path, 0600) < 0)
        return -1;
    pid_t w = fork();
    if (w < 0) {
        unlink(fifo_path);
        return -1;
    }
    if (w == 0)
        pipe_writer(src, fifo_path);
    /* Opening the FIFO for reading in the child pairs it with the writer's open. */
    th_run_argv(r, argv, fifo_path, timeout_ms);
    /* The writer is done once the reader saw EOF or went away; never let it linger. */
    int64_t deadline = th_now_ms() + 2000;
    while (waitpid(w, NULL, WNOHANG) == 0) {
        if (th_now_ms() >= deadline) {
            kill(w, SIGKILL);
            waitpid(w, NULL, 0);
            break;
        }
        poll(NULL, 0, 5);
    }
    unlink(fifo_path);
    return r->status;
}

int th_proc_start(th_proc *p, char *const argv[], int with_tty)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    *p = (th_proc){.pid = -1, .pty = -1, .tty = -1, .out = -1, .err = -1};
    const char *slave = NULL;
    if (with_tty) {
        p->pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p->pty < 0 || grantpt(p->pty) < 0 || unlockpt(p->pty) < 0 ||
            (slave = ptsname(p->pty)) == NULL ||
            (p->tty = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
            goto fail;
    }
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        goto fail;
    pid_t parent = getpid();
    p->pid = fork();
    if (p->pid < 0)
        goto fail;
    if (p->pid == 0) {
        /* Check's fork mode skips teardown when a test fails, so a server started here would
         * outlive the test: it is told to stop when the test's process ends, and the check of
         * the parent closes the window where that happened before the prctl. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
            _exit(126);
        /* A session leader without a terminal gets, as its controlling one, the first terminal
         * it opens without O_NOCTTY. */
        setsid();
        signal(SIGPIPE, SIG_DFL); /* as th-spawn does: no inherited SIG_IGN */
        if (slave != NULL) {
            int t = open(slave, O_RDWR);
            if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
                _exit(126);
        }
        int in = open("/dev/null", O_RDONLY);
        if (in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(outp[1], 1);
        dup2(errp[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    p->out = outp[0];
    p->err = errp[0];
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    if (p->tty >= 0)
        close(p->tty);
    if (p->pty >= 0)
        close(p->pty);
    p->pty = p->tty = -1;
    return -1;
}

int th_proc_client(th_proc *p, int with_tty, ...)
{
    char *argv[64];
    va_list ap;
    va_start(ap, with_tty);
    client_argv(argv, ap);
    va_end(ap);
    return th_proc_start(p, argv, with_tty);
}

int th_proc_pty_wait(th_proc *p, const char *needle, char *buf, size_t cap, size_t *len,
                     int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        buf[*len] = '\0';
        if (strstr(buf, needle) != NULL)
            return 1;
        int64_t left = deadline - th_now_ms();
        struct pollfd q = {.fd = p->pty, .events = POLLIN};
        if (left <= 0 || poll(&q, 1, (int)left) <= 0)
            return 0;
        if (!drain(p->pty, buf, cap, len))
            return 0; /* EIO: the last holder of the terminal's slave side closed it */
    }
}

int th_proc_wait(th_proc *p, th_run *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    int64_t t0 = th_now_ms();
    collect(r, p->pid, p->out, p->err, t0 + timeout_ms);
    int st = 0;
    if (r->timed_out)
        kill(p->pid, SIGKILL);
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {
    }
    r->seconds = (double)(th_now_ms() - t0) / 1000.0;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (p->tty >= 0)
        close(p->tty);
    if (p->pty >= 0)
        close(p->pty);
    *p = (th_proc){.pid = -1, .pty = -1, .tty = -1, .out = -1, .err = -1};
    return r->status;
}

long th_proc_file(pid_t pid, const char *what, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = th_read_full(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* Reads a "Key:   N kB" line from /proc/PID/status. */
static long proc_status_kib(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

long th_vmhwm_kib(pid_t pid)
{
    return proc_status_kib(pid, "VmHWM");
}

long th_vmrss_kib(pid_t pid)
{
    return proc_status_kib(pid, "VmRSS");
}

long th_proc_status(pid_t pid, const char *key)
{
    return proc_status_kib(pid, key);
}

int th_proc_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    int n = th_count_prefix(path, ""); /* every entry, "." and ".." included */
    return n < 0 ? -1 : n - 2;
}

int th_proc_threads(pid_t pid)
{
    return (int)th_proc_status(pid, "Threads");
}

int th_wait_probe(int (*probe)(pid_t), pid_t pid, int want, int at_least, int timeout_ms)
{
    int n = -1;
    for (int64_t end = th_now_ms() + timeout_ms; th_now_ms() < end; th_sleep_ms(20)) {
        n = probe(pid);
        if (at_least ? n >= want : n <= want)
            break;
    }
    return n;
}

int th_alive(pid_t pid)
{
    /* WNOWAIT: a dead child stays a zombie, so th_mock_stop still reports how it died. */
    siginfo_t si = {0};
    return pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == 0;
}

int th_run_suite(Suite *s)
{
    /* A failing test's process ends before its teardown runs, so what it made under $TMPDIR
     * would stay behind: every suite run gets one directory as $TMPDIR, removed at the end. */
    char *root = th_tmpdir();
    if (root != NULL) {
        chmod(root, 0711); /* passable, not listable: tests may run programs as another user */
        setenv("TMPDIR", root, 1);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    th_rmtree(root);
    return failed == 0 ? 0 : 1;
}

void th_asan_no_quarantine(void)
{
#if defined(__SANITIZE_ADDRESS__)
    static char asan[1024];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
             old != NULL ? old : "", old != NULL && *old != '\0' ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
#endif
}
