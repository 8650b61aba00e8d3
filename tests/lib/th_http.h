/*
 * Raw HTTP for tests: sockets on 127.0.0.1, requests with exact bytes, and responses read with
 * http-parser, so that Content-Length, chunked and close-delimited bodies are all read to their
 * real end and a 100 Continue before the answer is skipped.
 */
#ifndef TH_HTTP_H
#define TH_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* Connects a TCP socket to 127.0.0.1:port (blocking). Returns the fd or -1. */
int th_connect(int port);

/* Sends all of buf over a socket; returns 0 or -1 (EPIPE is an error return, not a signal). */
int th_send_all(int fd, const void *buf, size_t len);

/* Sends n copies of the byte c over a socket, 64 KiB at a time; returns 0 or -1. */
int th_send_fill(int fd, char c, size_t n);

/* Makes fd non-blocking. */
void th_nonblock(int fd);

/*
 * Reads from fd until the peer closes or timeout_ms passes, into out (truncated, NUL-terminated),
 * framing ignored: for bytes that need not be HTTP. Returns the byte count or -1.
 */
long th_recv_all(int fd, char *out, size_t outsz, int timeout_ms);

/*
 * Reads from fd until the end of an HTTP head (CRLF CRLF) into buf (NUL-terminated). Returns
 * the bytes read (the head plus any body bytes that came with it) and sets *head_len; -1 if the
 * peer closed first, the head did not fit, or nothing came within timeout_ms.
 */
long th_read_head(int fd, char *buf, size_t cap, size_t *head_len, int timeout_ms);

/* One HTTP response of any size, parsed; th_msg_free releases what it holds. */
typedef struct th_msg {
    int status;   /* the final status (1xx answers before it are skipped), -1 if none */
    int complete; /* the body ended as its framing says: length, last chunk, or close */
    char *raw;    /* every byte received, NUL-terminated (malloc'd) */
    size_t raw_len;
    char *body; /* the final response's body, de-chunked, NUL-terminated (malloc'd) */
    size_t body_len;
    uint64_t body_count;   /* th_msg_read_counted: the final response's body bytes ... */
    uint64_t body_nonzero; /* ... and how many of them were not 0 */
} th_msg;

/*
 * Reads one response from fd into m (which it initialises) until the response ends (and, when it
 * says the connection closes, until the peer closes), or timeout_ms passes. Returns m->status.
 */
int th_msg_read(int fd, th_msg *m, int timeout_ms);

/*
 * As th_msg_read for a body of any size: it is counted into m->body_count and body_nonzero, not
 * kept, and m->raw holds what came until the head was in (the head and at most 16 KiB more).
 */
int th_msg_read_counted(int fd, th_msg *m, int timeout_ms);

/* Sends len raw bytes to 127.0.0.1:port and reads the response into m. Returns m->status. */
int th_msg_request(int port, const void *req, size_t len, th_msg *m, int timeout_ms);

/* Frees what m holds; m may then be read into again. */
void th_msg_free(th_msg *m);

/* A response kept in fixed buffers, for the small answers most tests look at: what does not
 * fit is cut off (r->raw and r->body stay NUL-terminated). Safe to declare static. */
typedef struct th_resp {
    int status;       /* as th_msg's */
    char raw[16384];  /* the bytes received, as they came */
    const char *body; /* points at body_buf */
    char body_buf[16384];
} th_resp;

/* Reads one response from fd into r, as th_msg_read does. Returns r->status. */
int th_recv_resp(int fd, th_resp *r, int timeout_ms);

/* Sends len raw bytes and reads the response. Returns r->status, or -1. */
int th_raw(int port, const void *req, size_t len, th_resp *r);

/*
 * Sends the raw request (len bytes) to 127.0.0.1:port and reads the whole response into out
 * (NUL-terminated, truncated). Returns the response length or -1.
 */
long th_http(int port, const void *request, size_t len, char *out, size_t outsz, int timeout_ms);

/*
 * PUT to route (e.g. "/api/fs/put") with extra header lines ("Name: value\r\n"..., may be "")
 * and a body of len bytes. chunk 0 sends Content-Length; otherwise the body is sent chunked,
 * chunk bytes per chunk. Returns the response status or -1.
 */
int th_put(int port, const char *route, const char *headers, const void *body, size_t len,
           size_t chunk, th_resp *r);

/*
 * method to target (the path and query) with extra header lines (may be "") and, unless NULL,
 * body with its Content-Length. Sends "Host: 127.0.0.1" unless the extra headers have a Host.
 * Returns the response status or -1.
 */
int th_request(int port, const char *method, const char *target, const char *headers,
               const char *body, th_resp *r);

/* One request as a scripted server reads it with th_req_read (http-parser's view). */
typedef struct th_req {
    char method[16];
    char target[1024];
    char headers[8192]; /* "Name: value\n" per line as received, cut if longer */
    char body[8192];    /* the body's first bytes (de-chunked), NUL-terminated */
    size_t body_len;    /* every body byte, kept or not */
    int expect;         /* it asked for 100-continue */
    int keep_alive;     /* HTTP/1.1 without Connection: close */
    int complete;       /* the whole request arrived (not just its head) */
} th_req;

enum {
    /* A request that expects 100-continue comes back with its head alone: no 100 is sent, and
     * the body, which the client holds back, stays unread (q->complete is 0). */
    TH_REQ_EARLY = 1,
    /* Otherwise such a request gets its 100 Continue as soon as its head is in. */
    TH_REQ_CONTINUE = 2,
};

/*
 * Reads one request from fd into q, within timeout_ms. Returns 1 once it is in (see
 * TH_REQ_EARLY), 0 if the peer closed before a byte of it (no more requests), -1 on a timeout, a
 * parse error, or a close midway. Bytes past the request are not expected (clients here wait
 * for each answer) and would be dropped.
 */
int th_req_read(int fd, th_req *q, int flags, int timeout_ms);

/* The value of header name in q (case-insensitive), copied into out; NULL if there is none. */
const char *th_req_header(const th_req *q, const char *name, char *out, size_t outsz);

/* th_put to /api/fs/put with "File-Path: file_path" in front of the extra headers. */
int th_upload(int port, const char *file_path, const char *headers, const char *body, th_resp *r);

#endif
