#include "test_hostile_util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t hu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* nftw() has no user pointer: the walk in progress keeps its state here (tests are single
 * threaded where they walk). */
static struct {
    const char *skip;
    size_t base;
    char **lines;
    size_t n, cap;
    const char *prefix;
    int count;
} walk;

static int list_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    size_t sl = walk.skip != NULL ? strlen(walk.skip) : 0;
    if (path[walk.base] == '\0')
        return 0; /* the top directory itself */
    if (sl > 0 && strncmp(path, walk.skip, sl) == 0 && (path[sl] == '\0' || path[sl] == '/'))
        return 0;
    char type = flag == FTW_SL || flag == FTW_SLN ? 'l'
                : S_ISDIR(st->st_mode)            ? 'd'
                : S_ISREG(st->st_mode)            ? 'f'
                                                  : 'o';
    if (walk.n == walk.cap) {
        walk.cap = walk.cap ? walk.cap * 2 : 64;
        walk.lines = realloc(walk.lines, walk.cap * sizeof *walk.lines);
        ck_assert_ptr_nonnull(walk.lines);
    }
    size_t len = strlen(path + walk.base) + 3;
    char *line = malloc(len);
    ck_assert_ptr_nonnull(line);
    snprintf(line, len, "%c %s", type, path + walk.base + 1);
    walk.lines[walk.n++] = line;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *hu_listing(const char *dir, const char *skip)
{
    walk.skip = skip;
    walk.base = strlen(dir);
    walk.lines = NULL;
    walk.n = walk.cap = 0;
    ck_assert_int_eq(nftw(dir, list_entry, 32, FTW_PHYS), 0);
    qsort(walk.lines, walk.n, sizeof *walk.lines, cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < walk.n; i++)
        total += strlen(walk.lines[i]) + 1;
    char *out = malloc(total), *w = out;
    ck_assert_ptr_nonnull(out);
    *w = '\0';
    for (size_t i = 0; i < walk.n; i++) {
        w += snprintf(w, total - (size_t)(w - out), "%s\n", walk.lines[i]);
        free(walk.lines[i]);
    }
    free(walk.lines);
    walk.lines = NULL;
    return out;
}

void hu_assert_listing(const char *before, const char *dir, const char *skip)
{
    char *now = hu_listing(dir, skip);
    ck_assert_msg(strcmp(before, now) == 0,
                  "entries outside the root changed.\nbefore:\n%s\nnow:\n%s", before, now);
    free(now);
}

static int count_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    if (S_ISREG(st->st_mode) && strncmp(path + ftw->base, walk.prefix, strlen(walk.prefix)) == 0)
        walk.count++;
    return 0;
}

int hu_count_files(const char *dir, const char *prefix)
{
    walk.prefix = prefix;
    walk.count = 0;
    if (nftw(dir, count_entry, 32, FTW_PHYS) != 0)
        return -1;
    return walk.count;
}

void hu_assert_no_temps(const char *root)
{
    int n = -1;
    for (int64_t end = hu_now_ms() + 5000; hu_now_ms() < end; tm_sleep_ms(20))
        if ((n = hu_count_files(root, HU_TMP_PREFIX)) == 0)
            return;
    ck_abort_msg("%d temp file(s) left beneath %s", n, root);
}

void hu_client_upload_ok(const th_mock *m, const char *root, const char *src, const char *file_path)
{
    static th_run r;
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", m->url);
    th_client(&r, "-s", "--timeout", "5", "-p", (char *)file_path, (char *)src, url, NULL);
    ck_assert_msg(r.status == 0, "normal upload: exit %d in %.2f s: %s", r.status, r.seconds,
                  r.err);
    ck_assert_msg(r.seconds < 5.0, "normal upload took %.2f s", r.seconds);
    ck_assert_int_eq(th_files_equal(src, th_path(root, file_path + 1)), 1);
}

int hu_proc_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    int n = th_count_prefix(path, ""); /* every entry, "." and ".." included */
    return n < 0 ? -1 : n - 2;
}

int hu_proc_threads(pid_t pid)
{
    return (int)th_proc_status(pid, "Threads");
}

int hu_alive(pid_t pid)
{
    /* WNOWAIT: a dead child stays a zombie, so th_mock_stop still reports how it died. */
    siginfo_t si = {0};
    return pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == 0;
}

static void *drain_loop(void *arg)
{
    hu_drain *d = arg;
    char buf[65536];
    while (!atomic_load(&d->stop)) {
        struct pollfd p = {.fd = d->fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0 && read(d->fd, buf, sizeof buf) == 0)
            break; /* the mock exited */
    }
    return NULL;
}

void hu_drain_start(hu_drain *d, const th_mock *m)
{
    d->fd = m->err_fd;
    atomic_init(&d->stop, 0);
    ck_assert_int_eq(pthread_create(&d->th, NULL, drain_loop, d), 0);
}

void hu_drain_stop(hu_drain *d)
{
    atomic_store(&d->stop, 1);
    pthread_join(d->th, NULL);
}

void hu_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}
