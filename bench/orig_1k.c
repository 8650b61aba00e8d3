/*
 * orig_1k: the original write-up's upload algorithm (../shared/seed), re-implemented in C for
 * the benchmark's comparison.
 *
 *   orig_1k [-H 'Name:value']... FILE http://HOST[:PORT]/PATH
 *
 * The write-up's Python function, step by step:
 *
 *   tcp_socket.connect((host, 80))                 -> one blocking IPv4 TCP socket
 *   body = f'PUT {path} HTTP/1.1\r\n' + f'{key}:{header[key]}\r\n'... + '\r\n'
 *   tcp_socket.send(body.encode())                 -> ONE send() of the head, result unchecked
 *   chunk = file_stream.read(1024)                 -> open(src, 'rb') is a BufferedReader with
 *   while chunk: tcp_socket.send(chunk); ...          an 8 KiB buffer: read(2) of 8 KiB, handed
 *                                                      out 1 KiB at a time; then ONE send() per
 *                                                      1 KiB, its result unchecked
 *   result = tcp_socket.recv(8192).decode()        -> ONE recv() of at most 8 KiB
 *   print(result); return '"code":200' in result   -> a substring test decides success
 *
 * Here stdio with an 8 KiB buffer stands in for the BufferedReader, send() is called exactly once
 * per piece, SIGPIPE is ignored as the Python interpreter does, and the write-up's headers are
 * sent as written (Accept, Accept-Encoding, an empty Authorization, "Name:value" without a space).
 *
 * Two deliberate differences, both needed for any HTTP/1.1 server to take the body at all:
 * - Content-Length is sent. Without it (and without chunked encoding) a request has no body in
 *   HTTP/1.1 (RFC 9112 section 6.3): AList's Go server, the mock and nginx would store an empty
 *   file and read the data as garbage requests.
 * - Host is sent; HTTP/1.1 servers answer 400 without it.
 * -H adds more headers (the driver passes File-Path). The original's bugs stay where they cost
 * nothing here: a short send() is not retried but reported as an error (on a blocking socket
 * Linux does not return short without a signal), and the response is read with one recv().
 * Exit status 0 if the response holds "code":200, 1 if not, 2 for usage, 3 for I/O errors.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIECE     1024 /* file_stream.read(1024) */
#define PY_BUFSZ  8192 /* io.DEFAULT_BUFFER_SIZE: BufferedReader's raw read size */
#define RECV_SIZE 8192 /* tcp_socket.recv(8192) */
#define HEAD_MAX  (64 * 1024)
#define MAX_EXTRA 16

static int fail(const char *what)
{
    fprintf(stderr, "orig_1k: %s: %s\n", what, strerror(errno));
    return 3;
}

/* Splits "http://HOST[:PORT]/PATH" into its parts (port "80" if absent); 0 or -1. */
static int split_url(const char *url, char *host, size_t hostsz, char *port, size_t portsz,
                     const char **path)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    *path = slash != NULL ? slash : "/";
    size_t hlen = slash != NULL ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hlen);
    size_t namelen = colon != NULL ? (size_t)(colon - h) : hlen;
    if (namelen == 0 || namelen >= hostsz)
        return -1;
    memcpy(host, h, namelen);
    host[namelen] = '\0';
    int n = snprintf(port, portsz, "%.*s", colon != NULL ? (int)(hlen - namelen - 1) : 2,
                     colon != NULL ? colon + 1 : "80");
    return n > 0 && (size_t)n < portsz ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *extra[MAX_EXTRA];
    int nextra = 0, opt;
    while ((opt = getopt(argc, argv, "H:")) != -1) {
        if (opt != 'H' || nextra == MAX_EXTRA) {
            fputs("usage: orig_1k [-H 'Name:value']... FILE URL\n", stderr);
            return 2;
        }
        extra[nextra++] = optarg;
    }
    char host[256], port[16];
    const char *path;
    if (argc - optind != 2 ||
        split_url(argv[optind + 1], host, sizeof host, port, sizeof port, &path) != 0) {
        fputs("usage: orig_1k [-H 'Name:value']... FILE http://HOST[:PORT]/PATH\n", stderr);
        return 2;
    }
    const char *src = argv[optind];
    signal(SIGPIPE, SIG_IGN); /* as the Python interpreter does: send() fails with EPIPE */

    FILE *f = fopen(src, "rb");
    if (f == NULL)
        return fail(src);
    static char pybuf[PY_BUFSZ];
    setvbuf(f, pybuf, _IOFBF, sizeof pybuf);
    struct stat st;
    if (fstat(fileno(f), &st) < 0)
        return fail(src);

    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "orig_1k: %s: %s\n", host, gai_strerror(gai));
        return 3;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return fail("socket");
    if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0)
        return fail("connect");
    freeaddrinfo(ai);

    static char head[HEAD_MAX];
    int len = snprintf(head, sizeof head,
                       "PUT %s HTTP/1.1\r\n"
                       "Host:%s:%s\r\n"
                       "Accept:application/json, text/plain, */*\r\n"
                       "Accept-Encoding:gzip, deflate\r\n"
                       "Authorization:\r\n"
                       "Content-Length:%lld\r\n",
                       path, host, port, (long long)st.st_size);
    for (int i = 0; i < nextra && len > 0 && (size_t)len < sizeof head; i++)
        len += snprintf(head + len, sizeof head - (size_t)len, "%s\r\n", extra[i]);
    if (len > 0 && (size_t)len < sizeof head)
        len += snprintf(head + len, sizeof head - (size_t)len, "\r\n");
    if (len <= 0 || (size_t)len >= sizeof head) {
        fputs("orig_1k: request head too long\n", stderr);
        return 2;
    }
    ssize_t sent = send(s, head, (size_t)len, 0);
    if (sent != len)
        return sent < 0 ? fail("send head") : (fputs("orig_1k: short send\n", stderr), 3);

    char piece[PIECE];
    size_t n;
    while ((n = fread(piece, 1, sizeof piece, f)) > 0) {
        sent = send(s, piece, n, 0);
        if (sent != (ssize_t)n)
            return sent < 0 ? fail("send") : (fputs("orig_1k: short send\n", stderr), 3);
    }
    if (ferror(f))
        return fail("read");
    fclose(f);

    char result[RECV_SIZE + 1];
    ssize_t got = recv(s, result, RECV_SIZE, 0);
    if (got < 0)
        return fail("recv");
    result[got] = '\0';
    close(s);
    puts(result);
    return strstr(result, "\"code\":200") != NULL ? 0 : 1;
}
