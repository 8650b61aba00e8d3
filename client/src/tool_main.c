/*
 * streamput: upload FILE to URL with a raw HTTP/1.1 PUT, in constant memory.
 */
#include "streamput.h"
#include "sp_common.h"
#include "tool.h"

#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char usage[] =
    "Usage: streamput [OPTIONS] FILE URL\n"
    "Upload FILE (or - for standard input) to URL with HTTP PUT, streaming it in constant memory.\n"
    "Made for AList/OpenList's PUT /api/fs/put; works with any endpoint that takes a raw body.\n"
    "\n"
    "Request:\n"
    "  -p, --remote-path PATH   File-Path header (percent-encoded; default: /FILE's name)\n"
    "  -t, --token TOKEN        Authorization header (default: $STREAMPUT_TOKEN)\n"
    "  -T, --content-type TYPE  Content-Type (default: application/octet-stream)\n"
    "  -H, --header 'N: V'      extra header, repeatable; replaces a default, 'N:' removes it\n"
    "      --no-overwrite       send Overwrite: false (the server keeps an existing file)\n"
    "      --as-task            send As-Task: true (AList queues the upload as a task)\n"
    "      --no-last-modified   do not send the file's mtime as Last-Modified (ms)\n"
    "      --hash LIST          send X-File-Md5/Sha1/Sha256 for LIST of md5,sha1,sha256\n"
    "      --size SIZE          length of a stream (default: chunked encoding); input that\n"
    "                           ends early or runs past it fails, and nothing is stored\n"
    "\n"
    "Transfer:\n"
    "  -c, --chunk-size SIZE    bytes per read/send or sendfile call (default: 256K)\n"
    "  -e, --engine ENGINE      rw, sendfile or auto (default: auto = sendfile for files)\n"
    "      --limit-rate RATE    at most RATE bytes per second (e.g. 10M)\n"
    "      --connect-timeout T  (default: 10s)\n"
    "      --timeout T          for the whole upload (default: none)\n"
    "      --stall-timeout T    without any progress (default: 60s; 0 = none); it does not\n"
    "                           run while the server works on a body it has all received\n"
    "      --answer-timeout T   for the answer after the whole body was sent (default: none;\n"
    "                           AList may take minutes to pass a big file on to its storage)\n"
    "      --expect-timeout T   wait for 100 Continue (default: 1s)\n"
    "      --retry N            retry connection failures and 408/429/5xx N times (not\n"
    "                           after a whole body went out unanswered with --no-overwrite)\n"
    "      --retry-delay T      first back-off, doubled each retry (default: 1s)\n"
    "\n"
    "Output:\n"
    "  -v, --verbose            show request and response headers (token redacted)\n"
    "  -s, --silent             print nothing but errors\n"
    "      --progress           show the progress bar even when stderr is not a terminal\n"
    "      --no-progress        never show the progress bar\n"
    "  -h, --help               show this help\n"
    "  -V, --version            show the version\n"
    "\n"
    "SIZE and RATE take K, M, G, T suffixes (powers of 1024); T takes s, ms or m (default s).\n"
    "\n"
    "Exit codes:\n"
    "  0 success (see below)                                 6 HTTP status not 2xx\n"
    "  1 internal error (out of memory)                      7 API code other than 200\n"
    "  2 usage: bad option, URL or header                    8 malformed response\n"
    "  3 local file error                                    9 connection lost mid-transfer\n"
    "  4 name resolution or connection failed               10 interrupted\n"
    "  5 timeout\n"
    "Success is HTTP 2xx with AList's JSON answer and code 200 when the URL's path is an AList\n"
    "API route (/api/..., or .../api/fs/... under a site path); elsewhere any 2xx, with code 200\n"
    "if the body is JSON.\n";

enum {
    OPT_NO_OVERWRITE = 256,
    OPT_AS_TASK,
    OPT_NO_LAST_MODIFIED,
    OPT_HASH,
    OPT_SIZE,
    OPT_LIMIT_RATE,
    OPT_CONNECT_TIMEOUT,
    OPT_TIMEOUT,
    OPT_STALL_TIMEOUT,
    OPT_ANSWER_TIMEOUT,
    OPT_EXPECT_TIMEOUT,
    OPT_RETRY,
    OPT_RETRY_DELAY,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
};

static const struct option long_opts[] = {
    {"remote-path", required_argument, NULL, 'p'},
    {"token", required_argument, NULL, 't'},
    {"content-type", required_argument, NULL, 'T'},
    {"header", required_argument, NULL, 'H'},
    {"no-overwrite", no_argument, NULL, OPT_NO_OVERWRITE},
    {"as-task", no_argument, NULL, OPT_AS_TASK},
    {"no-last-modified", no_argument, NULL, OPT_NO_LAST_MODIFIED},
    {"hash", required_argument, NULL, OPT_HASH},
    {"size", required_argument, NULL, OPT_SIZE},
    {"chunk-size", required_argument, NULL, 'c'},
    {"engine", required_argument, NULL, 'e'},
    {"limit-rate", required_argument, NULL, OPT_LIMIT_RATE},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
    {"answer-timeout", required_argument, NULL, OPT_ANSWER_TIMEOUT},
    {"expect-timeout", required_argument, NULL, OPT_EXPECT_TIMEOUT},
    {"retry", required_argument, NULL, OPT_RETRY},
    {"retry-delay", required_argument, NULL, OPT_RETRY_DELAY},
    {"verbose", no_argument, NULL, 'v'},
    {"silent", no_argument, NULL, 's'},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Set from the SIGINT/SIGTERM handler; the progress callback turns it into a cancel. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct progress {
    int show;
    int64_t t0;
    int64_t last_draw;
    unsigned spin;
} progress;

/* Draws the progress bar at most five times a second; cancels on SIGINT/SIGTERM. */
static int on_progress(void *ud, uint64_t sent, uint64_t total)
{
    progress *pg = ud;
    if (interrupted)
        return 1;
    if (!pg->show)
        return 0;
    int64_t now = sp__now_ms();
    if (now - pg->last_draw < 200 && sent != total)
        return 0;
    pg->last_draw = now;
    double secs = (double)(now - pg->t0) / 1000.0;
    double rate = secs > 0 ? (double)sent / secs : 0;
    char done[32], speed[32];
    tool_format_bytes(sent, done, sizeof done);
    tool_format_bytes((uint64_t)rate, speed, sizeof speed);
    if (total == UINT64_MAX) {
        static const char spinner[] = "|/-\\";
        fprintf(stderr, "\r%c %s  %s/s   ", spinner[pg->spin++ % 4], done, speed);
    } else {
        char all[32], eta[32] = "--:--";
        tool_format_bytes(total, all, sizeof all);
        double pct = total > 0 ? 100.0 * (double)sent / (double)total : 100.0;
        if (rate > 0) {
            unsigned long left = (unsigned long)((double)(total - sent) / rate);
            snprintf(eta, sizeof eta, "%lu:%02lu", left / 60, left % 60);
        }
        int width = 30, fill = (int)(pct * width / 100.0);
        fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %s / %s  %s/s  ETA %s   ", fill,
                "##############################", width - fill, "", pct, done, all, speed, eta);
    }
    fflush(stderr);
    return 0;
}

/* -v output in curl's style; the Authorization value never reaches the terminal. */
static void on_debug(void *ud, sp_debug_kind kind, const char *text, size_t len)
{
    (void)ud;
    static const char marks[] = {'*', '>', '<'};
    if (kind == SP_DEBUG_HEADER_OUT && len >= 14 && strncasecmp(text, "Authorization:", 14) == 0) {
        fprintf(stderr, "> Authorization: <redacted>\n");
        return;
    }
    /* Whatever a server sends is shown escaped, never interpreted by the terminal. */
    char line[4096], shown[4096];
    snprintf(line, sizeof line, "%.*s", (int)len, text);
    fprintf(stderr, "%c %s\n", marks[kind], sp__printable(line, shown, sizeof shown));
}

/* Prints "streamput: MESSAGE" and the --help hint; arguments must already be printable. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "streamput: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'streamput --help' for more information.\n");
    return TOOL_EXIT_USAGE;
}

/* Applies one library option; a rejected value is a usage error with the library's detail. */
static int check(sp_client *c, int rc)
{
    if (rc != SP_OK)
        fprintf(stderr, "streamput: %s\n", sp_errmsg(c));
    return rc == SP_OK ? 0 : TOOL_EXIT_USAGE;
}

/* Parses a --*-timeout value into the setter; a usage error names the option. */
static int set_duration(sp_client *c, const char *opt, const char *arg,
                        int (*setter)(sp_client *, uint64_t))
{
    uint64_t ms;
    if (tool_parse_duration(arg, &ms) < 0)
        return usage_error("invalid duration for --%s (e.g. 10, 1.5s, 500ms)", opt);
    return check(c, setter(c, ms));
}

int main(int argc, char **argv)
{
    sp_client *c = sp_client_new();
    progress pg = {0};
    int verbose = 0, silent = 0, force_progress = -1;
    int remote_path_set = 0, token_set = 0;
    int rc = TOOL_EXIT_USAGE, opt, idx;
    uint64_t v;
    char arg[128]; /* optarg, escaped for messages */

    if (c == NULL) {
        fprintf(stderr, "streamput: out of memory\n");
        return TOOL_EXIT_INTERNAL;
    }
    while ((opt = getopt_long(argc, argv, "p:t:T:H:c:e:vshV", long_opts, &idx)) != -1) {
        int e = 0;
        if (optarg != NULL)
            sp__printable(optarg, arg, sizeof arg);
        switch (opt) {
        case 'p':
            e = check(c, sp_set_remote_path(c, optarg));
            remote_path_set = 1;
            break;
        case 't':
            e = check(c, sp_set_token(c, optarg));
            token_set = 1;
            break;
        case 'T':
            e = check(c, sp_set_content_type(c, optarg));
            break;
        case 'H':
            e = check(c, sp_add_header(c, optarg));
            break;
        case OPT_NO_OVERWRITE:
            sp_set_overwrite(c, 0);
            break;
        case OPT_AS_TASK:
            sp_set_as_task(c, 1);
            break;
        case OPT_NO_LAST_MODIFIED:
            sp_set_last_modified(c, 0);
            break;
        case OPT_HASH: {
            unsigned mask;
            e = tool_parse_hashes(optarg, &mask) < 0
                    ? usage_error("invalid --hash '%s' (use md5,sha1,sha256)", arg)
                    : check(c, sp_set_hashes(c, mask));
            break;
        }
        case OPT_SIZE:
            e = sp__parse_size(optarg, &v) < 0 ? usage_error("invalid --size '%s'", arg)
                                               : check(c, sp_set_size(c, v));
            break;
        case 'c':
            if (sp__parse_size(optarg, &v) < 0 || v == 0 || v > SIZE_MAX)
                e = usage_error("invalid --chunk-size '%s' (e.g. 1024, 64K, 1M)", arg);
            else
                e = check(c, sp_set_chunk_size(c, (size_t)v));
            break;
        case 'e':
            if (strcmp(optarg, "auto") == 0)
                sp_set_engine(c, SP_ENGINE_AUTO);
            else if (strcmp(optarg, "rw") == 0)
                sp_set_engine(c, SP_ENGINE_RW);
            else if (strcmp(optarg, "sendfile") == 0)
                sp_set_engine(c, SP_ENGINE_SENDFILE);
            else
                e = usage_error("invalid --engine '%s' (use rw, sendfile or auto)", arg);
            break;
        case OPT_LIMIT_RATE:
            e = sp__parse_size(optarg, &v) < 0 || v == 0
                    ? usage_error("invalid --limit-rate '%s' (e.g. 10M)", arg)
                    : check(c, sp_set_limit_rate(c, v));
            break;
        case OPT_CONNECT_TIMEOUT:
            e = set_duration(c, "connect-timeout", optarg, sp_set_connect_timeout_ms);
            break;
        case OPT_TIMEOUT:
            e = set_duration(c, "timeout", optarg, sp_set_timeout_ms);
            break;
        case OPT_STALL_TIMEOUT:
            e = set_duration(c, "stall-timeout", optarg, sp_set_stall_timeout_ms);
            break;
        case OPT_ANSWER_TIMEOUT:
            e = set_duration(c, "answer-timeout", optarg, sp_set_answer_timeout_ms);
            break;
        case OPT_EXPECT_TIMEOUT:
            e = set_duration(c, "expect-timeout", optarg, sp_set_expect_timeout_ms);
            break;
        case OPT_RETRY_DELAY:
            e = set_duration(c, "retry-delay", optarg, sp_set_retry_delay_ms);
            break;
        case OPT_RETRY:
            e = sp__parse_uint(optarg, 1000, &v) < 0
                    ? usage_error("invalid --retry '%s' (0 to 1000)", arg)
                    : check(c, sp_set_retry(c, (unsigned)v));
            break;
        case 'v':
            verbose = 1;
            break;
        case 's':
            silent = 1;
            break;
        case OPT_PROGRESS:
            force_progress = 1;
            break;
        case OPT_NO_PROGRESS:
            force_progress = 0;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = TOOL_EXIT_OK;
            goto out;
        case 'V':
            printf("streamput %s\n", SP_VERSION);
            rc = TOOL_EXIT_OK;
            goto out;
        default:
            fprintf(stderr, "Try 'streamput --help' for more information.\n");
            goto out;
        }
        if (e != 0)
            goto out;
    }
    if (argc - optind != 2) {
        usage_error("%s", argc - optind < 2 ? "expected FILE and URL" : "too many arguments");
        goto out;
    }
    const char *file = argv[optind], *url = argv[optind + 1];
    int from_stdin = strcmp(file, "-") == 0;

    const char *env_token = getenv("STREAMPUT_TOKEN");
    if (!token_set && env_token != NULL && *env_token != '\0' &&
        check(c, sp_set_token(c, env_token)) != 0)
        goto out;
    if (!remote_path_set && !from_stdin) {
        const char *base = strrchr(file, '/');
        base = base != NULL ? base + 1 : file;
        char path[4096];
        snprintf(path, sizeof path, "/%s", base);
        sp_set_remote_path(c, path);
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pg.show = !silent && (force_progress == 1 || (force_progress == -1 && isatty(2)));
    pg.t0 = sp__now_ms();
    sp_set_progress(c, on_progress, &pg);
    if (verbose && !silent)
        sp_set_debug(c, on_debug, NULL);

    int err = from_stdin ? sp_put_stream(c, 0, url) : sp_put_file(c, file, url);
    if (pg.show)
        fputc('\n', stderr);
    long status = 0, body_complete = 0, maybe_stored = 0;
    uint64_t sent = 0, answered = 0;
    sp_getinfo(c, SP_INFO_HTTP_STATUS, &status);
    sp_getinfo(c, SP_INFO_BODY_COMPLETE, &body_complete);
    sp_getinfo(c, SP_INFO_MAYBE_STORED, &maybe_stored);
    sp_getinfo(c, SP_INFO_BYTES_SENT, &sent);
    sp_getinfo(c, SP_INFO_RESPONSE_BYTES, &answered);
    if (err == SP_ECANCELED && interrupted && body_complete) {
        /* The server has the whole body: it may be storing the file right now. */
        fprintf(stderr,
                "streamput: interrupted after sending all %llu bytes, while waiting for the "
                "server's answer: the file may have been stored\n",
                (unsigned long long)sent);
        if (verbose && !silent && answered == 0)
            fprintf(stderr, "* no byte of the server's answer had arrived\n");
        else if (verbose && !silent)
            fprintf(stderr, "* %llu bytes of the server's answer had arrived, not all of it\n",
                    (unsigned long long)answered);
    } else if (err == SP_ECANCELED && interrupted && maybe_stored) {
        fprintf(stderr,
                "streamput: interrupted after %llu bytes; an earlier attempt had sent the whole "
                "body and got no answer: the file may have been stored\n",
                (unsigned long long)sent);
    } else if (err == SP_ECANCELED && interrupted) {
        /* Before the last byte the server cannot have a whole file to store. */
        fprintf(stderr, "streamput: interrupted after %llu bytes\n", (unsigned long long)sent);
    } else if (err != SP_OK)
        fprintf(stderr, "streamput: %s\n", sp_errmsg(c));
    else if (!silent) {
        const char *msg = "";
        double seconds = 0;
        sp_getinfo(c, SP_INFO_MESSAGE, &msg);
        sp_getinfo(c, SP_INFO_SECONDS, &seconds);
        char human[32], message[256];
        tool_format_bytes(sent, human, sizeof human);
        double mib_s = seconds > 0 ? (double)sent / 1048576.0 / seconds : 0;
        fprintf(stderr, "streamput: uploaded %llu bytes (%s) in %.3f s, %.1f MiB/s: HTTP %ld %s\n",
                (unsigned long long)sent, human, seconds, mib_s, status,
                sp__printable(msg, message, sizeof message));
    }
    rc = tool_exit_code(err);
out:
    sp_client_free(c);
    return rc;
}
