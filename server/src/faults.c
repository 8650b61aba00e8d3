/*
 * Fault injection: parsing of "--fault SPEC" / "X-Mock-Fault: SPEC", sleeps that a shutdown can
 * cut short, and the TCP reset. A SPEC is a comma-separated list of
 *   reset-after=BYTES  stall-after=BYTES:MS  delay-response=MS  code=N  status=N
 *   slow-read=BYTES_PER_SEC
 * In thread-per-connection mode each request owns its thread, so a fault simply sleeps in the
 * handler: MHD does not read the socket meanwhile and TCP back-pressure stalls the client.
 */
#include "mock.h"
#include "sp_common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Longest sleep a fault may ask for: an hour is plenty for any client timeout test. */
#define FAULT_MAX_MS 3600000u

static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop_cv;
static pthread_once_t stop_once = PTHREAD_ONCE_INIT;
static int stopping;

/* The condition variable waits on CLOCK_MONOTONIC, so a wall-clock jump cannot stretch a fault. */
static void stop_cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&stop_cv, &a);
    pthread_condattr_destroy(&a);
}

void mock_fault_init(mock_fault *f)
{
    memset(f, 0, sizeof *f);
    f->reset_after = -1;
    f->stall_after = -1;
}

/* Parses the value of one "name=value" item; returns 0 or -1 with err filled. */
static int parse_item(mock_fault *f, const char *name, const char *val, char *err, size_t errsz)
{
    uint64_t v, ms;
    if (strcmp(name, "reset-after") == 0) {
        if (sp__parse_size(val, &v) < 0 || v > INT64_MAX)
            goto bad;
        f->reset_after = (int64_t)v;
    } else if (strcmp(name, "stall-after") == 0) {
        char bytes[32];
        const char *colon = strchr(val, ':');
        size_t blen = colon != NULL ? (size_t)(colon - val) : 0;
        if (colon == NULL || blen >= sizeof bytes)
            goto bad;
        memcpy(bytes, val, blen);
        bytes[blen] = '\0';
        if (sp__parse_size(bytes, &v) < 0 || v > INT64_MAX ||
            sp__parse_uint(colon + 1, FAULT_MAX_MS, &ms) < 0)
            goto bad;
        f->stall_after = (int64_t)v;
        f->stall_ms = (uint32_t)ms;
    } else if (strcmp(name, "delay-response") == 0) {
        if (sp__parse_uint(val, FAULT_MAX_MS, &ms) < 0)
            goto bad;
        f->delay_ms = (uint32_t)ms;
    } else if (strcmp(name, "code") == 0) {
        if (sp__parse_uint(val, 99999, &v) < 0 || v == 0)
            goto bad;
        f->code = (int)v;
    } else if (strcmp(name, "status") == 0) {
        if (sp__parse_uint(val, 599, &v) < 0 || v < 200)
            goto bad;
        f->status = (unsigned)v;
    } else if (strcmp(name, "slow-read") == 0) {
        if (sp__parse_size(val, &v) < 0 || v == 0)
            goto bad;
        f->slow_read = v;
    } else {
        snprintf(err, errsz,
                 "unknown fault '%s' (known: reset-after, stall-after, "
                 "delay-response, code, status, slow-read)",
                 name);
        return -1;
    }
    return 0;
bad:
    snprintf(err, errsz, "bad value '%s' for fault '%s'", val, name);
    return -1;
}

int mock_fault_parse(const char *spec, mock_fault *out, char *err, size_t errsz)
{
    char item[256];
    mock_fault parsed, *f = &parsed; /* *out changes only once the whole spec is good */
    mock_fault_init(f);
    const char *p = spec;
    if (*p == '\0') {
        snprintf(err, errsz, "empty fault spec");
        return -1;
    }
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item) {
            snprintf(err, errsz, "bad fault spec '%s'", spec);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            snprintf(err, errsz, "fault '%s' needs =VALUE", item);
            return -1;
        }
        *eq = '\0';
        if (parse_item(f, item, eq + 1, err, errsz) < 0)
            return -1;
        p += len;
        if (*p == ',')
            p++;
    }
    *out = parsed;
    return 0;
}

void mock_stop_sleepers(void)
{
    pthread_once(&stop_once, stop_cv_init);
    pthread_mutex_lock(&stop_mu);
    stopping = 1;
    pthread_cond_broadcast(&stop_cv);
    pthread_mutex_unlock(&stop_mu);
}

int mock_sleep_ms(uint64_t ms)
{
    struct timespec until;
    pthread_once(&stop_once, stop_cv_init);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&stop_mu);
    int rc = 0;
    while (!stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&stop_cv, &stop_mu, &until);
    int stopped = stopping;
    pthread_mutex_unlock(&stop_mu);
    return stopped ? -1 : 0;
}

void mock_fault_reset(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    int fd = ci->connect_fd;
    /*
     * With linger 0, closing the last reference to a TCP socket sends RST. MHD itself would
     * shutdown(SHUT_WR) first, and the client would see a clean FIN before the reset, so the
     * connection is reset here: dup3() atomically closes it and leaves an unconnected socket
     * under the same descriptor number for MHD to shut down and close harmlessly. Only this
     * connection's own thread (the one running this handler) ever touches fd.
     */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (spare >= 0) {
        dup3(spare, fd, O_CLOEXEC);
        close(spare);
    }
}
