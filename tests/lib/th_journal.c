#include "th_journal.h"

#include "th_clock.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Asserts that m is a whole 200 listing. */
static void check_listing(const th_msg *m)
{
    ck_assert_msg(m->status == 200, "GET /_mock/requests: status %d: %.200s", m->status,
                  m->raw != NULL ? m->raw : "");
    ck_assert_msg(m->complete, "GET /_mock/requests: the listing ended early: ...%.200s",
                  m->body_len > 200 ? m->body + m->body_len - 200 : m->body);
}

/* Parses a checked listing and frees m. */
static cJSON *parse_listing(th_msg *m)
{
    check_listing(m);
    cJSON *a = cJSON_ParseWithLength(m->body, m->body_len);
    ck_assert_msg(cJSON_IsArray(a), "the journal is not a JSON array: %.200s", m->body);
    th_msg_free(m);
    return a;
}

void th_journal_msg(int port, th_msg *m)
{
    th_msg_request(port, TH_JOURNAL_REQUEST, sizeof TH_JOURNAL_REQUEST - 1, m, 30000);
    check_listing(m);
}

cJSON *th_journal_read(int fd, int timeout_ms)
{
    th_msg m;
    th_msg_read(fd, &m, timeout_ms);
    return parse_listing(&m);
}

cJSON *th_journal(int port)
{
    th_msg m;
    th_msg_request(port, TH_JOURNAL_REQUEST, sizeof TH_JOURNAL_REQUEST - 1, &m, 30000);
    return parse_listing(&m);
}

const char *th_journal_last(int port, const char *key)
{
    static char out[4096];
    cJSON *a = th_journal(port);
    cJSON *e = cJSON_GetArrayItem(a, cJSON_GetArraySize(a) - 1);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
    if (cJSON_IsString(v))
        snprintf(out, sizeof out, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(out, sizeof out, "%.0f", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(out, sizeof out, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        snprintf(out, sizeof out, "(%s)", v == NULL ? "missing" : "null");
    cJSON_Delete(a);
    return out;
}

int th_journal_conn(const cJSON *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "connection");
    ck_assert_msg(cJSON_IsNumber(v) && v->valuedouble >= 1, "an entry without a connection");
    return v->valueint;
}

/* 1 if entry e counts for th_journal_conns: any entry without a method, else one of it. */
static int of_method(const cJSON *e, const char *method)
{
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "method"));
    return method == NULL || (m != NULL && strcmp(m, method) == 0);
}

int th_journal_conns(const cJSON *a, int from, const char *method)
{
    int n = 0, i = 0;
    const cJSON *e, *f;
    cJSON_ArrayForEach(e, a)
    {
        if (i++ < from || !of_method(e, method))
            continue;
        /* Counted at its first entry: no counted entry of the range before it names its number. */
        int first = 1;
        for (f = cJSON_GetArrayItem(a, from); f != e && first; f = f->next)
            first = !of_method(f, method) || th_journal_conn(f) != th_journal_conn(e);
        n += first;
    }
    return n;
}

cJSON *th_journal_find(th_mock *m, const char *file_path, int timeout_ms)
{
    int64_t deadline = th_now_ms() + timeout_ms;
    for (;;) {
        cJSON *all = th_journal(m->port), *found = NULL, *e;
        th_mock_drain_log(m);
        cJSON_ArrayForEach(e, all)
        {
            const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "file_path"));
            if (p != NULL && strcmp(p, file_path) == 0)
                found = e; /* the newest one wins */
        }
        found = found != NULL ? cJSON_Duplicate(found, 1) : NULL;
        cJSON_Delete(all);
        if (found != NULL || th_now_ms() >= deadline)
            return found;
        th_sleep_ms(20);
    }
}

int th_journal_wait(th_mock *m, const char *file_path, int timeout_ms)
{
    cJSON *e = th_journal_find(m, file_path, timeout_ms);
    cJSON_Delete(e);
    return e != NULL;
}
