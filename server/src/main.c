/*
 * streamput-mock: a constant-memory stand-in for AList/OpenList's PUT /api/fs/put.
 * main() parses the options, opens the root, starts libmicrohttpd and waits for SIGINT/SIGTERM.
 */
#include "auth.h"
#include "config.h"
#include "events.h"
#include "handler.h"
#include "journal.h"
#include "multipart.h"
#include "options.h"
#include "sign.h"
#include "sleep.h"
#include "storage.h"
#include "tls.h"
#include "watchdog.h"
#include "sp_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/*
 * Per-connection memory: MHD's pool holds the headers, the read buffer and the response, and the
 * read buffer bounds each upload_data piece, i.e. the size of each write(2) to disk. Measured on
 * loopback with curl -T of 1 GiB (2 cores, RelWithDebInfo), mock CPU per GiB and VmHWM growth
 * over the 4 KiB-body baseline:
 *   256 KiB: 0.65 s, ~124 KiB per write, +120 KiB
 *   512 KiB: 0.48 s, ~250 KiB per write, +250 KiB
 *     1 MiB: 0.35 s, ~440 KiB per write, +750 KiB
 * 512 KiB keeps well inside the memory budget (peak <= 4 KiB-body RSS + 1 MiB) and bounds 256
 * busy connections at 128 MiB. Against nginx's dav PUT on the same loop (7 alternating runs,
 * medians): 1.01 s vs 1.60 s wall and 0.47 s vs 1.09 s server CPU per GiB. Override with
 * -DMOCK_CONN_MEMORY=... to repeat the measurement.
 */
#ifndef MOCK_CONN_MEMORY
#define MOCK_CONN_MEMORY (512 * 1024)
#endif
#define MOCK_CONN_INCREMENT (16 * 1024)
/* The handlers are shallow: a small stack keeps 256 threads cheap. */
#define MOCK_THREAD_STACK (256 * 1024)

/*
 * Splits HOST:PORT (or [V6]:PORT) and resolves it numerically into *ss. host receives the
 * printable host as written, for the start-up line. Returns 0 or -1.
 */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, char *host, size_t hostsz)
{
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || colon[1] == '\0')
        return -1;
    const char *h = spec;
    size_t hlen = (size_t)(colon - spec);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    uint64_t port;
    if (hlen == 0 || hlen >= hostsz || sp__parse_uint(colon + 1, 65535, &port) < 0)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, NULL, &hints, &ai) != 0)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    return 0;
}

/*
 * Each connection may hold a socket, a temp file and a directory fd; the soft limit of 1024 would
 * cap concurrency well below --max-connections, so take what the hard limit allows.
 */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/*
 * libmicrohttpd's own error messages, through the access log's writer so that --log-format json
 * stays one JSON object per line. The handler returns MHD_NO only on purpose (a reset-after
 * fault, an answer sent mid-body, no memory), each already journaled with its reason, so MHD's
 * generic line for it would only mislead a reader into looking for a server bug.
 */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (strncmp(msg, "Application reported internal error", 35) == 0)
        return;
    mock_warn("libmicrohttpd: %s", msg);
}

/*
 * Opens --root, the directory fd every path is resolved beneath, and removes the temp files a
 * crashed run left in it. Returns 0, or -1 with a message on stderr.
 */
static int open_root(mock_server *srv)
{
    srv->rootfd = open(srv->cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (srv->rootfd < 0) {
        fprintf(stderr, "streamput-mock: --root %s: %s\n", srv->cfg.root, strerror(errno));
        return -1;
    }
    int stale = mock_store_remove_stale(srv->rootfd);
    if (stale > 0)
        fprintf(stderr, "streamput-mock: removed %d stale temp file(s)\n", stale);
    return 0;
}

/*
 * SIGINT and SIGTERM are blocked before MHD starts its threads, so they inherit the mask and
 * only main()'s sigwait() ever sees the signals; sigs receives the set to wait for.
 */
static void block_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /*
     * Under a file size limit (ulimit -f, RLIMIT_FSIZE) a write past it raises SIGXFSZ, whose
     * default action kills the whole server mid-upload and leaves the temp file behind. Ignored,
     * the write fails with EFBIG and only that upload gets an error.
     */
    signal(SIGXFSZ, SIG_IGN);
}

/*
 * Starts libmicrohttpd on ss, or returns NULL.
 *
 * Thread per connection: every body piece is written to disk synchronously, and in a shared
 * epoll thread a blocking write (or a fault's sleep) would stall every other upload on that
 * thread. Measured against MHD_USE_EPOLL_INTERNAL_THREAD with a pool of 4 threads: one 1 GiB
 * upload 0.37 s vs 0.45 s wall, eight parallel 256 MiB uploads 5.1 s vs 4.7 s wall but
 * 2.3 s vs 3.0 s of mock CPU; no throughput reason to give up the simpler model, in which a
 * fault simply sleeps in its own handler (MHD 0.9.75 cannot suspend connections in this
 * mode, and need not). poll() rather than select() so descriptors above 1023 work.
 */
static struct MHD_Daemon *start_daemon(mock_server *srv, const struct sockaddr_storage *ss,
                                       const mock_tls *tls)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /*
     * With a certificate, MHD speaks TLS itself on every connection of the same listener; the
     * handshake runs in the connection's own thread before the head, so the watchdog's
     * --header-timeout, which starts at accept, bounds a stalled handshake too. One cost of the
     * thread per connection that no option here removes: GnuTLS before 3.8.0 gives each thread
     * that draws random bytes its own generator state and frees those only at exit: 224 bytes
     * (the state and its list entry) for every TLS connection whose handshake got under way
     * (test_hostile_tls and the soak measure it).
     */
    struct MHD_OptionItem tls_opts[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert},
                                        {MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key},
                                        {MHD_OPTION_END, 0, NULL}};
    if (tls->cert != NULL)
        flags |= MHD_USE_TLS;
    else
        tls_opts[0].option = MHD_OPTION_END;
    /* The logger comes first, so that every message of MHD's goes through it. */
    return MHD_start_daemon(flags, 0, NULL, NULL, mock_handle, srv, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ss, MHD_OPTION_NOTIFY_COMPLETED,
                            mock_completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)MOCK_CONN_MEMORY, MHD_OPTION_CONNECTION_MEMORY_INCREMENT,
                            (size_t)MOCK_CONN_INCREMENT, MHD_OPTION_THREAD_STACK_SIZE,
                            (size_t)MOCK_THREAD_STACK, MHD_OPTION_CONNECTION_LIMIT,
                            srv->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                            srv->cfg.idle_timeout, MHD_OPTION_NOTIFY_CONNECTION,
                            mock_watchdog_notify, NULL, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
}

/* The first stdout line: the URL with the port really bound, which tests read back. */
static void announce(struct MHD_Daemon *d, const char *host, int tls)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int v6 = strchr(host, ':') != NULL;
    printf("streamput-mock listening on %s://%s%s%s:%u/\n", tls ? "https" : "http", v6 ? "[" : "",
           host, v6 ? "]" : "", info != NULL ? info->port : 0);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    mock_server srv = {.rootfd = -1};
    mock_tls tls = {0};
    struct MHD_Daemon *d = NULL;
    struct sockaddr_storage ss;
    char host[128];
    sigset_t sigs;
    int rc = 1, sig;

    mock_parse_options(argc, argv, &srv.cfg);
    if (parse_listen(srv.cfg.listen, &ss, host, sizeof host) < 0) {
        fprintf(stderr, "streamput-mock: --listen needs HOST:PORT with a numeric host, not '%s'\n",
                srv.cfg.listen);
        mock_options_free(&srv.cfg);
        return 2;
    }
    if ((rc = mock_tls_setup(&srv.cfg, &tls)) != 0) {
        mock_options_free(&srv.cfg);
        return rc;
    }
    rc = 1;
    if (mock_auth_init() < 0) {
        fprintf(stderr, "streamput-mock: no random bytes for the token signing key\n");
        goto out;
    }
    if (mock_journal_init(srv.cfg.journal, srv.cfg.journal_bytes, srv.cfg.log_format) < 0) {
        fprintf(stderr, "streamput-mock: out of memory for --journal %zu\n", srv.cfg.journal);
        goto out;
    }
    raise_fd_limit();
    if (open_root(&srv) < 0)
        goto out;
    if (mock_sign_init(&srv) < 0) {
        fprintf(stderr, "streamput-mock: no random bytes for the sign key\n");
        goto out;
    }
    /* The fs routes write times in the local zone, as Go does: TZ is read once, now. */
    tzset();
    block_signals(&sigs);
    if (mock_watchdog_start(srv.cfg.header_timeout, srv.cfg.body_min_rate, srv.cfg.body_grace) <
        0) {
        fprintf(stderr, "streamput-mock: cannot start the --header-timeout and --body-min-rate "
                        "watchdog\n");
        goto out;
    }
    if (mock_mp_start(&srv) < 0) {
        fprintf(stderr, "streamput-mock: cannot start the multipart sessions' expiry thread\n");
        goto out;
    }
    if ((d = start_daemon(&srv, &ss, &tls)) == NULL) {
        fprintf(stderr, "streamput-mock: cannot listen on %s\n", srv.cfg.listen);
        goto out;
    }
    announce(d, host, tls.cert != NULL);
    while (sigwait(&sigs, &sig) != 0) {
    }
    rc = 0;
out:
    /* Sleeping faults end first, so MHD can join every connection thread promptly. */
    mock_stop_sleepers();
    /* The dashboard's streams end too: each holds its connection's thread while it waits. */
    mock_events_stop();
    /* Every multipart session ends now: no chunk waits out its window, no temp file stays. */
    mock_mp_stop();
    if (d != NULL)
        MHD_stop_daemon(d);
    mock_watchdog_stop();
    mock_journal_free();
    mock_tls_free(&tls);
    if (srv.rootfd >= 0)
        close(srv.rootfd);
    mock_options_free(&srv.cfg);
    return rc;
}
