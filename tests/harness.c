#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_IO 65536

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *th_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/streamput-test.XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL)
        return NULL;
    return strdup(tmpl);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void th_rmtree(char *path)
{
    if (path == NULL)
        return;
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

const char *th_path(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

/* xorshift32: fast, deterministic, and good enough to defeat compression and framing luck. */
static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Writes size bytes produced by fill() to path, TH_IO bytes at a time. */
static int write_gen(const char *path, uint64_t size, void (*fill)(void *, char *, size_t),
                     void *state)
{
    static char buf[TH_IO];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = 0;
    while (size > 0 && rc == 0) {
        size_t n = size < TH_IO ? (size_t)size : TH_IO;
        fill(state, buf, n);
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += (size_t)w;
        }
        size -= n;
    }
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

static void fill_random(void *state, char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(xorshift(state) >> 24);
}

int th_write_random(const char *path, uint64_t size, uint32_t seed)
{
    uint32_t s = seed != 0 ? seed : 0x9e3779b9u;
    return write_gen(path, size, fill_random, &s);
}

typedef struct pattern_state {
    const char *p;
    size_t len, pos;
} pattern_state;

static void fill_pattern(void *state, char *buf, size_t n)
{
    pattern_state *ps = state;
    for (size_t i = 0; i < n; i++) {
        buf[i] = ps->p[ps->pos];
        ps->pos = (ps->pos + 1) % ps->len;
    }
}

int th_write_pattern(const char *path, const void *pattern, size_t len, uint64_t size)
{
    pattern_state ps = {pattern, len, 0};
    return write_gen(path, size, fill_pattern, &ps);
}

/* read() until n bytes or end of file. */
static ssize_t read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int th_files_equal(const char *a, const char *b)
{
    static char ba[TH_IO], bb[TH_IO];
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
    int rc = -1;
    if (fa < 0 || fb < 0)
        goto out;
    for (;;) {
        ssize_t na = read_full(fa, ba, sizeof ba), nb = read_full(fb, bb, sizeof bb);
        if (na < 0 || nb < 0)
            goto out;
        if (na != nb || memcmp(ba, bb, (size_t)na) != 0) {
            rc = 0;
            goto out;
        }
        if (na == 0) {
            rc = 1;
            goto out;
        }
    }
out:
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    return rc;
}

int th_copy_prefix(const char *src, const char *dst, uint64_t n)
{
    static char buf[TH_IO];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    while (rc == 0 && n > 0) {
        ssize_t got = read_full(in, buf, n < TH_IO ? (size_t)n : TH_IO);
        if (got <= 0) {
            rc = -1; /* the source is shorter than n */
            break;
        }
        for (ssize_t off = 0; off < got && rc == 0;) {
            ssize_t w = write(out, buf + off, (size_t)(got - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                rc = -1;
            else
                off += w;
        }
        n -= (uint64_t)got;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0)
        rc = -1;
    return rc;
}

int th_sha256_file(const char *path, char out[65])
{
    static char buf[TH_IO];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
    ssize_t n;
    while (rc == 0 && (n = read_full(fd, buf, sizeof buf)) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        rc = -1;
    for (unsigned i = 0; rc == 0 && i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}

int th_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int th_count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

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

    int64_t t0 = now_ms();
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
    size_t olen = 0, elen = 0;
    int open_out = 1, open_err = 1;
    while (open_out || open_err) {
        int64_t left = t0 + timeout_ms - now_ms();
        if (left <= 0) {
            kill(-pid, SIGKILL);
            r->timed_out = 1;
            break;
        }
        struct pollfd p[2] = {{.fd = open_out ? outp[0] : -1, .events = POLLIN},
                              {.fd = open_err ? errp[0] : -1, .events = POLLIN}};
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            open_out = drain(outp[0], r->out, sizeof r->out, &olen);
        if (p[1].revents)
            open_err = drain(errp[0], r->err, sizeof r->err, &elen);
    }
    close(outp[0]);
    close(errp[0]);
    int st;
    struct rusage spawn_ru;
    while (wait4(pid, &st, 0, &spawn_ru) < 0 && errno == EINTR) {
    }
    r->seconds = (double)(now_ms() - t0) / 1000.0;
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

int th_client(th_run *r, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput";
    va_list ap;
    va_start(ap, r);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < 63)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return th_run_argv(r, argv, NULL, 60000);
}

int th_mock_start(th_mock *m, const char *root, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput-mock";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--root";
    argv[n++] = (char *)root;
    va_list ap;
    va_start(ap, root);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && n < 63)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    int outp[2], errp[2];
    memset(m, 0, sizeof *m);
    m->pid = -1;
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL); /* as th-spawn does: no inherited SIG_IGN */
        dup2(outp[1], 1);
        dup2(errp[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    m->pid = pid;
    m->out_fd = outp[0];
    m->err_fd = errp[0];
    fcntl(m->err_fd, F_SETFL, O_NONBLOCK);

    /* The first stdout line is "streamput-mock listening on http://127.0.0.1:PORT/". */
    char line[256];
    size_t len = 0;
    int64_t deadline = now_ms() + 10000;
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        struct pollfd p = {.fd = m->out_fd, .events = POLLIN};
        int64_t left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t k = read(m->out_fd, line + len, sizeof line - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    line[len] = '\0';
    if (sscanf(line, "streamput-mock listening on http://127.0.0.1:%d/", &m->port) != 1 ||
        m->port <= 0) {
        fprintf(stderr, "harness: streamput-mock did not start; first line: '%s'\n", line);
        th_mock_stop(m);
        return -1;
    }
    snprintf(m->url, sizeof m->url, "http://127.0.0.1:%d", m->port);
    return 0;
}

int th_mock_stop(th_mock *m)
{
    int st = 0, status = -1;
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        int64_t deadline = now_ms() + 10000;
        pid_t w;
        while ((w = waitpid(m->pid, &st, WNOHANG)) == 0 && now_ms() < deadline)
            poll(NULL, 0, 10);
        if (w == 0) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, &st, 0);
        }
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        m->pid = -1;
    }
    if (m->out_fd > 0)
        close(m->out_fd);
    if (m->err_fd > 0)
        close(m->err_fd);
    m->out_fd = m->err_fd = -1;
    return status;
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

int th_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int th_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long th_recv_all(int fd, char *out, size_t outsz, int timeout_ms)
{
    size_t len = 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t k = (size_t)n < outsz - 1 - len ? (size_t)n : outsz - 1 - len;
        memcpy(out + len, tmp, k);
        len += k;
    }
    out[len] = '\0';
    return (long)len;
}

/* ---- Piped input, scripted servers and the mock's journal ---- */

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
        ssize_t n = read_full(in, buf, steps[i % (sizeof steps / sizeof steps[0])]);
        if (n < 0)
            _exit(1);
        if (n == 0)
            _exit(0);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                _exit(2); /* the reader went away: EPIPE */
            off += w;
        }
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
    int64_t deadline = now_ms() + 2000;
    while (waitpid(w, NULL, WNOHANG) == 0) {
        if (now_ms() >= deadline) {
            kill(w, SIGKILL);
            waitpid(w, NULL, 0);
            break;
        }
        poll(NULL, 0, 5);
    }
    unlink(fifo_path);
    return r->status;
}

static int script_report_fd = -1;

void th_script_report(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && script_report_fd >= 0)
        th_send_all(script_report_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int th_script_start(th_script *s, th_script_fn fn, void *arg, int conns)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int p[2] = {-1, -1};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    s->pid = -1;
    s->report = -1;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
        goto fail;
    s->port = ntohs(sa.sin_port);
    s->pid = fork();
    if (s->pid < 0)
        goto fail;
    if (s->pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        alarm(60); /* a stuck script never outlives its test */
        close(p[0]);
        script_report_fd = p[1];
        for (int i = 0; i < conns; i++) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                _exit(1);
            fn(fd, i, arg);
            close(fd);
        }
        _exit(0);
    }
    close(lfd);
    close(p[1]);
    s->report = p[0];
    return 0;
fail:
    if (lfd >= 0)
        close(lfd);
    if (p[0] >= 0) {
        close(p[0]);
        close(p[1]);
    }
    return -1;
}

const char *th_script_stop(th_script *s, char *out, size_t outsz, int wait_ms)
{
    out[0] = '\0';
    if (s->report >= 0) {
        th_recv_all(s->report, out, outsz, wait_ms); /* ends early when the child exits */
        close(s->report);
        s->report = -1;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
    return out;
}

long th_read_head(int fd, char *buf, size_t cap, size_t *head_len, int timeout_ms)
{
    size_t len = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (len < cap - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end != NULL) {
            *head_len = (size_t)(end + 4 - buf);
            return (long)len;
        }
    }
    return -1;
}

long th_http(int port, const void *request, size_t len, char *out, size_t outsz, int timeout_ms)
{
    int fd = th_connect(port);
    if (fd < 0)
        return -1;
    long n = th_send_all(fd, request, len) == 0 ? th_recv_all(fd, out, outsz, timeout_ms) : -1;
    close(fd);
    return n;
}

void th_mock_drain_log(th_mock *m)
{
    char buf[4096];
    if (m->err_fd < 0)
        return;
    while (read(m->err_fd, buf, sizeof buf) > 0) {
    }
}

long th_proc_status(pid_t pid, const char *key)
{
    return proc_status_kib(pid, key);
}

int th_mock_wait_request(th_mock *m, const char *file_path, int timeout_ms)
{
    static const char req[] =
        "GET /_mock/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    static char resp[1 << 20];
    char needle[4200];
    snprintf(needle, sizeof needle, "\"file_path\":\"%s\"", file_path);
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        long n = th_http(m->port, req, sizeof req - 1, resp, sizeof resp, 5000);
        th_mock_drain_log(m);
        if (n > 0 && strstr(resp, needle) != NULL)
            return 1;
        if (now_ms() >= deadline)
            return 0;
        poll(NULL, 0, 20);
    }
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
