/*
 * sp-buffering-put FILE PORT FILE-PATH: the negative control of the constant-memory suite.
 *
 * It does what streamput must never do: reads the whole file into memory first, then PUTs it to
 * http://127.0.0.1:PORT/api/fs/put. Its peak RSS therefore grows with the file, and the memory
 * suite's measurement must see that. Exits 0 if the answer carries "code":200, 1 otherwise.
 */
#include "th_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: sp-buffering-put FILE PORT FILE-PATH\n");
        return 2;
    }
    int rc = 1, sock = -1;
    char *body = NULL;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[1]);
        goto out;
    }
    /* The whole file in memory: exactly the mistake the suite must catch. */
    size_t size = (size_t)st.st_size, got = 0;
    body = malloc(size > 0 ? size : 1);
    if (body == NULL) {
        perror("malloc");
        goto out;
    }
    while (got < size) {
        ssize_t n = read(fd, body + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            perror("read");
            goto out;
        }
        got += (size_t)n;
    }

    char *end;
    long port = strtol(argv[2], &end, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*end != '\0' || sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        goto out;
    }
    char head[1024];
    int hlen = snprintf(head, sizeof head,
                        "PUT /api/fs/put HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nFile-Path: %s\r\n"
                        "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n",
                        port, argv[3], size);
    if (hlen < 0 || (size_t)hlen >= sizeof head || th_send_all(sock, head, (size_t)hlen) < 0 ||
        th_send_all(sock, body, size) < 0) {
        perror("send");
        goto out;
    }
    char resp[4096];
    size_t rlen = 0;
    for (;;) {
        ssize_t n = recv(sock, resp + rlen, sizeof resp - 1 - rlen, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (rlen += (size_t)n) == sizeof resp - 1)
            break;
    }
    resp[rlen] = '\0';
    rc = strstr(resp, "\"code\":200") != NULL ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "sp-buffering-put: %s\n", resp);
out:
    if (sock >= 0)
        close(sock);
    if (fd >= 0)
        close(fd);
    free(body);
    return rc;
}
