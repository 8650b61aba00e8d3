#include "test_mock_util.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void tm_env_init(tm_env *e)
{
    e->dir = th_tmpdir();
    ck_assert_ptr_nonnull(e->dir);
    e->root = strdup(th_path(e->dir, "root"));
    ck_assert_int_eq(mkdir(e->root, 0755), 0);
}

void tm_env_free(tm_env *e)
{
    free(e->root);
    th_rmtree(e->dir);
    e->root = e->dir = NULL;
}

void tm_env_up(tm_env *e, th_mock *m, const char *opt, const char *val)
{
    tm_env_init(e);
    ck_assert_int_eq(th_mock_start(m, e->root, opt, val, NULL), 0);
}

void tm_env_down(tm_env *e, th_mock *m)
{
    ck_assert_int_eq(th_mock_stop(m), 0);
    tm_env_free(e);
}

void tm_parse(tm_resp *r)
{
    const char *p = r->raw;
    r->status = -1;
    r->body = "";
    for (;;) {
        int st;
        const char *end = strstr(p, "\r\n\r\n");
        if (sscanf(p, "HTTP/1.%*d %d", &st) != 1 || end == NULL)
            return;
        r->status = st;
        r->body = end + 4;
        if (st != 100)
            return;
        p = end + 4;
    }
}

int tm_raw(int port, const void *req, size_t len, tm_resp *r)
{
    r->raw[0] = '\0';
    int fd = th_connect(port);
    if (fd < 0)
        return -1;
    if (th_send_all(fd, req, len) == 0)
        th_recv_all(fd, r->raw, sizeof r->raw, 20000);
    close(fd);
    tm_parse(r);
    return r->status;
}

int tm_put(int port, const char *route, const char *headers, const void *body, size_t len,
           size_t chunk, tm_resp *r)
{
    char head[8192];
    int hl;
    if (chunk == 0)
        hl = snprintf(head, sizeof head,
                      "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Length: %zu\r\n%s\r\n",
                      route, len, headers);
    else
        hl = snprintf(head, sizeof head,
                      "PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Transfer-Encoding: chunked\r\n%s\r\n",
                      route, headers);
    ck_assert_int_lt(hl, (int)sizeof head);
    r->raw[0] = '\0';
    int fd = th_connect(port);
    if (fd < 0)
        return -1;
    int ok = th_send_all(fd, head, (size_t)hl) == 0;
    const char *b = body;
    if (chunk == 0) {
        ok = ok && th_send_all(fd, b, len) == 0;
    } else {
        for (size_t off = 0; ok && off < len; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            char sz[32];
            int sl = snprintf(sz, sizeof sz, "%zx\r\n", n);
            ok = th_send_all(fd, sz, (size_t)sl) == 0 && th_send_all(fd, b + off, n) == 0 &&
                 th_send_all(fd, "\r\n", 2) == 0;
        }
        ok = ok && th_send_all(fd, "0\r\n\r\n", 5) == 0;
    }
    /* Even if sending failed (an early answer closes the connection), read what came back. */
    (void)ok;
    th_recv_all(fd, r->raw, sizeof r->raw, 20000);
    close(fd);
    tm_parse(r);
    return r->status;
}

int tm_upload(int port, const char *file_path, const char *headers, const char *body, tm_resp *r)
{
    char h[8192];
    snprintf(h, sizeof h, "File-Path: %s\r\n%s", file_path, headers);
    return tm_put(port, "/api/fs/put", h, body, strlen(body), 0, r);
}

cJSON *tm_journal(int port)
{
    static const char req[] =
        "GET /_mock/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    static tm_resp r; /* large: keep it off the stack */
    ck_assert_int_eq(tm_raw(port, req, sizeof req - 1, &r), 200);
    cJSON *a = cJSON_Parse(r.body);
    ck_assert_msg(cJSON_IsArray(a), "journal is not an array: %s", r.body);
    return a;
}

const char *tm_last_field(int port, const char *key)
{
    static char out[4096];
    cJSON *a = tm_journal(port);
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

int tm_log_wait(th_mock *m, const char *needle, char *buf, size_t cap, int timeout_ms)
{
    size_t len = strlen(buf);
    for (int waited = 0;; waited += 20) {
        ssize_t n;
        while (len + 1 < cap && (n = read(m->err_fd, buf + len, cap - 1 - len)) > 0) {
            len += (size_t)n;
            buf[len] = '\0';
        }
        if (strstr(buf, needle) != NULL)
            return 1;
        if (waited >= timeout_ms)
            return 0;
        tm_sleep_ms(20);
    }
}

void tm_log_drain(th_mock *m)
{
    char buf[4096];
    while (read(m->err_fd, buf, sizeof buf) > 0) {
    }
}

void tm_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}
