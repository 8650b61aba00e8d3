/*
 * The body engines: read the body from the source and hand it to the exchange, which sends it
 * over its connection. rw reads into one buffer allocated once per chunk size and sends it
 * (chunked framing around it when the length is unknown); sendfile has the kernel copy from the
 * page cache. Both honour --limit-rate, and both watch a stream source (a pipe) and the server
 * at once, so that a server that answers or hangs up while the producer is silent is noticed.
 * Nothing on the streaming path allocates, and nothing here touches the socket itself.
 */
#include "exchange.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct body {
    sp__exchange *x;
    sp_client *c;
    const sp_body_info *b;
    sp_result *res;
    int src;
    int regular;
    int64_t t0; /* when the body started, for --limit-rate */
    off_t pos;  /* the next byte's offset when the body is read at an offset (b->at_offset) */
} body;

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

/* Sleeps ms milliseconds, or less if a signal arrives (the caller's loop goes on). */
static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/*
 * Limits how much may go out now so the average rate never exceeds --limit-rate: a slice of at
 * most 1/20 s worth, sent only once the bytes before it and the slice itself are due.
 */
static size_t rate_allow(body *y, size_t want)
{
    uint64_t rate = y->c->limit_rate;
    if (rate == 0)
        return want;
    uint64_t slice = rate / 20 > 0 ? rate / 20 : 1;
    if (want > slice)
        want = (size_t)slice;
    int64_t due = y->t0 + (int64_t)((y->res->bytes_sent + want) * 1000 / rate);
    int64_t now = sp__now_ms();
    int64_t deadline = sp__ex_deadline(y->x);
    if (due > deadline)
        due = deadline; /* sp__ex_body_sent() reports the timeout right after this slice */
    if (due > now) {
        sleep_ms(due - now);
        sp__ex_moved(y->x); /* waiting by choice is not a stall */
    }
    return want;
}

/*
 * Waits until a stream (pipe, terminal) has bytes or its end to read, watching the call's
 * deadline and the server: one that answers or hangs up meanwhile is noticed. Regular files
 * never block, so they skip this. The stall timer does not run here: a slow producer is not a
 * stalled server.
 */
static int wait_input(body *y)
{
    sp__exchange *x = y->x;
    for (;;) {
        int64_t now = sp__now_ms();
        int64_t deadline = sp__ex_deadline(x);
        if (now >= deadline)
            return sp__ex_deadline_passed(x, "read input");
        int64_t wait = deadline == INT64_MAX ? -1 : deadline - now;
        unsigned ready;
        int r = sp__conn_wait(sp__ex_conn(x), SP__IO_RECV, y->src, sp__ex_slice(x, wait), &ready);
        if (r < 0 && errno != EINTR)
            return sp__fail(y->c, SP_EFILE, errno, "poll input");
        if (r <= 0 && (r = sp__ex_tick(x)) != SP_OK)
            return r;
        if (r > 0 && (ready & (SP__IO_RECV | SP__IO_HUP))) {
            int e = sp__ex_read(x);
            if (e != SP_OK || sp__ex_answered(x))
                return e;
        }
        if (r > 0 && (ready & SP__IO_OTHER)) {
            sp__ex_moved(x);
            return SP_OK;
        }
    }
}

/* Reads up to want bytes of input into buf, at the body's offset if it has one; 0 means end of
 * input. */
static ssize_t read_input(body *y, char *buf, size_t want)
{
    for (;;) {
        ssize_t n = y->b->at_offset ? pread(y->src, buf, want, y->pos) : read(y->src, buf, want);
        if (n > 0 && y->b->at_offset)
            y->pos += n;
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/*
 * Checks that a stream has nothing past its declared length, reading at most one byte into spare
 * (the buffer's tail room). Waits for the producer to write more or close, within the deadline.
 */
static int input_ends_here(body *y, char *spare)
{
    int r = wait_input(y);
    if (r != SP_OK || sp__ex_answered(y->x))
        return r;
    ssize_t n = read_input(y, spare, 1);
    if (n < 0)
        return sp__fail(y->c, SP_EFILE, errno, "read input");
    if (n > 0)
        return sp__fail(y->c, SP_EFILE, 0,
                        "input is longer than the declared %llu bytes; nothing was stored",
                        (unsigned long long)y->b->size);
    return SP_OK;
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/*
 * Whether the file is still as the upload found it, checked once every byte but the last has
 * been read: every write(2) in between changed its modification time, and a truncation or an
 * append its size too. SP_EFILE then, before the last byte goes out, so that the server never
 * completes the body. The change time is not asked: a file renamed or removed meanwhile still
 * reads as the one version it was, which is what goes.
 */
static int still_same(body *y)
{
    const sp_body_info *b = y->b;
    struct stat st;
    if (!b->watch)
        return SP_OK;
    if (fstat(y->src, &st) < 0)
        return sp__fail(y->c, SP_EFILE, errno, "stat input");
    if ((uint64_t)st.st_size == b->watch_size && same_time(st.st_mtim, b->watch_mtime))
        return SP_OK;
    return sp__fail(y->c, SP_EFILE, 0,
                    "the file changed while it was being sent (%s); its last byte was held "
                    "back, so the server stores nothing: upload it again once nothing writes "
                    "to it",
                    (uint64_t)st.st_size != b->watch_size ? "its size" : "its modification time");
}

/* The rw engine, and the chunked framing of it for bodies of unknown length. */
static int send_body_rw(body *y)
{
    sp_client *c = y->c;
    sp__exchange *x = y->x;
    int rc = sp__body_buf(c); /* the sendfile engine never needs it */
    if (rc != SP_OK)
        return rc;
    char *data = c->body_buf + SP_CHUNK_HEAD;
    uint64_t size = y->b->size;
    int chunked = size == SP_SIZE_UNKNOWN;

    for (;;) {
        size_t want = c->chunk_size;
        if (!chunked) {
            uint64_t left = size - y->res->bytes_sent;
            if (left == 0)
                return SP_OK;
            if (left < want)
                want = (size_t)left;
        }
        want = rate_allow(y, want);
        if (!y->regular) {
            int r = wait_input(y);
            if (r != SP_OK || sp__ex_answered(x))
                return r;
        }
        ssize_t n = read_input(y, data, want);
        if (n < 0)
            return sp__fail(c, SP_EFILE, errno, "read input");
        if (!chunked && y->regular && n > 0 && y->res->bytes_sent + (uint64_t)n == size) {
            /* The last piece is read, not sent: the file read so far must be the one found. */
            int r = still_same(y);
            if (r != SP_OK)
                return r;
        }
        if (!chunked && !y->regular && !y->b->slice && y->res->bytes_sent + (uint64_t)n == size) {
            /* Before the piece that completes a declared length goes out, make sure the
             * stream ends there: otherwise the server would store a truncated file. */
            int r = input_ends_here(y, data + n);
            if (r != SP_OK || sp__ex_answered(x))
                return r;
        }
        if (n == 0) {
            if (chunked) {
                int r = sp__ex_send(x, "0\r\n\r\n", 5, "send last chunk");
                y->res->body_complete = r == SP_OK && !sp__ex_answered(x);
                return r;
            }
            return sp__fail(c, SP_EFILE, 0, "input ended after %llu of %llu bytes",
                            (unsigned long long)y->res->bytes_sent, (unsigned long long)size);
        }
        const char *start = data;
        size_t len = (size_t)n;
        if (chunked) {
            start = sp__chunk_head(data, len);
            memcpy(data + len, "\r\n", 2);
            len += (size_t)(data - start) + 2;
        }
        int r = sp__ex_send(x, start, len, "send body");
        if (r != SP_OK || sp__ex_answered(x))
            return r;
        if ((r = sp__ex_body_sent(x, (size_t)n)) != SP_OK || sp__ex_answered(x))
            return r;
    }
}

/*
 * The sendfile engine: the kernel copies from the page cache to the socket. Returns
 * SP_EUNSUPPORTED without sending anything if the file system cannot do it, so auto can fall back.
 */
static int sendfile_loop(body *y)
{
    sp_client *c = y->c;
    sp__exchange *x = y->x;
    sp__conn *cn = sp__ex_conn(x);
    uint64_t size = y->b->size;
    while (y->res->bytes_sent < size) {
        uint64_t left = size - y->res->bytes_sent;
        size_t want = left < c->chunk_size ? (size_t)left : c->chunk_size;
        want = rate_allow(y, want);
        /* The last byte goes alone, once the kernel has read all the others and the file is
         * seen unchanged. */
        if (y->b->watch && want >= left) {
            int r = left > 1 ? SP_OK : still_same(y);
            if (r != SP_OK)
                return r;
            want = left > 1 ? (size_t)left - 1 : 1;
        }
        ssize_t n = sp__conn_sendfile(cn, y->src, y->b->at_offset ? &y->pos : NULL, want);
        if (n > 0) {
            sp__ex_moved(x);
            int r = sp__ex_body_sent(x, (size_t)n);
            if (r != SP_OK || sp__ex_answered(x))
                return r;
            continue;
        }
        if (n == 0)
            return sp__fail(c, SP_EFILE, 0, "input ended after %llu of %llu bytes",
                            (unsigned long long)y->res->bytes_sent, (unsigned long long)size);
        if (n == SP__IO_AGAIN) {
            int r = sp__ex_wait_send(x);
            if (r != SP_OK || sp__ex_answered(x))
                return r;
            continue;
        }
        int err = cn->sys_errno;
        if ((err == EINVAL || err == ENOSYS) && y->res->bytes_sent == 0)
            return sp__fail(c, SP_EUNSUPPORTED, err, "sendfile");
        if (err == EPIPE || err == ECONNRESET)
            return sp__ex_send_failed(x, err, "sendfile");
        return sp__fail(c, SP_EFILE, err, "sendfile");
    }
    return SP_OK;
}

static int send_body_sendfile(body *y)
{
    sp__sigpipe_guard g;
    sp__sigpipe_block(&g);
    int r = sendfile_loop(y);
    sp__sigpipe_unblock(&g);
    return r;
}

/*
 * Where the bytes go decides which engine is faster. Toward another host sendfile wins: the
 * kernel moves pages from the page cache to the network without a copy through user space.
 * Toward this host (loopback, or one of its own addresses) the receiving side has to copy every
 * byte anyway, and sendfile only moves the copy into the receiver: for 1 GiB to the mock on one
 * machine sendfile took 0.76-0.88 s against 0.64-0.66 s for rw. So auto sends with rw there,
 * and with sendfile everywhere else; --engine sendfile still forces sendfile.
 */
sp_engine sp__body_engine(sp_engine asked, int regular, uint64_t size, int can_sendfile,
                          int peer_local)
{
    if (!regular || size == SP_SIZE_UNKNOWN || asked == SP_ENGINE_RW)
        return SP_ENGINE_RW;
    if (asked == SP_ENGINE_SENDFILE)
        return SP_ENGINE_SENDFILE;
    return can_sendfile && !peer_local ? SP_ENGINE_SENDFILE : SP_ENGINE_RW;
}

int sp__body_send(sp__exchange *x, int src, int regular)
{
    body y = {.x = x,
              .c = sp__ex_client(x),
              .b = sp__ex_body(x),
              .res = sp__ex_result(x),
              .src = src,
              .regular = regular,
              .t0 = sp__now_ms(),
              .pos = (off_t)sp__ex_body(x)->offset};
    sp_client *c = y.c;
    sp__conn *cn = sp__ex_conn(x);
    y.res->body_sent = 1;
    /* Only auto over sendfile-capable transport needs to know where the peer is. */
    int local = c->engine == SP_ENGINE_AUTO && regular && y.b->size != SP_SIZE_UNKNOWN &&
                sp__conn_can_sendfile(cn) && sp__conn_peer_is_local(cn);
    sp_engine e = sp__body_engine(c->engine, regular, y.b->size, sp__conn_can_sendfile(cn), local);
    if (e == SP_ENGINE_SENDFILE && !sp__conn_can_sendfile(cn)) {
        /* TLS without kTLS: every byte is encrypted in user space, so the buffer the rw engine
         * reads into is the one SSL_write_ex encrypts from, and nothing is lost by using it. */
        sp__debug(c, SP_DEBUG_INFO, "sendfile is not possible over %s; using read/send",
                  cn->t->name);
    } else if (e == SP_ENGINE_SENDFILE) {
        y.res->engine = SP_ENGINE_SENDFILE;
        int r = send_body_sendfile(&y);
        if (r != SP_EUNSUPPORTED || c->engine == SP_ENGINE_SENDFILE)
            return r;
        sp__debug(c, SP_DEBUG_INFO, "sendfile not supported here; using read/send");
    } else if (local) {
        sp__debug(c, SP_DEBUG_INFO, "the server is on this host; sending with read/send");
    }
    y.res->engine = SP_ENGINE_RW;
    return send_body_rw(&y);
}
