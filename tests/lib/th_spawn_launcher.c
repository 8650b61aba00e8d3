/*
 * th-spawn FD PROGRAM ARGS...: runs PROGRAM and writes its wait4 rusage to fd FD as
 * "maxrss_kib utime_us stime_us\n", then exits with PROGRAM's status (128 + signal if killed).
 *
 * Why it exists: Linux carries the pre-exec peak RSS of a forked child into the exec'd program's
 * ru_maxrss, so a child forked straight from a test process reports at least the test process's
 * size. Forking from this tiny program instead makes the figure the program's own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 126;
    int fd = (int)strtol(argv[1], NULL, 10);
    pid_t pid = fork();
    if (pid < 0)
        return 126;
    if (pid == 0) {
        close(fd);
        /* Programs start with default dispositions, as from a shell: an ignored SIGPIPE would be
         * inherited through exec and hide exactly the deaths the tests look for. */
        signal(SIGPIPE, SIG_DFL);
        execv(argv[2], argv + 2);
        _exit(127);
    }
    /* The harness runs this in its own process group and kills the group on timeout. */
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0) {
    }
    dprintf(fd, "%ld %ld %ld\n", ru.ru_maxrss,
            (long)ru.ru_utime.tv_sec * 1000000 + (long)ru.ru_utime.tv_usec,
            (long)ru.ru_stime.tv_sec * 1000000 + (long)ru.ru_stime.tv_usec);
    close(fd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
