/*
 * The request journal (GET/DELETE /_mock/requests) and the access log on stderr.
 *
 * A journal entry is a mock_entry owned by this file: mock_entry_new() records what the request
 * head says, mock_journal_add() what the request came to; nothing else reads or writes its
 * fields, and the access log and the listing are both rendered from it, so what the log says and
 * what the journal returns never differ.
 *
 * Memory stays bounded however long the mock runs and whatever clients send: every recorded
 * string is capped at MOCK_JOURNAL_VALUE_MAX bytes (a cut value is named in the entry's
 * "truncated" list), the journal keeps at most --journal N entries and --journal-bytes SIZE
 * bytes of them (the oldest go first), and a listing is streamed one entry at a time through
 * buffers of a fixed size instead of being printed whole.
 */
#include "journal.h"
#include "events.h"
#include "respond.h"
#include "watchdog.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The string fields of an entry, in the order their keys appear in its JSON. */
enum entry_str {
    E_TIME,
    E_METHOD,
    E_PATH,
    E_USER,
    E_FILE_PATH,
    E_STORED_PATH,
    E_TRANSFER_ENCODING,
    E_CONTENT_TYPE,
    E_X_FILE_SIZE, /* first of the headers that are recorded as sent, see recorded[] */
    E_X_FILE_MD5,
    E_X_FILE_SHA1,
    E_X_FILE_SHA256,
    E_LAST_MODIFIED,
    E_OVERWRITE,
    E_AS_TASK,
    E_X_MOCK_FAULT,
    E_MESSAGE,
    E_UPLOAD_ID,
    E_NSTR
};

static const char *const key[E_NSTR] = {
    "time",
    "method",
    "path",
    "user",
    "file_path",
    "stored_path",
    "transfer_encoding",
    "content_type",
    "x_file_size",
    "x_file_md5",
    "x_file_sha1",
    "x_file_sha256",
    "last_modified",
    "overwrite",
    "as_task",
    "x_mock_fault",
    "message",
    "upload_id",
};

/* Request headers kept as sent, from E_X_FILE_SIZE on. */
static const char *const recorded[] = {
    "X-File-Size",   "X-File-Md5", "X-File-Sha1", "X-File-Sha256",
    "Last-Modified", "Overwrite",  "As-Task",     "X-Mock-Fault",
};

struct mock_entry {
    uint64_t seq;    /* its place in the journal, given when it is added */
    size_t bytes;    /* what it costs the --journal-bytes budget: this struct and its strings */
    uint64_t conn;   /* the connection's number (mock_connection_id), 0: JSON null */
    char *s[E_NSTR]; /* NULL: JSON null */
    unsigned cut;    /* bit i: s[i] was cut to MOCK_JOURNAL_VALUE_MAX bytes */
    int has_length;  /* content_length is known (Content-Length without Transfer-Encoding) */
    uint64_t content_length;
    uint64_t bytes_received;
    int multipart_suspected;
    unsigned http_status; /* 0: no answer was sent; http_status and code are null */
    int code;
    int stored;
    int64_t duration_ms;
    int multipart; /* a multipart route's: upload_id and chunk follow duration_ms */
    int has_chunk;
    int64_t chunk;
};

/*
 * The most one entry's JSON can take: each recorded byte becomes at most six (a \u00XX escape
 * from cJSON, or Go's \ufffd, \u003c ... for it), plus the keys, numbers and the truncated list.
 */
#define ENTRY_JSON_MAX (E_NSTR * 6 * MOCK_JOURNAL_VALUE_MAX + 4096)

/*
 * The journal: a ring of cap slots holding the entries numbered first_seq .. next_seq - 1.
 * Entries are numbered as they are added and dropped only from the oldest end (or all at once),
 * so the numbers in the ring are always consecutive and an entry is found by its number alone.
 */
static pthread_mutex_t ring_mu = PTHREAD_MUTEX_INITIALIZER;
static mock_entry **ring;
static size_t cap;
static uint64_t byte_cap, bytes;
static uint64_t first_seq, next_seq;
static mock_log_format log_format;

/* Serialises stderr writes only, so a slow terminal never holds up the journal. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

int mock_journal_init(size_t capacity, uint64_t max_bytes, mock_log_format fmt)
{
    log_format = fmt;
    cap = capacity;
    byte_cap = max_bytes;
    if (cap == 0)
        return 0;
    ring = calloc(cap, sizeof *ring);
    return ring != NULL ? 0 : -1;
}

void mock_journal_free(void)
{
    mock_journal_clear();
    free(ring);
    ring = NULL;
}

/* ---- entries ---- */

/*
 * Stores a copy of s (NULL stays NULL) as field i, cut to MOCK_JOURNAL_VALUE_MAX bytes. The cut
 * backs off to the start of a UTF-8 sequence, so a valid value stays valid; a value that is not
 * UTF-8 anyway is shown with U+FFFD like every other invalid byte.
 */
static void put_str(mock_entry *e, enum entry_str i, const char *s)
{
    if (e->s[i] != NULL)
        e->bytes -= strlen(e->s[i]) + 1;
    free(e->s[i]);
    e->s[i] = NULL;
    if (s == NULL)
        return;
    size_t n = strnlen(s, MOCK_JOURNAL_VALUE_MAX + 1);
    if (n > MOCK_JOURNAL_VALUE_MAX) {
        n = MOCK_JOURNAL_VALUE_MAX;
        for (int back = 0; back < 3 && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; back++)
            n--;
        e->cut |= 1u << i;
    }
    e->s[i] = strndup(s, n);
    if (e->s[i] != NULL)
        e->bytes += n + 1;
}

mock_entry *mock_entry_new(struct MHD_Connection *c, const char *method, const char *url)
{
    char now[64];
    const char *clh = mock_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = mock_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    mock_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->bytes = sizeof *e;
    mock_time_iso(now, sizeof now);
    put_str(e, E_TIME, now);
    put_str(e, E_METHOD, method);
    put_str(e, E_PATH, url);
    e->conn = mock_connection_id(c);
    put_str(e, E_FILE_PATH, mock_header(c, "File-Path"));
    e->has_length =
        clh != NULL && te == NULL && sp__parse_uint(clh, UINT64_MAX, &e->content_length) == 0;
    put_str(e, E_TRANSFER_ENCODING, te);
    put_str(e, E_CONTENT_TYPE, mock_header(c, "Content-Type"));
    for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++)
        put_str(e, (enum entry_str)(E_X_FILE_SIZE + i), mock_header(c, recorded[i]));
    return e;
}

void mock_entry_free(mock_entry *e)
{
    if (e == NULL)
        return;
    for (int i = 0; i < E_NSTR; i++)
        free(e->s[i]);
    free(e);
}

/* Records what the request came to. */
static void entry_finish(mock_entry *e, const mock_outcome *o)
{
    put_str(e, E_USER, o->user);
    put_str(e, E_STORED_PATH, o->stored_path);
    put_str(e, E_MESSAGE, o->message);
    e->bytes_received = o->bytes_received;
    e->multipart_suspected = o->multipart_suspected;
    e->http_status = o->http_status;
    e->code = o->code;
    e->stored = o->stored;
    e->duration_ms = o->duration_ms;
    e->multipart = o->multipart;
    put_str(e, E_UPLOAD_ID, o->upload_id);
    e->has_chunk = o->has_chunk;
    e->chunk = o->chunk;
}

static cJSON *str_or_null(const char *s)
{
    return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/*
 * The entry as a cJSON object (caller deletes), every key in its documented order. An entry with
 * a cut value ends with "truncated": the keys of the cut values, in key order; entries without
 * one have no such key, so they read exactly as before values were capped.
 */
static cJSON *entry_json(const mock_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    for (int i = E_TIME; i <= E_PATH; i++)
        cJSON_AddItemToObject(o, key[i], str_or_null(e->s[i]));
    /* Which connection carried the request: equal numbers, one kept-alive connection. */
    if (e->conn != 0)
        cJSON_AddNumberToObject(o, "connection", (double)e->conn);
    else
        cJSON_AddNullToObject(o, "connection");
    for (int i = E_USER; i <= E_STORED_PATH; i++)
        cJSON_AddItemToObject(o, key[i], str_or_null(e->s[i]));
    if (e->has_length)
        cJSON_AddNumberToObject(o, "content_length", (double)e->content_length);
    else
        cJSON_AddNullToObject(o, "content_length");
    for (int i = E_TRANSFER_ENCODING; i <= E_X_MOCK_FAULT; i++)
        cJSON_AddItemToObject(o, key[i], str_or_null(e->s[i]));
    cJSON_AddNumberToObject(o, "bytes_received", (double)e->bytes_received);
    cJSON_AddBoolToObject(o, "multipart_suspected", e->multipart_suspected);
    if (e->http_status != 0) {
        cJSON_AddNumberToObject(o, "http_status", e->http_status);
        cJSON_AddNumberToObject(o, "code", e->code);
    } else {
        cJSON_AddNullToObject(o, "http_status");
        cJSON_AddNullToObject(o, "code");
    }
    cJSON_AddItemToObject(o, "message", str_or_null(e->s[E_MESSAGE]));
    cJSON_AddBoolToObject(o, "stored", e->stored);
    cJSON_AddNumberToObject(o, "duration_ms", (double)e->duration_ms);
    /* Only the multipart routes' entries have these, so every other entry reads as before. */
    if (e->multipart) {
        cJSON_AddItemToObject(o, "upload_id", str_or_null(e->s[E_UPLOAD_ID]));
        if (e->has_chunk)
            cJSON_AddNumberToObject(o, "chunk", (double)e->chunk);
        else
            cJSON_AddNullToObject(o, "chunk");
    }
    if (e->cut != 0) {
        cJSON *t = cJSON_AddArrayToObject(o, "truncated");
        for (int i = 0; t != NULL && i < E_NSTR; i++)
            if (e->cut & (1u << i))
                cJSON_AddItemToArray(t, cJSON_CreateString(key[i]));
    }
    return o;
}

/*
 * Renders the entry as gin would (mock_json_go's escaping) into out, using raw as scratch; both
 * hold ENTRY_JSON_MAX bytes. Returns the length, or -1 (out of memory).
 */
static long entry_render(const mock_entry *e, char *raw, char *out)
{
    cJSON *o = entry_json(e);
    long n = -1;
    if (o != NULL && cJSON_PrintPreallocated(o, raw, ENTRY_JSON_MAX, 0))
        n = mock_json_go_into(raw, out, ENTRY_JSON_MAX, 0);
    cJSON_Delete(o);
    return n;
}

/* ---- the access log ---- */

/* Writes one whole line to stderr with a single write(2), so concurrent lines never interleave. */
static void emit(const char *line)
{
    size_t n = strlen(line);
    pthread_mutex_lock(&log_mu);
    if (sp__write_all(2, line, n) == 0)
        sp__write_all(2, "\n", 1);
    pthread_mutex_unlock(&log_mu);
}

/*
 * Emits v as one JSON line. JSON already escapes C0 controls, and the Go encoder turns invalid
 * UTF-8 into \ufffd; the C1 controls U+0080-U+009F are escaped as \u00XX as well, because a
 * terminal that honours 8-bit controls reads U+009B as CSI, and a header sent by any client
 * could then drive the terminal of whoever tails the log. \u009b is the same JSON string.
 */
static void emit_json(const cJSON *v)
{
    char *s = mock_json_go_ex(v, 1);
    if (s != NULL)
        emit(s);
    free(s);
}

/*
 * Field i of e for the text line, or dflt when it is null: control bytes and invalid UTF-8
 * escaped as \xHH, so one request stays one line and no header can drive the terminal.
 */
static const char *shown(const mock_entry *e, enum entry_str i, const char *dflt, char *buf,
                         size_t bufsz)
{
    return sp__printable(e->s[i] != NULL ? e->s[i] : dflt, buf, bufsz);
}

/* One access-log line: the entry itself in json mode, a short human summary in text mode. */
static void log_entry(const mock_entry *e)
{
    if (log_format == MOCK_LOG_JSON) {
        cJSON *o = entry_json(e);
        if (o != NULL)
            emit_json(o);
        cJSON_Delete(o);
        return;
    }
    /* Four bytes per recorded byte: every one may need a \xHH escape. */
    char tm[64], method[4 * 64], path[4 * MOCK_JOURNAL_VALUE_MAX + 8], user[4 * 64 + 8];
    char fp[4 * MOCK_JOURNAL_VALUE_MAX + 8], msg[4 * MOCK_JOURNAL_VALUE_MAX + 8];
    char line[sizeof tm + sizeof method + sizeof path + sizeof fp + sizeof msg + sizeof user + 256];
    snprintf(line, sizeof line,
             "%s %s %s file_path=\"%s\" bytes=%llu status=%u code=%d user=%s conn=%llu ms=%lld %s",
             shown(e, E_TIME, "-", tm, sizeof tm), shown(e, E_METHOD, "-", method, sizeof method),
             shown(e, E_PATH, "-", path, sizeof path), shown(e, E_FILE_PATH, "", fp, sizeof fp),
             (unsigned long long)e->bytes_received, e->http_status,
             e->http_status != 0 ? e->code : 0, shown(e, E_USER, "-", user, sizeof user),
             (unsigned long long)e->conn, (long long)e->duration_ms,
             shown(e, E_MESSAGE, "", msg, sizeof msg));
    emit(line);
}

/* ---- the journal ---- */

/* The slot of entry number seq, which must be in the journal. */
static mock_entry **slot(uint64_t seq)
{
    return &ring[(size_t)(seq % cap)];
}

/* Drops the oldest entry; the caller holds ring_mu and knows the journal is not empty. */
static void drop_oldest(void)
{
    mock_entry **s = slot(first_seq++);
    bytes -= (*s)->bytes;
    mock_entry_free(*s);
    *s = NULL;
}

void mock_journal_add(mock_entry *e, const mock_outcome *o)
{
    entry_finish(e, o);
    log_entry(e);
    if (mock_events_wanted()) {
        cJSON *j = entry_json(e);
        if (j != NULL)
            mock_events_publish("request", j);
        cJSON_Delete(j);
    }
    pthread_mutex_lock(&ring_mu);
    if (cap == 0 || e->bytes > byte_cap) {
        /* An entry that alone exceeds --journal-bytes is logged but cannot be kept. */
        mock_entry_free(e);
    } else {
        while (next_seq - first_seq >= cap || bytes + e->bytes > byte_cap)
            drop_oldest();
        e->seq = next_seq++;
        *slot(e->seq) = e;
        bytes += e->bytes;
    }
    pthread_mutex_unlock(&ring_mu);
}

void mock_journal_clear(void)
{
    pthread_mutex_lock(&ring_mu);
    while (first_seq < next_seq)
        drop_oldest();
    pthread_mutex_unlock(&ring_mu);
}

/*
 * A listing in progress: the entries numbered next .. end - 1 that are still in the journal when
 * their turn comes. end is fixed when the listing starts, so a journal that keeps growing cannot
 * make it endless; entries dropped meanwhile are skipped, never half-read.
 */
typedef struct listing {
    uint64_t next, end;
    int started;     /* "[" is out */
    int any;         /* an entry is out: the next one needs a comma */
    int done;        /* "]" is out */
    size_t len, off; /* out[off .. len) is still to be sent */
    char raw[ENTRY_JSON_MAX];
    char out[ENTRY_JSON_MAX + 1]; /* room for the "[" or comma before an entry */
} listing;

/*
 * Renders the next entry of the listing (or the closing "]") into l->out. Rendering happens
 * under the lock, so the entry cannot be dropped and freed halfway. Returns 0 or -1.
 */
static int listing_fill(listing *l)
{
    long n = 0;
    l->off = l->len = 0;
    if (!l->started) {
        l->started = 1;
        l->out[l->len++] = '[';
    }
    pthread_mutex_lock(&ring_mu);
    if (l->next < first_seq)
        l->next = first_seq;
    int more = l->next < l->end && l->next < next_seq;
    if (more) {
        if (l->any)
            l->out[l->len++] = ',';
        n = entry_render(*slot(l->next), l->raw, l->out + l->len);
        l->next++;
    }
    pthread_mutex_unlock(&ring_mu);
    if (n < 0)
        return -1;
    if (more) {
        l->any = 1;
        l->len += (size_t)n;
    } else {
        l->out[l->len++] = ']';
        l->done = 1;
    }
    return 0;
}

/* MHD's content reader: as much of the listing as fits in buf, one rendered entry at a time. */
static ssize_t listing_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    listing *l = cls;
    size_t w = 0;
    (void)pos;
    while (w < max) {
        if (l->off == l->len) {
            if (l->done)
                break;
            if (listing_fill(l) < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        w += mock_hand_out(buf + w, max - w, l->out, l->len, &l->off);
    }
    return w > 0 ? (ssize_t)w : MHD_CONTENT_READER_END_OF_STREAM;
}

enum MHD_Result mock_journal_list(struct MHD_Connection *c)
{
    listing *l = malloc(sizeof *l);
    if (l == NULL)
        return MHD_NO;
    l->started = l->any = l->done = 0;
    l->len = l->off = 0;
    pthread_mutex_lock(&ring_mu);
    l->next = first_seq;
    l->end = next_seq;
    pthread_mutex_unlock(&ring_mu);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, listing_read, l, free);
    if (r == NULL) {
        free(l);
        return MHD_NO;
    }
    /*
     * The length is not known before the last entry is rendered: libmicrohttpd sends the listing
     * chunked to an HTTP/1.1 client, which keeps its connection, and close-delimited to HTTP/1.0.
     */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- warnings and time ---- */

void mock_warn(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (log_format == MOCK_LOG_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "level", "warning");
        cJSON_AddStringToObject(o, "message", msg);
        emit_json(o);
        cJSON_Delete(o);
    } else {
        /* A warning may quote a decoded File-Path: escaped as the access log's fields are. */
        char shown[4 * sizeof msg + 8], line[sizeof shown + 16];
        snprintf(line, sizeof line, "warning: %s", sp__printable(msg, shown, sizeof shown));
        emit(line);
    }
}

void mock_time_iso(char *out, size_t outsz)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}
