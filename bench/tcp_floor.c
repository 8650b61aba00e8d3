/*
 * tcp_floor: the physical limit an HTTP upload over loopback is measured against.
 *
 *   tcp_floor [-b BUFSIZE] FILE OUTFILE
 *
 * Copies FILE into OUTFILE through one TCP connection over 127.0.0.1, with nothing HTTP on
 * either side: a child process sendfile()s the file into the socket (what streamput's default
 * engine does), this process recv()s into one BUFSIZE buffer (default 1 MiB, like socat -b
 * 1048576) and write()s each piece out. So the bytes cross the same kernel paths as an upload to
 * a server that stores into a file, and the time taken is the floor for any such upload. Prints
 * "tcp_floor: N bytes in T s, R MiB/s" and exits 0 if all N bytes arrived.
 */
#include "sp_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* sendfile(2) moves at most this much per call on Linux. */
#define SENDFILE_MAX 0x7ffff000L

static void die(const char *what)
{
    fprintf(stderr, "tcp_floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The sending side: connects and sendfile()s the whole file, then closes. Never returns. */
static void sender(const char *path, const struct sockaddr_in *addr)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat");
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    if (connect(s, (const struct sockaddr *)addr, sizeof *addr) < 0)
        die("connect");
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(s, fd, NULL, left < SENDFILE_MAX ? (size_t)left : SENDFILE_MAX);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("sendfile");
        left -= n;
    }
    _exit(close(s) == 0 ? 0 : 1);
}

int main(int argc, char **argv)
{
    uint64_t bufsize = 1024 * 1024;
    int opt;
    while ((opt = getopt(argc, argv, "b:")) != -1) {
        if (opt != 'b' || sp__parse_size(optarg, &bufsize) != 0 || bufsize == 0 ||
            bufsize > (1u << 30)) {
            fputs("usage: tcp_floor [-b BUFSIZE] FILE OUTFILE\n", stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        fputs("usage: tcp_floor [-b BUFSIZE] FILE OUTFILE\n", stderr);
        return 2;
    }
    const char *in_path = argv[optind], *out_path = argv[optind + 1];

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0)
        die("socket");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&addr, &alen) < 0)
        die("listen on 127.0.0.1");
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        die(out_path);

    int64_t t0 = sp__now_ms();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        sender(in_path, &addr);

    /* Allocated after fork(): only the receiving side needs it. */
    char *buf = malloc(bufsize);
    if (buf == NULL)
        die("malloc");
    int s = accept(ls, NULL, NULL);
    if (s < 0)
        die("accept");
    uint64_t total = 0;
    for (;;) {
        ssize_t n = recv(s, buf, bufsize, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("recv");
        if (n == 0)
            break;
        if (sp__write_all(out, buf, (size_t)n) != 0)
            die(out_path);
        total += (uint64_t)n;
    }
    if (close(out) != 0)
        die(out_path);
    int wstatus;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR)
            die("waitpid");
    }
    double secs = (double)(sp__now_ms() - t0) / 1000.0;

    struct stat st;
    if (stat(in_path, &st) < 0)
        die(in_path);
    int ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && total == (uint64_t)st.st_size;
    printf("tcp_floor: %llu bytes in %.3f s, %.1f MiB/s%s\n", (unsigned long long)total, secs,
           secs > 0 ? (double)total / 1048576.0 / secs : 0.0, ok ? "" : " (INCOMPLETE)");
    close(s);
    close(ls);
    free(buf);
    return ok ? 0 : 1;
}
