/*
 * Private to libstreamput: one HTTP/1.1 request and its response over a connection, and the
 * body engines that feed it.
 *
 * The exchange is a state machine (sp__ex_state) with its own counters and timers; it uses a
 * connection but does not own it, so the caller decides whether the connection carries another
 * request. The body engines (body.c) read from the source and send through the exchange, which
 * keeps the timers and notices an answer that arrives while the body is still going.
 */
#ifndef SP_EXCHANGE_H
#define SP_EXCHANGE_H

#include "conn.h"

typedef enum sp__ex_state {
    SP__EX_HEAD,      /* the request line and headers are going out */
    SP__EX_AWAIT_100, /* Expect: 100-continue was sent: waiting a while for the verdict */
    SP__EX_BODY,      /* the body is going out */
    SP__EX_RESPONSE,  /* the request is all out (or sending failed): reading the answer */
    SP__EX_ANSWERED,  /* a final answer arrived before the request was all out: stop sending */
    SP__EX_DONE       /* the final answer is complete and judged */
} sp__ex_state;

typedef struct sp__exchange sp__exchange;

/*
 * Starts an exchange for c: b describes the body, res receives the outcome, deadline (absolute
 * sp__now_ms() time; INT64_MAX for none) bounds the whole call. Returns NULL with the detail on c
 * if out of memory. The exchange starts its timers now, so that waits while connecting count.
 */
sp__exchange *sp__ex_new(sp_client *c, const sp_url *u, const sp_body_info *b, sp_result *res,
                         int64_t deadline);

/* Frees x (NULL is a no-op); the connection it used stays open. */
void sp__ex_free(sp__exchange *x);

/* The waiter that applies x's deadlines, stall timer and progress ticks, for connecting. */
sp__waiter sp__ex_waiter(sp__exchange *x);

/*
 * Sends the request head (hlen bytes) and the body from src over cn, reads the answer, and
 * judges it into res. regular says src is a regular file (seekable, never blocks). src -1 means
 * the request is all in head (the login's small JSON body goes with it). Returns SP_OK or an
 * error code with the detail on the client.
 */
int sp__ex_run(sp__exchange *x, sp__conn *cn, const char *head, size_t hlen, int src, int regular);

/*
 * Whether the connection can carry another request after x: its answer was complete, HTTP/1.1
 * keep-alive, framed by its length or chunks, and nothing of the stream was read past it.
 */
int sp__ex_keep_alive(const sp__exchange *x);

/* What the body engines use. */

/* The connection the exchange runs on. */
sp__conn *sp__ex_conn(const sp__exchange *x);

/* Whether a final answer has arrived before the request was all out: the engine must stop. */
int sp__ex_answered(const sp__exchange *x);

/*
 * Sends len bytes in full, waiting as needed; op names the step for a failure ("send body").
 * Returns SP_OK also when an answer arrived meanwhile and ended the sending (sp__ex_answered).
 */
int sp__ex_send(sp__exchange *x, const char *p, size_t len, const char *op);

/* Waits until the connection can take more, reading any answer meanwhile; as sp__ex_send. */
int sp__ex_wait_send(sp__exchange *x);

/*
 * Records that sending failed with sys_errno during op ("sendfile") and returns SP_ESEND. The
 * exchange then reads what the server said before it stopped reading; only if it said nothing
 * complete does the send failure become the call's error.
 */
int sp__ex_send_failed(sp__exchange *x, int sys_errno, const char *op);

/* Accounts for n body bytes sent: progress callback, deadline, and a look for an early answer. */
int sp__ex_body_sent(sp__exchange *x, size_t n);

/* Reads what has arrived from the server now, which may complete an answer. */
int sp__ex_read(sp__exchange *x);

/* Notes that something moved, or that a wait was by choice: restarts the stall timer. */
void sp__ex_moved(sp__exchange *x);

/* The whole call's deadline (INT64_MAX for none), and the failure once it has passed. */
int64_t sp__ex_deadline(const sp__exchange *x);
int sp__ex_deadline_passed(sp__exchange *x, const char *doing);

/* How long one wait may block given how long is left (-1: no limit); see idle ticks. */
int sp__ex_slice(const sp__exchange *x, int64_t wait);

/* Runs the progress callback while nothing moves; a request to stop becomes SP_ECANCELED. */
int sp__ex_tick(sp__exchange *x);

/* The client, the body's description and the result being filled, for the engines. */
sp_client *sp__ex_client(const sp__exchange *x);
const sp_body_info *sp__ex_body(const sp__exchange *x);
sp_result *sp__ex_result(const sp__exchange *x);

/*
 * Sends the body of an exchange from src with the engine the client asks for (auto: see
 * sp__body_engine), filling res->engine and res->bytes_sent. Returns SP_OK when the body is out
 * or an answer ended it early (sp__ex_answered), else an error code.
 */
int sp__body_send(sp__exchange *x, int src, int regular);

/*
 * The engine a body goes out with. auto picks sendfile for a regular file of known size over a
 * transport that can sendfile, unless the peer is on this host (see body.c for why).
 */
sp_engine sp__body_engine(sp_engine asked, int regular, uint64_t size, int can_sendfile,
                          int peer_local);

/* Opens cn toward u over the transport u names, waiting under x's timers (login.c). */
int sp__conn_open_for(sp__conn *cn, sp_client *c, const sp_url *u, sp__exchange *x);

/*
 * Logs in toward the login route lu (login.c): opens cn if it is closed, runs the login exchange
 * on it under deadline, and keeps the token on c. total is the upload's size, for the progress
 * callback. Leaves cn open only if it can carry the upload next (sp__ex_keep_alive, and nothing
 * arrived since). A refusal is SP_ELOGIN, its code and message copied into res.
 */
int sp__login_run(sp_client *c, const sp_url *lu, sp__conn *cn, uint64_t total, int64_t deadline,
                  sp_result *res);

/* Whether a failed upload (rc, res) was refused for a token a fresh login replaces. */
int sp__token_refused(const sp_client *c, int rc, const sp_result *res);

#endif
