#include "th_script.h"

#include "th_clock.h"
#include "th_http.h"
#include "th_mock.h"

#include <check.h>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int script_report_fd = -1;

void th_script_report(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && script_report_fd >= 0)
        th_send_all(script_report_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

int th_script_start(th_script *s, th_script_fn fn, void *arg, int conns)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int p[2] = {-1, -1};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    s->pid = -1;
    s->report = -1;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 8) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
        goto fail;
    s->port = ntohs(sa.sin_port);
    s->pid = fork();
    if (s->pid < 0)
        goto fail;
    if (s->pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        alarm(60); /* a stuck script never outlives its test */
        close(p[0]);
        script_report_fd = p[1];
        for (int i = 0; i < conns; i++) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                _exit(1);
            fn(fd, i, arg);
            close(fd);
        }
        _exit(0);
    }
    close(lfd);
    close(p[1]);
    s->report = p[0];
    return 0;
fail:
    if (lfd >= 0)
        close(lfd);
    if (p[0] >= 0) {
        close(p[0]);
        close(p[1]);
    }
    return -1;
}

const char *th_script_stop(th_script *s, char *out, size_t outsz, int wait_ms)
{
    out[0] = '\0';
    if (s->report >= 0) {
        th_recv_all(s->report, out, outsz, wait_ms); /* ends early when the child exits */
        close(s->report);
        s->report = -1;
    }
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
    return out;
}

long th_skip_head(int fd)
{
    char buf[65536];
    size_t head;
    long n = th_read_head(fd, buf, sizeof buf, &head, 10000);
    return n < 0 ? -1 : n - (long)head;
}

long th_drain_for(int fd, int ms)
{
    long total = 0;
    char buf[65536];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, ms) > 0) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        total += n;
    }
    return total;
}

long th_read_body(int fd, long got, long want)
{
    char buf[65536];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (got < want && poll(&p, 1, 5000) > 0) {
        ssize_t n =
            recv(fd, buf, (size_t)(want - got) < sizeof buf ? (size_t)(want - got) : sizeof buf, 0);
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

void th_send_str(int fd, const char *s)
{
    th_send_all(fd, s, strlen(s));
}

void th_reset(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void th_answer(int fd, const char *status, const char *headers, const char *body)
{
    th_skip_head(fd);
    th_drain_for(fd, 100);
    th_send_answer(fd, status, headers, body);
}

void th_send_answer(int fd, const char *status, const char *headers, const char *body)
{
    char head[512];
    snprintf(head, sizeof head, "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n", status, headers,
             strlen(body));
    th_send_str(fd, head);
    th_send_str(fd, body);
}

void th_answer_ok(int fd)
{
    th_send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    "44\r\n\r\n" TH_SUCCESS);
}

void th_serve_hashed(int fd, int pause_ms)
{
    char head[16384];
    size_t hlen = 0;
    long n = th_read_head(fd, head, sizeof head, &hlen, 10000);
    if (n < 0) {
        th_script_report("no request head\n");
        return;
    }
    /* Only the head is searched; the body bytes that came with it follow it in the buffer. */
    char first = head[hlen];
    head[hlen] = '\0';
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    uint64_t want = cl != NULL ? strtoull(cl + 17, NULL, 10) : 0, got = 0;
    int expect = strcasestr(head, "\r\nExpect: 100-continue") != NULL;
    head[hlen] = first;
    if (expect)
        th_send_str(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    if (pause_ms > 0)
        th_sleep_ms(pause_ms);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char hex[65] = "";
    th_sha256_stream(fd, head + hlen, (size_t)n - hlen, want, hex, &got);
    th_script_report("body %llu sha256 %s\n", (unsigned long long)got, hex);
    if (got == want)
        th_answer_ok(fd);
}

void th_assert_served(const char *report, const char *file)
{
    char want[65], line[128];
    struct stat st;
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(th_sha256_file(file, want), 0);
    snprintf(line, sizeof line, "body %lld sha256 %s\n", (long long)st.st_size, want);
    ck_assert_msg(strstr(report, line) != NULL, "server got: %s; want %s", report, line);
}
