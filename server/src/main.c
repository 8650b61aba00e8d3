/*
 * streamput-mock: a constant-memory stand-in for AList/OpenList's PUT /api/fs/put.
 * main() parses the options, opens the root, starts libmicrohttpd and waits for SIGINT/SIGTERM.
 */
#include "mock.h"
#include "sp_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: streamput-mock --root DIR [options]\n"
    "A stand-in for AList/OpenList's PUT /api/fs/put that streams bodies to disk.\n"
    "\n"
    "  --listen HOST:PORT     address to bind (default 127.0.0.1:5244; port 0 picks a free one)\n"
    "  --root DIR             directory that receives uploads (required)\n"
    "  --token TOKEN          require Authorization: TOKEN (default: guest access)\n"
    "  --profile alist|openlist  body-length rules to follow (default openlist)\n"
    "  --help                 show this help\n";

/* Prints "streamput-mock: <msg>" and the usage hint, and exits 2, as every option error does. */
__attribute__((format(printf, 1, 2), noreturn)) static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("streamput-mock: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'streamput-mock --help'.\n", stderr);
    exit(2);
}

enum { OPT_LISTEN = 256, OPT_ROOT, OPT_TOKEN, OPT_PROFILE, OPT_HELP };

static void parse_options(int argc, char **argv, mock_config *cfg)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"root", required_argument, NULL, OPT_ROOT},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    cfg->listen = "127.0.0.1:5244";
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case OPT_LISTEN:
            cfg->listen = optarg;
            break;
        case OPT_ROOT:
            cfg->root = optarg;
            break;
        case OPT_TOKEN:
            cfg->token = optarg;
            cfg->token_len = strlen(optarg);
            break;
        case OPT_PROFILE:
            if (strcmp(optarg, "alist") == 0)
                cfg->profile = MOCK_PROFILE_ALIST;
            else if (strcmp(optarg, "openlist") == 0)
                cfg->profile = MOCK_PROFILE_OPENLIST;
            else
                die_usage("--profile must be alist or openlist, not '%s'", optarg);
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            exit(0);
        case ':':
            die_usage("option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            die_usage("unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (cfg->root == NULL)
        die_usage("%s", "--root DIR is required");
}

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

int main(int argc, char **argv)
{
    mock_server srv = {.rootfd = -1};
    struct MHD_Daemon *d = NULL;
    int rc = 1;
    parse_options(argc, argv, &srv.cfg);

    struct sockaddr_storage ss;
    char host[128];
    if (parse_listen(srv.cfg.listen, &ss, host, sizeof host) < 0)
        die_usage("--listen needs HOST:PORT with a numeric host, not '%s'", srv.cfg.listen);

    srv.rootfd = open(srv.cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (srv.rootfd < 0) {
        fprintf(stderr, "streamput-mock: --root %s: %s\n", srv.cfg.root, strerror(errno));
        goto out;
    }
    int stale = mock_store_remove_stale(srv.rootfd);
    if (stale > 0)
        fprintf(stderr, "streamput-mock: removed %d stale temp file(s)\n", stale);

    /*
     * SIGINT and SIGTERM are blocked before MHD starts its threads, so they inherit the mask and
     * only sigwait() below ever sees the signals.
     */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(flags, 0, NULL, NULL, mock_handle, &srv, MHD_OPTION_SOCK_ADDR, &ss,
                         MHD_OPTION_NOTIFY_COMPLETED, mock_completed, &srv,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "streamput-mock: cannot listen on %s\n", srv.cfg.listen);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int v6 = strchr(host, ':') != NULL;
    printf("streamput-mock listening on http://%s%s%s:%u/\n", v6 ? "[" : "", host, v6 ? "]" : "",
           info != NULL ? info->port : 0);
    fflush(stdout);

    int sig;
    while (sigwait(&sigs, &sig) != 0) {
    }
    rc = 0;
out:
    if (d != NULL)
        MHD_stop_daemon(d);
    if (srv.rootfd >= 0)
        close(srv.rootfd);
    return rc;
}
