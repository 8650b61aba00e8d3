/*
 * sp_measure: run one command and report what it cost, for the benchmark driver.
 *
 *   sp_measure [-o FILE] [-t SECONDS] [-p PID[,PID...]] -- COMMAND [ARG...]
 *
 * Forks and execs COMMAND, waits for it with wait4() and prints one line of key=value pairs:
 *
 *   status=0 wall_s=1.234567 user_s=0.012000 sys_s=0.345000 maxrss_kib=2048 peer_cpu_s=0.410000
 *
 * wall_s is the monotonic time from just before fork() to just after wait4(); user_s, sys_s and
 * maxrss_kib are the child's own rusage (including any children it waited for). With -p, peer_cpu_s
 * is the user+system CPU time that the other processes PID... (a server, say) spent during the
 * same window, read from /proc/PID/stat right before fork() and right after wait4(); the process
 * times there cover all of a process's threads. GNU time is not needed, and the window is as tight
 * as a separate process can make it.
 *
 * The line goes to FILE (-o) or else to stderr, so COMMAND's own output is left alone. With -t the
 * command is killed (SIGKILL) after SECONDS and status is 128 + 9. sp_measure exits with the
 * command's exit status, or 128 + the signal that ended it, or 127 if it could not be started.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 16

static volatile sig_atomic_t child_pid;

/* SIGALRM: the time limit has passed, so the child is killed; wait4() then reaps it. */
static void on_alarm(int sig)
{
    (void)sig;
    if (child_pid > 0)
        kill(child_pid, SIGKILL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Returns the user+system CPU seconds of process pid from /proc/PID/stat (fields 14 and 15,
 * counted after the ')' that ends the command name, which may itself hold spaces or ')'),
 * or -1 if the process is gone or the file cannot be parsed.
 */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    /* After ") " come field 3 (state) onwards; utime and stime are fields 14 and 15. */
    unsigned long long utime, stime;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
        2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Sums proc_cpu_s() over the peers; -1 if any of them cannot be read. */
static double peers_cpu_s(const pid_t *peers, int npeers)
{
    double sum = 0;
    for (int i = 0; i < npeers; i++) {
        double s = proc_cpu_s(peers[i]);
        if (s < 0)
            return -1;
        sum += s;
    }
    return sum;
}

/* Parses "PID[,PID...]" into peers; returns the count, or -1 on a malformed list. */
static int parse_pids(const char *s, pid_t *peers, int max)
{
    int n = 0;
    while (*s != '\0') {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno != 0 || end == s || v <= 0 || n == max || (*end != ',' && *end != '\0'))
            return -1;
        peers[n++] = (pid_t)v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static void usage(void)
{
    fputs("usage: sp_measure [-o FILE] [-t SECONDS] [-p PID[,PID...]] -- COMMAND [ARG...]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out_path = NULL;
    pid_t peers[MAX_PEERS];
    int npeers = 0;
    unsigned long limit_s = 0;
    int opt;

    while ((opt = getopt(argc, argv, "+o:t:p:")) != -1) {
        switch (opt) {
        case 'o':
            out_path = optarg;
            break;
        case 't': {
            char *end;
            errno = 0;
            limit_s = strtoul(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || limit_s == 0 || limit_s > 86400)
                usage();
            break;
        }
        case 'p':
            if ((npeers = parse_pids(optarg, peers, MAX_PEERS)) < 0)
                usage();
            break;
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();

    FILE *out = stderr;
    if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
        fprintf(stderr, "sp_measure: %s: %s\n", out_path, strerror(errno));
        return 127;
    }

    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);

    double peer0 = peers_cpu_s(peers, npeers);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "sp_measure: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "sp_measure: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    if (limit_s > 0)
        alarm((unsigned)limit_s);

    int wstatus = 0;
    struct rusage ru;
    while (wait4(pid, &wstatus, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "sp_measure: wait4: %s\n", strerror(errno));
            return 127;
        }
    }
    double t1 = now_s();
    double peer1 = peers_cpu_s(peers, npeers);
    alarm(0);

    int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    fprintf(out, "status=%d wall_s=%.6f user_s=%.6f sys_s=%.6f maxrss_kib=%ld", status, t1 - t0,
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
    if (npeers > 0) {
        if (peer0 >= 0 && peer1 >= 0)
            fprintf(out, " peer_cpu_s=%.6f", peer1 - peer0);
        else
            fprintf(out, " peer_cpu_s=nan");
    }
    fputc('\n', out);
    if (out != stderr && fclose(out) != 0) {
        fprintf(stderr, "sp_measure: %s: %s\n", out_path, strerror(errno));
        return 127;
    }
    return status;
}
