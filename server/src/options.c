/*
 * Command-line options. Every mistake exits 2 with one clear line, so a CI script that starts
 * the mock wrongly fails loudly instead of testing against the wrong server.
 *
 * One table (rows[]) describes every option: its row generates the getopt_long() array, its
 * lines of --help and the call that takes its value, so adding an option is adding a row.
 */
#include "options.h"
#include "fault.h"
#include "users.h"
#include "sp_common.h"

#include <getopt.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_head[] =
    "Usage: streamput-mock --root DIR [options]\n"
    "A constant-memory stand-in for AList/OpenList's PUT /api/fs/put: every body is streamed to\n"
    "a temp file next to its target and renamed into place only when complete and accepted.\n"
    "It also answers OpenList's /api/fs/get, list, mkdir and remove over --root, and serves its\n"
    "files, signed, at /d/PATH and /p/PATH (ranges included). A browser at /_mock/ shows a live\n"
    "dashboard: the journal, the uploads in flight and the multipart sessions.\n";

static const char usage_tail[] =
    "\n"
    "A fault SPEC is a comma-separated list of:\n"
    "  reset-after=BYTES       reset the connection (RST) once BYTES of body arrived\n"
    "  stall-after=BYTES:MS    stop reading for MS milliseconds once BYTES arrived\n"
    "  slow-read=BYTES_PER_SEC read the body no faster than this\n"
    "  delay-response=MS       wait MS milliseconds before answering\n"
    "  code=N                  answer with AList code N (HTTP 200)\n"
    "  status=N                answer with HTTP status N\n"
    "Failing faults (reset-after, code, status) store nothing; slowing faults store a complete\n"
    "body as usual. Multipart uploads take these instead, from --fault or from X-Mock-Fault on\n"
    "their init request, counted per session; each chunk fault fires on the chunk's first\n"
    "request only, so a retry gets through:\n"
    "  chunk-fail=N[:CODE]     answer chunk N with code CODE (default 400) after its body\n"
    "  chunk-reset=N:BYTES     reset the connection once BYTES of chunk N's body arrived\n"
    "  chunk-busy=K            answer the first K chunk requests 429 (out of the window)\n"
    "  chunk-busy-ms=MS        answer 429 to chunk requests within MS ms of the init\n"
    "  drop-after=N            the session vanishes once chunk N is in (then code 404)\n";

/* Where an option's help text starts in --help, after "  --name ARG" and at least two spaces. */
#define HELP_COLUMN 26

typedef struct opt_row opt_row;

/* Takes an option's value (NULL for a flag) into cfg, or exits 2 with a message. */
typedef void (*opt_set)(const opt_row *o, mock_config *cfg, const char *val);

/* What of an option's value is a secret, overwritten in argv once it is taken. */
enum { SECRET_NONE = 0, SECRET_ALL, SECRET_AFTER_NAME };

/* One option, or with name NULL a heading of --help. */
struct opt_row {
    const char *name; /* the long option without "--"; NULL: help is a heading */
    const char *arg;  /* the value's name in --help, NULL for an option without a value */
    opt_set set;
    size_t off, size;  /* the mock_config field the generic setters fill (CFG) */
    uint64_t min, max; /* the range set_number and set_size accept */
    const char *what;  /* set_size: what a good value looks like, for the message */
    const char *help;  /* the --help text; each '\n' starts an indented line */
    int secret;        /* SECRET_*: what of the value ps must not show */
};

#define CFG(field) offsetof(mock_config, field), sizeof(((mock_config *)0)->field)

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

/* Stores v into the row's field, which is an unsigned integer of 4 or 8 bytes. */
static void store_uint(const opt_row *o, mock_config *cfg, uint64_t v)
{
    char *field = (char *)cfg + o->off;
    if (o->size == sizeof(uint64_t)) {
        memcpy(field, &v, sizeof v);
    } else {
        unsigned u = (unsigned)v;
        memcpy(field, &u, sizeof u);
    }
}

static void set_string(const opt_row *o, mock_config *cfg, const char *val)
{
    memcpy((char *)cfg + o->off, &val, sizeof val);
}

static void set_flag(const opt_row *o, mock_config *cfg, const char *val)
{
    int one = 1;
    (void)val;
    memcpy((char *)cfg + o->off, &one, sizeof one);
}

/* A whole number from min to max. */
static void set_number(const opt_row *o, mock_config *cfg, const char *val)
{
    uint64_t v;
    if (sp__parse_uint(val, o->max, &v) < 0)
        die_usage("--%s needs a whole number up to %llu, not '%s'", o->name,
                  (unsigned long long)o->max, val);
    if (v < o->min)
        die_usage("--%s must be at least %llu", o->name, (unsigned long long)o->min);
    store_uint(o, cfg, v);
}

/* A size with an optional K/M/G suffix, at least min. */
static void set_size(const opt_row *o, mock_config *cfg, const char *val)
{
    uint64_t v;
    if (sp__parse_size(val, &v) < 0 || v < o->min)
        die_usage("--%s needs %s, not '%s'", o->name, o->what, val);
    store_uint(o, cfg, v);
}

/* Index of val among the two accepted words of the option; any other word is a usage error. */
static int one_of(const opt_row *o, const char *val, const char *w0, const char *w1)
{
    if (strcmp(val, w0) != 0 && strcmp(val, w1) != 0)
        die_usage("--%s must be %s or %s, not '%s'", o->name, w0, w1, val);
    return strcmp(val, w1) == 0;
}

static void set_token(const opt_row *o, mock_config *cfg, const char *val)
{
    (void)o;
    if (*val == '\0')
        die_usage("--token must not be empty (leave it out for guest access)");
    /* A copy: the value in argv is overwritten so that ps does not show it. */
    char *t = strdup(val);
    if (t == NULL)
        die_usage("out of memory");
    free((char *)cfg->token); /* the last --token wins */
    cfg->token = t;
    cfg->token_len = strlen(t);
}

/* --user, --users-file, --otp-secret: the users table's own parsers, one message each. */
static void set_user(const opt_row *o, mock_config *cfg, const char *val)
{
    char err[512];
    int rc = strcmp(o->name, "user") == 0         ? mock_users_add(cfg, val, err, sizeof err)
             : strcmp(o->name, "users-file") == 0 ? mock_users_file(cfg, val, err, sizeof err)
                                                  : mock_users_otp(cfg, val, err, sizeof err);
    if (rc < 0)
        die_usage("%s", err);
}

/* A number of hours with an optional fraction ("48", "0.5"), kept in milliseconds. */
static void set_hours(const opt_row *o, mock_config *cfg, const char *val)
{
    size_t digits = strspn(val, "0123456789"), dot = val[digits] == '.';
    size_t frac = dot ? strspn(val + digits + 1, "0123456789") : 0;
    double h = 0;
    if ((digits == 0 && frac == 0) || val[digits + dot + frac] != '\0' ||
        (h = strtod(val, NULL)) > (double)o->max)
        die_usage("--%s needs a number of hours up to %llu such as 48 or 0.5, not '%s'", o->name,
                  (unsigned long long)o->max, val);
    store_uint(o, cfg, (uint64_t)(h * 3600000.0 + 0.5));
}

static void set_profile(const opt_row *o, mock_config *cfg, const char *val)
{
    cfg->profile = one_of(o, val, "alist", "openlist") ? MOCK_PROFILE_OPENLIST : MOCK_PROFILE_ALIST;
}

static void set_log_format(const opt_row *o, mock_config *cfg, const char *val)
{
    cfg->log_format = one_of(o, val, "text", "json") ? MOCK_LOG_JSON : MOCK_LOG_TEXT;
}

static void set_fault(const opt_row *o, mock_config *cfg, const char *val)
{
    char err[256];
    (void)o;
    if (mock_fault_parse(val, &cfg->fault, err, sizeof err) < 0)
        die_usage("--fault: %s", err);
    cfg->fault_spec = val;
}

/*
 * The multipart chunk size: OpenList's setting multipart_chunk_size is a whole number of MB
 * (1 MiB each, handles/multipart.go:30), so the size must be one; 90M keeps a chunk request
 * under a 100 MB proxy limit.
 */
static void set_mp_chunk(const opt_row *o, mock_config *cfg, const char *val)
{
    uint64_t v;
    if (sp__parse_size(val, &v) < 0 || v < o->min || v > o->max || v % (1u << 20) != 0)
        die_usage("--%s needs %s, not '%s'", o->name, o->what, val);
    store_uint(o, cfg, v);
}

static void set_help(const opt_row *o, mock_config *cfg, const char *val);

static const opt_row rows[] = {
    {.help = "Server:"},
    {"listen", "HOST:PORT", set_string, CFG(listen),
     .help = "address to bind (default 127.0.0.1:5244; port 0 picks a free\n"
             "one); the first stdout line names the real URL"},
    {"root", "DIR", set_string, CFG(root),
     .help = "directory that receives uploads (required); nothing outside it\n"
             "is ever touched, symlinks included"},
    {"max-connections", "N", set_number, CFG(max_connections), 1, 65536,
     .help = "concurrent connections (default 512)"},
    {"idle-timeout", "SECONDS", set_number, CFG(idle_timeout), 0, 86400,
     .help = "close a connection idle this long (default 120, 0: never)"},
    {"header-timeout", "SECONDS", set_number, CFG(header_timeout), 0, 86400,
     .help = "close a connection whose request head takes longer to\n"
             "arrive, however it dribbles (default 30, 0: never)"},
    {"body-min-rate", "SIZE", set_size, CFG(body_min_rate), 0, 0,
     .what = "a size in bytes per second such as 500 or 4K (0: no minimum)",
     .help = "close a connection whose body arrives slower than SIZE bytes\n"
             "per second (e.g. 500, 4K; default 500, 0: never): the body\n"
             "must be complete --body-grace seconds after its head, plus a\n"
             "second per SIZE bytes received; time the mock spends not\n"
             "reading (its faults, its disk) does not count"},
    {"body-grace", "SECONDS", set_number, CFG(body_grace), 0, 86400,
     .help = "how long a body may take before the rate applies (default 30)"},
    {.help = "TLS (HTTPS on the same listener):"},
    {"tls-cert", "FILE", set_string, CFG(tls_cert),
     .help = "serve HTTPS with this PEM certificate (chain); needs --tls-key"},
    {"tls-key", "FILE", set_string, CFG(tls_key),
     .help = "the certificate's unencrypted PEM private key"},
    {"tls-self-signed", NULL, set_flag, CFG(tls_self_signed),
     .help = "serve HTTPS with a fresh EC P-256 key and a self-signed\n"
             "certificate for 127.0.0.1, ::1 and localhost, valid for a\n"
             "day; its SHA-256 fingerprint goes to stderr"},
    {"tls-cert-out", "FILE", set_string, CFG(tls_cert_out),
     .help = "write that certificate (PEM) to FILE, for a client's --cacert"},
    {.help = "AList behaviour:"},
    {"token", "TOKEN", set_token, CFG(token),
     .help = "require Authorization: TOKEN, the static admin token of\n"
             "OpenList's settings (default: guest access)",
     .secret = SECRET_ALL},
    {"no-sign", NULL, set_flag, CFG(no_sign),
     .help = "serve /d and /p without a sign (OpenList's sign_all off):\n"
             "fs/get and fs/list then give \"sign\": \"\" and a raw_url without\n"
             "?sign= (default: signed with --token, else a key made at start)"},
    {"profile", "alist|openlist", set_profile, CFG(profile),
     .help = "whose rules to follow (default openlist); alist means\n"
             "AList v3.45.0, which needs Content-Length; openlist\n"
             "also takes chunked bodies"},
    {.help = "Users and login (POST /api/auth/login, /api/auth/login/hash, GET /api/me,\n"
             "GET /api/auth/logout; tokens are HS256 JWTs signed with a key drawn per run):"},
    {"user", "NAME:PASSWORD", set_user, 0, 0,
     .help = "a user who may log in (repeatable); admin is OpenList's admin\n"
             "(id 1, role 2), any other name a general user (ids from 3,\n"
             "role 0, permission 136 = mkdir/upload and remove). With a\n"
             "user or --token the guest is disabled. ps shows argv before\n"
             "the mock overwrites it: prefer --users-file",
     .secret = SECRET_AFTER_NAME},
    {"users-file", "FILE", set_user, 0, 0,
     .help = "users from FILE, one NAME:PASSWORD a line ('#' comments)"},
    {"otp-secret", "NAME:BASE32", set_user, 0, 0,
     .help = "the user's 2FA secret: logins need its TOTP code (RFC 6238,\n"
             "30 s steps, 6 digits, one step of skew either way)",
     .secret = SECRET_AFTER_NAME},
    {"login-lock", "SECONDS", set_number, CFG(login_lock), 1, 86400,
     .help = "after 5 failed logins a client (X-Forwarded-For, X-Real-IP or\n"
             "its address) is refused with code 429 until SECONDS after its\n"
             "last try (default 300)"},
    {"token-expires", "HOURS", set_hours, CFG(token_expires_ms), 0, 100000,
     .help = "how long a login token is valid (default 48; a fraction such\n"
             "as 0.001 is 3.6 s)"},
    {.help = "Resumable multipart upload (OpenList's /api/fs/multipart/init, chunk, complete,\n"
             "status, abort; chunks are written at their offsets into one temp file beside\n"
             "the target, renamed into place by complete):"},
    {"no-multipart", NULL, set_flag, CFG(no_multipart),
     .help = "turn the setting multipart_enabled off: init answers code 403"},
    {"multipart-chunk-size", "SIZE", set_mp_chunk, CFG(mp_chunk_size), 1u << 20, 90u << 20,
     .what = "a whole number of MiB from 1M to 90M",
     .help = "the setting multipart_chunk_size: the largest chunk, which\n"
             "X-Chunk-Size may only lower (to 1M at least; default 10M)"},
    {"multipart-expiry", "SECONDS", set_number, CFG(mp_expiry), 1, 86400,
     .help = "a session and its temp file go this long after its last\n"
             "request (default 1800, OpenList's 30 minutes)"},
    {"multipart-window-wait", "SECONDS", set_number, CFG(mp_window_wait), 0, 3600,
     .help = "how long a chunk ahead of the 8-chunk window waits for room\n"
             "before code 429 (default 10, OpenList's WindowWaitTimeout)"},
    {.help = "Checks beyond AList:"},
    {"max-body", "SIZE", set_size, CFG(max_body), 1, 0, .what = "a size such as 1048576 or 64M",
     .help = "refuse bodies larger than SIZE (e.g. 64M) with code 413; a\n"
             "multipart chunk is one body, as behind a proxy's limit"},
    {"verify-hash", NULL, set_flag, CFG(verify_hash),
     .help = "check X-File-Md5/Sha1/Sha256 against the body; a mismatch is\n"
             "code 400 and stores nothing"},
    {"strict", NULL, set_flag, CFG(strict),
     .help = "refuse a multipart body on /api/fs/put (code 400)"},
    {"fsync", NULL, set_flag, CFG(fsync),
     .help = "fsync each file and its directory before answering"},
    {.help = "Diagnostics:"},
    {"journal", "N", set_number, CFG(journal), 0, 1000000,
     .help = "keep the last N requests for GET /_mock/requests (default 1000)"},
    {"journal-bytes", "SIZE", set_size, CFG(journal_bytes), 1, 0,
     .what = "a size such as 1048576 or 16M",
     .help = "and at most SIZE bytes of them (default 16M); each recorded\n"
             "value is cut to 1 KiB and named in the entry's \"truncated\""},
    {"log-format", "text|json", set_log_format, CFG(log_format),
     .help = "access log on stderr (default text)"},
    {"fault", "SPEC", set_fault, CFG(fault), .help = "inject faults into every upload"},
    {"allow-fault-header", NULL, set_flag, CFG(allow_fault_header),
     .help = "let a request choose its faults with X-Mock-Fault: SPEC"},
    {"help", NULL, set_help, 0, 0, .help = "show this help"},
};

#define NROWS (sizeof rows / sizeof rows[0])

/* getopt_long() returns this plus the row's index for an option. */
#define OPT_BASE 256

/* --help, generated from the rows: each option's name and value, its help in one column. */
static void print_usage(FILE *out)
{
    fputs(usage_head, out);
    for (size_t i = 0; i < NROWS; i++) {
        const opt_row *o = &rows[i];
        if (o->name == NULL) {
            fprintf(out, "\n%s\n", o->help);
            continue;
        }
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s%s", o->name, o->arg != NULL ? " " : "",
                 o->arg != NULL ? o->arg : "");
        /* A flag too long for the column gets a line of its own, its help below it. */
        if (strlen(flag) > HELP_COLUMN - 4)
            fprintf(out, "  %s\n%*s", flag, HELP_COLUMN, "");
        else
            fprintf(out, "  %-*s  ", HELP_COLUMN - 4, flag);
        for (const char *line = o->help;;) {
            size_t n = strcspn(line, "\n");
            fprintf(out, "%.*s\n", (int)n, line);
            if (line[n] == '\0')
                break;
            line += n + 1;
            fprintf(out, "%*s", HELP_COLUMN, "");
        }
    }
    fputs(usage_tail, out);
}

static void set_help(const opt_row *o, mock_config *cfg, const char *val)
{
    (void)o;
    (void)cfg;
    (void)val;
    print_usage(stdout);
    exit(0);
}

/* The defaults of every option that has one. */
static void set_defaults(mock_config *cfg)
{
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
    cfg->login_lock = 300;                       /* model.DefaultLockDuration */
    cfg->token_expires_ms = 48ull * 3600 * 1000; /* conf.Conf.TokenExpiresIn */
    mock_fault_init(&cfg->fault);
    cfg->mp_chunk_size = 10u << 20; /* the setting's default, 10 (MB) */
    cfg->mp_expiry = 1800;          /* multipart.defaultSessionTTL */
    cfg->mp_window_wait = 10;       /* multipart.WindowWaitTimeout */
}

/*
 * Overwrites a secret in argv, the memory /proc/PID/cmdline (and so ps) reads, as daemons that
 * take a password on the command line do. Only what follows the name is hidden for
 * SECRET_AFTER_NAME, so ps still says whose it is.
 */
static void hide(char *val, int how)
{
    char *p = val;
    if (how == SECRET_AFTER_NAME) {
        p = strchr(val, ':');
        if (p == NULL)
            return;
        p++;
    }
    for (; *p != '\0'; p++)
        *p = '*';
}

void mock_parse_options(int argc, char **argv, mock_config *cfg)
{
    static struct option longopts[NROWS + 1];
    size_t n = 0;
    for (size_t i = 0; i < NROWS; i++)
        if (rows[i].name != NULL)
            longopts[n++] =
                (struct option){rows[i].name, rows[i].arg != NULL ? required_argument : no_argument,
                                NULL, OPT_BASE + (int)i};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    set_defaults(cfg);
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (o == ':')
            die_usage("option '%s' needs a value", argv[optind - 1]);
        if (o < OPT_BASE || o >= OPT_BASE + (int)NROWS)
            die_usage("unknown option '%s'", argv[optind - 1]);
        const opt_row *row = &rows[o - OPT_BASE];
        row->set(row, cfg, optarg);
        if (row->secret != SECRET_NONE)
            hide(optarg, row->secret);
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (cfg->root == NULL)
        die_usage("--root DIR is required");
    if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL))
        die_usage("--tls-cert and --tls-key go together: give both or neither");
    if (cfg->tls_self_signed && cfg->tls_cert != NULL)
        die_usage("--tls-self-signed and --tls-cert exclude each other");
    if (cfg->tls_cert_out != NULL && !cfg->tls_self_signed)
        die_usage("--tls-cert-out needs --tls-self-signed");
    char err[512];
    if (mock_users_finish(cfg, err, sizeof err) < 0)
        die_usage("%s", err);
}

void mock_options_free(mock_config *cfg)
{
    if (cfg->users != NULL)
        OPENSSL_cleanse(cfg->users, cfg->nusers * sizeof *cfg->users);
    free(cfg->users);
    cfg->users = NULL;
    free((char *)cfg->token);
    cfg->token = NULL;
}
