#include "th_mock.h"

#include "th_clock.h"
#include "th_http.h"
#include "th_spawn.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int th_mock_start(th_mock *m, const char *root, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput-mock";
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--root";
    argv[n++] = (char *)root;
    va_list ap;
    va_start(ap, root);
    th_argv_va(argv, n, 64, ap);
    va_end(ap);

    th_proc proc;
    memset(m, 0, sizeof *m);
    m->pid = -1;
    if (th_proc_start(&proc, argv, 0) < 0)
        return -1;
    m->pid = proc.pid;
    m->out_fd = proc.out;
    m->err_fd = proc.err;
    fcntl(m->err_fd, F_SETFL, O_NONBLOCK);

    /* The first stdout line is "streamput-mock listening on http://127.0.0.1:PORT/", or https. */
    char line[256];
    size_t len = 0;
    int64_t deadline = th_now_ms() + 10000;
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        struct pollfd p = {.fd = m->out_fd, .events = POLLIN};
        int64_t left = deadline - th_now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t k = read(m->out_fd, line + len, sizeof line - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    line[len] = '\0';
    char scheme[8] = "";
    if (sscanf(line, "streamput-mock listening on %5[a-z]://127.0.0.1:%d/", scheme, &m->port) !=
            2 ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) || m->port <= 0) {
        fprintf(stderr, "harness: streamput-mock did not start; first line: '%s'\n", line);
        th_mock_stop(m);
        return -1;
    }
    snprintf(m->url, sizeof m->url, "%s://127.0.0.1:%d", scheme, m->port);
    return 0;
}

int th_mock_stop(th_mock *m)
{
    int st = 0, status = -1;
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        int64_t deadline = th_now_ms() + 10000;
        pid_t w;
        while ((w = waitpid(m->pid, &st, WNOHANG)) == 0 && th_now_ms() < deadline)
            poll(NULL, 0, 10);
        if (w == 0) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, &st, 0);
        }
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        m->pid = -1;
    }
    if (m->out_fd > 0)
        close(m->out_fd);
    if (m->err_fd > 0)
        close(m->err_fd);
    m->out_fd = m->err_fd = -1;
    return status;
}

void th_env_up(th_env *e, th_mock *m, const char *opt, const char *val)
{
    th_env_init(e);
    ck_assert_int_eq(th_mock_start(m, e->root, opt, val, NULL), 0);
}

void th_env_down(th_env *e, th_mock *m)
{
    ck_assert_int_eq(th_mock_stop(m), 0);
    th_env_free(e);
}

void th_mock_drain_log(th_mock *m)
{
    char buf[4096];
    if (m->err_fd < 0)
        return;
    while (read(m->err_fd, buf, sizeof buf) > 0) {
    }
}

int th_mock_log_wait(th_mock *m, const char *needle, char *buf, size_t cap, int timeout_ms)
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
        th_sleep_ms(20);
    }
}

static void *drain_loop(void *arg)
{
    th_drain *d = arg;
    char buf[65536];
    while (!atomic_load(&d->stop)) {
        struct pollfd p = {.fd = d->fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0 && read(d->fd, buf, sizeof buf) == 0)
            break; /* the mock exited */
    }
    return NULL;
}

void th_drain_start(th_drain *d, const th_mock *m)
{
    d->fd = m->err_fd;
    atomic_init(&d->stop, 0);
    ck_assert_int_eq(pthread_create(&d->th, NULL, drain_loop, d), 0);
}

void th_drain_stop(th_drain *d)
{
    atomic_store(&d->stop, 1);
    pthread_join(d->th, NULL);
}

int th_wait_temps_every(const char *dir, int want, int timeout_ms, int poll_ms)
{
    int n = -1;
    for (int64_t end = th_now_ms() + timeout_ms;; th_sleep_ms(poll_ms))
        if ((n = th_count_files(dir, TH_TMP_PREFIX)) == want || th_now_ms() >= end)
            return n;
}

int th_wait_temps(const char *dir, int want, int timeout_ms)
{
    return th_wait_temps_every(dir, want, timeout_ms, 20);
}

void th_assert_no_temps(const char *root)
{
    int n = th_wait_temps(root, 0, 5000);
    ck_assert_msg(n == 0, "%d temp file(s) left beneath %s", n, root);
}

void th_client_upload_ok(const th_mock *m, const char *root, const char *src, const char *file_path)
{
    static th_run r;
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", m->url);
    th_client(&r, "-s", "--timeout", "5", "-p", (char *)file_path, (char *)src, url, NULL);
    ck_assert_msg(r.status == 0, "normal upload: exit %d in %.2f s: %s", r.status, r.seconds,
                  r.err);
    ck_assert_msg(r.seconds < 5.0, "normal upload took %.2f s", r.seconds);
    ck_assert_int_eq(th_files_equal(src, th_path(root, file_path + 1)), 1);
}

void th_token_of(const char *body, char *out, size_t outsz)
{
    cJSON *j = cJSON_Parse(body);
    const char *t = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "token"));
    ck_assert_msg(t != NULL, "no token in %s", body);
    snprintf(out, outsz, "%s", t);
    cJSON_Delete(j);
}

void th_login_token(int port, const char *user, const char *pw, char *out, size_t outsz)
{
    static th_resp r;
    char body[512];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    ck_assert_int_eq(th_request(port, "POST", "/api/auth/login",
                                "Content-Type: application/json\r\nConnection: close\r\n", body,
                                &r),
                     200);
    th_token_of(r.body, out, outsz);
}
