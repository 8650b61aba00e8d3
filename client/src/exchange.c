/*
 * One HTTP/1.1 PUT exchange: the request head, an optional wait for 100 Continue, the body, and
 * the final response, as the states of sp__ex_state.
 *
 * A server may answer at any point (401 before the body, 413 or a reset in the middle): any
 * final answer that completes before the request is all out moves the exchange to
 * SP__EX_ANSWERED, and the sending stops there. A send that fails leaves the failure pending
 * while the exchange reads what the server said before it stopped reading. Responses are parsed
 * by http-parser and bounded: headers to 64 KiB, the kept body to 1 MiB.
 */
#include "exchange.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Look for an early response at least this often while sending, even if send() never blocks. */
#define SP_EARLY_CHECK_BYTES (1024 * 1024)

struct sp__exchange {
    sp_client *c;
    const sp_url *u;
    const sp_body_info *b;
    sp_result *res;
    sp__conn *cn;
    sp__ex_state state;

    /* Timers, absolute sp__now_ms() times. */
    int64_t deadline;      /* whole call; INT64_MAX if none */
    int64_t last_progress; /* last time a byte moved either way, for the stall timeout */
    int64_t body_done_at;  /* when the whole body was out, for the answer timeout */

    /* Counters. */
    size_t head_sent;     /* bytes of the request head sent */
    uint64_t since_check; /* body bytes sent since the last look for an early response */
    int unacked;          /* body bytes the server's TCP had not acknowledged at the last look */

    /* A send that failed, reported only if no answer explains it. */
    int send_errno;
    const char *send_op;

    sp_resp resp;
    int eof;
    char rbuf[SP_RECV_BUF];
};

sp__exchange *sp__ex_new(sp_client *c, const sp_url *u, const sp_body_info *b, sp_result *res,
                         int64_t deadline)
{
    sp__exchange *x = calloc(1, sizeof *x); /* about 20 KiB: kept off the stack */
    if (x == NULL) {
        sp__fail(c, SP_ENOMEM, errno, "allocate transfer state");
        return NULL;
    }
    *x = (sp__exchange){.c = c, .u = u, .b = b, .res = res, .state = SP__EX_HEAD};
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
    return x;
}

void sp__ex_free(sp__exchange *x)
{
    free(x);
}

sp__conn *sp__ex_conn(const sp__exchange *x)
{
    return x->cn;
}

sp_client *sp__ex_client(const sp__exchange *x)
{
    return x->c;
}

const sp_body_info *sp__ex_body(const sp__exchange *x)
{
    return x->b;
}

sp_result *sp__ex_result(const sp__exchange *x)
{
    return x->res;
}

int sp__ex_answered(const sp__exchange *x)
{
    return x->state == SP__EX_ANSWERED;
}

void sp__ex_moved(sp__exchange *x)
{
    x->last_progress = sp__now_ms();
}

int64_t sp__ex_deadline(const sp__exchange *x)
{
    return x->deadline;
}

int sp__ex_deadline_passed(sp__exchange *x, const char *doing)
{
    return sp__fail(x->c, SP_ETIMEOUT, 0, "%s: transfer timed out after %llu ms", doing,
                    (unsigned long long)x->c->timeout_ms);
}

/*
 * The sending loops check the deadline themselves: on a fast path send() never blocks, so
 * wait() alone would not see --timeout pass until the body was all out.
 */
static int check_deadline(sp__exchange *x, const char *doing)
{
    return sp__now_ms() >= x->deadline ? sp__ex_deadline_passed(x, doing) : SP_OK;
}

/* The progress callback asked to stop. */
static int canceled(sp__exchange *x)
{
    return sp__fail(x->c, SP_ECANCELED, 0, "canceled by the progress callback after %llu bytes",
                    (unsigned long long)x->res->bytes_sent);
}

/*
 * Lets the caller cancel while nothing moves: during waits the progress callback also runs at
 * least once a second and after any interrupted wait (a signal handler may have asked to stop).
 */
int sp__ex_tick(sp__exchange *x)
{
    sp_client *c = x->c;
    if (c->progress != NULL && c->progress(c->progress_ud, x->res->bytes_sent, x->b->size) != 0)
        return canceled(x);
    return SP_OK;
}

int sp__ex_slice(const sp__exchange *x, int64_t wait)
{
    if (wait < 0) /* no deadline at all */
        return x->c->progress != NULL ? 1000 : -1;
    if (x->c->progress != NULL && wait > 1000)
        return 1000;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Between the whole body going out and the first byte of the final answer (a 100 Continue is
 * not the answer). */
static int awaiting_answer(const sp__exchange *x)
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
static int stalled(sp__exchange *x, sp__conn *cn, int64_t now)
{
    if (!awaiting_answer(x))
        return 1;
    int n = sp__conn_unacked(cn);
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
 * Waits for what (SP__IO_*) on cn, until `limit` (absolute ms; INT64_MAX for none) or one of the
 * call's own deadlines. Returns the ready bits (> 0), 0 once `limit` has passed, or SP_ETIMEOUT
 * with a detail naming what was being waited for.
 */
static int wait_conn(sp__exchange *x, sp__conn *cn, unsigned what, int64_t limit, const char *doing)
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
                return sp__ex_deadline_passed(x, doing);
            if (until == answer_at)
                return sp__fail(c, SP_ETIMEOUT, 0,
                                "%s: no answer %llu ms after the whole body was sent (answer "
                                "timeout)",
                                doing, (unsigned long long)c->answer_timeout_ms);
            if (!stalled(x, cn, now))
                continue;
            if (waiting && x->unacked > 0)
                return sp__fail(c, SP_ETIMEOUT, 0,
                                "%s: no progress for %llu ms (stall timeout): the server has "
                                "not yet taken the last %d bytes of the body",
                                doing, (unsigned long long)c->stall_timeout_ms, x->unacked);
            return sp__fail(c, SP_ETIMEOUT, 0, "%s: no progress for %llu ms (stall timeout)", doing,
                            (unsigned long long)c->stall_timeout_ms);
        }
        unsigned ready;
        int r = sp__conn_wait(cn, what, -1, sp__ex_slice(x, until - now), &ready);
        if (r < 0 && errno != EINTR)
            return sp__fail(c, SP_ERECV, errno, "poll");
        if (r > 0)
            return (int)ready;
        if ((r = sp__ex_tick(x)) != SP_OK)
            return r;
    }
}

static int waiter_wait(void *ud, sp__conn *cn, unsigned what, int64_t limit, const char *doing)
{
    return wait_conn(ud, cn, what, limit, doing);
}

sp__waiter sp__ex_waiter(sp__exchange *x)
{
    return (sp__waiter){.wait = waiter_wait, .ud = x};
}

/* Waits on the exchange's own connection; see wait_conn(). */
static int wait_sock(sp__exchange *x, unsigned what, int64_t limit, const char *doing)
{
    return wait_conn(x, x->cn, what, limit, doing);
}

/* Feeds what was received to the parser; a complete final answer ends the exchange's sending. */
static int feed(sp__exchange *x, const char *data, size_t len, int eof)
{
    int r = eof ? sp__resp_eof(&x->resp) : sp__resp_feed(&x->resp, data, len);
    if (r == SP_OK && x->resp.done && x->state < SP__EX_RESPONSE)
        x->state = SP__EX_ANSWERED;
    return r;
}

int sp__ex_read(sp__exchange *x)
{
    ssize_t n = sp__conn_recv(x->cn, x->rbuf, sizeof x->rbuf);
    if (n > 0) {
        x->last_progress = sp__now_ms();
        return feed(x, x->rbuf, (size_t)n, 0);
    }
    if (n == 0) {
        x->eof = 1;
        return feed(x, NULL, 0, 1);
    }
    if (n == SP__IO_AGAIN)
        return SP_OK;
    x->eof = 1;
    return sp__fail(x->c, SP_ERECV, x->cn->sys_errno, "receive response");
}

/* Reads until the final response is complete, the stream ends, or a deadline passes. */
static int read_response(sp__exchange *x)
{
    while (!x->resp.done) {
        if (x->eof)
            return sp__resp_eof(&x->resp);
        int r = wait_sock(x, SP__IO_RECV, INT64_MAX, "wait for response");
        if (r < 0)
            return r;
        if ((r = sp__ex_read(x)) != SP_OK)
            return r;
    }
    return SP_OK;
}

/*
 * Blocks until the connection can take more bytes. A response arriving meanwhile is parsed: an
 * interim one (a late 100 Continue) is passed over, a final one ends the sending.
 */
int sp__ex_wait_send(sp__exchange *x)
{
    for (;;) {
        int r = wait_sock(x, SP__IO_SEND | SP__IO_RECV, INT64_MAX, "send body");
        if (r < 0)
            return r;
        if (r & SP__IO_RECV) {
            /* An end of stream without a whole response comes back as an error from here. */
            int e = sp__ex_read(x);
            if (e != SP_OK || sp__ex_answered(x))
                return e;
        }
        if (r & (SP__IO_SEND | SP__IO_HUP))
            return SP_OK;
    }
}

int sp__ex_send_failed(sp__exchange *x, int sys_errno, const char *op)
{
    x->send_errno = sys_errno;
    x->send_op = op;
    return SP_ESEND;
}

int sp__ex_send(sp__exchange *x, const char *p, size_t len, const char *op)
{
    while (len > 0) {
        ssize_t n = sp__conn_send(x->cn, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            x->last_progress = sp__now_ms();
            continue;
        }
        if (n == SP__IO_AGAIN) {
            int r = sp__ex_wait_send(x);
            if (r != SP_OK || sp__ex_answered(x))
                return r;
            continue;
        }
        return sp__ex_send_failed(x, x->cn->sys_errno, op);
    }
    return SP_OK;
}

int sp__ex_body_sent(sp__exchange *x, size_t n)
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
        unsigned ready;
        if (sp__conn_wait(x->cn, SP__IO_RECV, -1, 0, &ready) > 0 && (ready & SP__IO_RECV))
            return sp__ex_read(x);
    }
    return SP_OK;
}

/*
 * With Expect: 100-continue, waits up to the expect timeout for the server's verdict: 100 means
 * go, a final response means the body is not wanted, silence means go anyway (as curl does).
 */
static int await_continue(sp__exchange *x)
{
    int64_t limit = sp__now_ms() + (int64_t)x->c->expect_timeout_ms;
    while (!x->resp.got_continue) {
        int r = wait_sock(x, SP__IO_RECV, limit, "wait for 100 Continue");
        if (r < 0)
            return r;
        if (r == 0) {
            sp__debug(x->c, SP_DEBUG_INFO, "no 100 Continue after %llu ms; sending the body",
                      (unsigned long long)x->c->expect_timeout_ms);
            return SP_OK;
        }
        if ((r = sp__ex_read(x)) != SP_OK || sp__ex_answered(x))
            return r; /* a final answer instead of 100: the body is not wanted */
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

/* The whole body is out: the answer timeout starts, and the stall timer may pause (stalled()). */
static void body_done(sp__exchange *x)
{
    sp_result *res = x->res;
    res->body_complete = 1; /* also when there was no body to send */
    x->body_done_at = sp__now_ms();
    x->unacked = sp__conn_unacked(x->cn);
    if (x->state == SP__EX_HEAD)
        sp__debug(x->c, SP_DEBUG_INFO, "request sent; waiting for the answer");
    else if (x->unacked > 0)
        sp__debug(x->c, SP_DEBUG_INFO,
                  "whole body sent (%llu bytes, %d not yet acknowledged); waiting for the answer",
                  (unsigned long long)res->bytes_sent, x->unacked);
    else
        sp__debug(x->c, SP_DEBUG_INFO, "whole body sent (%llu bytes); waiting for the answer",
                  (unsigned long long)res->bytes_sent);
}

/*
 * Moves the exchange on from the state it is in, one step at a time. A step that fails ends
 * the run, except a failed send: the server may have said why it stopped reading (401, 413)
 * before it closed, so the answer is read first and the send failure reported only without one.
 */
static int step(sp__exchange *x, const char *head, size_t hlen, int src, int regular)
{
    int rc;
    switch (x->state) {
    case SP__EX_HEAD:
        rc = sp__ex_send(x, head + x->head_sent, hlen - x->head_sent, "send request head");
        if (rc == SP_OK && x->state == SP__EX_HEAD) {
            x->head_sent = hlen;
            if (src < 0) { /* the request was all in the head */
                body_done(x);
                x->state = SP__EX_RESPONSE;
            } else {
                x->state = x->b->expect ? SP__EX_AWAIT_100 : SP__EX_BODY;
            }
        }
        return rc;
    case SP__EX_AWAIT_100:
        rc = await_continue(x);
        if (rc == SP_OK && x->state == SP__EX_AWAIT_100)
            x->state = SP__EX_BODY;
        return rc;
    case SP__EX_BODY:
        rc = sp__body_send(x, src, regular);
        if (rc == SP_OK && x->state == SP__EX_BODY) {
            body_done(x);
            x->state = SP__EX_RESPONSE;
        }
        return rc;
    case SP__EX_RESPONSE:
        rc = read_response(x);
        if (rc == SP_OK) {
            /* After a failed send the body cannot have arrived whole. */
            rc = sp__resp_finish(&x->resp, x->res, x->send_op != NULL, x->b->size);
            x->state = SP__EX_DONE;
        } else if (x->send_op != NULL) {
            rc = sp__fail(x->c, SP_ESEND, x->send_errno, "%s", x->send_op);
        }
        return rc;
    case SP__EX_ANSWERED: {
        /* The answer can be read in the same breath as the last byte: early only if short. A
         * 2xx that came before the body was whole cannot mean the upload is. */
        uint64_t size = x->b->size;
        int early = src >= 0 && (size == SP_SIZE_UNKNOWN || x->res->bytes_sent < size);
        rc = sp__resp_finish(&x->resp, x->res, early, size);
        x->state = SP__EX_DONE;
        return rc;
    }
    case SP__EX_DONE:
        break;
    }
    return SP_OK;
}

int sp__ex_keep_alive(const sp__exchange *x)
{
    return x->state == SP__EX_DONE && x->send_op == NULL && !x->eof && x->resp.keep_alive &&
           x->resp.excess == 0;
}

int sp__ex_run(sp__exchange *x, sp__conn *cn, const char *head, size_t hlen, int src, int regular)
{
    x->cn = cn;
    debug_request(x->c, head, hlen);
    int rc = SP_OK;
    while (x->state != SP__EX_DONE) {
        rc = step(x, head, hlen, src, regular);
        if (rc == SP_ESEND && x->send_op != NULL && x->state < SP__EX_RESPONSE)
            x->state = SP__EX_RESPONSE;
        else if (rc != SP_OK)
            break;
    }
    x->res->response_bytes = x->resp.bytes - x->resp.interim_bytes;
    return rc;
}
