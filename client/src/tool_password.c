/*
 * The password for -u, from the first of: --password-file, $STREAMPUT_PASSWORD, a prompt on
 * the controlling terminal with echo off. Never from the command line, where every user of the
 * host can read it (ps, /proc/PID/cmdline). Every buffer that held it is zeroed with
 * explicit_bzero, which the compiler may not drop.
 */
#include "sp_common.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/*
 * Reads the first line of fd into buf (cap bytes), without the LF and a CR before it, wiping
 * whatever was read past it. Returns the line's length, -1 with errno on a read error, -2 if the
 * line does not fit.
 */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *nl = NULL;
    while (nl == NULL && len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
    }
    if (nl == NULL && len == cap - 1) {
        explicit_bzero(buf, len);
        return -2;
    }
    size_t line = nl != NULL ? (size_t)(nl - buf) : len;
    explicit_bzero(buf + line, len - line);
    if (line > 0 && buf[line - 1] == '\r')
        buf[--line] = '\0';
    buf[line] = '\0';
    return (ssize_t)line;
}

static int from_file(const char *path, int quiet, char *buf, size_t cap)
{
    char shown[256];
    sp__printable(path, shown, sizeof shown);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "streamput: --password-file %s: %s\n", shown, strerror(errno));
        return TOOL_EXIT_FILE;
    }
    /* As ssh does for a private key, but a warning, not a refusal: a secret mounted for a
     * container (0444) or shared with a group is often readable on purpose. */
    struct stat st;
    if (!quiet && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
        fprintf(stderr,
                "streamput: warning: --password-file %s can be read by other users (mode %04o); "
                "chmod 600 it\n",
                shown, (unsigned)(st.st_mode & 07777));
    ssize_t n = read_line(fd, buf, cap);
    int saved = errno;
    close(fd);
    if (n == -1) {
        fprintf(stderr, "streamput: --password-file %s: %s\n", shown, strerror(saved));
        return TOOL_EXIT_FILE;
    }
    if (n == -2) {
        fprintf(stderr, "streamput: --password-file %s: the first line is longer than %zu bytes\n",
                shown, cap - 1);
        return TOOL_EXIT_FILE;
    }
    return 0;
}

/* Copies $STREAMPUT_PASSWORD and wipes it from the environment, /proc/PID/environ included. */
static int from_env(char *value, char *buf, size_t cap)
{
    size_t len = strlen(value);
    int fits = len < cap;
    if (fits)
        memcpy(buf, value, len + 1);
    explicit_bzero(value, len);
    unsetenv("STREAMPUT_PASSWORD");
    if (!fits) {
        fprintf(stderr, "streamput: $STREAMPUT_PASSWORD is longer than %zu bytes\n", cap - 1);
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

/* The terminal the prompt runs on, for the signal handler that gives it back as it was. */
static int tty_fd = -1;
static struct termios tty_saved, tty_quiet;
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU};
#define NSIGNALS (sizeof prompt_signals / sizeof prompt_signals[0])

/*
 * A signal during the prompt: echo comes back on first, then the signal does what it would have
 * done (ends the process, or stops it); after a stop the prompt goes on quietly again. Only
 * async-signal-safe calls.
 */
static void on_prompt_signal(int sig)
{
    int saved = errno;
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ours;
    sigset_t set;
    tcsetattr(tty_fd, TCSANOW, &tty_saved);
    sigaction(sig, &dfl, &ours);
    sigemptyset(&set);
    sigaddset(&set, sig);
    raise(sig); /* pending: the handler runs with sig blocked */
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    sigaction(sig, &ours, NULL); /* continued after a stop */
    tcsetattr(tty_fd, TCSANOW, &tty_quiet);
    errno = saved;
}

static int from_tty(const char *user, char *buf, size_t cap)
{
    struct sigaction old[NSIGNALS];
    char shown[256];
    int rc = TOOL_EXIT_USAGE;

    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || tcgetattr(fd, &tty_saved) < 0) {
        fprintf(stderr,
                "streamput: -u needs a password: give --password-file FILE or set "
                "STREAMPUT_PASSWORD (there is no terminal to ask on: %s)\n",
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return TOOL_EXIT_USAGE;
    }
    tty_fd = fd;
    tty_quiet = tty_saved;
    tty_quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    /* No SA_RESTART: a read interrupted by a stop and continue comes back with EINTR. */
    struct sigaction sa = {.sa_handler = on_prompt_signal};
    for (size_t i = 0; i < NSIGNALS; i++)
        sigaction(prompt_signals[i], &sa, &old[i]);
    /* Echo goes off before the prompt shows, so nothing typed after it is ever echoed. */
    if (tcsetattr(fd, TCSAFLUSH, &tty_quiet) < 0) {
        fprintf(stderr, "streamput: cannot turn the terminal's echo off: %s\n", strerror(errno));
        goto out;
    }
    dprintf(fd, "Password for %s: ", sp__printable(user, shown, sizeof shown));
    ssize_t n = read_line(fd, buf, cap);
    int saved = errno;
    tcsetattr(fd, TCSANOW, &tty_saved);
    dprintf(fd, "\n"); /* the Enter typed was not echoed */
    if (n == -1)
        fprintf(stderr, "streamput: read the password from the terminal: %s\n", strerror(saved));
    else if (n == -2)
        fprintf(stderr, "streamput: the password is longer than %zu bytes\n", cap - 1);
    else
        rc = 0;
out:
    tcsetattr(fd, TCSANOW, &tty_saved);
    for (size_t i = 0; i < NSIGNALS; i++)
        sigaction(prompt_signals[i], &old[i], NULL);
    tty_fd = -1;
    close(fd);
    return rc;
}

int tool_get_password(const char *file, const char *user, int quiet, char *buf, size_t cap)
{
    char *env = getenv("STREAMPUT_PASSWORD");
    if (file == NULL && env != NULL)
        return from_env(env, buf, cap);
    if (env != NULL) { /* not used, but not left readable either */
        explicit_bzero(env, strlen(env));
        unsetenv("STREAMPUT_PASSWORD");
    }
    return file != NULL ? from_file(file, quiet, buf, cap) : from_tty(user, buf, cap);
}
