/*
 * Command-line options. Every mistake exits 2 with one clear line, as the issue asks, so a CI
 * script that starts the mock wrongly fails loudly instead of testing against the wrong server.
 */
#include "options.h"
#include "fault.h"
#include "sp_common.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: streamput-mock --root DIR [options]\n"
    "A constant-memory stand-in for AList/OpenList's PUT /api/fs/put: every body is streamed to\n"
    "a temp file next to its target and renamed into place only when complete and accepted.\n"
    "\n"
    "Server:\n"
    "  --listen HOST:PORT      address to bind (default 127.0.0.1:5244; port 0 picks a free\n"
    "                          one); the first stdout line names the real URL\n"
    "  --root DIR              directory that receives uploads (required); nothing outside it\n"
    "                          is ever touched, symlinks included\n"
    "  --max-connections N     concurrent connections (default 512)\n"
    "  --idle-timeout SECONDS  close a connection idle this long (default 120, 0: never)\n"
    "  --header-timeout SECONDS  close a connection whose request head takes longer to\n"
    "                          arrive, however it dribbles (default 30, 0: never)\n"
    "  --body-min-rate SIZE    close a connection whose body arrives slower than SIZE bytes\n"
    "                          per second (e.g. 500, 4K; default 500, 0: never): the body\n"
    "                          must be complete --body-grace seconds after its head, plus a\n"
    "                          second per SIZE bytes received; time the mock spends not\n"
    "                          reading (its faults, its disk) does not count\n"
    "  --body-grace SECONDS    how long a body may take before the rate applies (default 30)\n"
    "\n"
    "AList behaviour:\n"
    "  --token TOKEN           require Authorization: TOKEN (default: guest access)\n"
    "  --profile alist|openlist  body-length rules (default openlist): alist needs\n"
    "                          Content-Length; openlist also takes chunked bodies\n"
    "\n"
    "Checks beyond AList:\n"
    "  --max-body SIZE         refuse bodies larger than SIZE (e.g. 64M) with code 413\n"
    "  --verify-hash           check X-File-Md5/Sha1/Sha256 against the body; a mismatch is\n"
    "                          code 400 and stores nothing\n"
    "  --strict                refuse a multipart body on /api/fs/put (code 400)\n"
    "  --fsync                 fsync each file and its directory before answering\n"
    "\n"
    "Diagnostics:\n"
    "  --journal N             keep the last N requests for GET /_mock/requests (default 1000)\n"
    "  --journal-bytes SIZE    and at most SIZE bytes of them (default 16M); each recorded\n"
    "                          value is cut to 1 KiB and named in the entry's \"truncated\"\n"
    "  --log-format text|json  access log on stderr (default text)\n"
    "  --fault SPEC            inject faults into every upload\n"
    "  --allow-fault-header    let a request choose its faults with X-Mock-Fault: SPEC\n"
    "  --help                  show this help\n"
    "\n"
    "A fault SPEC is a comma-separated list of:\n"
    "  reset-after=BYTES       reset the connection (RST) once BYTES of body arrived\n"
    "  stall-after=BYTES:MS    stop reading for MS milliseconds once BYTES arrived\n"
    "  slow-read=BYTES_PER_SEC read the body no faster than this\n"
    "  delay-response=MS       wait MS milliseconds before answering\n"
    "  code=N                  answer with AList code N (HTTP 200)\n"
    "  status=N                answer with HTTP status N\n"
    "Failing faults (reset-after, code, status) store nothing; slowing faults store a complete\n"
    "body as usual.\n";

/* Prints "streamput-mock: <msg>" and a hint, and exits 2, as every option error does. */
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

static uint64_t number(const char *opt, const char *val, uint64_t max)
{
    uint64_t v;
    if (sp__parse_uint(val, max, &v) < 0)
        die_usage("%s needs a whole number up to %llu, not '%s'", opt, (unsigned long long)max,
                  val);
    return v;
}

/* Index of val among the two accepted words of opt; any other word is a usage error. */
static int one_of(const char *opt, const char *val, const char *w0, const char *w1)
{
    if (strcmp(val, w0) != 0 && strcmp(val, w1) != 0)
        die_usage("%s must be %s or %s, not '%s'", opt, w0, w1, val);
    return strcmp(val, w1) == 0;
}

enum {
    OPT_LISTEN = 256,
    OPT_ROOT,
    OPT_TOKEN,
    OPT_PROFILE,
    OPT_MAX_BODY,
    OPT_FSYNC,
    OPT_VERIFY_HASH,
    OPT_STRICT,
    OPT_JOURNAL,
    OPT_JOURNAL_BYTES,
    OPT_LOG_FORMAT,
    OPT_FAULT,
    OPT_ALLOW_FAULT_HEADER,
    OPT_MAX_CONNECTIONS,
    OPT_IDLE_TIMEOUT,
    OPT_HEADER_TIMEOUT,
    OPT_BODY_MIN_RATE,
    OPT_BODY_GRACE,
    OPT_HELP,
};

void mock_parse_options(int argc, char **argv, mock_config *cfg)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"root", required_argument, NULL, OPT_ROOT},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"fsync", no_argument, NULL, OPT_FSYNC},
        {"verify-hash", no_argument, NULL, OPT_VERIFY_HASH},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"journal", required_argument, NULL, OPT_JOURNAL},
        {"journal-bytes", required_argument, NULL, OPT_JOURNAL_BYTES},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"fault", required_argument, NULL, OPT_FAULT},
        {"allow-fault-header", no_argument, NULL, OPT_ALLOW_FAULT_HEADER},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
        {"body-min-rate", required_argument, NULL, OPT_BODY_MIN_RATE},
        {"body-grace", required_argument, NULL, OPT_BODY_GRACE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = "127.0.0.1:5244";
    cfg->journal = 1000;
    cfg->journal_bytes = 16u << 20;
    cfg->max_connections = 512;
    cfg->idle_timeout = 120;
    cfg->header_timeout = 30; /* as nginx's client_header_timeout, give or take */
    /*
     * Apache's mod_reqtimeout default is body=20,MinRate=500. The rate is kept, and the grace is
     * longer, the same as the head's, because clients under test pause more than browsers do
     * (a debugger, a client's own stall test): 30 s with no byte at all, or a pause of 2 s per
     * KiB already sent, is still allowed, while a dribbled body is cut within a minute.
     */
    cfg->body_min_rate = 500;
    cfg->body_grace = 30;
    mock_fault_init(&cfg->fault);
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
            if (*optarg == '\0')
                die_usage("--token must not be empty (leave it out for guest access)");
            cfg->token = optarg;
            cfg->token_len = strlen(optarg);
            break;
        case OPT_PROFILE:
            cfg->profile = one_of("--profile", optarg, "alist", "openlist") ? MOCK_PROFILE_OPENLIST
                                                                            : MOCK_PROFILE_ALIST;
            break;
        case OPT_MAX_BODY:
            if (sp__parse_size(optarg, &cfg->max_body) < 0 || cfg->max_body == 0)
                die_usage("--max-body needs a size such as 1048576 or 64M, not '%s'", optarg);
            break;
        case OPT_FSYNC:
            cfg->fsync = 1;
            break;
        case OPT_VERIFY_HASH:
            cfg->verify_hash = 1;
            break;
        case OPT_STRICT:
            cfg->strict = 1;
            break;
        case OPT_JOURNAL:
            cfg->journal = (size_t)number("--journal", optarg, 1000000);
            break;
        case OPT_JOURNAL_BYTES:
            if (sp__parse_size(optarg, &cfg->journal_bytes) < 0 || cfg->journal_bytes == 0)
                die_usage("--journal-bytes needs a size such as 1048576 or 16M, not '%s'", optarg);
            break;
        case OPT_LOG_FORMAT:
            cfg->log_format =
                one_of("--log-format", optarg, "text", "json") ? MOCK_LOG_JSON : MOCK_LOG_TEXT;
            break;
        case OPT_FAULT:
            if (mock_fault_parse(optarg, &cfg->fault, err, sizeof err) < 0)
                die_usage("--fault: %s", err);
            cfg->fault_spec = optarg;
            break;
        case OPT_ALLOW_FAULT_HEADER:
            cfg->allow_fault_header = 1;
            break;
        case OPT_MAX_CONNECTIONS:
            cfg->max_connections = (unsigned)number("--max-connections", optarg, 65536);
            if (cfg->max_connections == 0)
                die_usage("--max-connections must be at least 1");
            break;
        case OPT_IDLE_TIMEOUT:
            cfg->idle_timeout = (unsigned)number("--idle-timeout", optarg, 86400);
            break;
        case OPT_HEADER_TIMEOUT:
            cfg->header_timeout = (unsigned)number("--header-timeout", optarg, 86400);
            break;
        case OPT_BODY_MIN_RATE:
            if (sp__parse_size(optarg, &cfg->body_min_rate) < 0)
                die_usage("--body-min-rate needs a size in bytes per second such as 500 or 4K "
                          "(0: no minimum), not '%s'",
                          optarg);
            break;
        case OPT_BODY_GRACE:
            cfg->body_grace = (unsigned)number("--body-grace", optarg, 86400);
            break;
        case OPT_HELP:
            fputs(usage, stdout);
            exit(0);
        case ':':
            die_usage("option '%s' needs a value", argv[optind - 1]);
        default:
            die_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (cfg->root == NULL)
        die_usage("--root DIR is required");
}
