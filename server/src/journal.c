/*
 * The request journal (GET/DELETE /_mock/requests) and the access log on stderr. Both are fed the
 * same cJSON entry per request, so what the log says and what the journal returns never differ.
 * The journal is a fixed ring of --journal N entries: memory stays bounded however long the mock
 * runs.
 */
#include "mock.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static cJSON **ring;
static size_t cap, head, count; /* head: index of the oldest entry */
static mock_log_format log_format;

int mock_journal_init(size_t capacity, mock_log_format fmt)
{
    log_format = fmt;
    cap = capacity;
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

/*
 * Writes one whole line to stderr with a single write(2), so lines of concurrent requests never
 * interleave. Control bytes (a File-Path may decode to a newline) become '?': one request stays
 * one line. JSON lines have none, cJSON escapes them.
 */
static void emit(char *line)
{
    size_t n = strlen(line);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = '?';
    pthread_mutex_lock(&mu);
    if (sp__write_all(2, line, n) == 0)
        sp__write_all(2, "\n", 1);
    pthread_mutex_unlock(&mu);
}

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s != NULL ? s : dflt;
}

static double num_or(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* One access-log line: the entry itself in json mode, a short human summary in text mode. */
static void log_entry(const cJSON *e)
{
    if (log_format == MOCK_LOG_JSON) {
        char *s = cJSON_PrintUnformatted(e);
        if (s != NULL)
            emit(s);
        cJSON_free(s);
        return;
    }
    char line[2048];
    snprintf(
        line, sizeof line, "%s %s %s file_path=\"%s\" bytes=%.0f status=%.0f code=%.0f ms=%.0f %s",
        str_or(e, "time", "-"), str_or(e, "method", "-"), str_or(e, "path", "-"),
        str_or(e, "file_path", ""), num_or(e, "bytes_received", 0), num_or(e, "http_status", 0),
        num_or(e, "code", 0), num_or(e, "duration_ms", 0), str_or(e, "message", ""));
    emit(line);
}

void mock_journal_add(cJSON *e)
{
    log_entry(e);
    pthread_mutex_lock(&mu);
    if (cap == 0) {
        cJSON_Delete(e);
    } else if (count < cap) {
        ring[(head + count++) % cap] = e;
    } else {
        /* Full: the oldest entry makes room. */
        cJSON_Delete(ring[head]);
        ring[head] = e;
        head = (head + 1) % cap;
    }
    pthread_mutex_unlock(&mu);
}

cJSON *mock_journal_snapshot(void)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&mu);
    for (size_t i = 0; a != NULL && i < count; i++)
        cJSON_AddItemToArray(a, cJSON_Duplicate(ring[(head + i) % cap], 1));
    pthread_mutex_unlock(&mu);
    return a;
}

void mock_journal_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < count; i++)
        cJSON_Delete(ring[(head + i) % cap]);
    head = count = 0;
    pthread_mutex_unlock(&mu);
}

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
        char *s = cJSON_PrintUnformatted(o);
        if (s != NULL)
            emit(s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        char line[1100];
        snprintf(line, sizeof line, "warning: %s", msg);
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
