/*
 * streamput-mock against hostile clients on the wire, over raw sockets: header floods, header
 * lines past the per-connection memory limit, invalid chunked framing, bodies cut at every phase
 * (FIN and RST), and slowloris (hundreds of sockets dribbling a request head a byte at a time),
 * also against --max-connections and --idle-timeout. After each, the mock must still serve: the
 * real streamput uploads a file byte-exact within 5 s, nothing partial is stored and no temp file
 * is left anywhere under the root.
 *
 *   ctest --test-dir build -R test_hostile_wire          CI size: 200 sockets for 3 s (~30 s)
 *   build/bin/test_hostile_wire --large                  label slow: 500 sockets for 20 s
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int large; /* --large: the long slowloris */
static th_env env;
static th_mock mock;
static char src[4096]; /* 1 MiB for the real client, outside the root */
static int uploads;    /* numbers the proof uploads, so each lands at a fresh name */

static void setup(void)
{
    th_env_up(&env, &mock, NULL, NULL);
    snprintf(src, sizeof src, "%s", th_path(env.dir, "src.bin"));
    ck_assert_int_eq(th_write_random(src, 1 << 20, 7), 0);
    uploads = 0;
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/*
 * After a hostile exchange: no temp file anywhere, the only files stored are the proof uploads
 * (under /ok), and a new proof upload with the real client succeeds byte-exact within 5 s.
 */
static void still_serves(void)
{
    char fp[64];
    th_assert_no_temps(env.root);
    snprintf(fp, sizeof fp, "/ok/%d.bin", uploads++);
    th_client_upload_ok(&mock, env.root, src, fp);
    ck_assert_int_eq(th_count_files(env.root, ""), uploads);
    ck_assert_int_eq(th_count_files(th_path(env.root, "ok"), ""), uploads);
    th_mock_drain_log(&mock);
}

/* A PUT head for file_path; extra ends with "\r\n" (or is ""), the head with the blank line. */
static int head(char *buf, size_t cap, const char *file_path, const char *extra)
{
    int n = snprintf(buf, cap, "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: %s\r\n%s\r\n",
                     file_path, extra);
    ck_assert_int_lt(n, (int)cap);
    return n;
}

/* Sends head + filler header lines totalling about `bytes` + a 2-byte body; returns the answer. */
static int flood(size_t bytes, size_t line_len, const char *file_path, th_resp *r)
{
    size_t cap = bytes + line_len + 512;
    char *req = malloc(cap);
    ck_assert_ptr_nonnull(req);
    size_t w = (size_t)snprintf(req, cap,
                                "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                "File-Path: %s\r\nContent-Length: 2\r\n",
                                file_path);
    for (unsigned i = 0; w < bytes; i++) {
        int n = snprintf(req + w, cap - w, "X-F%u: ", i);
        w += (size_t)n;
        size_t v = line_len > (size_t)n + 2 ? line_len - (size_t)n - 2 : 1;
        memset(req + w, 'v', v);
        w += v;
        req[w++] = '\r';
        req[w++] = '\n';
    }
    memcpy(req + w, "\r\nok", 4);
    int st = th_raw(mock.port, req, w + 4, r);
    free(req);
    return st;
}

START_TEST(header_floods_are_served_or_refused_whole)
{
    static th_resp r;
    /* Thousands of small headers within the 512 KiB connection memory: a valid request. */
    ck_assert_int_eq(flood(60000, 12, "/flood/5000.txt", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(unlink(th_path(env.root, "flood/5000.txt")), 0);
    still_serves();
    /* Fifty thousand of them, one header line of 600 KB, a request line of 600 KB: refused by
     * MHD with its own status, before any upload begins. */
    ck_assert_int_eq(flood(600000, 12, "/flood/50000.txt", &r), 431);
    still_serves();
    ck_assert_int_eq(flood(600000, 600000, "/flood/line.txt", &r), 431);
    still_serves();
    size_t cap = 600100;
    char *req = malloc(cap);
    ck_assert_ptr_nonnull(req);
    int n = snprintf(req, cap, "PUT /api/fs/put?q=");
    memset(req + n, 'q', 600000);
    n += 600000;
    n += snprintf(req + n, cap - (size_t)n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert_int_eq(th_raw(mock.port, req, (size_t)n, &r), 414);
    free(req);
    still_serves();
    /* Control: one header line of 100 KB fits the limit and is served. */
    ck_assert_int_eq(flood(100000, 100000, "/flood/100k.txt", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(unlink(th_path(env.root, "flood/100k.txt")), 0);
    still_serves();
}
END_TEST

#define HELD_FLOODS 64

START_TEST(concurrent_header_floods_stay_within_the_memory_limit)
{
    /* 64 connections each hold 400 KB of an unfinished head: MHD keeps it in the connection's
     * pool, so the mock grows by at most the 512 KiB limit (plus a thread) per connection. */
    static int fds[HELD_FLOODS];
    static char chunk[400000];
    memcpy(chunk, "X-Held: ", 8);
    memset(chunk + 8, 'v', sizeof chunk - 8); /* one header line, never finished */
    long base = th_vmrss_kib(mock.pid);
    for (int i = 0; i < HELD_FLOODS; i++) {
        char h[256];
        int n =
            snprintf(h, sizeof h, "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /h%d\r\n", i);
        fds[i] = th_connect(mock.port);
        ck_assert_int_ge(fds[i], 0);
        ck_assert_int_eq(th_send_all(fds[i], h, (size_t)n), 0);
        ck_assert_int_eq(th_send_all(fds[i], chunk, sizeof chunk), 0);
    }
    /* The sends end in the socket buffers: the mock reads them at its own pace, slower on a
     * loaded machine, so the control waits up to 10 s for the heads to be in its memory. */
    long held = th_vmrss_kib(mock.pid);
    for (int64_t end = th_now_ms() + 10000; held - base < HELD_FLOODS * 300 && th_now_ms() < end;
         th_sleep_ms(50))
        held = th_vmrss_kib(mock.pid);
    th_sleep_ms(300); /* and anything still to come has come, for the upper bound */
    held = th_vmrss_kib(mock.pid);
    fprintf(stderr, "mock VmRSS %ld KiB idle, %ld KiB holding %d heads of 400 KB (+%ld KiB each)\n",
            base, held, HELD_FLOODS, (held - base) / HELD_FLOODS);
    ck_assert_int_ge(held - base, HELD_FLOODS * 300); /* control: the heads really are held */
    ck_assert_int_le(held - base, HELD_FLOODS * (512 + 256 + 64));
    still_serves(); /* while they are held */
    for (int i = 0; i < HELD_FLOODS; i++)
        close(fds[i]);
    still_serves();
}
END_TEST

/* A chunked upload of a raw body after the head; returns the HTTP status. */
static int chunked(const char *file_path, const char *body, th_resp *r)
{
    char req[1024];
    int n = head(req, sizeof req, file_path, "Connection: close\r\nTransfer-Encoding: chunked\r\n");
    n += snprintf(req + n, sizeof req - (size_t)n, "%s", body);
    return th_raw(mock.port, req, (size_t)n, r);
}

START_TEST(invalid_chunked_framing_is_refused_and_stores_nothing)
{
    static const struct {
        const char *body;
        int status;
    } bad[] = {
        {"zz\r\nab\r\n0\r\n\r\n", 400},                 /* not hex */
        {"2\r\nabXX0\r\n\r\n", 400},                    /* no CRLF after the data */
        {"2\r\nabc\r\n0\r\n\r\n", 400},                 /* more data than the size */
        {"-1\r\nab\r\n0\r\n\r\n", 400},                 /* a sign */
        {"0x2\r\nab\r\n0\r\n\r\n", 400},                /* a 0x prefix */
        {" 2\r\nab\r\n0\r\n\r\n", 400},                 /* leading space */
        {"\r\nab\r\n0\r\n\r\n", 400},                   /* empty size line */
        {"4\r\nabcd\r\nzz\r\n\r\n", 400},               /* good chunk, then garbage */
        {"ffffffffffffffffff\r\nab\r\n0\r\n\r\n", 413}, /* overflows 64 bits */
        {"10000000000000000\r\nab\r\n0\r\n\r\n", 413},  /* 2^64 */
        {"4\r\nabcd\r\nffffffffffffffffffff\r\n", 413}, /* overflow after a good chunk */
    };
    static th_resp r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char fp[64];
        snprintf(fp, sizeof fp, "/chunk/%zu.bin", i);
        ck_assert_msg(chunked(fp, bad[i].body, &r) == bad[i].status, "case %zu: %.80s", i, r.raw);
        ck_assert_ptr_nonnull(strstr(r.raw, "Connection: close"));
        ck_assert(!th_exists(th_path(env.root, fp + 1)));
        still_serves();
    }
    /* Control: the same framing done right is stored. */
    ck_assert_int_eq(chunked("/chunk/good.bin", "2\r\nab\r\n3;ext=1\r\ncde\r\n0\r\n\r\n", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(unlink(th_path(env.root, "chunk/good.bin")), 0);
}
END_TEST

/* A bad chunk is journaled as a malformed request, not as a client that went away. */
START_TEST(malformed_framing_is_journaled_as_such)
{
    static th_resp r;
    ck_assert_int_eq(chunked("/j/bad.bin", "2\r\nabXX0\r\n\r\n", &r), 400);
    /* The mock journals a request once it is done with it, after the answer is sent. */
    ck_assert(th_journal_wait(&mock, "/j/bad.bin", 10000));
    const char *msg = th_journal_last(mock.port, "message");
    ck_assert_msg(strncmp(msg, "malformed request", 17) == 0, "%s", msg);
    ck_assert_str_eq(th_journal_last(mock.port, "stored"), "false");
    /* Control: a client that closes mid-body is still told apart. */
    int fd = th_connect(mock.port);
    char req[256];
    int n = head(req, sizeof req, "/j/cut.bin", "Content-Length: 10\r\n");
    ck_assert_int_eq(th_send_all(fd, req, (size_t)n), 0);
    ck_assert_int_eq(th_send_all(fd, "abc", 3), 0);
    th_sleep_ms(100);
    close(fd);
    /* The entry comes once the mock notices the close, later on a loaded machine. */
    ck_assert(th_journal_wait(&mock, "/j/cut.bin", 10000));
    ck_assert_str_eq(th_journal_last(mock.port, "message"),
                     "client closed the connection after 3 body bytes; nothing stored");
    still_serves();
}
END_TEST

/* One place to cut a request: the bytes sent before the cut, and whether the head was whole. */
typedef struct cut {
    const char *name;
    const char *extra; /* length header of the head; NULL: the request is cut inside the head */
    const char *sent;  /* after the head (or, without a head, all that is sent) */
} cut;

#define CL  "Content-Length: 1000\r\n"
#define TE  "Transfer-Encoding: chunked\r\n"
#define C16 "10\r\n0123456789abcdef\r\n"

static const cut cuts[] = {
    {"mid request line", NULL, "PUT /api/f"},
    {"after request line", NULL, "PUT /api/fs/put HTTP/1.1\r\n"},
    {"mid headers", NULL, "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /cut/x\r\nContent-Le"},
    {"head without blank line", NULL, "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\n" CL},
    {"after headers", CL, ""},
    {"mid body", CL, "0123456789"},
    {"one byte short", CL, NULL}, /* 999 bytes, filled in below */
    {"after headers (chunked)", TE, ""},
    {"mid chunk-size line", TE, "1"},
    {"chunk size without CRLF", TE, "10"},
    {"mid chunk", TE, "10\r\n01234567"},
    {"chunk without CRLF", TE, "10\r\n0123456789abcdef"},
    {"between chunks", TE, C16},
    {"before the final 0 chunk", TE, C16 C16},
    {"mid final chunk line", TE, C16 "0"},
    {"before the final CRLF", TE, C16 "0\r\n"},
    {"mid trailer", TE, C16 "0\r\nX-Trailer: a"},
};

/* Sends a cut request; when the head was whole, waits for its temp file first (the control that
 * the cut falls mid-upload). Ends the connection with FIN or RST. */
static void send_cut(const cut *c, int idx, int rst)
{
    static char req[4096];
    char fp[64];
    snprintf(fp, sizeof fp, "/cut/%d-%s.bin", idx, rst ? "rst" : "fin");
    int n = 0;
    if (c->extra != NULL)
        n = head(req, sizeof req, fp, c->extra);
    if (c->sent != NULL) {
        n += snprintf(req + n, sizeof req - (size_t)n, "%s", c->sent);
    } else {
        memset(req + n, 'b', 999);
        n += 999;
    }
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, req, (size_t)n), 0);
    if (c->extra != NULL) {
        int temps = 0;
        for (int64_t end = th_now_ms() + 5000; temps == 0 && th_now_ms() < end; th_sleep_ms(10))
            temps = th_count_files(env.root, TH_TMP_PREFIX);
        ck_assert_msg(temps == 1, "%s: the upload never started", c->name);
        th_sleep_ms(20); /* let the bytes after the head be consumed too */
    }
    if (rst) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(fd);
    th_assert_no_temps(env.root);
    ck_assert_msg(!th_exists(th_path(env.root, fp + 1)), "%s: %s was stored", c->name, fp);
}

START_TEST(bodies_cut_at_every_phase_store_nothing)
{
    for (int rst = 0; rst < 2; rst++)
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            send_cut(&cuts[i], (int)i, rst);
            still_serves();
        }
    /* Content-Length larger than the body, then a half-close while waiting for the answer:
     * the mock must not call that a success. */
    static th_resp r;
    char req[256];
    int n = head(req, sizeof req, "/cut/half.bin", CL);
    int fd = th_connect(mock.port);
    ck_assert_int_eq(th_send_all(fd, req, (size_t)n), 0);
    ck_assert_int_eq(th_send_all(fd, "short", 5), 0);
    shutdown(fd, SHUT_WR);
    th_recv_all(fd, r.raw, sizeof r.raw, 5000);
    close(fd);
    ck_assert_ptr_null(strstr(r.raw, "success"));
    ck_assert(!th_exists(th_path(env.root, "cut/half.bin")));
    still_serves();
}
END_TEST

/* ---- slowloris ---- */

/*
 * Sockets that each dribble a request head a byte at a time, from a thread of their own; or, in
 * body mode, send a whole head at once and then dribble its body, burst bytes a round.
 */
typedef struct loris {
    int n;
    int *fds;
    size_t *sent;
    int interval_ms;   /* between rounds; each round sends one byte on every socket */
    const char *dir;   /* body mode: each socket uploads /dir/<i> */
    size_t body_len;   /* body mode: the Content-Length; then the socket only listens */
    size_t burst;      /* body mode: body bytes a round (0: head mode) */
    atomic_int silent; /* stop sending but keep the sockets open */
    atomic_int stop;
    atomic_int refused; /* sockets the server closed (EOF, reset or EPIPE) */
    pthread_t th;
} loris;

/* Byte pos of the head dribbler i sends: a header line that never ends, so no request starts. */
static char loris_byte(int i, size_t pos)
{
    char h[128];
    int n = snprintf(h, sizeof h,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /slow/%d\r\nX-Slow: ", i);
    return pos < (size_t)n ? h[pos] : 's';
}

/* 1 if an operation on a non-blocking socket failed for good (not just "try again"). */
static int failed(ssize_t k)
{
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* The body byte at pos: a pattern that shows a stored body is the one that was sent. */
static char body_byte(size_t pos)
{
    return (char)('a' + pos % 26);
}

static void *loris_loop(void *arg)
{
    loris *l = arg;
    char buf[256];
    while (!atomic_load(&l->stop)) {
        for (int i = 0; i < l->n && !atomic_load(&l->silent); i++) {
            if (l->fds[i] < 0)
                continue;
            size_t len = 1;
            if (l->burst == 0) {
                buf[0] = loris_byte(i, l->sent[i]);
            } else {
                len = l->body_len - l->sent[i] < l->burst ? l->body_len - l->sent[i] : l->burst;
                len = len < sizeof buf ? len : sizeof buf;
                for (size_t j = 0; j < len; j++)
                    buf[j] = body_byte(l->sent[i] + j);
            }
            char c;
            ssize_t k = recv(l->fds[i], &c, 1, MSG_DONTWAIT); /* only EOF or an error matter */
            ssize_t w =
                failed(k) || len == 0 ? -1 : send(l->fds[i], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (failed(k) || (w < 0 && len > 0 && failed(w))) {
                close(l->fds[i]);
                l->fds[i] = -1;
                atomic_fetch_add(&l->refused, 1);
            } else if (w > 0) {
                l->sent[i] += (size_t)w;
            }
        }
        th_sleep_ms(l->interval_ms);
    }
    return NULL;
}

/* Connects n dribblers (each sends its first byte, or in body mode its head, at once) and starts
 * their thread; l's mode fields are set by the caller and kept. */
static void loris_begin(loris *l, int port, int n, int interval_ms)
{
    l->n = n;
    l->interval_ms = interval_ms;
    l->fds = calloc((size_t)n, sizeof *l->fds);
    l->sent = calloc((size_t)n, sizeof *l->sent);
    ck_assert(l->fds != NULL && l->sent != NULL);
    for (int i = 0; i < n; i++) {
        l->fds[i] = th_connect(port);
        ck_assert_int_ge(l->fds[i], 0);
        if (l->burst > 0) {
            char h[256], fp[64], cl[64];
            snprintf(fp, sizeof fp, "/%s/%d", l->dir, i);
            snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", l->body_len);
            int hl = head(h, sizeof h, fp, cl);
            ck_assert_int_eq(th_send_all(l->fds[i], h, (size_t)hl), 0);
        }
    }
    ck_assert_int_eq(pthread_create(&l->th, NULL, loris_loop, l), 0);
}

/* n head dribblers, one byte every interval_ms each. */
static void loris_start(loris *l, int port, int n, int interval_ms)
{
    memset(l, 0, sizeof *l);
    loris_begin(l, port, n, interval_ms);
}

/* n uploads to /dir/<i> of body_len bytes each, burst bytes every interval_ms. */
static void loris_start_body(loris *l, int port, int n, int interval_ms, const char *dir,
                             size_t body_len, size_t burst)
{
    memset(l, 0, sizeof *l);
    l->dir = dir;
    l->body_len = body_len;
    l->burst = burst;
    loris_begin(l, port, n, interval_ms);
}

/* Sockets the server has not closed, as the dribbler last saw them. */
static int loris_open(loris *l)
{
    return l->n - atomic_load(&l->refused);
}

static void loris_stop(loris *l)
{
    atomic_store(&l->stop, 1);
    pthread_join(l->th, NULL);
    for (int i = 0; i < l->n; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
    free(l->fds);
    free(l->sent);
}

/* Waits up to 5 s for probe(pid) (threads, fds) to fall to at most want; returns the last. */
static int wait_le(int (*probe)(pid_t), pid_t pid, int want)
{
    return th_wait_probe(probe, pid, want, 0, 5000);
}

START_TEST(slowloris_with_the_default_limits_does_not_block_uploads)
{
    int n = large ? 500 : 200, seconds = large ? 20 : 3;
    ck_assert_int_lt(n, 512); /* under the default --max-connections */
    int threads0 = th_proc_threads(mock.pid), fds0 = th_proc_fds(mock.pid);
    long rss0 = th_vmrss_kib(mock.pid);
    loris l;
    int64_t t0 = th_now_ms();
    loris_start(&l, mock.port, n, 20);
    th_sleep_ms(500);
    /* The proof uploads run while every dribbler holds its connection (and its thread). */
    int proofs = 0;
    while (th_now_ms() - t0 < seconds * 1000) {
        still_serves();
        proofs++;
        th_sleep_ms(large ? 2000 : 500);
    }
    int threads = th_proc_threads(mock.pid), fds = th_proc_fds(mock.pid);
    long rss = th_vmrss_kib(mock.pid);
    fprintf(stderr,
            "slowloris: %d sockets for %d s (%zu bytes each), %d proof uploads; mock threads "
            "%d -> %d, fds %d -> %d, VmRSS %ld -> %ld KiB\n",
            n, seconds, l.sent[0], proofs, threads0, threads, fds0, fds, rss0, rss);
    /* Control: the dribblers were all connected and held by the server the whole time. */
    ck_assert_int_eq(loris_open(&l), n);
    ck_assert_int_ge(threads, threads0 + n);
    ck_assert_int_ge(fds, fds0 + n);
    loris_stop(&l);
    /* Their connections and threads are released once they go. */
    ck_assert_int_le(wait_le(th_proc_threads, mock.pid, threads0), threads0);
    ck_assert_int_le(wait_le(th_proc_fds, mock.pid, fds0), fds0);
    ck_assert(!th_exists(th_path(env.root, "slow")));
    still_serves();
}
END_TEST

/*
 * With the limits turned down, the same attack shows what each option does: --max-connections
 * turns away the connection past the limit (and nothing more is spent on it), and dribbling a
 * byte faster than --idle-timeout keeps a connection alive, because MHD restarts the clock on
 * every byte; once the dribblers go quiet, the idle timeout frees their slots and uploads resume.
 */
START_TEST(max_connections_and_idle_timeout_hold_under_slowloris)
{
    enum { LIMIT = 32 };
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--max-connections", "32", "--idle-timeout", "1", NULL), 0);
    int threads0 = th_proc_threads(m.pid), fds0 = th_proc_fds(m.pid);
    loris l;
    loris_start(&l, m.port, LIMIT, 200);
    th_sleep_ms(2500); /* more than twice the idle timeout */
    ck_assert_int_eq(loris_open(&l), LIMIT);
    ck_assert_int_ge(th_proc_threads(m.pid), threads0 + LIMIT);
    /* Slot 33: closed at once, unanswered, and no thread is spent on it. */
    static const char ping[] = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(th_raw(m.port, ping, sizeof ping - 1, &r), -1);
    ck_assert_int_le(th_proc_threads(m.pid), threads0 + LIMIT);
    /* Quiet dribblers are cut off by the idle timeout, and then an upload goes through. */
    int64_t quiet = th_now_ms();
    atomic_store(&l.silent, 1);
    ck_assert_int_le(wait_le(th_proc_threads, m.pid, threads0), threads0);
    int64_t freed = th_now_ms() - quiet;
    fprintf(stderr, "idle timeout 1 s: %d quiet dribblers dropped %lld ms after their last byte\n",
            LIMIT, (long long)freed);
    ck_assert_int_lt(freed, 3000);
    /* MHD's listening thread reaps a finished connection (closes its socket, then frees its slot
     * in the count) just after the connection's thread ends: wait for that before the upload. */
    ck_assert_int_le(wait_le(th_proc_fds, m.pid, fds0), fds0);
    th_sleep_ms(100);
    th_client_upload_ok(&m, env.root, src, "/ok/after-idle.bin");
    uploads++;
    loris_stop(&l);
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    still_serves();
}
END_TEST

/*
 * --header-timeout bounds what --idle-timeout cannot: dribblers that send a byte every 200 ms
 * (which keep an idle timeout from ever firing, as the test above shows with the same attack)
 * fill every slot, yet are cut once their heads are 1 s late, and an upload gets in. With the
 * deadline off, the same dribblers keep all their slots: the control.
 */
START_TEST(header_timeout_cuts_dribblers_and_lets_uploads_in)
{
    enum { LIMIT = 32 };
    static th_resp r;
    static const char ping[] = "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int deadline = 0; deadline < 2; deadline++) {
        th_mock m;
        ck_assert_int_eq(th_mock_start(&m, env.root, "--max-connections", "32", "--header-timeout",
                                       deadline ? "1" : "0", NULL),
                         0);
        int threads0 = th_proc_threads(m.pid);
        loris l;
        loris_start(&l, m.port, LIMIT, 200);
        th_sleep_ms(2500);
        if (!deadline) {
            ck_assert_int_eq(loris_open(&l), LIMIT); /* every slot still held */
            ck_assert_int_eq(th_raw(m.port, ping, sizeof ping - 1, &r), -1);
        } else {
            /* All cut, though they never went quiet; on a loaded machine the last ones may be
             * cut, or seen cut, after the 2.5 s. */
            int open = loris_open(&l);
            for (int64_t end = th_now_ms() + 10000; open > 0 && th_now_ms() < end; th_sleep_ms(50))
                open = loris_open(&l);
            ck_assert_int_eq(open, 0);
            ck_assert_int_le(wait_le(th_proc_threads, m.pid, threads0), threads0);
            th_sleep_ms(100); /* MHD frees a slot just after the connection's thread ends */
            th_client_upload_ok(&m, env.root, src, "/ok/after-header-timeout.bin");
            uploads++;
        }
        loris_stop(&l);
        th_mock_drain_log(&m);
        ck_assert_int_eq(th_mock_stop(&m), 0);
    }
    still_serves();
}
END_TEST

/* ---- bodies below --body-min-rate ---- */

#define RATE_CUT "body slower than --body-min-rate 100 B/s: "

/* Non-overlapping occurrences of needle in s. */
static int occurrences(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/*
 * --body-min-rate bounds what neither --idle-timeout nor --header-timeout can: 150 uploads whose
 * heads arrive whole and whose bodies then drip a byte every 300 ms (so MHD's idle clock never
 * runs out) are all cut soon after a 3 s grace, each journaled with the reason, with nothing
 * stored and no temp file left; a real upload gets in while they hold their connections and
 * after they are gone. With the rate off, the same dripping holds its connections: the control.
 */
START_TEST(dripping_bodies_are_cut_at_the_minimum_rate)
{
    enum { N = 150 };
    static char log[1 << 18];
    th_mock m;
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--body-min-rate", "100", "--body-grace", "3", NULL), 0);
    int threads0 = th_proc_threads(m.pid);
    loris l;
    int64_t t0 = th_now_ms();
    loris_start_body(&l, m.port, N, 300, "drip", 1000, 1);
    th_sleep_ms(300);
    th_client_upload_ok(&m, env.root, src, "/ok/during-drip.bin");
    uploads++;
    /* Control: that upload ran while every dripper was still held, within its grace. */
    ck_assert_int_eq(loris_open(&l), N);
    ck_assert_int_ge(th_proc_threads(m.pid), threads0 + N);
    int journaled = 0;
    log[0] = '\0';
    for (int64_t end = th_now_ms() + 8000;
         th_now_ms() < end && (loris_open(&l) > 0 || journaled < N);) {
        th_mock_log_wait(&m, "\x01", log, sizeof log, 100); /* reads for 100 ms */
        journaled = occurrences(log, RATE_CUT);
    }
    int64_t took = th_now_ms() - t0;
    fprintf(stderr,
            "body-min-rate 100 B/s after 3 s: %d dripping bodies cut within %lld ms (%zu "
            "bytes sent on the first)\n",
            N, (long long)took, l.sent[0]);
    ck_assert_int_eq(loris_open(&l), 0); /* all cut, though they never went quiet */
    ck_assert_int_eq(journaled, N);
    ck_assert_int_eq(occurrences(log, "; nothing stored"), N);
    ck_assert_msg(strstr(log, "warning: closed ") != NULL && strstr(log, "(--body-grace)") != NULL,
                  "no warning in: %.2000s", log);
    ck_assert_int_le(wait_le(th_proc_threads, m.pid, threads0), threads0);
    th_assert_no_temps(env.root);
    ck_assert_int_eq(th_count_files(th_path(env.root, "drip"), ""), 0);
    th_sleep_ms(100); /* MHD frees a slot just after the connection's thread ends */
    th_client_upload_ok(&m, env.root, src, "/ok/after-drip.bin");
    uploads++;
    loris_stop(&l);
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    still_serves();

    /* Control: with the rate off, dripping bodies keep their connections past the grace. */
    ck_assert_int_eq(th_mock_start(&m, env.root, "--body-min-rate", "0", "--body-grace", "1", NULL),
                     0);
    loris_start_body(&l, m.port, 32, 300, "drip", 1000, 1);
    th_sleep_ms(2500);
    ck_assert_int_eq(loris_open(&l), 32);
    loris_stop(&l);
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    th_assert_no_temps(env.root);
}
END_TEST

/* The journal entry of file_path (there must be exactly one) from j. */
static const cJSON *entry_of(const cJSON *j, const char *file_path)
{
    const cJSON *found = NULL, *e;
    cJSON_ArrayForEach(e, j)
    {
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "file_path"));
        if (fp != NULL && strcmp(fp, file_path) == 0) {
            ck_assert_msg(found == NULL, "%s journaled twice", file_path);
            found = e;
        }
    }
    ck_assert_msg(found != NULL, "%s not journaled", file_path);
    return found;
}

static const char *field(const cJSON *e, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, key));
    return s != NULL ? s : "(not a string)";
}

/*
 * The negative control: bodies sent at 400 B/s, four times the minimum, for 4 s (well past the
 * 1 s grace) are stored byte-exact, while bodies at 50 B/s on the same mock at the same time are
 * cut, each journaled with the bytes it sent in how long.
 */
START_TEST(bodies_above_the_minimum_rate_are_not_cut)
{
    enum { FAST = 8, SLOW = 4, LEN = 1600 };
    th_mock m;
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--body-min-rate", "100", "--body-grace", "1", NULL), 0);
    char want[4096];
    snprintf(want, sizeof want, "%s", th_path(env.dir, "pattern.bin"));
    ck_assert_int_eq(th_write_pattern(want, "abcdefghijklmnopqrstuvwxyz", 26, LEN), 0);
    loris fast, slow;
    loris_start_body(&fast, m.port, FAST, 100, "fast", LEN, 40);
    loris_start_body(&slow, m.port, SLOW, 100, "slow", LEN, 5);
    int stored = 0;
    for (int64_t end = th_now_ms() + 12000; stored < FAST && th_now_ms() < end; th_sleep_ms(50)) {
        stored = 0;
        for (int i = 0; i < FAST; i++) {
            char rel[32];
            snprintf(rel, sizeof rel, "fast/%d", i);
            stored += th_exists(th_path(env.root, rel));
        }
        th_mock_drain_log(&m);
    }
    ck_assert_int_eq(stored, FAST);
    ck_assert_int_eq(atomic_load(&fast.refused), 0);
    ck_assert_int_eq(loris_open(&slow), 0);
    for (int i = 0; i < FAST; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "fast/%d", i);
        ck_assert_int_eq(th_files_equal(want, th_path(env.root, rel)), 1);
    }
    /* The last answers are journaled after they are sent, the cut ones once the mock is done
     * with them: wait for every entry before reading the journal. */
    for (int i = 0; i < FAST + SLOW; i++) {
        char fp[32];
        snprintf(fp, sizeof fp, i < FAST ? "/fast/%d" : "/slow/%d", i < FAST ? i : i - FAST);
        ck_assert_msg(th_journal_wait(&m, fp, 10000), "%s was never journaled", fp);
    }
    cJSON *j = th_journal(m.port);
    for (int i = 0; i < FAST + SLOW; i++) {
        char fp[32];
        snprintf(fp, sizeof fp, i < FAST ? "/fast/%d" : "/slow/%d", i < FAST ? i : i - FAST);
        const cJSON *e = entry_of(j, fp);
        const char *msg = field(e, "message");
        if (i < FAST) {
            ck_assert_str_eq(msg, "success");
            ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "stored")));
            continue;
        }
        unsigned long long bytes = 0;
        double secs = 0;
        int tail = 0;
        ck_assert_msg(sscanf(msg, RATE_CUT "%llu bytes in %lf s; nothing stored%n", &bytes, &secs,
                             &tail) == 2 &&
                          msg[tail] == '\0',
                      "%s: %s", fp, msg);
        /* Cut after the grace, and soon after 1 s per 100 bytes on top of it had run out. */
        ck_assert_msg(bytes > 0 && bytes < LEN && secs >= 1.0 && secs <= 1.0 + bytes / 100.0 + 1.0,
                      "%s: %s", fp, msg);
        ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "stored")));
        ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "http_status")));
    }
    cJSON_Delete(j);
    ck_assert_int_eq(th_count_files(th_path(env.root, "slow"), ""), 0);
    th_assert_no_temps(env.root);
    loris_stop(&fast);
    loris_stop(&slow);
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    ck_assert_int_eq(unlink(want), 0);
}
END_TEST

/* Sends a PUT head for file_path (Content-Length len, the extra header lines) and the body's
 * first `first` bytes; returns the socket. */
static int staged_put(int port, const char *file_path, const char *extra, size_t len, size_t first)
{
    char h[512], cl[160], b[4096];
    snprintf(cl, sizeof cl, "Connection: close\r\nContent-Length: %zu\r\n%s", len, extra);
    int n = head(h, sizeof h, file_path, cl);
    int fd = th_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_uint_le(first, sizeof b);
    for (size_t i = 0; i < first; i++)
        b[i] = body_byte(i);
    ck_assert_int_eq(th_send_all(fd, h, (size_t)n), 0);
    ck_assert_int_eq(th_send_all(fd, b, first), 0);
    return fd;
}

/* Sends the body's bytes from..len, 20 every 100 ms; returns 0, or -1 if the mock cut it. */
static int staged_rest(int fd, size_t from, size_t len)
{
    char b[20];
    for (size_t off = from; off < len; off += sizeof b) {
        size_t k = len - off < sizeof b ? len - off : sizeof b;
        for (size_t i = 0; i < k; i++)
            b[i] = body_byte(off + i);
        if (th_send_all(fd, b, k) < 0)
            return -1;
        th_sleep_ms(100);
    }
    return 0;
}

/*
 * Time the mock spends not reading is not the client's: a stall-after fault of 2.5 s and a
 * slow-read fault that takes 3 s over the first 120 bytes, both longer than the 1 s grace and
 * with the client sending the rest only once they are over, are stored byte-exact. Counted
 * against the client, each would have been cut the moment the mock read again. The control: a
 * client that itself pauses as long, with no fault, is cut.
 */
START_TEST(the_mocks_own_stalls_do_not_count_against_the_client)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--body-min-rate", "100", "--body-grace", "1",
                                   "--allow-fault-header", NULL),
                     0);
    static const struct {
        const char *fp, *fault;
        size_t len, first;
        int cut;
    } ups[] = {
        {"/own/stall.bin", "X-Mock-Fault: stall-after=5:2500\r\n", 200, 10, 0},
        {"/own/slow.bin", "X-Mock-Fault: slow-read=40\r\n", 160, 120, 0},
        {"/own/paused.bin", "", 200, 10, 1},
    };
    enum { UPS = sizeof ups / sizeof ups[0] };
    int fds[UPS];
    int64_t t0 = th_now_ms();
    for (int i = 0; i < UPS; i++)
        fds[i] = staged_put(m.port, ups[i].fp, ups[i].fault, ups[i].len, ups[i].first);
    th_sleep_ms(3200); /* past both faults; the client sends nothing meanwhile */
    for (int i = 0; i < UPS; i++) {
        static th_resp r;
        int sent = staged_rest(fds[i], ups[i].first, ups[i].len);
        th_recv_resp(fds[i], &r, 5000);
        close(fds[i]);
        if (!ups[i].cut) {
            ck_assert_msg(sent == 0 && r.status == 200 && strcmp(r.body, TH_SUCCESS) == 0, "%s: %s",
                          ups[i].fp, r.raw);
            char want[4096];
            snprintf(want, sizeof want, "%s", th_path(env.dir, "want.bin"));
            ck_assert_int_eq(th_write_pattern(want, "abcdefghijklmnopqrstuvwxyz", 26, ups[i].len),
                             0);
            ck_assert_int_eq(th_files_equal(want, th_path(env.root, ups[i].fp + 1)), 1);
            ck_assert_int_eq(unlink(want), 0);
        } else {
            ck_assert_msg(r.status == -1, "%s was answered: %s", ups[i].fp, r.raw);
            ck_assert(!th_exists(th_path(env.root, ups[i].fp + 1)));
        }
    }
    fprintf(stderr, "mock-side stall and slow-read of ~3 s under a 1 s grace: %lld ms\n",
            (long long)(th_now_ms() - t0));
    ck_assert(th_journal_wait(&m, "/own/paused.bin", 2000));
    cJSON *j = th_journal(m.port);
    const char *msg = field(entry_of(j, "/own/paused.bin"), "message");
    ck_assert_msg(strncmp(msg, RATE_CUT "10 bytes in ", strlen(RATE_CUT "10 bytes in ")) == 0, "%s",
                  msg);
    cJSON_Delete(j);
    th_assert_no_temps(env.root);
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* The option is documented where a user looks, and a bad value is refused like any other. */
START_TEST(body_min_rate_is_documented_and_checked)
{
    static th_run r;
    char mock_bin[4096];
    snprintf(mock_bin, sizeof mock_bin, "%s/streamput-mock", TH_BIN_DIR);
    char *help[] = {mock_bin, "--help", NULL};
    ck_assert_int_eq(th_run_argv(&r, help, NULL, 10000), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--body-min-rate SIZE"));
    ck_assert_ptr_nonnull(strstr(r.out, "--body-grace SECONDS"));
    char *bad[] = {mock_bin, "--root", env.root, "--body-min-rate", "fast", NULL};
    ck_assert_int_eq(th_run_argv(&r, bad, NULL, 10000), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--body-min-rate needs a size"));
}
END_TEST

int main(int argc, char **argv)
{
    large = argc > 1 && strcmp(argv[1], "--large") == 0;
    Suite *s = suite_create("hostile_wire");
    TCase *t = tcase_create("wire");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, large ? 120 : 60);
    tcase_add_test(t, header_floods_are_served_or_refused_whole);
    tcase_add_test(t, concurrent_header_floods_stay_within_the_memory_limit);
    tcase_add_test(t, invalid_chunked_framing_is_refused_and_stores_nothing);
    tcase_add_test(t, malformed_framing_is_journaled_as_such);
    tcase_add_test(t, bodies_cut_at_every_phase_store_nothing);
    tcase_add_test(t, slowloris_with_the_default_limits_does_not_block_uploads);
    tcase_add_test(t, max_connections_and_idle_timeout_hold_under_slowloris);
    tcase_add_test(t, header_timeout_cuts_dribblers_and_lets_uploads_in);
    tcase_add_test(t, dripping_bodies_are_cut_at_the_minimum_rate);
    tcase_add_test(t, bodies_above_the_minimum_rate_are_not_cut);
    tcase_add_test(t, the_mocks_own_stalls_do_not_count_against_the_client);
    tcase_add_test(t, body_min_rate_is_documented_and_checked);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
