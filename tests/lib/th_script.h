/*
 * Scripted servers for tests: a child process on 127.0.0.1 port 0 that plays one written
 * behaviour per connection, and the small moves such scripts are made of.
 */
#ifndef TH_SCRIPT_H
#define TH_SCRIPT_H

#include <stddef.h>
#include <sys/types.h>

/* What a scripted server does with its nth accepted connection; arg is th_script_start's. */
typedef void (*th_script_fn)(int fd, int nth, void *arg);

/* A scripted server: a child process on 127.0.0.1 port 0 serving connections one at a time. */
typedef struct th_script {
    pid_t pid;
    int port;
    int report; /* read end of what the child passed to th_script_report */
} th_script;

/*
 * Forks a server that accepts `conns` connections in turn and hands each to fn, then exits. It
 * ignores SIGPIPE and dies by alarm after 60 s whatever happens. Returns 0 or -1.
 */
int th_script_start(th_script *s, th_script_fn fn, void *arg, int conns);

/* From inside fn: sends a formatted line (or anything) back to the test. */
void th_script_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Waits up to wait_ms for the server to finish by itself, then kills it; copies what it reported
 * into out (NUL-terminated) and returns out.
 */
const char *th_script_stop(th_script *s, char *out, size_t outsz, int wait_ms);

/* Reads until the end of the request head (10 s at most); returns the body bytes that came
 * with it, or -1. */
long th_skip_head(int fd);

/* Reads and discards for up to ms milliseconds (or until EOF); returns the byte count. */
long th_drain_for(int fd, int ms);

/* Reads until want body bytes have arrived in all, got of them already (or 5 s pass without
 * any); returns the count. */
long th_read_body(int fd, long got, long want);

/* Sends a NUL-terminated string. */
void th_send_str(int fd, const char *s);

/* Makes the coming close() send RST rather than FIN. */
void th_reset(int fd);

/*
 * Reads the request head (and what of the body follows within 100 ms), then answers HTTP/1.1
 * `status` with the extra header lines (each ending in CRLF; may be "") and body.
 */
void th_answer(int fd, const char *status, const char *headers, const char *body);

/* Answers HTTP/1.1 `status` with the extra header lines and body at once, reading nothing. */
void th_send_answer(int fd, const char *status, const char *headers, const char *body);

/* Answers 200 with AList's success envelope (TH_SUCCESS), without reading anything first. */
void th_answer_ok(int fd);

/*
 * Reads the request head (answering 100 Continue to an Expect), waits pause_ms (the client's
 * writes must wait meanwhile), reads its Content-Length body in constant memory and reports
 * "body N sha256 HEX\n"; answers th_answer_ok if the whole body came.
 */
void th_serve_hashed(int fd, int pause_ms);

/* Asserts that report holds th_serve_hashed's line for exactly the contents of file. */
void th_assert_served(const char *report, const char *file);

#endif
