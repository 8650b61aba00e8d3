/*
 * One upload attempt over one TCP connection.
 *
 * The socket is non-blocking and every wait goes through poll(), so that the connect timeout, the
 * whole-call timeout and the stall timeout hold everywhere, and so that a server that answers
 * while the body is still going (401, 413, a reset) is noticed instead of written into. Bodies go
 * out from one buffer allocated once per chunk size (rw, chunked) or by sendfile(2); nothing on
 * the streaming path allocates. Responses are parsed by http-parser and bounded: headers to
 * 64 KiB, the kept body to 1 MiB.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Internal outcome of the sending functions: the server has sent a complete final response. */
#define SP__ANSWERED 1
/* Look for an early response at least this often while sending, even if send() never blocks. */
#define SP_EARLY_CHECK_BYTES (1024 * 1024)

typedef struct xfer {
    sp_client *c;
    const sp_url *u;
    const sp_body_info *b;
    sp_result *res;
    int sock;
    int src;
    int regular;
    int64_t deadline;      /* whole call; INT64_MAX if none */
    int64_t last_progress; /* last time a byte moved either way, for the stall timeout */
    int64_t body_t0;
    uint64_t since_check; /* body bytes sent since the last look for an early response */
    int64_t body_done_at; /* when the whole body was out, for the answer timeout */
    int unacked;          /* body bytes the server's TCP had not acknowledged at the last look */

    sp_resp resp;
    int eof;
    char rbuf[SP_RECV_BUF];
} xfer;

int sp__body_buf(sp_client *c)
{
    if (c->body_buf != NULL && c->body_buf_chunk == c->chunk_size)
        return SP_OK;
    free(c->body_buf);
    size_t size = SP_CHUNK_HEAD + c->chunk_size + SP_CHUNK_TAIL;
    c->body_buf = malloc(size);
    c->body_buf_chunk = c->body_buf != NULL ? c->chunk_size : 0;
    if (c->body_buf == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "allocate %zu-byte buffer", c->chunk_size);
    /* Touch every page now, so the buffer costs the same resident memory for a 1 KiB upload as
     * for a 4 GiB one: memory use is decided here, once, never by the file's size. */
    memset(c->body_buf, 0, size);
    return SP_OK;
}

char *sp__chunk_head(char *end, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *p = end;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = hex[n & 15];
        n >>= 4;
    } while (n != 0);
    return p;
}

/* Fails with SP_ETIMEOUT for the whole-call deadline, naming what was being done. */
static int deadline_passed(xfer *x, const char *doing)
{
    return sp__fail(x->c, SP_ETIMEOUT, 0, "%s: transfer timed out after %llu ms", doing,
                    (unsigned long long)x->c->timeout_ms);
}

/*
 * The sending loops check the deadline themselves: on a fast path send() never blocks, so
 * wait_sock() alone would not see --timeout pass until the body was all out.
 */
static int check_deadline(xfer *x, const char *doing)
{
    return sp__now_ms() >= x->deadline ? deadline_passed(x, doing) : SP_OK;
}

/* The progress callback asked to stop. */
static int canceled(xfer *x)
{
    return sp__fail(x->c, SP_ECANCELED, 0, "canceled by the progress callback after %llu bytes",
                    (unsigned long long)x->res->bytes_sent);
}

/*
 * Lets the caller cancel while nothing moves: during waits the progress callback also runs at
 * least once a second and after any interrupted wait (a signal handler may have asked to stop).
 */
static int idle_tick(xfer *x)
{
    sp_client *c = x->c;
    if (c->progress != NULL && c->progress(c->progress_ud, x->res->bytes_sent, x->b->size) != 0)
        return canceled(x);
    return SP_OK;
}

/* How long one poll() may block: no more than a second when a progress callback wants ticks. */
static int poll_slice(const xfer *x, int64_t wait)
{
    if (wait < 0) /* no deadline at all */
        return x->c->progress != NULL ? 1000 : -1;
    if (x->c->progress != NULL && wait > 1000)
        return 1000;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Body bytes the kernel still holds because the peer has not acknowledged them; -1 if unknown. */
static int unacked_bytes(const xfer *x)
{
    int n;
    return ioctl(x->sock, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* Between the whole body going out and the first byte of the final answer (a 100 Continue is
 * not the answer). */
static int awaiting_answer(const xfer *x)
{
    return x->body_done_at != 0 && x->resp.bytes == x->resp.interim_bytes;
}

/*
 * Decides, once the stall timeout has run out, whether the transfer really stalled. While bytes
 * have to move it did. But once the whole body is out and the server's TCP has acknowledged
 * every byte of it, the server is at work, not stalled: OpenList forwards a file to its cloud
 * storage before it answers, which takes minutes for a big one, and a client that gave up then
 * would report a failure for a file that gets stored, and with --retry send it all again. So
 * the stall timeout covers that wait only while acknowledgements still come in (the server is
 * still taking the body), and again as soon as the answer begins; the wait itself is bounded by
 * --answer-timeout and --timeout, and a server host that vanishes by TCP keepalive. Returns 1
 * for a stall, 0 if the timer was restarted or is off until the answer begins.
 */
static int stalled(xfer *x, int64_t now)
{
    if (!awaiting_answer(x))
        return 1;
    int n = unacked_bytes(x);
    if (n < 0)
        return 1;
    if (n == 0 || n < x->unacked) {
        x->last_progress = now;
        x->unacked = n;
        return 0;
    }
    return 1;
}

/*
 * Waits for events on the socket, until `limit` (absolute ms; INT64_MAX for none) or one of the
 * call's own deadlines. Returns the revents (> 0), 0 once `limit` has passed, or SP_ETIMEOUT
 * with a detail naming what was being waited for.
 */
static int wait_sock(xfer *x, short events, int64_t limit, const char *doing)
{
    sp_client *c = x->c;
    for (;;) {
        int64_t now = sp__now_ms();
        int waiting = awaiting_answer(x);
        int64_t stall_at = c->stall_timeout_ms != 0 && !(waiting && x->unacked == 0)
                               ? x->last_progress + (int64_t)c->stall_timeout_ms
                               : INT64_MAX;
        int64_t answer_at = waiting && c->answer_timeout_ms != 0
                                ? x->body_done_at + (int64_t)c->answer_timeout_ms
                                : INT64_MAX;
        int64_t until = x->deadline;
        if (stall_at < until)
            until = stall_at;
        if (answer_at < until)
            until = answer_at;
        if (limit < until)
            until = limit;
        if (now >= until) {
            if (until == limit)
                return 0;
            if (until == x->deadline)
                return deadline_passed(x, doing);
            if (until == answer_at)
                return sp__fail(c, SP_ETIMEOUT, 0,
                                "%s: no answer %llu ms after the whole body was sent (answer "
                                "timeout)",
                                doing, (unsigned long long)c->answer_timeout_ms);
            if (!stalled(x, now))
                continue;
            if (waiting && x->unacked > 0)
                return sp__fail(c, SP_ETIMEOUT, 0,
                                "%s: no progress for %llu ms (stall timeout): the server has "
                                "not yet taken the last %d bytes of the body",
                                doing, (unsigned long long)c->stall_timeout_ms, x->unacked);
            return sp__fail(c, SP_ETIMEOUT, 0, "%s: no progress for %llu ms (stall timeout)", doing,
                            (unsigned long long)c->stall_timeout_ms);
        }
        struct pollfd pfd = {.fd = x->sock, .events = events};
        int r = poll(&pfd, 1, poll_slice(x, until - now));
        if (r < 0 && errno != EINTR)
            return sp__fail(c, SP_ERECV, errno, "poll");
        if (r > 0)
            return pfd.revents;
        if ((r = idle_tick(x)) != SP_OK)
            return r;
    }
}

/* Formats the numeric address of ai as "127.0.0.1:80" or "[::1]:80". */
static void addr_str(const struct addrinfo *ai, char *out, size_t outsz)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, outsz, "(unknown address)");
        return;
    }
    snprintf(out, outsz, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

/*
 * Has the kernel probe an idle connection: a minute without traffic, then every 10 s, given up
 * after 6 unanswered probes. The wait for an answer after the whole body can be long and is not
 * under the stall timeout (see stalled()), so this is what notices a server host that vanished.
 * Failure to set it only loses that early notice.
 */
static void keepalive(int fd)
{
    int on = 1, idle = 60, interval = 10, count = 6;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

/*
 * Resolves the host and tries every address in turn until one connects, all within the connect
 * timeout. On failure the detail names the last address tried and why.
 */
static int do_connect(xfer *x)
{
    sp_client *c = x->c;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (x->u->numeric ? AI_NUMERICHOST : 0)};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(x->u->host, x->u->port, &hints, &list);
    if (gai != 0)
        return sp__fail(c, SP_ERESOLVE, gai == EAI_SYSTEM ? errno : 0, "resolve %s: %s", x->u->host,
                        gai == EAI_SYSTEM ? "system error" : gai_strerror(gai));

    int64_t limit =
        c->connect_timeout_ms != 0 ? sp__now_ms() + (int64_t)c->connect_timeout_ms : INT64_MAX;
    int rc = sp__fail(c, SP_ERESOLVE, 0, "resolve %s: no addresses", x->u->host);
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char addr[NI_MAXHOST + 16];
        addr_str(ai, addr, sizeof addr);
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = sp__fail(c, SP_ECONNECT, errno, "socket for %s", addr);
            continue;
        }
        sp__debug(c, SP_DEBUG_INFO, "Trying %s...", addr);
        x->sock = fd;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            rc = sp__fail(c, SP_ECONNECT, errno, "connect %s", addr);
            goto next;
        }
        int r = wait_sock(x, POLLOUT, limit, "connect");
        if (r < 0) {
            rc = r;
            goto next;
        }
        if (r == 0) {
            rc = sp__fail(c, SP_ETIMEOUT, 0, "connect %s: timed out after %llu ms", addr,
                          (unsigned long long)c->connect_timeout_ms);
            close(fd);
            x->sock = -1;
            break; /* the connect timeout covers all addresses together */
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (soerr == ECONNRESET) {
            /* A reset means the handshake completed and the server then dropped us. */
            rc = sp__fail(c, SP_ESEND, soerr, "%s reset the connection before the request", addr);
            close(fd);
            x->sock = -1;
            break;
        }
        if (soerr != 0) {
            rc = sp__fail(c, SP_ECONNECT, soerr, "connect %s", addr);
            goto next;
        }
        sp__debug(c, SP_DEBUG_INFO, "Connected to %s", addr);
        keepalive(fd);
        rc = SP_OK;
        break;
    next:
        close(fd);
        x->sock = -1;
    }
    freeaddrinfo(list);
    return rc;
}

/* Reads what the socket has now (without blocking) and parses it. */
static int read_some(xfer *x)
{
    for (;;) {
        ssize_t n = recv(x->sock, x->rbuf, sizeof x->rbuf, MSG_DONTWAIT);
        if (n > 0) {
            x->last_progress = sp__now_ms();
            return sp__resp_feed(&x->resp, x->rbuf, (size_t)n);
        }
        if (n == 0) {
            x->eof = 1;
            return sp__resp_eof(&x->resp);
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SP_OK;
        x->eof = 1;
        return sp__fail(x->c, SP_ERECV, errno, "receive response");
    }
}

/* Reads until the final response is complete, the stream ends, or a deadline passes. */
static int read_response(xfer *x)
{
    while (!x->resp.done) {
        if (x->eof)
            return sp__resp_eof(&x->resp);
        int r = wait_sock(x, POLLIN, INT64_MAX, "wait for response");
        if (r < 0)
            return r;
        if ((r = read_some(x)) != SP_OK)
            return r;
    }
    return SP_OK;
}

/* Reads and parses anything that has arrived; SP__ANSWERED if it completed a final response. */
static int poll_early(xfer *x)
{
    int r = read_some(x);
    if (r != SP_OK)
        return r;
    return x->resp.done ? SP__ANSWERED : SP_OK;
}

/*
 * Blocks until the socket can take more bytes. A response arriving meanwhile is parsed: an
 * interim one (a late 100 Continue) is passed over, a final one ends the sending.
 */
static int wait_writable(xfer *x)
{
    for (;;) {
        int r = wait_sock(x, POLLOUT | POLLIN, INT64_MAX, "send body");
        if (r < 0)
            return r;
        if (r & POLLIN) {
            /* An end of stream without a whole response comes back as an error from here. */
            int e = poll_early(x);
            if (e != SP_OK)
                return e;
        }
        if (r & (POLLOUT | POLLERR | POLLHUP))
            return SP_OK;
    }
}

/* Sends len bytes in full, whatever send() accepts each time. */
static int send_all(xfer *x, const char *p, size_t len, const char *what)
{
    while (len > 0) {
        ssize_t n = send(x->sock, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            x->last_progress = sp__now_ms();
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_writable(x);
            if (r != SP_OK)
                return r;
            continue;
        }
        return sp__fail(x->c, SP_ESEND, n < 0 ? errno : EIO, "send %s", what);
    }
    return SP_OK;
}

/* Accounts for n body bytes sent: progress callback, and a look for an early answer. */
static int body_progress(xfer *x, size_t n)
{
    sp_client *c = x->c;
    x->res->bytes_sent += n;
    if (x->res->bytes_sent == x->b->size)
        x->res->body_complete = 1; /* before the callback, which may cancel */
    if (c->progress != NULL && c->progress(c->progress_ud, x->res->bytes_sent, x->b->size) != 0)
        return canceled(x);
    int r = check_deadline(x, "send body");
    if (r != SP_OK)
        return r;
    x->since_check += n;
    if (x->since_check >= SP_EARLY_CHECK_BYTES) {
        x->since_check = 0;
        struct pollfd pfd = {.fd = x->sock, .events = POLLIN};
        if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN))
            return poll_early(x);
    }
    return SP_OK;
}

/*
 * Limits how much may go out now so the average rate never exceeds --limit-rate: a slice of at
 * most 1/20 s worth, sent only once the bytes before it and the slice itself are due.
 */
static size_t rate_allow(xfer *x, size_t want)
{
    uint64_t rate = x->c->limit_rate;
    if (rate == 0)
        return want;
    uint64_t slice = rate / 20 > 0 ? rate / 20 : 1;
    if (want > slice)
        want = (size_t)slice;
    int64_t due = x->body_t0 + (int64_t)((x->res->bytes_sent + want) * 1000 / rate);
    int64_t now = sp__now_ms();
    if (due > x->deadline)
        due = x->deadline; /* body_progress() reports the timeout right after this slice */
    if (due > now) {
        poll(NULL, 0, (int)(due - now));
        x->last_progress = sp__now_ms(); /* waiting by choice is not a stall */
    }
    return want;
}

/*
 * Waits until a stream (pipe, terminal) has bytes or its end to read, watching the call's
 * deadline and the socket: a server that answers or hangs up meanwhile is noticed. Regular
 * files never block, so they skip this.
 */
static int wait_input(xfer *x)
{
    for (;;) {
        int64_t now = sp__now_ms();
        if (now >= x->deadline)
            return deadline_passed(x, "read input");
        int64_t wait = x->deadline == INT64_MAX ? -1 : x->deadline - now;
        struct pollfd p[2] = {{.fd = x->src, .events = POLLIN}, {.fd = x->sock, .events = POLLIN}};
        int r = poll(p, 2, poll_slice(x, wait));
        if (r < 0 && errno != EINTR)
            return sp__fail(x->c, SP_EFILE, errno, "poll input");
        if (r <= 0 && (r = idle_tick(x)) != SP_OK)
            return r;
        if (r > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            int e = poll_early(x);
            if (e != SP_OK)
                return e;
        }
        if (r > 0 && p[0].revents != 0) {
            x->last_progress = sp__now_ms(); /* a slow producer is not a stalled server */
            return SP_OK;
        }
    }
}

/* Reads up to want bytes of input into buf; 0 means end of input. */
static ssize_t read_input(xfer *x, char *buf, size_t want)
{
    for (;;) {
        ssize_t n = read(x->src, buf, want);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/*
 * Checks that a stream has nothing past its declared length, reading at most one byte into spare
 * (the buffer's tail room). Waits for the producer to write more or close, within the deadline.
 */
static int input_ends_here(xfer *x, char *spare)
{
    int r = wait_input(x);
    if (r != SP_OK)
        return r;
    ssize_t n = read_input(x, spare, 1);
    if (n < 0)
        return sp__fail(x->c, SP_EFILE, errno, "read input");
    if (n > 0)
        return sp__fail(x->c, SP_EFILE, 0,
                        "input is longer than the declared %llu bytes; nothing was stored",
                        (unsigned long long)x->b->size);
    return SP_OK;
}

/* The rw engine, and the chunked framing of it for bodies of unknown length. */
static int send_body_rw(xfer *x)
{
    sp_client *c = x->c;
    int rc = sp__body_buf(c); /* the sendfile engine never needs it */
    if (rc != SP_OK)
        return rc;
    char *data = c->body_buf + SP_CHUNK_HEAD;
    uint64_t size = x->b->size;
    int chunked = size == SP_SIZE_UNKNOWN;

    for (;;) {
        size_t want = c->chunk_size;
        if (!chunked) {
            uint64_t left = size - x->res->bytes_sent;
            if (left == 0)
                return SP_OK;
            if (left < want)
                want = (size_t)left;
        }
        want = rate_allow(x, want);
        if (!x->regular) {
            int r = wait_input(x);
            if (r != SP_OK)
                return r;
        }
        ssize_t n = read_input(x, data, want);
        if (n < 0)
            return sp__fail(c, SP_EFILE, errno, "read input");
        if (!chunked && !x->regular && x->res->bytes_sent + (uint64_t)n == size) {
            /* Before the piece that completes a declared length goes out, make sure the
             * stream ends there: otherwise the server would store a truncated file. */
            int r = input_ends_here(x, data + n);
            if (r != SP_OK)
                return r;
        }
        if (n == 0) {
            if (chunked) {
                int r = send_all(x, "0\r\n\r\n", 5, "last chunk");
                x->res->body_complete = r == SP_OK;
                return r;
            }
            return sp__fail(c, SP_EFILE, 0, "input ended after %llu of %llu bytes",
                            (unsigned long long)x->res->bytes_sent, (unsigned long long)size);
        }
        const char *start = data;
        size_t len = (size_t)n;
        if (chunked) {
            start = sp__chunk_head(data, len);
            memcpy(data + len, "\r\n", 2);
            len += (size_t)(data - start) + 2;
        }
        int r = send_all(x, start, len, "body");
        if (r == SP_OK)
            r = body_progress(x, (size_t)n);
        if (r != SP_OK)
            return r;
    }
}

/*
 * sendfile(2) has no MSG_NOSIGNAL: a peer that hangs up raises SIGPIPE, which would kill the
 * caller's process. While the engine runs, SIGPIPE is blocked in this thread only (the rest of
 * the process is untouched), and one raised meanwhile is consumed before the old mask returns;
 * the failure itself still arrives as EPIPE. A SIGPIPE already pending before is not ours and
 * is left alone.
 */
typedef struct sigpipe_guard {
    sigset_t old;
    int pending_before;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    g->pending_before = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_unblock(sigpipe_guard *g)
{
    static const struct timespec now = {0, 0};
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (!g->pending_before && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        while (sigtimedwait(&set, NULL, &now) < 0 && errno == EINTR) {
        }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/*
 * The sendfile engine: the kernel copies from the page cache to the socket. Returns
 * SP_EUNSUPPORTED without sending anything if the file system cannot do it, so auto can fall back.
 */
static int sendfile_loop(xfer *x)
{
    sp_client *c = x->c;
    uint64_t size = x->b->size;
    while (x->res->bytes_sent < size) {
        uint64_t left = size - x->res->bytes_sent;
        size_t want = left < c->chunk_size ? (size_t)left : c->chunk_size;
        want = rate_allow(x, want);
        ssize_t n = sendfile(x->sock, x->src, NULL, want);
        if (n > 0) {
            x->last_progress = sp__now_ms();
            int r = body_progress(x, (size_t)n);
            if (r != SP_OK)
                return r;
            continue;
        }
        if (n == 0)
            return sp__fail(c, SP_EFILE, 0, "input ended after %llu of %llu bytes",
                            (unsigned long long)x->res->bytes_sent, (unsigned long long)size);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            int r = wait_writable(x);
            if (r != SP_OK)
                return r;
            continue;
        }
        if ((errno == EINVAL || errno == ENOSYS) && x->res->bytes_sent == 0)
            return sp__fail(c, SP_EUNSUPPORTED, errno, "sendfile");
        return sp__fail(c, errno == EPIPE || errno == ECONNRESET ? SP_ESEND : SP_EFILE, errno,
                        "sendfile");
    }
    return SP_OK;
}

static int send_body_sendfile(xfer *x)
{
    sigpipe_guard g;
    sigpipe_block(&g);
    int r = sendfile_loop(x);
    sigpipe_unblock(&g);
    return r;
}

static int send_body(xfer *x)
{
    sp_client *c = x->c;
    x->body_t0 = sp__now_ms();
    x->res->body_sent = 1;
    if (x->regular && x->b->size != SP_SIZE_UNKNOWN && c->engine != SP_ENGINE_RW) {
        x->res->engine = SP_ENGINE_SENDFILE;
        int r = send_body_sendfile(x);
        if (r != SP_EUNSUPPORTED || c->engine == SP_ENGINE_SENDFILE)
            return r;
        sp__debug(c, SP_DEBUG_INFO, "sendfile not supported here; using read/send");
    }
    x->res->engine = SP_ENGINE_RW;
    return send_body_rw(x);
}

/*
 * With Expect: 100-continue, waits up to the expect timeout for the server's verdict: 100 means
 * go, a final response means the body is not wanted, silence means go anyway (as curl does).
 */
static int await_continue(xfer *x)
{
    int64_t limit = sp__now_ms() + (int64_t)x->c->expect_timeout_ms;
    while (!x->resp.got_continue) {
        int r = wait_sock(x, POLLIN, limit, "wait for 100 Continue");
        if (r < 0)
            return r;
        if (r == 0) {
            sp__debug(x->c, SP_DEBUG_INFO, "no 100 Continue after %llu ms; sending the body",
                      (unsigned long long)x->c->expect_timeout_ms);
            return SP_OK;
        }
        if ((r = poll_early(x)) == SP__ANSWERED)
            return SP_OK; /* a final answer instead of 100: the body is not wanted */
        if (r != SP_OK)
            return r;
    }
    return SP_OK;
}

/* Emits each line of the request head to the debug callback. */
static void debug_request(sp_client *c, const char *head, size_t len)
{
    if (c->debug == NULL)
        return;
    const char *end = head + len;
    while (head < end) {
        const char *eol = memchr(head, '\r', (size_t)(end - head));
        if (eol == NULL || eol == head)
            break;
        c->debug(c->debug_ud, SP_DEBUG_HEADER_OUT, head, (size_t)(eol - head));
        head = eol + 2;
    }
}

int sp__transfer(sp_client *c, const sp_url *u, int fd, const sp_body_info *b, int regular,
                 int64_t deadline, sp_result *res)
{
    xfer *x = calloc(1, sizeof *x); /* about 20 KiB: kept off the stack, once per attempt */
    char *head = NULL;
    int rc;

    if (x == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "allocate transfer state");
    *x = (xfer){.c = c, .u = u, .b = b, .res = res, .sock = -1, .src = fd, .regular = regular};
    x->last_progress = sp__now_ms();
    x->deadline = deadline;
    sp__resp_init(&x->resp, c);
    x->resp.want_envelope = u->alist_api;
    res->http_status = 0;
    res->has_code = 0;
    res->code = 0;
    res->message[0] = '\0';
    res->bytes_sent = 0;
    res->body_sent = 0;
    res->body_complete = 0;
    res->response_bytes = 0;

    size_t cap = 4096 + strlen(u->target) + (c->remote_path ? strlen(c->remote_path) : 0) +
                 (c->token ? strlen(c->token) : 0) +
                 (c->content_type ? strlen(c->content_type) : 0);
    for (size_t i = 0; i < c->nheaders; i++)
        cap += strlen(c->headers[i]) + 2;
    if ((head = malloc(cap)) == NULL) {
        rc = sp__fail(c, SP_ENOMEM, errno, "allocate request head");
        goto out;
    }
    int hlen = sp__build_request(c, u, b, head, cap);
    if (hlen < 0) {
        rc = sp__fail(c, SP_EINVAL, 0, "request head too large");
        goto out;
    }

    if ((rc = do_connect(x)) != SP_OK)
        goto out;
    debug_request(c, head, (size_t)hlen);

    rc = send_all(x, head, (size_t)hlen, "request head");
    if (rc == SP_OK && b->expect)
        rc = await_continue(x);
    if (rc == SP_OK && x->resp.done) {
        /* Answered before the body: Expect did its job for an error, but a 2xx here cannot
         * mean the upload is whole unless there was nothing to send. */
        rc = sp__resp_finish(&x->resp, res, b->size != 0, b->size);
        goto out;
    }
    if (rc == SP_OK && (rc = send_body(x)) == SP_OK) {
        res->body_complete = 1; /* also when there was no body to send */
        x->body_done_at = sp__now_ms();
        x->unacked = unacked_bytes(x);
        if (x->unacked > 0)
            sp__debug(c, SP_DEBUG_INFO,
                      "whole body sent (%llu bytes, %d not yet acknowledged); waiting for the "
                      "answer",
                      (unsigned long long)res->bytes_sent, x->unacked);
        else
            sp__debug(c, SP_DEBUG_INFO, "whole body sent (%llu bytes); waiting for the answer",
                      (unsigned long long)res->bytes_sent);
    }
    if (rc == SP__ANSWERED) {
        /* The answer can be read in the same breath as the last byte: early only if short. */
        int early = b->size == SP_SIZE_UNKNOWN || res->bytes_sent < b->size;
        rc = sp__resp_finish(&x->resp, res, early, b->size);
        goto out;
    }
    if (rc == SP_ESEND) {
        /* The server may have said why it stopped reading (401, 413) before it closed. */
        int send_err = c->sys_errno;
        char why[sizeof c->errmsg];
        snprintf(why, sizeof why, "%s", c->errmsg);
        if (read_response(x) == SP_OK) {
            rc = sp__resp_finish(&x->resp, res, 1, b->size);
            goto out;
        }
        rc = sp__fail(c, SP_ESEND, 0, "%s", why);
        c->sys_errno = send_err;
        goto out;
    }
    if (rc != SP_OK)
        goto out;
    if ((rc = read_response(x)) != SP_OK)
        goto out;
    rc = sp__resp_finish(&x->resp, res, 0, b->size);
out:
    res->response_bytes = x->resp.bytes - x->resp.interim_bytes;
    if (x->sock >= 0)
        close(x->sock);
    free(head);
    free(x);
    return rc;
}
