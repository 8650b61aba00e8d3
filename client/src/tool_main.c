/*
 * streamput: upload FILE to URL with a raw HTTP/1.1 PUT, in constant memory; or several SOURCEs
 * (files, standard input, trees with -r) through --parallel lanes, a handle and a kept connection
 * each; or, as
 * "streamput login URL -u NAME", log in and print the token.
 */
#include "streamput.h"
#include "sp_common.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fts.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Set from the SIGINT/SIGTERM handler; the progress callback turns it into a cancel. A multipart
 * upload's lanes run the callback in threads of their own, where a volatile sig_atomic_t is a
 * data race: a lock-free atomic serves both a handler and other threads (C11 7.14.1.1).
 */
static atomic_int interrupted;

static void on_signal(int sig)
{
    int saved = errno; /* the interrupted thread may be about to read it */
    (void)sig;
    atomic_store(&interrupted, 1);
    errno = saved;
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

/* What the command line asked for besides the library's options. */
typedef struct cli {
    sp_client *c;
    int verbose, silent;
    int progress; /* 1 --progress, 0 --no-progress, -1 only on a terminal */
    int remote_path_set, token_set;
    int auth_header;           /* -H set an Authorization line */
    const char *user;          /* -u NAME */
    const char *password_file; /* --password-file FILE */
    int otp;                   /* --otp given */
    int login;                 /* "streamput login URL": print the token, upload nothing */
    int recursive;             /* -r: a directory SOURCE uploads the tree beneath it */
    int dereference;           /* -L: follow symbolic links met in a walk */
    int keep_going;            /* --keep-going: a failed file does not stop the batch */
    const char *remote_dir;    /* --remote-dir DIR, or NULL */
    int skip_existing;         /* --skip-existing: ask the server first, skip what it has */
    const char *summary_json;  /* --summary-json FILE ("-": stdout), or NULL */
    unsigned parallel;         /* --parallel N: files uploading at once in a batch */
    unsigned chunks;           /* --parallel-chunks N, as given to the library */
    int done;                  /* --help or --version answered: exit 0 without uploading */
} cli;

typedef struct tool_opt tool_opt;

/*
 * Applies one option: arg is its argument (NULL for none) and shown the same escaped for
 * messages. Returns 0, or the exit code to stop with.
 */
typedef int (*opt_fn)(cli *cl, const tool_opt *o, const char *arg, const char *shown);

/* One row of the option table: what getopt_long, --help and the dispatch are all made from. */
struct tool_opt {
    const char *section; /* the --help heading the option is listed under */
    const char *name;    /* the long name, without "--" */
    char letter;         /* the short option, or 0 */
    const char *arg;     /* the argument's name in --help; NULL takes none */
    const char *help;    /* its --help text; a '\n' continues it on the next line */
    opt_fn fn;
    /* The library setter the handler calls, of the kind the handler knows. */
    union {
        int (*str)(sp_client *, const char *);
        int (*flag)(sp_client *, int);
        int (*u64)(sp_client *, uint64_t);
    } set;
    int value; /* opt_flag: what it passes; opt_size: 1 if zero is refused; opt_switch: the field */
    const char *hint; /* opt_size: the example given when a value is invalid */
};

static int opt_string(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    return check(cl->c, o->set.str(cl->c, arg));
}

/* The File-Path and the token also stop their defaults (the file's name, $STREAMPUT_TOKEN). */
static int opt_remote_path(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    cl->remote_path_set = 1;
    return opt_string(cl, o, arg, shown);
}

/* An option without an argument that sets one of cli's int fields, at offset o->value, to 1. */
static int opt_switch(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    *(int *)((char *)cl + o->value) = 1;
    return 0;
}

static int opt_remote_dir(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    cl->remote_dir = arg;
    return 0;
}

static int opt_summary_json(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    if (*arg == '\0')
        return usage_error("--summary-json: empty file name");
    cl->summary_json = arg;
    return 0;
}

static int opt_token(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    cl->token_set = 1;
    return opt_string(cl, o, arg, shown);
}

/* A -H line for Authorization is a token too, which a login would contradict. */
static int opt_header(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    if (strncasecmp(arg, "Authorization:", 14) == 0)
        cl->auth_header = 1;
    return opt_string(cl, o, arg, shown);
}

/*
 * -u NAME. curl's "-u name:password" is refused: the command line of a process can be read by
 * every user of the host. The password is blanked from this process's argv first, so that
 * /proc/PID/cmdline no longer shows it, though it was visible until then.
 */
static int opt_user(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    char *colon = strchr(arg, ':');
    if (colon != NULL) {
        explicit_bzero(colon + 1, strlen(colon + 1));
        return usage_error("-u takes the user name alone, not NAME:PASSWORD: a password on the "
                           "command line can be read by every user of this host (ps, "
                           "/proc/PID/cmdline). Give it with --password-file FILE or "
                           "STREAMPUT_PASSWORD, or type it at the prompt");
    }
    if (*arg == '\0')
        return usage_error("-u: empty user name");
    cl->user = arg;
    return 0;
}

static int opt_password_file(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    cl->password_file = arg;
    return 0;
}

static int opt_otp(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    cl->otp = 1;
    return opt_string(cl, o, arg, shown);
}

static int opt_flag(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    return check(cl->c, o->set.flag(cl->c, o->value));
}

static int opt_size(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    uint64_t v;
    if (sp__parse_size(arg, &v) < 0 || (o->value && v == 0))
        return usage_error("invalid --%s '%s'%s", o->name, shown, o->hint);
    return check(cl->c, o->set.u64(cl->c, v));
}

static int opt_chunk_size(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    uint64_t v;
    if (sp__parse_size(arg, &v) < 0 || v == 0 || v > SIZE_MAX)
        return usage_error("invalid --chunk-size '%s' (e.g. 1024, 64K, 1M)", shown);
    return check(cl->c, sp_set_chunk_size(cl->c, (size_t)v));
}

/* A --*-timeout or --retry-delay value; a usage error names the option. */
static int opt_duration(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    uint64_t ms;
    if (tool_parse_duration(arg, &ms) < 0)
        return usage_error("invalid duration for --%s (e.g. 10, 1.5s, 500ms)", o->name);
    return check(cl->c, o->set.u64(cl->c, ms));
}

static int opt_hash(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    unsigned mask;
    if (tool_parse_hashes(arg, &mask) < 0)
        return usage_error("invalid --hash '%s' (use md5,sha1,sha256)", shown);
    return check(cl->c, sp_set_hashes(cl->c, mask));
}

static int opt_engine(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    static const struct {
        const char *name;
        sp_engine engine;
    } engines[] = {
        {"auto", SP_ENGINE_AUTO}, {"rw", SP_ENGINE_RW}, {"sendfile", SP_ENGINE_SENDFILE}};
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
        if (strcmp(arg, engines[i].name) == 0)
            return check(cl->c, sp_set_engine(cl->c, engines[i].engine));
    return usage_error("invalid --engine '%s' (use rw, sendfile or auto)", shown);
}

static int opt_multipart(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    static const struct {
        const char *name;
        sp_multipart mode;
    } modes[] = {{"auto", SP_MULTIPART_AUTO},
                 {"always", SP_MULTIPART_ALWAYS},
                 {"never", SP_MULTIPART_NEVER}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(arg, modes[i].name) == 0)
            return check(cl->c, sp_set_multipart(cl->c, modes[i].mode));
    return usage_error("invalid --multipart '%s' (use auto, always or never)", shown);
}

static int opt_parallel(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    uint64_t v;
    if (sp__parse_uint(arg, 8, &v) < 0 || v == 0)
        return usage_error("invalid --parallel-chunks '%s' (1 to 8)", shown);
    cl->chunks = (unsigned)v;
    return check(cl->c, sp_set_parallel_chunks(cl->c, (unsigned)v));
}

/* The most files a batch uploads at once: a thread and a connection each. */
#define PARALLEL_MAX 64

static int opt_parallel_files(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    uint64_t v;
    if (sp__parse_uint(arg, PARALLEL_MAX, &v) < 0 || v == 0)
        return usage_error("invalid --parallel '%s' (1 to %d)", shown, PARALLEL_MAX);
    cl->parallel = (unsigned)v;
    return 0;
}

static int opt_retry(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    uint64_t v;
    if (sp__parse_uint(arg, 1000, &v) < 0)
        return usage_error("invalid --retry '%s' (0 to 1000)", shown);
    return check(cl->c, sp_set_retry(cl->c, (unsigned)v));
}

static int opt_progress(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    cl->progress = o->value;
    return 0;
}

static int opt_help(cli *cl, const tool_opt *o, const char *arg, const char *shown);

static int opt_version(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    printf("streamput %s\n", SP_VERSION);
    cl->done = 1;
    return 0;
}

#define REQUEST  "Request"
#define TRANSFER "Transfer"
#define TLS      "TLS (https:// URLs)"
#define OUTPUT   "Output"

/* Every option, in --help's order. Adding an option is adding a row (and its handler if new). */
static const tool_opt options[] = {
    {REQUEST, "remote-path", 'p', "PATH",
     "File-Path header for one FILE (percent-encoded; default:\n/FILE's name)",
     .fn = opt_remote_path, .set.str = sp_set_remote_path},
    {REQUEST, "remote-dir", 0, "DIR",
     "upload the SOURCEs under DIR (default: /); with several\n"
     "SOURCEs, -r or this option, a URL whose path ends in '/'\n"
     "gets each name appended instead of a File-Path",
     .fn = opt_remote_dir},
    {REQUEST, "token", 't', "TOKEN", "Authorization header (default: $STREAMPUT_TOKEN)",
     .fn = opt_token, .set.str = sp_set_token},
    {REQUEST, "user", 'u', "NAME",
     "log in as NAME (AList/OpenList) and upload with its token;\n"
     "the password: --password-file, $STREAMPUT_PASSWORD or a prompt",
     .fn = opt_user},
    {REQUEST, "password-file", 0, "FILE", "read -u's password from the first line of FILE",
     .fn = opt_password_file},
    {REQUEST, "otp", 0, "CODE", "the current two-factor code for -u's login", .fn = opt_otp,
     .set.str = sp_set_otp},
    {REQUEST, "content-type", 'T', "TYPE", "Content-Type (default: application/octet-stream)",
     .fn = opt_string, .set.str = sp_set_content_type},
    {REQUEST, "header", 'H', "'N: V'",
     "extra header, repeatable; replaces a default, 'N:' removes it", .fn = opt_header,
     .set.str = sp_add_header},
    {REQUEST, "no-overwrite", 0, NULL, "send Overwrite: false (the server keeps an existing file)",
     .fn = opt_flag, .set.flag = sp_set_overwrite, .value = 0},
    {REQUEST, "as-task", 0, NULL, "send As-Task: true (AList queues the upload as a task)",
     .fn = opt_flag, .set.flag = sp_set_as_task, .value = 1},
    {REQUEST, "no-last-modified", 0, NULL, "do not send the file's mtime as Last-Modified (ms)",
     .fn = opt_flag, .set.flag = sp_set_last_modified, .value = 0},
    {REQUEST, "hash", 0, "LIST", "send X-File-Md5/Sha1/Sha256 for LIST of md5,sha1,sha256",
     .fn = opt_hash},
    {REQUEST, "size", 0, "SIZE",
     "length of a stream (default: chunked encoding); input that\n"
     "ends early or runs past it fails, and nothing is stored",
     .fn = opt_size, .set.u64 = sp_set_size, .hint = ""},

    {TRANSFER, "recursive", 'r', NULL,
     "upload a directory SOURCE's tree; 'DIR/' uploads what is\n"
     "inside DIR, 'DIR' DIR itself (rsync's rule)",
     .fn = opt_switch, .value = offsetof(cli, recursive)},
    {TRANSFER, "dereference", 'L', NULL,
     "follow symbolic links in a tree (default: skip them; a\n"
     "SOURCE named on the command line is always followed)",
     .fn = opt_switch, .value = offsetof(cli, dereference)},
    {TRANSFER, "keep-going", 0, NULL,
     "after a failed file, go on with the others (default: stop);\n"
     "the exit code is still the first failure's",
     .fn = opt_switch, .value = offsetof(cli, keep_going)},
    {TRANSFER, "skip-existing", 0, NULL,
     "before each file ask the server (/api/fs/get) and skip it\n"
     "when it has a file of that size (and, with --hash, digest\n"
     "the server reports); standard input is always uploaded",
     .fn = opt_switch, .value = offsetof(cli, skip_existing)},
    {TRANSFER, "parallel", 0, "N",
     "files of a batch uploading at once, each lane with its own\n"
     "kept connection (1-64, default 4); a lane's multipart upload\n"
     "gets at most 64/N chunk lanes: 64 upload threads at most;\n"
     "--limit-rate holds for each lane",
     .fn = opt_parallel_files},
    {TRANSFER, "chunk-size", 'c', "SIZE", "bytes per read/send or sendfile call (default: 256K)",
     .fn = opt_chunk_size},
    {TRANSFER, "engine", 'e', "ENGINE",
     "rw, sendfile or auto (default: auto = sendfile for files\n"
     "sent to another host, rw toward this host and for streams)",
     .fn = opt_engine},
    {TRANSFER, "limit-rate", 0, "RATE", "at most RATE bytes per second (e.g. 10M)", .fn = opt_size,
     .set.u64 = sp_set_limit_rate, .value = 1, .hint = " (e.g. 10M)"},
    {TRANSFER, "multipart", 0, "WHEN",
     "auto, always or never: upload in chunks through OpenList's\n"
     "resumable multipart API (default: auto = for files over the\n"
     "threshold, when the server has it; else a single PUT)",
     .fn = opt_multipart},
    {TRANSFER, "multipart-threshold", 0, "SIZE", "auto's size for multipart (default: 64M)",
     .fn = opt_size, .set.u64 = sp_set_multipart_threshold, .hint = " (e.g. 64M)"},
    {TRANSFER, "multipart-chunk-size", 0, "SIZE",
     "chunk size to ask for (X-Chunk-Size; OpenList takes 1M up\n"
     "to its setting, 10M by default)",
     .fn = opt_size, .set.u64 = sp_set_multipart_chunk_size, .value = 1, .hint = " (e.g. 8M)"},
    {TRANSFER, "parallel-chunks", 0, "N",
     "chunks in flight at once, a connection each (1-8, default 4).\n"
     "A stopped upload resumes when run again; standard input\n"
     "(with --size) goes one chunk after another, is never resumed\n"
     "and no chunk is sent again once read",
     .fn = opt_parallel},
    {TRANSFER, "connect-timeout", 0, "T", "(default: 10s)", .fn = opt_duration,
     .set.u64 = sp_set_connect_timeout_ms},
    {TRANSFER, "timeout", 0, "T", "for the whole upload (default: none)", .fn = opt_duration,
     .set.u64 = sp_set_timeout_ms},
    {TRANSFER, "stall-timeout", 0, "T",
     "without any progress (default: 60s; 0 = none); it does not\n"
     "run while the server works on a body it has all received",
     .fn = opt_duration, .set.u64 = sp_set_stall_timeout_ms},
    {TRANSFER, "answer-timeout", 0, "T",
     "for the answer after the whole body was sent (default: none;\n"
     "AList may take minutes to pass a big file on to its storage)",
     .fn = opt_duration, .set.u64 = sp_set_answer_timeout_ms},
    {TRANSFER, "expect-timeout", 0, "T", "wait for 100 Continue (default: 1s)", .fn = opt_duration,
     .set.u64 = sp_set_expect_timeout_ms},
    {TRANSFER, "retry", 0, "N",
     "retry connection failures and 408/429/5xx N times (not\n"
     "after a whole body went out unanswered with --no-overwrite);\n"
     "with multipart, per chunk, and the server's 429/409 20 times more",
     .fn = opt_retry},
    {TRANSFER, "retry-delay", 0, "T", "first back-off, doubled each retry (default: 1s)",
     .fn = opt_duration, .set.u64 = sp_set_retry_delay_ms},

    {TLS, "cacert", 0, "FILE", "trust the PEM certificates in FILE instead of the system's",
     .fn = opt_string, .set.str = sp_set_cacert},
    {TLS, "capath", 0, "DIR", "trust the hashed certificates in DIR instead", .fn = opt_string,
     .set.str = sp_set_capath},
    {TLS, "insecure", 'k', NULL, "do not verify the server's certificate or name", .fn = opt_flag,
     .set.flag = sp_set_insecure, .value = 1},
    {TLS, "pinnedpubkey", 0, "PINS",
     "sha256//BASE64 of the server's public key, several\n"
     "separated by ';'; any other key fails",
     .fn = opt_string, .set.str = sp_set_pinned_pubkey},

    {OUTPUT, "verbose", 'v', NULL, "show request and response headers (token redacted)",
     .fn = opt_switch, .value = offsetof(cli, verbose)},
    {OUTPUT, "silent", 's', NULL, "print nothing but errors", .fn = opt_switch,
     .value = offsetof(cli, silent)},
    {OUTPUT, "summary-json", 0, "FILE",
     "write the run's totals and failed files as JSON to FILE\n"
     "(- for stdout), whole or not at all, even after a failure",
     .fn = opt_summary_json},
    {OUTPUT, "progress", 0, NULL, "show the progress bar even when stderr is not a terminal",
     .fn = opt_progress, .value = 1},
    {OUTPUT, "no-progress", 0, NULL, "never show the progress bar", .fn = opt_progress, .value = 0},
    {OUTPUT, "help", 'h', NULL, "show this help", .fn = opt_help},
    {OUTPUT, "version", 'V', NULL, "show the version", .fn = opt_version},
};

#define NOPTIONS (sizeof options / sizeof options[0])
/* getopt_long's value for an option without a letter: past every char. */
#define OPT_LONG_ONLY 256
/* The column --help starts option descriptions at. */
#define HELP_COLUMN 27

/* Prints --help: the synopsis, the table's rows under their headings, units and exit codes. */
static int opt_help(cli *cl, const tool_opt *o, const char *arg, const char *shown)
{
    fputs("Usage: streamput [OPTIONS] FILE URL\n"
          "       streamput [OPTIONS] SOURCE... URL\n"
          "       streamput login [OPTIONS] URL\n"
          "Upload FILE (or - for standard input) to URL with HTTP PUT, streaming it in constant "
          "memory.\n"
          "Several SOURCEs (files, - once, directories with -r) go --parallel at a time, each to\n"
          "--remote-dir plus its path from the SOURCE's parent (- as 'stdin'); special files\n"
          "are skipped with a warning, empty directories skipped. A summary ends the run.\n"
          "Made for AList/OpenList's PUT /api/fs/put; works with any endpoint that takes a raw "
          "body.\n"
          "'login' (first) logs in with -u to the site of URL and prints the token, for\n"
          "STREAMPUT_TOKEN=$(streamput login URL -u NAME); a file named login uploads as "
          "./login.\n",
          stdout);
    const char *section = NULL;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const tool_opt *r = &options[i];
        if (section == NULL || strcmp(section, r->section) != 0)
            printf("\n%s:\n", section = r->section);
        char left[64];
        int n = snprintf(left, sizeof left, "  %c%c%c --%s%s%s", r->letter ? '-' : ' ',
                         r->letter ? r->letter : ' ', r->letter ? ',' : ' ', r->name,
                         r->arg ? " " : "", r->arg ? r->arg : "");
        /* A name too long for the column gets its text on the next line. */
        if (n < HELP_COLUMN - 1)
            printf("%s%*s", left, HELP_COLUMN - n, "");
        else
            printf("%s\n%*s", left, HELP_COLUMN, "");
        for (const char *h = r->help;;) {
            size_t len = strcspn(h, "\n");
            printf("%.*s\n", (int)len, h);
            if (h[len] == '\0')
                break;
            h += len + 1;
            printf("%*s", HELP_COLUMN, "");
        }
    }
    fputs("\n"
          "SIZE and RATE take K, M, G, T suffixes (powers of 1024); T takes s, ms or m (default "
          "s).\n"
          "\n"
          "Exit codes:\n"
          "  0 success (see below)                                 6 HTTP status not 2xx\n"
          "  1 internal error (out of memory)                      7 API code other than 200,\n"
          "                                                          a refused login too\n"
          "  2 usage: bad option, URL or header                    8 malformed response\n"
          "  3 local file error                                    9 connection lost "
          "mid-transfer\n"
          "  4 name resolution or connection failed               10 interrupted\n"
          "  5 timeout                                            11 TLS: handshake failed or the "
          "certificate\n"
          "                                                          was not trusted\n"
          "                                                       12 the server ended the "
          "multipart session\n"
          "                                                          (a rerun starts anew)\n"
          "                                                       13 multipart stopped; the "
          "session stays\n"
          "                                                          (a rerun resumes it)\n"
          "Success is HTTP 2xx with AList's JSON answer and code 200 when the URL's path is an "
          "AList\n"
          "API route (/api/..., or .../api/fs/... under a site path); elsewhere any 2xx, with "
          "code 200\n"
          "if the body is JSON.\n",
          stdout);
    cl->done = 1;
    return 0;
}

/*
 * Parses the options through the table into cl, building getopt_long's arrays from it. Returns 0
 * to go on with the operands from optind, or the exit code to stop with (0 and cl->done after
 * --help or --version).
 */
static int parse_options(cli *cl, int argc, char **argv)
{
    struct option longs[NOPTIONS + 1];
    char letters[2 * NOPTIONS + 1];
    size_t nl = 0;
    for (size_t i = 0; i < NOPTIONS; i++) {
        const tool_opt *r = &options[i];
        longs[i] = (struct option){r->name, r->arg ? required_argument : no_argument, NULL,
                                   r->letter ? r->letter : OPT_LONG_ONLY + (int)i};
        if (r->letter) {
            letters[nl++] = r->letter;
            if (r->arg)
                letters[nl++] = ':';
        }
    }
    longs[NOPTIONS] = (struct option){NULL, 0, NULL, 0};
    letters[nl] = '\0';

    int opt;
    while ((opt = getopt_long(argc, argv, letters, longs, NULL)) != -1) {
        const tool_opt *r = NULL;
        if (opt >= OPT_LONG_ONLY && (size_t)(opt - OPT_LONG_ONLY) < NOPTIONS)
            r = &options[opt - OPT_LONG_ONLY];
        for (size_t i = 0; r == NULL && opt != '?' && i < NOPTIONS; i++)
            if (options[i].letter == opt)
                r = &options[i];
        if (r == NULL) { /* getopt_long has said what was wrong */
            fprintf(stderr, "Try 'streamput --help' for more information.\n");
            return TOOL_EXIT_USAGE;
        }
        char shown[128]; /* optarg, escaped for messages */
        if (optarg != NULL)
            sp__printable(optarg, shown, sizeof shown);
        int e = r->fn(cl, r, optarg, optarg != NULL ? shown : "");
        if (e != 0 || cl->done)
            return e;
    }
    return 0;
}

/*
 * The defaults that depend on the operands: the token from the environment (unless -u logs in,
 * whose token replaces it), File-Path.
 */
static int default_token(cli *cl)
{
    const char *env_token = getenv("STREAMPUT_TOKEN");
    if (!cl->token_set && cl->user == NULL && env_token != NULL && *env_token != '\0' &&
        check(cl->c, sp_set_token(cl->c, env_token)) != 0)
        return TOOL_EXIT_USAGE;
    return 0;
}

static int apply_defaults(cli *cl, const char *file, int from_stdin)
{
    if (default_token(cl) != 0)
        return TOOL_EXIT_USAGE;
    if (!cl->remote_path_set && !from_stdin) {
        const char *base = strrchr(file, '/');
        base = base != NULL ? base + 1 : file;
        char path[4096];
        snprintf(path, sizeof path, "/%s", base);
        if (sp_set_remote_path(cl->c, path) != SP_OK) {
            fprintf(stderr, "streamput: %s\n", sp_errmsg(cl->c));
            return TOOL_EXIT_INTERNAL;
        }
    }
    return 0;
}

/* Reads one number about the last upload; the table in streamput.h says which kind each is. */
static long info_long(const sp_client *c, sp_info what)
{
    long v = 0;
    sp_getinfo(c, what, &v);
    return v;
}

static unsigned long long info_u64(const sp_client *c, sp_info what)
{
    uint64_t v = 0;
    sp_getinfo(c, what, &v);
    return (unsigned long long)v;
}

/* Says how the upload ended: what was sent and answered, or why it failed. */
static void report(const cli *cl, const sp_client *c, int err)
{
    int talk = cl->verbose && !cl->silent;
    unsigned long long sent = info_u64(c, SP_INFO_BYTES_SENT);
    const char *upload_id = "";
    sp_getinfo(c, SP_INFO_UPLOAD_ID, &upload_id);
    if (err == SP_ECANCELED && interrupted && info_long(c, SP_INFO_BODY_COMPLETE)) {
        /* The server has the whole body: it may be storing the file right now. */
        fprintf(stderr,
                "streamput: interrupted after sending all %llu bytes, while waiting for the "
                "server's answer: the file may have been stored\n",
                sent);
        unsigned long long answered = info_u64(c, SP_INFO_RESPONSE_BYTES);
        if (talk && answered == 0)
            fprintf(stderr, "* no byte of the server's answer had arrived\n");
        else if (talk)
            fprintf(stderr, "* %llu bytes of the server's answer had arrived, not all of it\n",
                    answered);
    } else if (err == SP_ECANCELED && interrupted && info_long(c, SP_INFO_MAYBE_STORED)) {
        fprintf(stderr,
                "streamput: interrupted after %llu bytes; an earlier attempt had sent the whole "
                "body and got no answer: the file may have been stored\n",
                sent);
    } else if (err == SP_ECANCELED && interrupted && *upload_id != '\0') {
        /* The session stays on the server, and the same command finds it by path and size. */
        fprintf(stderr,
                "streamput: interrupted after sending %llu bytes; session %s holds %llu of %llu "
                "bytes; run the same command again to resume\n",
                sent, upload_id, info_u64(c, SP_INFO_BYTES_HELD), info_u64(c, SP_INFO_BODY_SIZE));
    } else if (err == SP_ECANCELED && interrupted) {
        /* Before the last byte the server cannot have a whole file to store. */
        fprintf(stderr, "streamput: interrupted after %llu bytes\n", sent);
    } else if (err != SP_OK) {
        fprintf(stderr, "streamput: %s\n", sp_errmsg(c));
        /* OpenList answers code 402 to a login without the right one-time code
         * (server/handles/auth.go:66-72). */
        if (err == SP_ELOGIN && info_long(c, SP_INFO_API_CODE) == 402)
            fprintf(stderr, "streamput: %s\n",
                    cl->otp ? "the --otp code was refused: codes change every 30 seconds, give "
                              "the current one"
                            : "the account has two-factor authentication: give the current "
                              "code with --otp CODE");
    } else if (cl->login) {
        /* The token alone on stdout, for STREAMPUT_TOKEN=$(streamput login ...). */
    } else if (!cl->silent) {
        const char *message = "";
        double seconds = 0;
        char human[32], shown[256];
        sp_getinfo(c, SP_INFO_MESSAGE, &message);
        sp_getinfo(c, SP_INFO_SECONDS, &seconds);
        tool_format_bytes(sent, human, sizeof human);
        double mib_s = seconds > 0 ? (double)sent / 1048576.0 / seconds : 0;
        fprintf(stderr, "streamput: uploaded %llu bytes (%s) in %.3f s, %.1f MiB/s: HTTP %ld %s\n",
                sent, human, seconds, mib_s, info_long(c, SP_INFO_HTTP_STATUS),
                sp__printable(message, shown, sizeof shown));
        if (*upload_id != '\0')
            fprintf(stderr,
                    "streamput: multipart session %s: %ld chunks sent, %ld already on "
                    "the server, of %ld\n",
                    upload_id, info_long(c, SP_INFO_CHUNKS_SENT),
                    info_long(c, SP_INFO_CHUNKS_SKIPPED), info_long(c, SP_INFO_CHUNKS_TOTAL));
    }
}

/* Sets up what every upload of a run shares: the signal handlers, the progress bar, -v. */
static void start_run(cli *cl, progress *pg)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    *pg = (progress){0};
    pg->show = !cl->silent && (cl->progress == 1 || (cl->progress == -1 && isatty(2)));
    pg->t0 = sp__now_ms();
    sp_set_progress(cl->c, on_progress, pg);
    if (cl->verbose && !cl->silent)
        sp_set_debug(cl->c, on_debug, NULL);
}

/* Uploads FILE (or standard input for "-") to URL with the progress bar and -v output asked for. */
static int upload(cli *cl, const char *file, const char *url)
{
    int from_stdin = strcmp(file, "-") == 0;
    int rc = apply_defaults(cl, file, from_stdin);
    if (rc != 0)
        return rc;

    progress pg;
    start_run(cl, &pg);

    int err = from_stdin ? sp_put_stream(cl->c, 0, url) : sp_put_file(cl->c, file, url);
    if (pg.show)
        fputc('\n', stderr);
    report(cl, cl->c, err);
    return tool_exit_code(err);
}

/* How many failed files the summary names; the rest are counted, so memory stays bounded. */
#define BATCH_FAILURES_SHOWN 32

/*
 * Where a run over several files stands. The walk hands the library's session one file at a
 * time, and the session's queue of 2N files is all that waits, so no list of paths is ever held.
 * The session tells of each file as it ends (on_done, in the lane's thread); one mutex guards the
 * counts, --summary-json and every line written to stderr.
 */
typedef struct batch {
    cli *cl;
    const char *url;
    long ok, skipped, failed;
    unsigned long long bytes;
    int64_t t0;
    int first_rc;    /* the exit code of the first failure, 0 while there is none */
    atomic_int stop; /* interrupted, or failed without --keep-going: start no more files */
    char *failures[BATCH_FAILURES_SHOWN];
    /* --summary-json: the failures are streamed into it as they come, the totals at the end;
     * a file goes to json_tmp in FILE's directory first, renamed over FILE once whole. */
    FILE *json;
    int json_broken; /* an entry could not be made: the file is not written */
    char json_tmp[4200];

    pthread_mutex_t mu;
    sp_session *s;
    progress pg;                         /* --parallel 1: the file's own progress bar */
    _Atomic uint64_t sent[PARALLEL_MAX]; /* bytes of each lane's file on the way */
    long queued;                         /* files handed to the session so far */
    unsigned long long found;            /* their bytes (standard input counts none) */
    int walked;                          /* the walk is over: found is the run's total */
    int show_total;                      /* the aggregate progress line (--parallel over 1) */
    int64_t last_draw;
    int drawn; /* the aggregate line is on screen, unfinished */
} batch;

/*
 * Takes the batch's mutex to write to stderr or change the counts; an aggregate progress line on
 * screen is ended first, so that a message never lands in its middle.
 */
static void batch_lock(batch *b)
{
    pthread_mutex_lock(&b->mu);
    if (b->drawn) {
        fputc('\n', stderr);
        b->drawn = 0;
    }
}

static void batch_unlock(batch *b)
{
    pthread_mutex_unlock(&b->mu);
}

/* Draws --parallel's one line, files and bytes done of those found so far, rate, and once the
 * walk is over, so that the total is known, the ETA; at most five times a second. The caller
 * holds the mutex. */
static void batch_draw(batch *b, int force)
{
    int64_t now = sp__now_ms();
    if (!b->show_total || (!force && now - b->last_draw < 200))
        return;
    b->last_draw = now;
    uint64_t bytes = b->bytes;
    for (unsigned i = 0; i < b->cl->parallel; i++)
        bytes += atomic_load(&b->sent[i]);
    double secs = (double)(now - b->t0) / 1000.0;
    double rate = secs > 0 ? (double)bytes / secs : 0;
    char done[32], all[32], speed[32], eta[32] = "--:--";
    tool_format_bytes(bytes, done, sizeof done);
    tool_format_bytes(b->found, all, sizeof all);
    tool_format_bytes((uint64_t)rate, speed, sizeof speed);
    if (b->walked && rate > 0 && b->found >= bytes) {
        unsigned long left = (unsigned long)((double)(b->found - bytes) / rate);
        snprintf(eta, sizeof eta, "%lu:%02lu", left / 60, left % 60);
    }
    fprintf(stderr, "\r%ld/%ld files  %s / %s  %s/s  ETA %s   ", b->ok + b->skipped + b->failed,
            b->queued, done, all, speed, eta);
    fflush(stderr);
    b->drawn = 1;
}

/* The session's progress callback: cancels on SIGINT/SIGTERM, else draws the one file's bar
 * (--parallel 1) or feeds the aggregate line. It runs in the lanes' threads and in their
 * multipart uploads' threads. */
static int on_lane_progress(void *ud, unsigned lane, uint64_t sent, uint64_t total)
{
    batch *b = ud;
    if (interrupted)
        return 1;
    if (b->cl->parallel == 1) {
        /* The walk's warnings come from another thread: the bar is drawn under the mutex and
         * marked, so that batch_lock ends its line first. */
        pthread_mutex_lock(&b->mu);
        int rc = on_progress(&b->pg, sent, total);
        b->drawn = b->drawn || b->pg.show;
        pthread_mutex_unlock(&b->mu);
        return rc;
    }
    atomic_store(&b->sent[lane], sent);
    if (b->show_total) {
        pthread_mutex_lock(&b->mu);
        batch_draw(b, 0);
        pthread_mutex_unlock(&b->mu);
    }
    return 0;
}

/* A warning about a file left out; -s silences it. */
static void batch_warn(batch *b, const char *name, const char *why)
{
    char shown[1024];
    if (b->cl->silent)
        return;
    batch_lock(b);
    fprintf(stderr, "streamput: skipping %s: %s\n", sp__printable(name, shown, sizeof shown), why);
    batch_unlock(b);
}

/*
 * Adds the string value under key to a JSON object as valid UTF-8. A file name is any bytes: when
 * it is not UTF-8, key holds it with U+FFFD for each bad byte, and with exact set, key_percent
 * its exact bytes percent-encoded, as File-Path carries them. Returns 0, or -1 out of memory.
 */
static int json_add_text(cJSON *o, const char *key, const char *value, int exact)
{
    int replaced;
    size_t need = sp__utf8_repair(value, NULL, 0, &replaced) + 1;
    if (!replaced)
        return cJSON_AddStringToObject(o, key, value) != NULL ? 0 : -1;
    char *fixed = malloc(need), *pct = NULL, name[64];
    int rc = -1;
    if (fixed != NULL) {
        sp__utf8_repair(value, fixed, need, &replaced);
        rc = cJSON_AddStringToObject(o, key, fixed) != NULL ? 0 : -1;
    }
    if (rc == 0 && exact) {
        size_t plen = sp__pct_encode(value, NULL, 0) + 1;
        snprintf(name, sizeof name, "%s_percent", key);
        if ((pct = malloc(plen)) == NULL) {
            rc = -1;
        } else {
            sp__pct_encode(value, pct, plen);
            rc = cJSON_AddStringToObject(o, name, pct) != NULL ? 0 : -1;
        }
    }
    free(pct);
    free(fixed);
    return rc;
}

/* Adds a failed file to --summary-json's list: one object, never the whole list in memory. The
 * caller holds the mutex. */
static void batch_json_failure(batch *b, const char *name, int rc, const char *why)
{
    if (b->json == NULL)
        return;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o != NULL && json_add_text(o, "path", name, 1) == 0 &&
        cJSON_AddNumberToObject(o, "exit_code", rc) != NULL &&
        json_add_text(o, "reason", why, 0) == 0)
        text = cJSON_PrintUnformatted(o);
    /* Out of memory: a broken list; the write's check at the end fails the file instead. */
    if (text == NULL || fprintf(b->json, "%s%s", b->failed > 0 ? "," : "", text) < 0)
        b->json_broken = 1;
    cJSON_free(text);
    cJSON_Delete(o);
}

/* No more files start: the walk ends, and the session drops what it has queued. */
static void batch_stop(batch *b)
{
    atomic_store(&b->stop, 1);
    if (b->s != NULL)
        sp_session_stop(b->s);
}

/* Records a failed file: says why now, keeps the line for the summary, and stops the run unless
 * --keep-going. The first failure in time gives the exit code. */
static void batch_fail(batch *b, const char *name, int rc, const char *why)
{
    char shown[1024], line[2048];
    snprintf(line, sizeof line, "%s: %s", sp__printable(name, shown, sizeof shown), why);
    batch_lock(b);
    fprintf(stderr, "streamput: %s\n", line);
    if (b->failed < BATCH_FAILURES_SHOWN)
        b->failures[b->failed] = strdup(line); /* NULL if out of memory: a line less */
    batch_json_failure(b, name, rc, why);
    b->failed++;
    if (b->first_rc == 0)
        b->first_rc = rc;
    if (!b->cl->keep_going)
        batch_stop(b);
    batch_unlock(b);
}

/* A file Ctrl-C stopped: what the single upload says (the server may have the file), counted as
 * failed, and no more files start. */
static void batch_canceled(batch *b, const sp_client *c, const char *name, int err)
{
    batch_lock(b);
    report(b->cl, c, err);
    batch_json_failure(b, name, tool_exit_code(err), sp_errmsg(c));
    b->failed++;
    b->first_rc = b->first_rc != 0 ? b->first_rc : tool_exit_code(err);
    batch_stop(b);
    batch_unlock(b);
}

/* The session's word on one file: counts it, and says what became of it. */
static void on_done(void *ud, const sp_done *d)
{
    batch *b = ud;
    cli *cl = b->cl;
    const char *name = d->remote != NULL ? d->remote : d->path;
    char shown[1024], why[1400];
    if (d->outcome == SP_NOT_STARTED)
        return; /* dropped by a stop, which a failure or Ctrl-C already told of */
    unsigned long long sent = info_u64(d->handle, SP_INFO_BYTES_SENT);
    if (d->err == SP_ECANCELED && interrupted) {
        batch_canceled(b, d->handle, name, d->err);
    } else if (d->outcome == SP_LOOKUP_FAILED) {
        snprintf(why, sizeof why, "looking it up on the server: %s", sp_errmsg(d->handle));
        batch_fail(b, name, tool_exit_code(d->err), why);
    } else if (d->outcome == SP_FAILED) {
        batch_fail(b, name, tool_exit_code(d->err), sp_errmsg(d->handle));
    }
    /* The aggregate line stays on screen across files, unless -v has a line to say; the one
     * file's bar (--parallel 1) is ended, as a single upload's is. */
    int talk = cl->verbose && !cl->silent;
    pthread_mutex_lock(&b->mu);
    if (b->drawn && (cl->parallel == 1 || (talk && d->outcome != SP_FAILED))) {
        fputc('\n', stderr);
        b->drawn = 0;
    }
    if (d->outcome == SP_SKIPPED) {
        b->skipped++;
        if (talk)
            fprintf(stderr, "streamput: skipped %s: the server has it\n",
                    sp__printable(name, shown, sizeof shown));
    } else if (d->outcome == SP_UPLOADED) {
        b->ok++;
        double secs = 0;
        sp_getinfo(d->handle, SP_INFO_SECONDS, &secs);
        if (talk)
            fprintf(stderr, "streamput: uploaded %s, %llu bytes in %.3f s: HTTP %ld\n",
                    sp__printable(name, shown, sizeof shown), sent, secs,
                    info_long(d->handle, SP_INFO_HTTP_STATUS));
    }
    if (d->outcome == SP_UPLOADED)
        b->bytes += sent; /* the bytes of the files stored, not of those that failed */
    atomic_store(&b->sent[d->lane], 0);
    b->pg.t0 = sp__now_ms(); /* --parallel 1: the next file's bar starts now */
    b->pg.last_draw = 0;
    batch_draw(b, 1);
    batch_unlock(b);
}

/* Hands one file (path "-": standard input) to the session as rel under --remote-dir, waiting
 * while its queue is full. A file the run stopped before is dropped. */
static void batch_file(batch *b, const char *path, const char *rel, uint64_t size)
{
    cli *cl = b->cl;
    char remote[8192];
    if (interrupted || atomic_load(&b->stop)) {
        batch_stop(b);
        return;
    }
    if (tool_remote_name(cl->remote_dir != NULL ? cl->remote_dir : "/", rel, remote,
                         sizeof remote) < 0) {
        batch_fail(b, path, TOOL_EXIT_FILE, "remote name too long");
        return;
    }
    int err = sp_session_put(b->s, path, remote, b->url, NULL);
    if (err == SP_ECANCELED) {
        atomic_store(&b->stop, 1);
    } else if (err != SP_OK) {
        batch_fail(b, remote, tool_exit_code(err), sp_strerror(err));
    } else {
        pthread_mutex_lock(&b->mu);
        b->queued++;
        b->found += size;
        pthread_mutex_unlock(&b->mu);
    }
}

/* fts's order within a directory: by name, so that a run is the same every time. */
static int by_name(const FTSENT **a, const FTSENT **b)
{
    return strcmp((*a)->fts_name, (*b)->fts_name);
}

/*
 * Walks one SOURCE with fts, which holds one directory's entries at a time, never the tree's,
 * and uploads each regular file as it comes. A SOURCE named on the command line is followed if
 * it is a link; links inside a tree only with -L.
 */
static void batch_walk(batch *b, const char *source)
{
    cli *cl = b->cl;
    char *roots[] = {(char *)source, NULL};
    int flags = FTS_NOCHDIR | FTS_COMFOLLOW | (cl->dereference ? FTS_LOGICAL : FTS_PHYSICAL);
    size_t prefix = tool_source_prefix(source);
    long seen = 0; /* entries met so far: a directory that adds none is empty */
    FTS *fts = fts_open(roots, flags, by_name);
    if (fts == NULL) {
        batch_fail(b, source, TOOL_EXIT_FILE, strerror(errno));
        return;
    }
    while (!b->stop) {
        errno = 0;
        FTSENT *e = fts_read(fts);
        if (e == NULL) {
            if (errno != 0)
                batch_fail(b, source, TOOL_EXIT_FILE, strerror(errno));
            break;
        }
        const char *path = e->fts_path;
        const char *rel = e->fts_pathlen > prefix ? path + prefix : path;
        if (e->fts_info != FTS_DP)
            seen++;
        switch (e->fts_info) {
        case FTS_F:
            batch_file(b, path, rel, (uint64_t)e->fts_statp->st_size);
            break;
        case FTS_D:
            if (!cl->recursive) {
                batch_fail(b, path, TOOL_EXIT_FILE, "a directory (-r uploads its tree)");
                fts_set(fts, e, FTS_SKIP);
            }
            e->fts_number = seen;
            break;
        case FTS_DP:
            if (cl->recursive && (long)e->fts_number == seen && cl->verbose && !cl->silent)
                batch_warn(b, path,
                           "an empty directory (AList makes directories as files "
                           "arrive)");
            break;
        case FTS_SL:
            batch_warn(b, path, "a symbolic link (-L follows links)");
            break;
        case FTS_SLNONE:
            if (cl->dereference)
                batch_fail(b, path, TOOL_EXIT_FILE, "a symbolic link to nothing");
            else
                batch_warn(b, path, "a symbolic link (-L follows links)");
            break;
        case FTS_DC:
            batch_warn(b, path, "a link back to a directory above it");
            break;
        case FTS_DEFAULT:
            batch_warn(b, path, "not a regular file (a fifo, socket or device)");
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            batch_fail(b, path, TOOL_EXIT_FILE, strerror(e->fts_errno));
            break;
        default:
            break;
        }
    }
    fts_close(fts);
}

/* The run's seconds so far and its rate in MiB/s. */
static double batch_rate(const batch *b, double *secs)
{
    *secs = (double)(sp__now_ms() - b->t0) / 1000.0;
    return *secs > 0 ? (double)b->bytes / 1048576.0 / *secs : 0;
}

/*
 * Opens --summary-json's output: standard output, or a temporary file beside FILE, so that FILE
 * is only ever replaced whole. Writes the list's beginning. Returns 0 or an exit code.
 */
static int batch_json_open(batch *b, const char *file)
{
    if (strcmp(file, "-") == 0) {
        b->json = stdout;
    } else {
        int n = snprintf(b->json_tmp, sizeof b->json_tmp, "%s.tmp.XXXXXX", file);
        int fd = n > 0 && (size_t)n < sizeof b->json_tmp ? mkstemp(b->json_tmp) : -1;
        if (fd < 0 || (b->json = fdopen(fd, "w")) == NULL) {
            char shown[1024];
            fprintf(stderr, "streamput: --summary-json %s: %s\n",
                    sp__printable(file, shown, sizeof shown),
                    fd < 0 && n > 0 && (size_t)n >= sizeof b->json_tmp ? "name too long"
                                                                       : strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(b->json_tmp);
            }
            return TOOL_EXIT_FILE;
        }
    }
    if (fputs("{\"failures\":[", b->json) < 0)
        b->json_broken = 1;
    return 0;
}

/*
 * Ends --summary-json's output with the totals and puts the file in place. Returns rc, or
 * TOOL_EXIT_FILE if the file could not be written whole (it is then left out, FILE unchanged).
 */
static int batch_json_close(batch *b, const char *file, int rc)
{
    double secs, mib_s = batch_rate(b, &secs);
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o != NULL && cJSON_AddNumberToObject(o, "files_uploaded", (double)b->ok) != NULL &&
        cJSON_AddNumberToObject(o, "files_skipped", (double)b->skipped) != NULL &&
        cJSON_AddNumberToObject(o, "files_failed", (double)b->failed) != NULL &&
        cJSON_AddNumberToObject(o, "bytes", (double)b->bytes) != NULL &&
        cJSON_AddNumberToObject(o, "seconds", secs) != NULL &&
        cJSON_AddNumberToObject(o, "mib_s", mib_s) != NULL &&
        cJSON_AddNumberToObject(o, "exit_code", rc) != NULL)
        text = cJSON_PrintUnformatted(o);
    /* The totals' members follow the list inside the one object: "],", then text without its
     * opening brace. */
    int ok = !b->json_broken && text != NULL && fprintf(b->json, "],%s\n", text + 1) >= 0;
    cJSON_free(text);
    cJSON_Delete(o);
    int saved = errno;
    if (b->json == stdout) {
        ok = fflush(stdout) == 0 && ok;
    } else {
        ok = fflush(b->json) == 0 && fsync(fileno(b->json)) == 0 && ok;
        ok = fclose(b->json) == 0 && ok;
        ok = ok && rename(b->json_tmp, file) == 0;
        saved = errno;
        if (!ok)
            unlink(b->json_tmp);
    }
    b->json = NULL;
    if (ok)
        return rc;
    char shown[1024];
    fprintf(stderr, "streamput: --summary-json %s: %s\n", sp__printable(file, shown, sizeof shown),
            saved != 0 ? strerror(saved) : "could not be written");
    return rc != 0 ? rc : TOOL_EXIT_FILE;
}

/* The end of a run over several files: counts, bytes, time and rate, then each failure. */
static void batch_summary(const batch *b)
{
    double secs, mib_s = batch_rate(b, &secs);
    char human[32];
    tool_format_bytes(b->bytes, human, sizeof human);
    char skipped[48] = "";
    if (b->cl->skip_existing)
        snprintf(skipped, sizeof skipped, " %ld skipped,", b->skipped);
    fprintf(stderr,
            "streamput: %ld file%s uploaded,%s %ld failed, %llu bytes (%s) in %.3f s, %.1f MiB/s\n",
            b->ok, b->ok == 1 ? "" : "s", skipped, b->failed, b->bytes, human, secs, mib_s);
    for (long i = 0; i < b->failed && i < BATCH_FAILURES_SHOWN; i++)
        if (b->failures[i] != NULL)
            fprintf(stderr, "streamput: failed: %s\n", b->failures[i]);
    if (b->failed > BATCH_FAILURES_SHOWN)
        fprintf(stderr, "streamput: and %ld more failed\n", b->failed - BATCH_FAILURES_SHOWN);
}

/*
 * Makes the session of --parallel lanes, each a copy of the configured handle. With more than
 * one, the login comes first, so that the copies share its token; a lone lane logs in on its own
 * connection, which then carries its files. A lane's multipart upload gets at most 64/N chunk
 * lanes, so that N files with big ones among them run 64 upload threads at most. Returns 0, or
 * the exit code with the message printed.
 */
static int batch_start(batch *b)
{
    cli *cl = b->cl;
    if (cl->user != NULL && cl->parallel > 1) {
        int err = sp_login(cl->c, b->url);
        if (err != SP_OK) {
            report(cl, cl->c, err);
            return tool_exit_code(err);
        }
    }
    unsigned chunks = PARALLEL_MAX / cl->parallel;
    chunks = chunks < 1 ? 1 : chunks < cl->chunks ? chunks : cl->chunks;
    b->show_total = cl->parallel > 1 && b->pg.show;
    if (sp_set_parallel_chunks(cl->c, chunks) != SP_OK ||
        (b->s = sp_session_new(cl->c, cl->parallel, on_done, b)) == NULL ||
        sp_session_set_skip_existing(b->s, cl->skip_existing) != SP_OK ||
        sp_session_set_progress(b->s, on_lane_progress, b) != SP_OK) {
        fprintf(stderr, "streamput: out of memory, or no thread could start\n");
        return TOOL_EXIT_INTERNAL;
    }
    return 0;
}

/*
 * Uploads the n SOURCEs to url through a session of --parallel lanes fed by the walk. Returns 0,
 * or the first failure's exit code.
 */
static int upload_many(cli *cl, int n, char **sources, const char *url)
{
    int stdin_seen = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(sources[i], "-") == 0 && stdin_seen++)
            return usage_error("standard input ('-') can be given once");
    if (cl->remote_path_set)
        return usage_error("-p names one file: use --remote-dir with several SOURCEs or -r");
    if (default_token(cl) != 0)
        return TOOL_EXIT_USAGE;
    if (sp__url_is_dir(url) && cl->skip_existing)
        return usage_error("--skip-existing asks AList's /api/fs/get, which a URL that gets each "
                           "name appended (a plain PUT server) does not have");
    batch b = {.cl = cl, .url = url, .t0 = sp__now_ms()};
    pthread_mutex_init(&b.mu, NULL);
    int rc = cl->summary_json != NULL ? batch_json_open(&b, cl->summary_json) : 0;
    if (rc != 0)
        return rc;
    start_run(cl, &b.pg);
    if ((b.first_rc = batch_start(&b)) != 0)
        atomic_store(&b.stop, 1); /* the login failed, or no lane could be made */
    for (int i = 0; i < n && !atomic_load(&b.stop); i++) {
        if (strcmp(sources[i], "-") == 0)
            batch_file(&b, "-", "stdin", 0);
        else
            batch_walk(&b, sources[i]);
    }
    pthread_mutex_lock(&b.mu);
    b.walked = 1;
    pthread_mutex_unlock(&b.mu);
    sp_session_free(b.s);
    if (b.drawn)
        fputc('\n', stderr);
    if (interrupted && b.first_rc == 0)
        b.first_rc = TOOL_EXIT_CANCEL; /* between two files */
    /* -s prints nothing but errors, and each failure was told as it came. */
    if (!cl->silent && (b.ok + b.skipped + b.failed > 1 || b.skipped > 0 || interrupted))
        batch_summary(&b);
    for (long i = 0; i < b.failed && i < BATCH_FAILURES_SHOWN; i++)
        free(b.failures[i]);
    rc = b.first_rc;
    if (b.json != NULL)
        rc = batch_json_close(&b, cl->summary_json, rc);
    pthread_mutex_destroy(&b.mu);
    return rc;
}

/* Logs in and prints the token on stdout; the token is never printed anywhere else. */
static int login(cli *cl, const char *url)
{
    if (cl->verbose && !cl->silent)
        sp_set_debug(cl->c, on_debug, NULL);
    int err = sp_login(cl->c, url);
    report(cl, cl->c, err);
    if (err != SP_OK)
        return tool_exit_code(err);
    const char *token = "";
    sp_getinfo(cl->c, SP_INFO_TOKEN, &token);
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "streamput: write the token: %s\n", strerror(errno));
        return TOOL_EXIT_INTERNAL;
    }
    return 0;
}

/* Checks what goes with -u, and hands its password to the library, which keeps only a hash. */
static int set_login(cli *cl)
{
    if (cl->user == NULL) {
        if (cl->login)
            return usage_error("login needs -u NAME");
        if (cl->password_file != NULL || cl->otp)
            return usage_error("--password-file and --otp go with -u NAME");
        return 0;
    }
    if (cl->token_set || cl->auth_header)
        return usage_error("-u and --token (or -H 'Authorization: ...') exclude each other: the "
                           "login gets the token");
    char password[4096];
    int rc = tool_get_password(cl->password_file, cl->user, cl->silent, password, sizeof password);
    if (rc == 0 && sp_set_login(cl->c, cl->user, password) != SP_OK) {
        fprintf(stderr, "streamput: %s\n", sp_errmsg(cl->c));
        rc = tool_exit_code(sp_last_error(cl->c));
    }
    explicit_bzero(password, sizeof password);
    return rc;
}

static int is_dir(const char *path)
{
    struct stat st;
    return strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether one of the n operands before the last is a URL, as in "FILE URL extra". */
static int url_before_last(int n, char **operands)
{
    for (int i = 0; i < n; i++)
        if (strstr(operands[i], "://") != NULL)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    cli cl = {.progress = -1, .parallel = 4, .chunks = 4};
    int rc;

    if ((cl.c = sp_client_new()) == NULL) {
        fprintf(stderr, "streamput: out of memory\n");
        return TOOL_EXIT_INTERNAL;
    }
    /* The subcommand only in first place, so that a file named "login" still uploads after an
     * option or as ./login. getopt then sees the rest as if it were the whole command line. */
    if (argc > 1 && strcmp(argv[1], "login") == 0) {
        cl.login = 1;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    if ((rc = parse_options(&cl, argc, argv)) != 0 || cl.done)
        goto out;
    int want = cl.login ? 1 : 2, got = argc - optind;
    /* One FILE and no batch option is the original form, its output unchanged. */
    int many = !cl.login && (got > 2 || cl.recursive || cl.remote_dir != NULL || cl.skip_existing ||
                             cl.summary_json != NULL);
    if (cl.login ? got != want : got < want)
        rc = usage_error("%s", got > want ? "too many arguments"
                               : cl.login ? "expected URL"
                                          : "expected FILE and URL");
    else if (!many && cl.remote_path_set && is_dir(argv[optind]))
        rc = usage_error("-p names one file: a directory goes with -r and --remote-dir");
    else if (many && strstr(argv[argc - 1], "://") == NULL)
        rc = usage_error("%s", url_before_last(argc - optind - 1, argv + optind)
                                   ? "too many arguments: the URL goes last"
                                   : "expected SOURCE... and URL");
    else if ((rc = set_login(&cl)) != 0)
        goto out;
    else if (cl.login)
        rc = login(&cl, argv[optind]);
    else if (many)
        rc = upload_many(&cl, got - 1, argv + optind, argv[argc - 1]);
    else
        rc = upload(&cl, argv[optind], argv[optind + 1]);
out:
    sp_client_free(cl.c);
    return rc;
}
