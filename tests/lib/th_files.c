#include "th_files.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TH_IO 65536

char *th_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/streamput-test.XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL)
        return NULL;
    return strdup(tmpl);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void th_rmtree(char *path)
{
    if (path == NULL)
        return;
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

const char *th_path(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

int th_io_all(int fd, const void *buf, size_t len, int socket)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int th_write_all(int fd, const void *buf, size_t len)
{
    return th_io_all(fd, buf, len, 0);
}

ssize_t th_read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* xorshift32: fast, deterministic, and good enough to defeat compression and framing luck. */
static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Writes size bytes produced by fill() to path, TH_IO bytes at a time. */
static int write_gen(const char *path, uint64_t size, void (*fill)(void *, char *, size_t),
                     void *state)
{
    static char buf[TH_IO];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = 0;
    while (size > 0 && rc == 0) {
        size_t n = size < TH_IO ? (size_t)size : TH_IO;
        fill(state, buf, n);
        rc = th_write_all(fd, buf, n);
        size -= n;
    }
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

static void fill_random(void *state, char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(xorshift(state) >> 24);
}

int th_write_random(const char *path, uint64_t size, uint32_t seed)
{
    uint32_t s = seed != 0 ? seed : 0x9e3779b9u;
    return write_gen(path, size, fill_random, &s);
}

typedef struct pattern_state {
    const char *p;
    size_t len, pos;
} pattern_state;

static void fill_pattern(void *state, char *buf, size_t n)
{
    pattern_state *ps = state;
    for (size_t i = 0; i < n; i++) {
        buf[i] = ps->p[ps->pos];
        ps->pos = (ps->pos + 1) % ps->len;
    }
}

int th_write_pattern(const char *path, const void *pattern, size_t len, uint64_t size)
{
    pattern_state ps = {pattern, len, 0};
    return write_gen(path, size, fill_pattern, &ps);
}

int th_files_equal(const char *a, const char *b)
{
    static char ba[TH_IO], bb[TH_IO];
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
    int rc = -1;
    if (fa < 0 || fb < 0)
        goto out;
    for (;;) {
        ssize_t na = th_read_full(fa, ba, sizeof ba), nb = th_read_full(fb, bb, sizeof bb);
        if (na < 0 || nb < 0)
            goto out;
        if (na != nb || memcmp(ba, bb, (size_t)na) != 0) {
            rc = 0;
            goto out;
        }
        if (na == 0) {
            rc = 1;
            goto out;
        }
    }
out:
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    return rc;
}

int th_copy_prefix(const char *src, const char *dst, uint64_t n)
{
    static char buf[TH_IO];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    while (rc == 0 && n > 0) {
        ssize_t got = th_read_full(in, buf, n < TH_IO ? (size_t)n : TH_IO);
        if (got <= 0)
            rc = -1; /* the source is shorter than n */
        else
            rc = th_write_all(out, buf, (size_t)got);
        n -= got > 0 ? (uint64_t)got : 0;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0)
        rc = -1;
    return rc;
}

int th_sha256_stream(int fd, const void *pre, size_t len, uint64_t want, char out[65],
                     uint64_t *got)
{
    static char buf[TH_IO];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    uint64_t total = len;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 ? 0 : -1;
    if (rc == 0 && len > 0)
        EVP_DigestUpdate(ctx, pre, len);
    while (rc == 0 && total < want) {
        ssize_t n = read(fd, buf, want - total < sizeof buf ? (size_t)(want - total) : sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        rc = -1;
    for (unsigned i = 0; rc == 0 && i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(ctx);
    if (got != NULL)
        *got = total;
    return rc;
}

int th_sha256_file(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = th_sha256_stream(fd, NULL, 0, UINT64_MAX, out, NULL);
    close(fd);
    return rc;
}

int th_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int th_count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
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

char *th_listing(const char *dir, const char *skip)
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

void th_assert_listing(const char *before, const char *dir, const char *skip)
{
    char *now = th_listing(dir, skip);
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

int th_count_files(const char *dir, const char *prefix)
{
    walk.prefix = prefix;
    walk.count = 0;
    if (nftw(dir, count_entry, 32, FTW_PHYS) != 0)
        return -1;
    return walk.count;
}

void th_env_init(th_env *e)
{
    e->dir = th_tmpdir();
    ck_assert_ptr_nonnull(e->dir);
    e->root = strdup(th_path(e->dir, "root"));
    ck_assert_int_eq(mkdir(e->root, 0755), 0);
}

void th_env_free(th_env *e)
{
    free(e->root);
    th_rmtree(e->dir);
    e->root = e->dir = NULL;
}

void th_jail_init(th_jail *j)
{
    j->dir = th_tmpdir();
    ck_assert_ptr_nonnull(j->dir);
    snprintf(j->root, sizeof j->root, "%s/jail/root", j->dir);
    snprintf(j->outside, sizeof j->outside, "%s/jail/outside", j->dir);
    ck_assert_int_eq(mkdir(th_path(j->dir, "jail"), 0755), 0);
    ck_assert_int_eq(mkdir(j->root, 0755), 0);
    ck_assert_int_eq(mkdir(j->outside, 0755), 0);
    char victim[sizeof j->outside + 16];
    snprintf(victim, sizeof victim, "%s/victim.txt", j->outside);
    ck_assert_int_eq(th_write_pattern(victim, "orig", 4, 4), 0);
    j->before = th_listing(j->dir, j->root);
}

void th_jail_assert_intact(const th_jail *j)
{
    th_assert_listing(j->before, j->dir, j->root);
    char got[16] = "", victim[sizeof j->outside + 16];
    snprintf(victim, sizeof victim, "%s/victim.txt", j->outside);
    FILE *f = fopen(victim, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = '\0';
    ck_assert_str_eq(got, "orig");
}

void th_jail_free(th_jail *j)
{
    free(j->before);
    th_rmtree(j->dir);
    j->dir = j->before = NULL;
}

void th_assert_stored(const char *root, const char *remote, const char *src)
{
    char want[65], got[65];
    ck_assert_int_eq(th_sha256_file(src, want), 0);
    ck_assert_msg(th_sha256_file(th_path(root, remote + 1), got) == 0, "%s not stored", remote);
    ck_assert_msg(strcmp(want, got) == 0, "%s: sha256 %s, want %s", remote, got, want);
}

int th_valid_utf8(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != 0;) {
        /* The lead byte gives the sequence's length, its payload bits and the least code point
         * that needs that length (anything less is an overlong form). */
        unsigned c = *p, cp, min;
        int more;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            more = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        /* A continuation byte is never NUL, so a sequence cut short stops at the end. */
        for (int i = 1; i <= more; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += more + 1;
    }
    return 1;
}
