/*
 * The request-head deadline (--header-timeout). libmicrohttpd's connection timeout restarts on
 * every byte, so a client that dribbles its request line and headers (slowloris) holds a
 * connection, and its thread, as long as it likes; with --max-connections of them, nobody else
 * gets in. Every connection is registered when MHD accepts it, marked when its head is complete
 * (the access handler's first call) and re-armed when a request completes (keep-alive); a
 * watchdog thread shuts down the sockets whose head has not arrived in time. MHD's connection
 * thread then sees the end of the stream and closes the connection itself.
 *
 * shutdown(), never close(): the descriptor stays MHD's. MHD reports a connection closed before
 * it closes the socket, and entries leave the list under the lock in that report, so the
 * watchdog never touches a descriptor that could already belong to another connection.
 */
#include "mock.h"
#include "sp_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

typedef struct wd_conn {
    struct wd_conn *prev, *next;
    int fd;
    int64_t since; /* when the current request head began to be awaited */
    int head_done; /* the current request's head has arrived */
    int cut;       /* already shut down */
} wd_conn;

static struct {
    pthread_mutex_t lock;
    pthread_t thread;
    int running, stopping;
    int64_t limit_ms;
    wd_conn *head;
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *watch(void *arg)
{
    (void)arg;
    static const struct timespec tick = {0, 250 * 1000000L};
    for (;;) {
        unsigned cut = 0;
        pthread_mutex_lock(&wd.lock);
        if (wd.stopping) {
            pthread_mutex_unlock(&wd.lock);
            return NULL;
        }
        int64_t now = sp__now_ms();
        for (wd_conn *w = wd.head; w != NULL; w = w->next) {
            if (!w->head_done && !w->cut && now - w->since >= wd.limit_ms) {
                shutdown(w->fd, SHUT_RDWR);
                w->cut = 1;
                cut++;
            }
        }
        pthread_mutex_unlock(&wd.lock);
        if (cut > 0) /* logged outside the lock: a slow stderr must not stall connections */
            mock_warn("closed %u connection(s) whose request head did not arrive within %lld s "
                      "(--header-timeout)",
                      cut, (long long)(wd.limit_ms / 1000));
        nanosleep(&tick, NULL);
    }
}

int mock_watchdog_start(unsigned seconds)
{
    if (seconds == 0)
        return 0;
    wd.limit_ms = (int64_t)seconds * 1000;
    if (pthread_create(&wd.thread, NULL, watch, NULL) != 0)
        return -1;
    wd.running = 1;
    return 0;
}

void mock_watchdog_stop(void)
{
    if (!wd.running)
        return;
    pthread_mutex_lock(&wd.lock);
    wd.stopping = 1;
    pthread_mutex_unlock(&wd.lock);
    pthread_join(wd.thread, NULL);
    wd.running = 0;
}

void mock_watchdog_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    if (!wd.running)
        return;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        wd_conn *w = ci != NULL ? calloc(1, sizeof *w) : NULL;
        if (w == NULL)
            return; /* unwatched: this connection only loses its head deadline */
        w->fd = ci->connect_fd;
        w->since = sp__now_ms();
        pthread_mutex_lock(&wd.lock);
        w->next = wd.head;
        if (wd.head != NULL)
            wd.head->prev = w;
        wd.head = w;
        pthread_mutex_unlock(&wd.lock);
        *socket_context = w;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        wd_conn *w = *socket_context;
        pthread_mutex_lock(&wd.lock);
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            wd.head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&wd.lock);
        free(w);
        *socket_context = NULL;
    }
}

/* Sets the connection's state: head arrived (1), or awaiting the next one from now on (0). */
static void mark(struct MHD_Connection *c, int head_done)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    wd_conn *w = ci != NULL ? ci->socket_context : NULL;
    if (w == NULL)
        return;
    pthread_mutex_lock(&wd.lock);
    w->head_done = head_done;
    if (!head_done)
        w->since = sp__now_ms();
    pthread_mutex_unlock(&wd.lock);
}

void mock_watchdog_head_done(struct MHD_Connection *c)
{
    mark(c, 1);
}

void mock_watchdog_rearm(struct MHD_Connection *c)
{
    mark(c, 0);
}
