/*
 * Private to libstreamput: one connection to the server, and the transports that carry bytes
 * over it.
 *
 * Everything that touches the socket lives behind this header (conn.c and the transports): the
 * HTTP exchange and the body engines above it only ask to send, receive, sendfile or wait. A
 * transport is a table of functions, as curl's connection filters are: plain TCP is one table,
 * and TLS is meant to be a second one that fills the same slots. A connection is opened and
 * closed by its caller, never by an exchange, so that it can carry more than one request.
 */
#ifndef SP_CONN_H
#define SP_CONN_H

#include "internal.h"

#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * What a wait asks for, and what it reports, in terms of progress rather than poll(2) events:
 * a transport may need the other direction to move first (a TLS write that must read a record)
 * or may already hold bytes that poll cannot see (TLS's decrypted but unread bytes).
 */
#define SP__IO_RECV  1u /* a receive may make progress: bytes or the end of the stream */
#define SP__IO_SEND  2u /* a send or sendfile may make progress */
#define SP__IO_HUP   4u /* reported only: the peer hung up or the socket holds an error */
#define SP__IO_OTHER 8u /* reported only: the caller's other descriptor is readable or ended */

/* What send, recv and sendfile return besides a byte count (and recv's 0 for the end). */
#define SP__IO_AGAIN ((ssize_t)-2) /* nothing now: wait for SP__IO_SEND or SP__IO_RECV */
#define SP__IO_FAIL  ((ssize_t)-1) /* failed: the connection's sys_errno says why */

typedef struct sp__conn sp__conn;

/*
 * A transport: how bytes cross an established TCP connection. Every function is non-blocking;
 * a call that cannot go on now returns SP__IO_AGAIN after setting the connection's send_needs or
 * recv_needs to the poll(2) events that let it go on (POLLOUT and POLLIN for plain TCP; TLS sets
 * POLLIN for a write that returned SSL_ERROR_WANT_READ, and so on), so that one poll-based wait
 * with the call's deadlines serves every transport.
 */
typedef struct sp__transport {
    const char *name; /* "tcp", for debug lines */
    /*
     * Makes a freshly connected socket ready for requests (TLS: the handshake, waiting through
     * the connection's waiter until limit, an absolute sp__now_ms() time). NULL when there is
     * nothing to do. Returns SP_OK, or an error code with the detail on the connection's client.
     */
    int (*handshake)(sp__conn *cn, int64_t limit);
    /* Sends up to len bytes: the count sent (> 0), SP__IO_AGAIN or SP__IO_FAIL. */
    ssize_t (*send)(sp__conn *cn, const void *buf, size_t len);
    /* Receives up to len bytes: the count (> 0), 0 at the end of stream, SP__IO_AGAIN or FAIL. */
    ssize_t (*recv)(sp__conn *cn, void *buf, size_t len);
    /*
     * Sends up to len bytes from fd without passing them through user space: from *off, which
     * moves on by what was sent, or with off NULL from fd's current offset, which moves on.
     * NULL when the transport cannot (TLS without kTLS): the rw engine is used instead. The
     * caller blocks SIGPIPE around it (sp__sigpipe_block), since sendfile(2) cannot suppress it.
     */
    ssize_t (*sendfile)(sp__conn *cn, int fd, off_t *off, size_t len);
    /* Bytes already received and held by the transport, which poll cannot see; NULL for none. */
    size_t (*pending)(const sp__conn *cn);
    /* Ends the transport's session (TLS: close_notify) and frees its state; conn closes the
     * socket afterwards. NULL when there is nothing to do. */
    void (*close)(sp__conn *cn);
} sp__transport;

/* Plain TCP: send(2) and recv(2) with MSG_NOSIGNAL, and sendfile(2). */
extern const sp__transport sp__tcp_transport;

#ifdef SP_HAVE_TLS
/*
 * TLS over TCP with OpenSSL (tls.c): verified against the system store or --cacert/--capath,
 * the host name or IP checked, an optional public key pin. Its handshake moves the connection to
 * a table with a sendfile slot when the kernel encrypts (kTLS); without that, sendfile is NULL.
 */
extern const sp__transport sp__tls_transport;
#endif

/*
 * How a connection waits while it connects (and a transport while it handshakes): the caller's
 * policy for deadlines, stall timers and progress ticks. wait() returns the SP__IO_* bits that
 * are ready (> 0), 0 once limit (absolute ms; INT64_MAX for none) has passed, or an error code
 * with the detail on the client; doing names the step for that detail.
 */
typedef struct sp__waiter {
    int (*wait)(void *ud, sp__conn *cn, unsigned what, int64_t limit, const char *doing);
    void *ud;
} sp__waiter;

struct sp__conn {
    sp_client *c; /* failure details and debug lines */
    const sp__transport *t;
    void *ctx;         /* the transport's own state (TLS: its session) */
    const sp_url *u;   /* the server as the caller named it (TLS: the name to verify) */
    sp__waiter waiter; /* for connecting and the transport's handshake: sp__conn_open only */
    int fd;            /* -1 when closed */
    int sys_errno;     /* why the last send, recv or sendfile returned SP__IO_FAIL */
    short send_needs;  /* poll(2) events that let a blocked send go on */
    short recv_needs;  /* poll(2) events that let a blocked recv go on */
    int local;         /* the peer is on this host: 1, 0, or -1 until asked */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char addr[NI_MAXHOST + 16]; /* the peer as "127.0.0.1:80" or "[::1]:80" */
};

/*
 * Resolves u's host and connects to each address in turn until one answers, all within the
 * connect timeout, then runs t's handshake. The waiter decides how each wait is bounded. On
 * failure the detail on c names the last address tried and why, and cn holds no socket.
 * The caller closes a connection that opened with sp__conn_close().
 */
int sp__conn_open(sp__conn *cn, sp_client *c, const sp_url *u, const sp__transport *t,
                  const sp__waiter *w);

/* Ends the transport's session and closes the socket; a closed connection is left alone. */
void sp__conn_close(sp__conn *cn);

static inline ssize_t sp__conn_send(sp__conn *cn, const void *buf, size_t len)
{
    return cn->t->send(cn, buf, len);
}

static inline ssize_t sp__conn_recv(sp__conn *cn, void *buf, size_t len)
{
    return cn->t->recv(cn, buf, len);
}

/* Whether the transport can sendfile at all; see sp__transport.sendfile. */
static inline int sp__conn_can_sendfile(const sp__conn *cn)
{
    return cn->t->sendfile != NULL;
}

static inline ssize_t sp__conn_sendfile(sp__conn *cn, int fd, off_t *off, size_t len)
{
    return cn->t->sendfile(cn, fd, off, len);
}

/*
 * Waits up to timeout_ms (-1: no limit) for what (SP__IO_RECV, SP__IO_SEND) on the connection
 * and, if other_fd >= 0, for input on other_fd. Returns 1 with the ready bits in *ready, 0 if
 * the time passed or a signal interrupted, -1 with errno if poll(2) failed.
 */
int sp__conn_wait(sp__conn *cn, unsigned what, int other_fd, int timeout_ms, unsigned *ready);

/*
 * Whether an open connection whose last answer ended cleanly is idle, ready for another request:
 * nothing has arrived since, neither bytes (the transport's held ones included) nor the end of
 * the stream. It reads at most one byte to tell, which makes the connection unfit either way.
 */
int sp__conn_idle(sp__conn *cn);

/*
 * Keeping a connection between uploads. sp__conn_park moves an open connection whose last answer
 * left it fit for another request into c, closing the one kept before; cn is left closed. Then
 * sp__conn_take_idle moves it back into cn (returning 1) if it goes to u's server (scheme, host,
 * port) and is still idle (sp__conn_idle), and otherwise closes it (returning 0).
 * sp__conn_drop_idle closes a kept one; the handle does when freed or when its TLS trust changes.
 */
int sp__conn_park(sp_client *c, const sp_url *u, sp__conn *cn);
int sp__conn_take_idle(sp_client *c, const sp_url *u, sp__conn *cn);
void sp__conn_drop_idle(sp_client *c);

/* Bytes sent that the peer's TCP has not yet acknowledged; -1 if unknown. */
int sp__conn_unacked(const sp__conn *cn);

/* Whether the peer is this host: a loopback address or one of this host's own addresses. */
int sp__conn_peer_is_local(sp__conn *cn);

/* Whether sa is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z) or one of this host's. */
int sp__addr_is_local(const struct sockaddr *sa);

/*
 * Blocks SIGPIPE in this thread while a write that cannot pass MSG_NOSIGNAL runs (sendfile(2);
 * OpenSSL's socket writes too), and consumes one raised meanwhile before the old mask returns;
 * the failure itself still arrives as EPIPE. A SIGPIPE already pending before is not ours and is
 * left alone. The rest of the process is untouched.
 */
typedef struct sp__sigpipe_guard {
    sigset_t old;
    int pending_before;
} sp__sigpipe_guard;

void sp__sigpipe_block(sp__sigpipe_guard *g);
void sp__sigpipe_unblock(sp__sigpipe_guard *g);

#endif
