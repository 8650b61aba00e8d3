#include "th_http.h"

#include "th_clock.h"
#include "th_files.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int th_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int th_send_all(int fd, const void *buf, size_t len)
{
    return th_io_all(fd, buf, len, 1);
}

int th_send_fill(int fd, char c, size_t n)
{
    char buf[65536];
    memset(buf, c, sizeof buf);
    for (size_t off = 0; off < n; off += sizeof buf)
        if (th_send_all(fd, buf, n - off < sizeof buf ? n - off : sizeof buf) < 0)
            return -1;
    return 0;
}

void th_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Waits up to the deadline for fd to become readable; 1 if it did. */
static int wait_readable(int fd, int64_t deadline)
{
    int64_t left = deadline - th_now_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return left > 0 && poll(&p, 1, (int)left) > 0;
}

long th_recv_all(int fd, char *out, size_t outsz, int timeout_ms)
{
    size_t len = 0;
    int64_t deadline = th_now_ms() + timeout_ms;
    while (wait_readable(fd, deadline)) {
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t k = (size_t)n < outsz - 1 - len ? (size_t)n : outsz - 1 - len;
        memcpy(out + len, tmp, k);
        len += k;
    }
    out[len] = '\0';
    return (long)len;
}

long th_read_head(int fd, char *buf, size_t cap, size_t *head_len, int timeout_ms)
{
    size_t len = 0;
    int64_t deadline = th_now_ms() + timeout_ms;
    while (len < cap - 1) {
        if (!wait_readable(fd, deadline))
            return -1;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end != NULL) {
            *head_len = (size_t)(end + 4 - buf);
            return (long)len;
        }
    }
    return -1;
}

/* Appends n bytes to a malloc'd NUL-terminated buffer; the test fails if memory runs out. */
static void append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = *cap ? *cap : 4096;
        while (want < *len + n + 1)
            want *= 2;
        char *b = realloc(*buf, want);
        ck_assert_ptr_nonnull(b);
        *buf = b;
        *cap = want;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* The parser's view of one th_msg_read. */
typedef struct reader {
    th_msg *m;
    size_t body_cap;
    int done;
    int keep_alive; /* the final response leaves the connection open */
    int discard;    /* count the body instead of keeping it */
    int head_done;  /* a response head has been parsed */
} reader;

static int on_headers_complete(http_parser *p)
{
    reader *rd = p->data;
    rd->m->status = (int)p->status_code;
    rd->head_done = 1;
    rd->m->body_len = 0; /* a body belongs to the final response only */
    rd->m->body_count = rd->m->body_nonzero = 0;
    if (rd->m->body != NULL)
        rd->m->body[0] = '\0';
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    reader *rd = p->data;
    if (!rd->discard) {
        append(&rd->m->body, &rd->m->body_len, &rd->body_cap, at, n);
        return 0;
    }
    rd->m->body_count += n;
    for (size_t i = 0; i < n; i++)
        rd->m->body_nonzero += at[i] != 0;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    reader *rd = p->data;
    /* A 1xx is an interim answer; the parser goes on to the response that follows it. */
    if (p->status_code >= 200 || p->status_code < 100) {
        rd->done = 1;
        rd->keep_alive = http_should_keep_alive(p);
        rd->m->complete = 1;
        http_parser_pause(p, 1);
    }
    return 0;
}

/* th_msg_read, or with discard th_msg_read_counted. */
static int msg_read(int fd, th_msg *m, int timeout_ms, int discard)
{
    static const http_parser_settings settings = {
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
    };
    memset(m, 0, sizeof *m);
    m->status = -1;
    size_t raw_cap = 0;
    reader rd = {.m = m, .discard = discard};
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &rd;
    int parsing = 1;
    int64_t deadline = th_now_ms() + timeout_ms;
    append(&m->raw, &m->raw_len, &raw_cap, "", 0);
    append(&m->body, &m->body_len, &rd.body_cap, "", 0);
    /* A response that closes its connection is read until the close, as before the parser
     * came in: the mock journals a request only once it is done with the connection, so a test
     * that looks at the journal next must not race it. */
    while (!(rd.done && rd.keep_alive) && wait_readable(fd, deadline)) {
        char tmp[16384];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (n == 0) {
            if (parsing && !rd.done)
                http_parser_execute(&p, &settings, NULL, 0); /* EOF ends a close-delimited body */
            break;
        }
        /* Counting, raw keeps only what came until the head was in. */
        if (!discard || !rd.head_done)
            append(&m->raw, &m->raw_len, &raw_cap, tmp, (size_t)n);
        /* After a parse error the bytes are still kept, for the test's messages. */
        if (parsing && !rd.done &&
            http_parser_execute(&p, &settings, tmp, (size_t)n) != (size_t)n &&
            HTTP_PARSER_ERRNO(&p) != HPE_PAUSED)
            parsing = 0;
    }
    return m->status;
}

int th_msg_read(int fd, th_msg *m, int timeout_ms)
{
    return msg_read(fd, m, timeout_ms, 0);
}

int th_msg_read_counted(int fd, th_msg *m, int timeout_ms)
{
    return msg_read(fd, m, timeout_ms, 1);
}

int th_msg_request(int port, const void *req, size_t len, th_msg *m, int timeout_ms)
{
    memset(m, 0, sizeof *m);
    m->status = -1;
    int fd = th_connect(port);
    if (fd < 0)
        return -1;
    /* Even if sending failed (an early answer closes the connection), read what came back. */
    (void)th_send_all(fd, req, len);
    th_msg_read(fd, m, timeout_ms);
    close(fd);
    return m->status;
}

void th_msg_free(th_msg *m)
{
    free(m->raw);
    free(m->body);
    m->raw = m->body = NULL;
    m->raw_len = m->body_len = 0;
}

/* Copies at most cap - 1 bytes and a NUL. */
static void copy_cut(char *dst, size_t cap, const char *src, size_t len)
{
    size_t k = len < cap - 1 ? len : cap - 1;
    if (src != NULL)
        memcpy(dst, src, k);
    else
        k = 0;
    dst[k] = '\0';
}

/* Fills r from a parsed message. */
static int keep(th_resp *r, const th_msg *m)
{
    r->status = m->status;
    copy_cut(r->raw, sizeof r->raw, m->raw, m->raw_len);
    copy_cut(r->body_buf, sizeof r->body_buf, m->body, m->body_len);
    r->body = r->body_buf;
    return r->status;
}

int th_recv_resp(int fd, th_resp *r, int timeout_ms)
{
    th_msg m;
    th_msg_read(fd, &m, timeout_ms);
    keep(r, &m);
    th_msg_free(&m);
    return r->status;
}

int th_raw(int port, const void *req, size_t len, th_resp *r)
{
    th_msg m;
    th_msg_request(port, req, len, &m, 20000);
    keep(r, &m);
    th_msg_free(&m);
    return r->status;
}

long th_http(int port, const void *request, size_t len, char *out, size_t outsz, int timeout_ms)
{
    th_msg m;
    th_msg_request(port, request, len, &m, timeout_ms);
    long n = m.raw != NULL && m.raw_len > 0 ? (long)m.raw_len : -1;
    copy_cut(out, outsz, m.raw, m.raw_len);
    th_msg_free(&m);
    return n < 0 || (size_t)n < outsz ? n : (long)outsz - 1;
}

/*
 * Sends method to target with extra headers and a body: with Content-Length (chunk 0, and only
 * when body is not NULL), else chunked in pieces of chunk bytes. Reads the answer into r.
 */
static int send_request(int port, const char *method, const char *target, const char *headers,
                        const void *body, size_t len, size_t chunk, th_resp *r)
{
    char head[8192], length[64] = "";
    /* Host: 127.0.0.1 unless the extra headers name their own. */
    int own_host = strncasecmp(headers, "Host:", 5) == 0 || strcasestr(headers, "\r\nHost:");
    if (chunk > 0)
        snprintf(length, sizeof length, "Transfer-Encoding: chunked\r\n");
    else if (body != NULL)
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", len);
    int hl = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\n%sConnection: close\r\n%s%s\r\n",
                      method, target, own_host ? "" : "Host: 127.0.0.1\r\n", length, headers);
    ck_assert_int_lt(hl, (int)sizeof head);
    r->raw[0] = '\0';
    r->body_buf[0] = '\0';
    r->body = r->body_buf;
    r->status = -1;
    int fd = th_connect(port);
    if (fd < 0)
        return -1;
    int ok = th_send_all(fd, head, (size_t)hl) == 0;
    const char *b = body;
    if (chunk == 0) {
        ok = ok && (b == NULL || th_send_all(fd, b, len) == 0);
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
    th_recv_resp(fd, r, 20000);
    close(fd);
    return r->status;
}

int th_put(int port, const char *route, const char *headers, const void *body, size_t len,
           size_t chunk, th_resp *r)
{
    return send_request(port, "PUT", route, headers, body != NULL ? body : "", len, chunk, r);
}

int th_request(int port, const char *method, const char *target, const char *headers,
               const char *body, th_resp *r)
{
    return send_request(port, method, target, headers, body, body != NULL ? strlen(body) : 0, 0, r);
}

int th_upload(int port, const char *file_path, const char *headers, const char *body, th_resp *r)
{
    char h[8192];
    snprintf(h, sizeof h, "File-Path: %s\r\n%s", file_path, headers);
    return th_put(port, "/api/fs/put", h, body, strlen(body), 0, r);
}

/* The parser's view of one th_req_read. */
typedef struct req_reader {
    th_req *q;
    size_t hlen;
    int flags;
    int fd;
    int head_done, done, in_value;
} req_reader;

/* Appends to q->headers, cut when full. */
static void req_add(req_reader *rd, const char *at, size_t n)
{
    size_t room = sizeof rd->q->headers - 1 - rd->hlen;
    size_t k = n < room ? n : room;
    memcpy(rd->q->headers + rd->hlen, at, k);
    rd->hlen += k;
    rd->q->headers[rd->hlen] = '\0';
}

static int req_on_url(http_parser *p, const char *at, size_t n)
{
    th_req *q = ((req_reader *)p->data)->q;
    size_t have = strlen(q->target), room = sizeof q->target - 1 - have;
    memcpy(q->target + have, at, n < room ? n : room);
    q->target[have + (n < room ? n : room)] = '\0';
    return 0;
}

static int req_on_field(http_parser *p, const char *at, size_t n)
{
    req_reader *rd = p->data;
    if (rd->in_value)
        req_add(rd, "\n", 1);
    rd->in_value = 0;
    req_add(rd, at, n);
    return 0;
}

static int req_on_value(http_parser *p, const char *at, size_t n)
{
    req_reader *rd = p->data;
    if (!rd->in_value)
        req_add(rd, ": ", 2);
    rd->in_value = 1;
    req_add(rd, at, n);
    return 0;
}

static int req_on_headers(http_parser *p)
{
    req_reader *rd = p->data;
    th_req *q = rd->q;
    if (rd->in_value)
        req_add(rd, "\n", 1);
    snprintf(q->method, sizeof q->method, "%s", http_method_str((enum http_method)p->method));
    char v[64];
    q->expect =
        th_req_header(q, "Expect", v, sizeof v) != NULL && strcasecmp(v, "100-continue") == 0;
    q->keep_alive = http_should_keep_alive(p);
    rd->head_done = 1;
    if (q->expect && (rd->flags & TH_REQ_EARLY))
        http_parser_pause(p, 1);
    else if (q->expect && (rd->flags & TH_REQ_CONTINUE))
        th_send_all(rd->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int req_on_body(http_parser *p, const char *at, size_t n)
{
    th_req *q = ((req_reader *)p->data)->q;
    if (q->body_len < sizeof q->body - 1) {
        size_t room = sizeof q->body - 1 - q->body_len;
        memcpy(q->body + q->body_len, at, n < room ? n : room);
        q->body[q->body_len + (n < room ? n : room)] = '\0';
    }
    q->body_len += n;
    return 0;
}

static int req_on_complete(http_parser *p)
{
    req_reader *rd = p->data;
    rd->done = 1;
    rd->q->complete = 1;
    http_parser_pause(p, 1);
    return 0;
}

int th_req_read(int fd, th_req *q, int flags, int timeout_ms)
{
    static const http_parser_settings settings = {
        .on_url = req_on_url,
        .on_header_field = req_on_field,
        .on_header_value = req_on_value,
        .on_headers_complete = req_on_headers,
        .on_body = req_on_body,
        .on_message_complete = req_on_complete,
    };
    memset(q, 0, sizeof *q);
    req_reader rd = {.q = q, .flags = flags, .fd = fd};
    http_parser p;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &rd;
    int64_t deadline = th_now_ms() + timeout_ms;
    size_t got = 0;
    while (!rd.done && !(rd.head_done && q->expect && (flags & TH_REQ_EARLY))) {
        if (!wait_readable(fd, deadline))
            return -1;
        char tmp[16384];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 && got == 0 ? 0 : -1;
        got += (size_t)n;
        if (http_parser_execute(&p, &settings, tmp, (size_t)n) != (size_t)n &&
            HTTP_PARSER_ERRNO(&p) != HPE_PAUSED)
            return -1;
    }
    return 1;
}

const char *th_req_header(const th_req *q, const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name);
    for (const char *line = q->headers; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        if (len > n + 1 && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            v += strspn(v, " ");
            snprintf(out, outsz, "%.*s", (int)(len - (size_t)(v - line)), v);
            return out;
        }
        line += len + (line[len] == '\n');
    }
    return NULL;
}
