/*
 * The connection: resolving, connecting, and the plain TCP transport.
 *
 * The socket is non-blocking and every wait goes through sp__conn_wait(), one poll(2) whose
 * bound the caller chooses, so that the connect timeout, the whole-call timeout and the stall
 * timeout hold everywhere. This is the only file that makes socket calls; a transport such as
 * TLS adds its own table and reads and writes through the same socket.
 */
#include "conn.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

static ssize_t tcp_send(sp__conn *cn, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(cn->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            return n;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return SP__IO_AGAIN;
        cn->sys_errno = n < 0 ? errno : EIO;
        return SP__IO_FAIL;
    }
}

static ssize_t tcp_recv(sp__conn *cn, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(cn->fd, buf, len, MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return SP__IO_AGAIN;
        cn->sys_errno = errno;
        return SP__IO_FAIL;
    }
}

static ssize_t tcp_sendfile(sp__conn *cn, int fd, off_t *off, size_t len)
{
    for (;;) {
        ssize_t n = sendfile(cn->fd, fd, off, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return SP__IO_AGAIN;
        cn->sys_errno = errno;
        return SP__IO_FAIL;
    }
}

const sp__transport sp__tcp_transport = {
    .name = "tcp",
    .handshake = NULL,
    .send = tcp_send,
    .recv = tcp_recv,
    .sendfile = tcp_sendfile,
    .pending = NULL,
    .close = NULL,
};

int sp__conn_wait(sp__conn *cn, unsigned what, int other_fd, int timeout_ms, unsigned *ready)
{
    *ready = 0;
    /* Bytes the transport already holds are ready now, whatever the socket says. */
    if ((what & SP__IO_RECV) && cn->t->pending != NULL && cn->t->pending(cn) > 0)
        *ready |= SP__IO_RECV;
    if (*ready != 0)
        timeout_ms = 0;
    short events = (short)(((what & SP__IO_RECV) ? cn->recv_needs : 0) |
                           ((what & SP__IO_SEND) ? cn->send_needs : 0));
    struct pollfd p[2] = {{.fd = cn->fd, .events = events}, {.fd = other_fd, .events = POLLIN}};
    int r = poll(p, other_fd >= 0 ? 2 : 1, timeout_ms);
    if (r < 0)
        return *ready != 0 ? 1 : -1;
    if ((what & SP__IO_RECV) && (p[0].revents & cn->recv_needs))
        *ready |= SP__IO_RECV;
    if ((what & SP__IO_SEND) && (p[0].revents & cn->send_needs))
        *ready |= SP__IO_SEND;
    if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
        *ready |= SP__IO_HUP;
    if (other_fd >= 0 && p[1].revents != 0)
        *ready |= SP__IO_OTHER;
    return *ready != 0;
}

int sp__conn_idle(sp__conn *cn)
{
    if (cn->fd < 0 || (cn->t->pending != NULL && cn->t->pending(cn) > 0))
        return 0;
    char b;
    return sp__conn_recv(cn, &b, 1) == SP__IO_AGAIN;
}

int sp__conn_unacked(const sp__conn *cn)
{
    int n;
    return ioctl(cn->fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* Whether a and b (both AF_INET, or AF_INET6) hold the same address; ports are not compared. */
static int same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

int sp__addr_is_local(const struct sockaddr *sa)
{
    struct sockaddr_in v4;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a6))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            /* An IPv4 peer reached through an IPv6 socket: judge the IPv4 address. */
            memset(&v4, 0, sizeof v4);
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, &a6->s6_addr[12], 4);
            sa = (const struct sockaddr *)&v4;
        }
    } else if (sa->sa_family != AF_INET) {
        return 0;
    }
    if (sa->sa_family == AF_INET &&
        (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127)
        return 1;
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0)
        return 0;
    int local = 0;
    for (const struct ifaddrs *i = list; i != NULL && !local; i = i->ifa_next)
        local = i->ifa_addr != NULL && same_addr(i->ifa_addr, sa);
    freeifaddrs(list);
    return local;
}

int sp__conn_peer_is_local(sp__conn *cn)
{
    if (cn->local < 0)
        cn->local = sp__addr_is_local((const struct sockaddr *)&cn->peer);
    return cn->local;
}

void sp__sigpipe_block(sp__sigpipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    g->pending_before = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void sp__sigpipe_unblock(sp__sigpipe_guard *g)
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
 * Tunes a new TCP socket; failure to set either only loses what it buys.
 *
 * TCP_NODELAY: Nagle's algorithm holds a short segment until the last one is acknowledged, and a
 * server waiting for the body delays that ACK by up to 40 ms, so a request head followed by a
 * small body (or a body's short last piece) waited that long: a batch of 4 KiB files went at 90
 * files/s over four lanes to nginx. Every write here is a whole head or a buffer of body
 * already, as curl's are, which sets it too.
 *
 * Keepalive: the kernel probes an idle connection, a minute without traffic, then every 10 s,
 * given up after 6 unanswered probes. The wait for an answer after the whole body can be long
 * and is not under the stall timeout (see the exchange's stalled()), so this is what notices a
 * server host that vanished.
 */
static void tune(int fd)
{
    int on = 1, idle = 60, interval = 10, count = 6;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

/* Closes the socket of a connection attempt that failed, so the next address starts clean. */
static void drop_socket(sp__conn *cn)
{
    close(cn->fd);
    cn->fd = -1;
}

/*
 * Connects to every address of list in turn until one answers, within limit. Returns SP_OK with
 * the socket in cn->fd, or the failure for the last address tried.
 */
static int connect_any(sp__conn *cn, struct addrinfo *list, int64_t limit)
{
    sp_client *c = cn->c;
    int rc = sp__fail(c, SP_ERESOLVE, 0, "resolve %s: no addresses", cn->u->host);
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        addr_str(ai, cn->addr, sizeof cn->addr);
        const char *addr = cn->addr;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = sp__fail(c, SP_ECONNECT, errno, "socket for %s", addr);
            continue;
        }
        sp__debug(c, SP_DEBUG_INFO, "Trying %s...", addr);
        cn->fd = fd;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            rc = sp__fail(c, SP_ECONNECT, errno, "connect %s", addr);
            drop_socket(cn);
            continue;
        }
        int r = cn->waiter.wait(cn->waiter.ud, cn, SP__IO_SEND, limit, "connect");
        if (r < 0) {
            rc = r;
            drop_socket(cn);
            continue;
        }
        if (r == 0) {
            rc = sp__fail(c, SP_ETIMEOUT, 0, "connect %s: timed out after %llu ms", addr,
                          (unsigned long long)c->connect_timeout_ms);
            drop_socket(cn);
            return rc; /* the connect timeout covers all addresses together */
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (soerr == ECONNRESET) {
            /* A reset means the handshake completed and the server then dropped us. */
            rc = sp__fail(c, SP_ESEND, soerr, "%s reset the connection before the request", addr);
            drop_socket(cn);
            return rc;
        }
        if (soerr != 0) {
            rc = sp__fail(c, SP_ECONNECT, soerr, "connect %s", addr);
            drop_socket(cn);
            continue;
        }
        sp__debug(c, SP_DEBUG_INFO, "Connected to %s", addr);
        tune(fd);
        memcpy(&cn->peer, ai->ai_addr, ai->ai_addrlen);
        cn->peer_len = ai->ai_addrlen;
        return SP_OK;
    }
    return rc;
}

int sp__conn_open(sp__conn *cn, sp_client *c, const sp_url *u, const sp__transport *t,
                  const sp__waiter *w)
{
    *cn = (sp__conn){.c = c,
                     .t = t,
                     .u = u,
                     .waiter = *w,
                     .fd = -1,
                     .send_needs = POLLOUT,
                     .recv_needs = POLLIN,
                     .local = -1};
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (u->numeric ? AI_NUMERICHOST : 0)};
    struct addrinfo *list = NULL;
    int gai = getaddrinfo(u->host, u->port, &hints, &list);
    if (gai != 0)
        return sp__fail(c, SP_ERESOLVE, gai == EAI_SYSTEM ? errno : 0, "resolve %s: %s", u->host,
                        gai == EAI_SYSTEM ? "system error" : gai_strerror(gai));
    int64_t limit =
        c->connect_timeout_ms != 0 ? sp__now_ms() + (int64_t)c->connect_timeout_ms : INT64_MAX;
    int rc = connect_any(cn, list, limit);
    freeaddrinfo(list);
    if (rc == SP_OK && t->handshake != NULL && (rc = t->handshake(cn, limit)) != SP_OK)
        sp__conn_close(cn);
    return rc;
}

void sp__conn_close(sp__conn *cn)
{
    if (cn->fd < 0)
        return;
    if (cn->t->close != NULL)
        cn->t->close(cn);
    close(cn->fd);
    cn->fd = -1;
}

/* The server a connection goes to, as a kept one is matched against a new upload's URL. */
static void server_key(const sp_url *u, char *out, size_t cap)
{
    snprintf(out, cap, "%s://%s:%s", u->tls ? "https" : "http", u->host, u->port);
}

int sp__conn_park(sp_client *c, const sp_url *u, sp__conn *cn)
{
    sp__conn_drop_idle(c);
    if ((c->idle = malloc(sizeof *c->idle)) == NULL) {
        sp__conn_close(cn); /* not kept: the next upload connects anew */
        return SP_ENOMEM;
    }
    *c->idle = *cn;
    c->idle->u = NULL; /* u belongs to this call; the next one sets its own */
    server_key(u, c->idle_key, sizeof c->idle_key);
    cn->fd = -1;
    cn->ctx = NULL;
    return SP_OK;
}

int sp__conn_take_idle(sp_client *c, const sp_url *u, sp__conn *cn)
{
    char key[sizeof c->idle_key];
    if (c->idle == NULL)
        return 0;
    server_key(u, key, sizeof key);
    c->idle->u = u; /* a transport may name the server while it looks */
    /* A server that closed the connection while it lay idle (its keep-alive timeout) has sent
     * the end of the stream, which sp__conn_idle sees: a new connection then. */
    if (strcmp(key, c->idle_key) != 0 || !sp__conn_idle(c->idle)) {
        sp__conn_drop_idle(c);
        return 0;
    }
    *cn = *c->idle;
    cn->u = u;
    free(c->idle);
    c->idle = NULL;
    return 1;
}

void sp__conn_drop_idle(sp_client *c)
{
    if (c->idle == NULL)
        return;
    sp__conn_close(c->idle);
    free(c->idle);
    c->idle = NULL;
}
