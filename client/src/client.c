/*
 * The handle, its options, and the top of a transfer: inspecting the source, hashing, retries.
 */
#include "exchange.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SP_MAX_CHUNK      ((size_t)1 << 30)
#define SP_MAX_BACKOFF_MS 60000
/* The longest timeout or delay: far beyond any use, and small enough that adding it to a clock
 * reading in milliseconds can never overflow an int64_t deadline. */
#define SP_MAX_MS 1000000000000000ull

sp_client *sp_client_new(void)
{
    sp_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->chunk_size = 256 * 1024; /* bench/README.md: where client CPU stops falling */
    c->engine = SP_ENGINE_AUTO;
    c->overwrite = 1;
    c->last_modified = 1;
    c->size = SP_SIZE_UNKNOWN;
    c->connect_timeout_ms = 10000;
    c->stall_timeout_ms = 60000;
    c->expect_timeout_ms = 1000;
    c->expect_threshold = 1024 * 1024;
    c->retry_delay_ms = 1000;
    c->multipart = SP_MULTIPART_AUTO;
    c->multipart_threshold = (uint64_t)64 << 20;
    c->lanes = 4;
    c->last.body_size = SP_SIZE_UNKNOWN;
    return c;
}

void sp_client_free(sp_client *c)
{
    if (c == NULL)
        return;
    sp__conn_drop_idle(c);
    free(c->remote_path);
    sp__free_secret(&c->token);
    sp__free_secret(&c->login_user);
    sp__free_secret(&c->otp);
    sp__free_secret(&c->login_token);
    sp__wipe(c->login_hash, sizeof c->login_hash);
    free(c->content_type);
    free(c->cacert);
    free(c->capath);
    free(c->pinned_pubkey);
    for (size_t i = 0; i < c->nheaders; i++)
        free(c->headers[i]);
    free(c->headers);
    free(c->body_buf);
    sp__wipe(c->resp_body, c->resp_len); /* perhaps a login's answer that failed late */
    free(c->resp_body);
    free(c);
}

/* A strdup() that keeps NULL; *ok turns 0 when out of memory. */
static char *dup_or_null(const char *s, int *ok)
{
    char *d = s != NULL ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        *ok = 0;
    return d;
}

sp_client *sp_client_dup(const sp_client *c)
{
    sp_client *d = malloc(sizeof *d);
    if (d == NULL)
        return NULL;
    *d = *c;
    /* What belongs to one handle's calls is not shared: buffers, the kept connection and the
     * record of the last call start empty, as in a new handle. */
    d->body_buf = NULL;
    d->body_buf_chunk = 0;
    d->resp_body = NULL;
    d->resp_len = d->resp_cap = 0;
    d->idle = NULL;
    d->idle_key[0] = '\0';
    memset(&d->last, 0, sizeof d->last);
    d->last.body_size = SP_SIZE_UNKNOWN;
    d->err = SP_OK;
    d->sys_errno = 0;
    d->errmsg[0] = '\0';
    int ok = 1;
    d->remote_path = dup_or_null(c->remote_path, &ok);
    d->token = dup_or_null(c->token, &ok);
    d->content_type = dup_or_null(c->content_type, &ok);
    d->cacert = dup_or_null(c->cacert, &ok);
    d->capath = dup_or_null(c->capath, &ok);
    d->pinned_pubkey = dup_or_null(c->pinned_pubkey, &ok);
    d->login_user = dup_or_null(c->login_user, &ok);
    d->otp = dup_or_null(c->otp, &ok);
    d->login_token = dup_or_null(c->login_token, &ok);
    d->headers = NULL;
    d->nheaders = 0;
    if (c->nheaders > 0 && (d->headers = calloc(c->nheaders, sizeof *d->headers)) == NULL)
        ok = 0;
    for (size_t i = 0; ok && i < c->nheaders; i++, d->nheaders++)
        d->headers[i] = dup_or_null(c->headers[i], &ok);
    if (!ok) {
        sp_client_free(d);
        return NULL;
    }
    return d;
}

/* Replaces *slot with a copy of value (NULL clears it). */
static int set_string(sp_client *c, char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "copy option");
    free(*slot);
    *slot = copy;
    return SP_OK;
}

/* Header values may not carry CR, LF or other control characters (request splitting). */
static int value_ok(sp_client *c, const char *what, const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return sp__fail(c, SP_EINVAL, 0, "%s: control character (0x%02x) not allowed", what,
                            *p);
    return SP_OK;
}

/* Refuses a duration too long to add to the clock (it would wrap to a deadline in the past). */
static int ms_ok(sp_client *c, const char *what, uint64_t ms)
{
    if (ms > SP_MAX_MS)
        return sp__fail(c, SP_EINVAL, 0, "%s %llu ms: at most 10^15", what, (unsigned long long)ms);
    return SP_OK;
}

int sp_set_chunk_size(sp_client *c, size_t bytes)
{
    if (bytes == 0 || bytes > SP_MAX_CHUNK)
        return sp__fail(c, SP_EINVAL, 0, "chunk size %zu: must be 1 B to 1 GiB", bytes);
    c->chunk_size = bytes;
    return SP_OK;
}

int sp_set_engine(sp_client *c, sp_engine engine)
{
    if (engine != SP_ENGINE_AUTO && engine != SP_ENGINE_RW && engine != SP_ENGINE_SENDFILE)
        return sp__fail(c, SP_EINVAL, 0, "engine %d: unknown", (int)engine);
    c->engine = engine;
    return SP_OK;
}

int sp_set_remote_path(sp_client *c, const char *path)
{
    if (path == NULL)
        return set_string(c, &c->remote_path, NULL);
    size_t need = sp__pct_encode(path, NULL, 0);
    char *enc = malloc(need + 1);
    if (enc == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "remote path");
    sp__pct_encode(path, enc, need + 1);
    free(c->remote_path);
    c->remote_path = enc;
    return SP_OK;
}

/* As set_string() for a secret: the old value is wiped before it is freed. */
static int set_secret(sp_client *c, char **slot, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "copy option");
    sp__free_secret(slot);
    *slot = copy;
    return SP_OK;
}

int sp_set_token(sp_client *c, const char *token)
{
    if (token != NULL && value_ok(c, "token", token) != SP_OK)
        return c->err;
    return set_secret(c, &c->token, token);
}

int sp_set_login(sp_client *c, const char *user, const char *password)
{
    char hash[sizeof c->login_hash];
    int rc;
    if (user != NULL && password == NULL)
        return sp__fail(c, SP_EINVAL, 0, "login: no password given");
    if (user != NULL && (rc = sp__static_hash(c, password, hash)) != SP_OK)
        return rc;
    if ((rc = set_secret(c, &c->login_user, user)) == SP_OK) {
        sp__free_secret(&c->login_token); /* it belonged to the old login */
        sp__wipe(c->login_hash, sizeof c->login_hash);
        if (user != NULL)
            memcpy(c->login_hash, hash, sizeof hash);
    }
    sp__wipe(hash, sizeof hash);
    return rc;
}

int sp_set_otp(sp_client *c, const char *code)
{
    return set_secret(c, &c->otp, code);
}

const char *sp__auth_token(const sp_client *c)
{
    return c->login_user != NULL ? c->login_token : c->token;
}

int sp_set_content_type(sp_client *c, const char *type)
{
    if (type != NULL && value_ok(c, "content type", type) != SP_OK)
        return c->err;
    return set_string(c, &c->content_type, type);
}

int sp_add_header(sp_client *c, const char *line)
{
    const char *why;
    char shown[200];
    if (line == NULL)
        return sp__fail(c, SP_EHEADER, 0, "header missing");
    if (sp__header_valid(line, &why) != 0)
        return sp__fail(c, SP_EHEADER, 0, "header '%s': %s",
                        sp__printable(line, shown, sizeof shown), why);
    char **grown = realloc(c->headers, (c->nheaders + 1) * sizeof *grown);
    if (grown == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "add header");
    c->headers = grown;
    if ((c->headers[c->nheaders] = strdup(line)) == NULL)
        return sp__fail(c, SP_ENOMEM, errno, "add header");
    c->nheaders++;
    return SP_OK;
}

int sp_set_overwrite(sp_client *c, int overwrite)
{
    c->overwrite = overwrite != 0;
    return SP_OK;
}

int sp_set_as_task(sp_client *c, int as_task)
{
    c->as_task = as_task != 0;
    return SP_OK;
}

int sp_set_last_modified(sp_client *c, int send)
{
    c->last_modified = send != 0;
    return SP_OK;
}

int sp_set_hashes(sp_client *c, unsigned mask)
{
    if ((mask & ~(unsigned)(SP_HASH_MD5 | SP_HASH_SHA1 | SP_HASH_SHA256)) != 0)
        return sp__fail(c, SP_EINVAL, 0, "hash mask 0x%x: unknown bits", mask);
    c->hashes = mask;
    return SP_OK;
}

int sp_set_size(sp_client *c, uint64_t size)
{
    c->size = size;
    return SP_OK;
}

int sp_set_connect_timeout_ms(sp_client *c, uint64_t ms)
{
    if (ms_ok(c, "connect timeout", ms) != SP_OK)
        return c->err;
    c->connect_timeout_ms = ms;
    return SP_OK;
}

int sp_set_timeout_ms(sp_client *c, uint64_t ms)
{
    if (ms_ok(c, "timeout", ms) != SP_OK)
        return c->err;
    c->timeout_ms = ms;
    return SP_OK;
}

int sp_set_stall_timeout_ms(sp_client *c, uint64_t ms)
{
    if (ms_ok(c, "stall timeout", ms) != SP_OK)
        return c->err;
    c->stall_timeout_ms = ms;
    return SP_OK;
}

int sp_set_answer_timeout_ms(sp_client *c, uint64_t ms)
{
    if (ms_ok(c, "answer timeout", ms) != SP_OK)
        return c->err;
    c->answer_timeout_ms = ms;
    return SP_OK;
}

int sp_set_expect_timeout_ms(sp_client *c, uint64_t ms)
{
    if (ms_ok(c, "expect timeout", ms) != SP_OK)
        return c->err;
    c->expect_timeout_ms = ms;
    return SP_OK;
}

int sp_set_expect_threshold(sp_client *c, uint64_t bytes)
{
    c->expect_threshold = bytes;
    return SP_OK;
}

int sp_set_retry(sp_client *c, unsigned retries)
{
    c->retries = retries;
    return SP_OK;
}

int sp_set_retry_delay_ms(sp_client *c, uint64_t ms)
{
    if (ms_ok(c, "retry delay", ms) != SP_OK)
        return c->err;
    c->retry_delay_ms = ms;
    return SP_OK;
}

int sp_set_limit_rate(sp_client *c, uint64_t bytes_per_sec)
{
    c->limit_rate = bytes_per_sec;
    return SP_OK;
}

int sp_set_multipart(sp_client *c, sp_multipart mode)
{
    if (mode != SP_MULTIPART_AUTO && mode != SP_MULTIPART_ALWAYS && mode != SP_MULTIPART_NEVER)
        return sp__fail(c, SP_EINVAL, 0, "multipart mode %d: unknown", (int)mode);
    c->multipart = mode;
    return SP_OK;
}

int sp_set_multipart_threshold(sp_client *c, uint64_t bytes)
{
    c->multipart_threshold = bytes;
    return SP_OK;
}

int sp_set_parallel_chunks(sp_client *c, unsigned lanes)
{
    if (lanes < 1 || lanes > SP_MAX_LANES)
        return sp__fail(c, SP_EINVAL, 0, "parallel chunks %u: must be 1 to %d", lanes,
                        SP_MAX_LANES);
    c->lanes = lanes;
    return SP_OK;
}

int sp_set_multipart_chunk_size(sp_client *c, uint64_t bytes)
{
    if (bytes > INT64_MAX)
        return sp__fail(c, SP_EINVAL, 0, "multipart chunk size %llu: too large",
                        (unsigned long long)bytes);
    c->mp_chunk_size = bytes;
    return SP_OK;
}

int sp_set_progress(sp_client *c, sp_progress_fn fn, void *userdata)
{
    c->progress = fn;
    c->progress_ud = userdata;
    return SP_OK;
}

int sp_set_debug(sp_client *c, sp_debug_fn fn, void *userdata)
{
    c->debug = fn;
    c->debug_ud = userdata;
    return SP_OK;
}

int sp_set_cacert(sp_client *c, const char *file)
{
    sp__conn_drop_idle(c); /* a kept connection was verified against the old trust */
    return set_string(c, &c->cacert, file);
}

int sp_set_capath(sp_client *c, const char *dir)
{
    sp__conn_drop_idle(c);
    return set_string(c, &c->capath, dir);
}

int sp_set_insecure(sp_client *c, int insecure)
{
    sp__conn_drop_idle(c);
    c->insecure = insecure != 0;
    return SP_OK;
}

int sp_set_pinned_pubkey(sp_client *c, const char *pins)
{
    sp__conn_drop_idle(c);
#ifdef SP_HAVE_TLS
    char shown[200];
    if (pins != NULL && !sp__tls_pin_valid(pins))
        return sp__fail(c, SP_EINVAL, 0,
                        "pinned public key '%s': want sha256//BASE64 of a SHA-256 (44 characters), "
                        "several separated by ';'",
                        sp__printable(pins, shown, sizeof shown));
#endif
    return set_string(c, &c->pinned_pubkey, pins);
}

const char *sp_response_body(const sp_client *c, size_t *len)
{
    if (len != NULL)
        *len = c->resp_len;
    return c->resp_body != NULL ? c->resp_body : "";
}

int sp__retryable(int err, const sp_result *res)
{
    switch (err) {
    case SP_ECONNECT:
    case SP_ESEND:
    case SP_ERECV:
    case SP_ETIMEOUT:
        return 1;
    case SP_EHTTP:
        return res->http_status == 408 || res->http_status == 429 ||
               (res->http_status >= 500 && res->http_status <= 599 && res->http_status != 501 &&
                res->http_status != 505);
    default:
        return 0;
    }
}

/* Appends to the detail of the last failure, as far as it fits. */
static void append_note(sp_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append_note(sp_client *c, const char *fmt, ...)
{
    size_t n = strlen(c->errmsg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg + n, sizeof c->errmsg - n, fmt, ap);
    va_end(ap);
}

/* Whether the request says Overwrite: false, as AList reads it (WebDAV's "F" too). */
int sp__overwrite_off(const sp_client *c)
{
    const char *v = sp__user_header_value(c, "Overwrite");
    if (v == NULL)
        return !c->overwrite;
    return strcmp(v, "false") == 0 || strcmp(v, "F") == 0;
}

/*
 * Sleeps ms milliseconds between attempts, ticking the progress callback at least every 250 ms
 * so the caller can cancel. Returns SP_OK, or SP_ECANCELED.
 */
static int back_off(sp_client *c, uint64_t ms, uint64_t total)
{
    while (ms > 0) {
        int step = ms > 250 ? 250 : (int)ms;
        poll(NULL, 0, step);
        ms -= (uint64_t)step;
        if (c->progress != NULL && c->progress(c->progress_ud, 0, total) != 0)
            return sp__fail(c, SP_ECANCELED, 0,
                            "canceled by the progress callback while waiting "
                            "to retry");
    }
    return SP_OK;
}

/* Forgets everything about the previous call, so that none of it shows through this one's. */
static void begin_call(sp_client *c)
{
    memset(&c->last, 0, sizeof c->last);
    c->last.body_size = SP_SIZE_UNKNOWN;
    c->err = SP_OK;
    c->sys_errno = 0;
    c->errmsg[0] = '\0';
    c->resp_len = 0;
}

/* Ends the record of a call begun at t0 with its outcome rc, which it returns. */
static int end_call(sp_client *c, int64_t t0, int rc)
{
    c->last.seconds = (double)(sp__now_ms() - t0) / 1000.0;
    c->err = rc;
    return rc;
}

/*
 * The login route for u (sp__url_login), once the login can go at all: a caller's own
 * Authorization header would replace the token the login gets, and a refused one could not be
 * told from a refused login.
 */
static int login_route(sp_client *c, const sp_url *u, int site, sp_url *lu)
{
    if (sp__user_header(c, "Authorization") != NULL)
        return sp__fail(c, SP_EINVAL, 0,
                        "a login and an Authorization header exclude each other: the login's "
                        "token is the Authorization");
    return sp__url_login(c, u, site, lu);
}

/*
 * The upload itself, once the source is open: fd is open for reading; regular says whether it can
 * be read again from its start (a regular file), which decides Content-Length, sendfile and
 * retries. t0 is when the call began, which --timeout counts from. Fills res as it goes.
 */
static int put_body(sp_client *c, int fd, int regular, const char *url, int64_t t0, sp_result *res)
{
    sp_url u, lu;
    sp_body_info b = {.size = SP_SIZE_UNKNOWN, .mtime_ms = -1};
    int rc;

    if ((rc = sp__url_parse(c, url, &u)) != SP_OK)
        return rc;
    if (c->login_user != NULL && (rc = login_route(c, &u, 0, &lu)) != SP_OK)
        return rc;

    off_t start = 0;
    if (regular) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            return sp__fail(c, SP_EFILE, errno, "stat input");
        }
        if ((start = lseek(fd, 0, SEEK_CUR)) < 0) {
            return sp__fail(c, SP_EFILE, errno, "seek input");
        }
        b.size = (uint64_t)(st.st_size > start ? st.st_size - start : 0);
        /* A file knows its length: a declared size that disagrees is a mistake, not a range. */
        if (c->size != SP_SIZE_UNKNOWN && c->size != b.size) {
            return sp__fail(c, SP_EINVAL, 0,
                            "declared size %llu does not match the file's %llu bytes (--size is "
                            "for streams)",
                            (unsigned long long)c->size, (unsigned long long)b.size);
        }
        if (c->last_modified)
            b.mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        b.watch = 1;
        b.watch_size = (uint64_t)st.st_size;
        b.watch_mtime = st.st_mtim;
        if (c->hashes != 0 && (rc = sp__hash_file(c, fd, (uint64_t)start, b.size, &b)) != SP_OK)
            return rc;
    } else {
        b.size = c->size;
        if (c->hashes != 0) {
            return sp__fail(c, SP_EINVAL, 0,
                            "digests need a regular file: a stream cannot be read twice");
        }
        if (c->engine == SP_ENGINE_SENDFILE) {
            return sp__fail(c, SP_EINVAL, 0, "the sendfile engine needs a regular file");
        }
    }
    res->body_size = b.size;
    b.expect = b.size == SP_SIZE_UNKNOWN || b.size > c->expect_threshold;
    /* A caller's own Expect header decides: "Expect:" turns the wait off, a value turns it on. */
    const char *expect = sp__user_header_value(c, "Expect");
    if (expect != NULL)
        b.expect = *expect != '\0';

    int64_t deadline = c->timeout_ms != 0 ? t0 + (int64_t)c->timeout_ms : INT64_MAX;
    rc = sp__multipart_put(c, &u, c->login_user != NULL ? &lu : NULL, fd, regular, (uint64_t)start,
                           &b, deadline, res);
    if (rc != SP__MP_DECLINED)
        return rc;
    uint64_t delay = c->retry_delay_ms;
    unsigned unanswered = 0; /* the last attempt that sent the whole body and got no answer */
    unsigned retried = 0;    /* of c->retries */
    int relogged = 0;        /* a refused token was replaced by a fresh login (once a call) */
    int refused_again = 0;   /* and the fresh login's token was refused too */
    const char *not_retried = NULL;
    for (unsigned attempt = 0;; attempt++) {
        res->attempts = attempt + 1;
        int login = c->login_user != NULL && c->login_token == NULL;
        rc = sp__transfer(c, &u, login ? &lu : NULL, fd, &b, regular, deadline, res);
        int unknown = rc != SP_OK && res->body_complete && res->http_status == 0;
        if (unknown)
            unanswered = attempt + 1;
        int refused = sp__token_refused(c, rc, res);
        if (refused && relogged)
            refused_again = 1;
        if (refused && !relogged) {
            /* A token expires (48 hours by default) or dies with a server restart while a
             * handle goes on uploading: one fresh login, and the upload once more, if its body
             * can be read again. A second refusal is the server's last word. */
            relogged = 1;
            sp__free_secret(&c->login_token);
            if (!regular && res->body_sent) {
                not_retried = "not sent again after a fresh login: the input is a stream that "
                              "had begun to go out and cannot be read again";
                break;
            }
            char shown[sizeof res->message];
            sp__debug(c, SP_DEBUG_INFO,
                      "the server refused the login's token (%s); logging in again",
                      sp__printable(res->message, shown, sizeof shown));
            if (regular && lseek(fd, start, SEEK_SET) < 0) {
                rc = sp__fail(c, SP_EFILE, errno, "rewind input for the upload after a login");
                break;
            }
            continue;
        }
        if (rc == SP_OK || retried >= c->retries || !sp__retryable(rc, res))
            break;
        if (!regular) {
            not_retried = "not retried: the input is a stream and cannot be read again";
            break;
        }
        /* Sending again is PUT's replace for an overwriting upload, but with Overwrite: false
         * the retry would find the file this attempt may have stored and be refused as
         * existing: a failure reported for an upload that worked. */
        if (unknown && sp__overwrite_off(c)) {
            not_retried = "not retried: with Overwrite: false a second upload would be refused "
                          "if this one stored the file";
            break;
        }
        if (sp__now_ms() + (int64_t)delay >= deadline)
            break; /* the back-off alone would outlast --timeout */
        sp__debug(c, SP_DEBUG_INFO, "attempt %u failed (%s)%s; retrying in %llu ms", attempt + 1,
                  c->errmsg,
                  unknown ? " after the whole body was sent: the server may have stored the "
                            "file, which the retry replaces"
                          : "",
                  (unsigned long long)delay);
        if ((rc = back_off(c, delay, b.size)) != SP_OK)
            break;
        delay = delay * 2 > SP_MAX_BACKOFF_MS ? SP_MAX_BACKOFF_MS : delay * 2;
        if (lseek(fd, start, SEEK_SET) < 0) {
            rc = sp__fail(c, SP_EFILE, errno, "rewind input for retry");
            break;
        }
        retried++;
    }
    if (refused_again)
        append_note(c, " (the token of a fresh login was refused too)");
    /* The server has every byte and said nothing we could read: it may well have stored the
     * file, and a caller must not be told otherwise, even when a later attempt failed. */
    if (rc != SP_OK && unanswered != 0) {
        res->maybe_stored = 1;
        if (unanswered == res->attempts)
            append_note(c,
                        "; the whole body had been sent, so the server may have stored the file");
        else
            append_note(c,
                        "; attempt %u had sent the whole body and got no answer, so the server "
                        "may have stored the file",
                        unanswered);
    }
    if (rc != SP_OK && not_retried != NULL)
        append_note(c, " (%s)", not_retried);
    return rc;
}

/* Where a body comes from: a path the library opens, or a caller's fd, seekable or not. */
typedef enum source_kind { SOURCE_PATH, SOURCE_FD, SOURCE_STREAM } source_kind;

/*
 * The one path of the three entry points: opens or inspects the source, uploads it, and records
 * the call on c whatever happens, so that an early failure does not leave the previous call's
 * result visible.
 */
static int put(sp_client *c, source_kind kind, const char *path, int fd, const char *url)
{
    int64_t t0 = sp__now_ms();
    char shown[200] = "input"; /* how messages name the source */
    int owned = -1, regular = 0, rc;

    begin_call(c);
    if (kind == SOURCE_PATH) {
        if (path == NULL) {
            rc = sp__fail(c, SP_EINVAL, 0, "no file path given");
            goto out;
        }
        sp__printable(path, shown, sizeof shown);
        if ((fd = owned = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            rc = sp__fail(c, SP_EFILE, errno, "open %s", shown);
            goto out;
        }
    }
    if (kind != SOURCE_STREAM) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            rc = sp__fail(c, SP_EFILE, errno, "stat input fd %d", fd);
            goto out;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = sp__fail(c, SP_EFILE, EISDIR, "read %s", shown);
            goto out;
        }
        regular = S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_CUR) >= 0;
    }
    rc = put_body(c, fd, regular, url, t0, &c->last);
out:
    if (owned >= 0)
        close(owned);
    return end_call(c, t0, rc);
}

int sp_login(sp_client *c, const char *url)
{
    int64_t t0 = sp__now_ms();
    sp_url u, lu;
    sp__conn cn = {.fd = -1};
    int rc;

    begin_call(c);
    if (c->login_user == NULL)
        rc = sp__fail(c, SP_EINVAL, 0, "login: no user set (sp_set_login)");
    else if ((rc = sp__url_parse(c, url, &u)) == SP_OK &&
             (rc = login_route(c, &u, 1, &lu)) == SP_OK) {
        int64_t deadline = c->timeout_ms != 0 ? t0 + (int64_t)c->timeout_ms : INT64_MAX;
        c->last.attempts = 1;
        rc = sp__login_run(c, &lu, &cn, SP_SIZE_UNKNOWN, deadline, &c->last);
        sp__conn_close(&cn); /* no upload follows on it */
    }
    return end_call(c, t0, rc);
}

/*
 * The server's digests of the object in the fs/get answer's data: hash_info, a map of hash names
 * to lowercase hex (OpenList pkg/utils/hash.go), or null when the storage keeps none; hashinfo
 * is the same map as a JSON string. Returns the one named, or NULL.
 */
static const char *server_hash(const cJSON *data, cJSON **parsed, const char *name)
{
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(data, "hash_info");
    if (!cJSON_IsObject(map)) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(data, "hashinfo");
        if (*parsed == NULL && cJSON_IsString(text))
            *parsed = cJSON_Parse(text->valuestring);
        map = *parsed;
    }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(map, name);
    return cJSON_IsString(h) && *h->valuestring != '\0' ? h->valuestring : NULL;
}

/*
 * Whether the fs/get answer in c's response describes the same file as fd of size bytes: a
 * non-directory of that size and, for each digest both asked for (sp_set_hashes) and reported
 * by the server, the same digest, computed only then since it reads the whole file.
 */
static int same_file(sp_client *c, int fd, uint64_t size, int *same)
{
    cJSON *json = sp__resp_json(c), *parsed = NULL;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(data, "size");
    int rc = SP_OK;
    *same = 0;
    if (!cJSON_IsNumber(n) || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(data, "is_dir"))) {
        rc = sp__fail(c, SP_EPROTO, 0, "fs/get: the answer holds no object's size and is_dir");
        goto out;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "is_dir")) || n->valuedouble < 0 ||
        (uint64_t)n->valuedouble != size)
        goto out;
    sp_body_info b = {.size = size, .mtime_ms = -1};
    const char *theirs[3] = {server_hash(data, &parsed, "md5"), server_hash(data, &parsed, "sha1"),
                             server_hash(data, &parsed, "sha256")};
    const char *ours[3] = {b.md5, b.sha1, b.sha256};
    int compare = 0;
    for (int i = 0; i < 3; i++)
        compare |= (c->hashes & (1u << i)) != 0 && theirs[i] != NULL;
    if (compare && (rc = sp__hash_file(c, fd, 0, size, &b)) != SP_OK)
        goto out;
    *same = 1;
    for (int i = 0; i < 3; i++)
        if ((c->hashes & (1u << i)) != 0 && theirs[i] != NULL &&
            strcasecmp(theirs[i], ours[i]) != 0)
            *same = 0;
out:
    cJSON_Delete(parsed);
    cJSON_Delete(json);
    return rc;
}

int sp_remote_matches(sp_client *c, const char *path, const char *remote, const char *url,
                      int *same)
{
    int64_t t0 = sp__now_ms();
    sp_url u, lu;
    int fd = -1, found = 0, rc;
    struct stat st;
    char shown[200];

    begin_call(c);
    *same = 0;
    if (path == NULL || remote == NULL) {
        rc = sp__fail(c, SP_EINVAL, 0, "no file path or remote path given");
        goto out;
    }
    sp__printable(path, shown, sizeof shown);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        rc = sp__fail(c, SP_EFILE, errno, "open %s", shown);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = sp__fail(c, SP_EFILE, 0, "%s is not a regular file", shown);
        goto out;
    }
    if ((rc = sp__url_parse(c, url, &u)) != SP_OK ||
        (c->login_user != NULL && (rc = login_route(c, &u, 0, &lu)) != SP_OK))
        goto out;
    int64_t deadline = c->timeout_ms != 0 ? t0 + (int64_t)c->timeout_ms : INT64_MAX;
    c->last.attempts = 1;
    rc = sp__fs_get(c, &u, c->login_user != NULL ? &lu : NULL, remote, deadline, &c->last, &found);
    if (rc == SP_OK && found)
        rc = same_file(c, fd, (uint64_t)st.st_size, same);
out:
    if (fd >= 0)
        close(fd);
    return end_call(c, t0, rc);
}

int sp_put_file(sp_client *c, const char *path, const char *url)
{
    return put(c, SOURCE_PATH, path, -1, url);
}

int sp_put_fd(sp_client *c, int fd, const char *url)
{
    return put(c, SOURCE_FD, NULL, fd, url);
}

int sp_put_stream(sp_client *c, int fd, const char *url)
{
    return put(c, SOURCE_STREAM, NULL, fd, url);
}

int sp_getinfo(const sp_client *c, sp_info what, void *out)
{
    const sp_result *r;
    long l = 0;
    uint64_t u = 0;
    double d = 0;
    const char *str = NULL;

    if (c == NULL || out == NULL)
        return SP_EINVAL;
    r = &c->last;
    switch (what) {
    case SP_INFO_HTTP_STATUS:
        l = r->http_status;
        break;
    case SP_INFO_HAS_API_CODE:
        l = r->has_code;
        break;
    case SP_INFO_API_CODE:
        l = r->code;
        break;
    case SP_INFO_MESSAGE:
        str = r->message;
        break;
    case SP_INFO_BODY_SIZE:
        u = r->body_size;
        break;
    case SP_INFO_BYTES_SENT:
        u = r->bytes_sent;
        break;
    case SP_INFO_SECONDS:
        d = r->seconds;
        break;
    case SP_INFO_ATTEMPTS:
        l = (long)r->attempts;
        break;
    case SP_INFO_BODY_SENT:
        l = r->body_sent;
        break;
    case SP_INFO_ENGINE:
        l = r->engine;
        break;
    case SP_INFO_BODY_COMPLETE:
        l = r->body_complete;
        break;
    case SP_INFO_RESPONSE_BYTES:
        u = r->response_bytes;
        break;
    case SP_INFO_MAYBE_STORED:
        l = r->maybe_stored;
        break;
    case SP_INFO_TOKEN:
        str = c->login_token != NULL ? c->login_token : "";
        break;
    case SP_INFO_UPLOAD_ID:
        str = r->upload_id;
        break;
    case SP_INFO_CHUNKS_TOTAL:
        l = r->chunks_total;
        break;
    case SP_INFO_CHUNKS_SENT:
        l = r->chunks_sent;
        break;
    case SP_INFO_CHUNKS_SKIPPED:
        l = r->chunks_skipped;
        break;
    case SP_INFO_BYTES_HELD:
        u = r->bytes_held;
        break;
    default:
        return SP_EINVAL;
    }
    /* The kind is in the value itself, so one store per kind serves every field. */
    switch ((unsigned)what & SP_INFO_TYPEMASK) {
    case SP_INFO_LONG:
        *(long *)out = l;
        break;
    case SP_INFO_UINT64:
        *(uint64_t *)out = u;
        break;
    case SP_INFO_DOUBLE:
        *(double *)out = d;
        break;
    case SP_INFO_STRING:
        *(const char **)out = str;
        break;
    }
    return SP_OK;
}
