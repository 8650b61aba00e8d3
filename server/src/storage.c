/*
 * Storage for streamput-mock: every path is resolved with openat2(RESOLVE_BENEATH) against the
 * root directory fd, so neither "..", nor an absolute symlink, nor a symlink that climbs out of
 * the root can make the server touch anything outside it. String checks on the path happen
 * earlier (apath.c) and only decide which AList message to send; this file is the enforcement.
 */
#include "storage.h"
#include "config.h"
#include "sp_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Deep enough for any real upload tree, shallow enough that a hostile tree cannot exhaust fds. */
#define STALE_MAX_DEPTH 64

/* A temp file's name: MOCK_TMP_PREFIX and this many lower-case hex digits (8 random bytes). */
#define TMP_HEX 16

/* Deeper trees than this are not removed: each level holds a descriptor while it is emptied. */
#define REMOVE_MAX_DEPTH 1024

/*
 * openat2() confined beneath dirfd: magic links (/proc/self/fd/...) are refused too. The kernel
 * answers EAGAIN when a concurrent rename raced the lookup; that is worth a few retries.
 */
static int open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if (errno == EINTR || (errno == EAGAIN && tries < 16))
            continue;
        return -1;
    }
}

static mock_store_err map_errno(int e)
{
    switch (e) {
    case EXDEV:
        return MOCK_STORE_ESCAPE;
    case ENOTDIR:
        return MOCK_STORE_NOTDIR;
    case EEXIST:
        return MOCK_STORE_EXISTS;
    default:
        return MOCK_STORE_IO;
    }
}

void mock_store_init(mock_store *st)
{
    memset(st, 0, sizeof *st);
    st->dirfd = -1;
    st->fd = -1;
    st->lockfd = -1;
}

/*
 * Opens the directory named by the first len bytes of rel (no leading '/') beneath rootfd,
 * creating each missing component on the way. Each component is created with mkdirat() in its
 * parent's fd, which itself was opened beneath the root, and then re-opened from the root with
 * RESOLVE_BENEATH, so a symlink planted anywhere along the path is judged by the kernel.
 */
static int open_dir_creating(int rootfd, char *rel, size_t len, size_t *failed_at)
{
    int parent = open_beneath(rootfd, ".", O_RDONLY | O_DIRECTORY, 0);
    size_t pos = 0;
    while (parent >= 0 && pos < len) {
        size_t end = pos;
        while (end < len && rel[end] != '/')
            end++;
        char saved = rel[end];
        rel[end] = '\0';
        int fd = open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0 && errno == ENOENT) {
            if (mkdirat(parent, rel + pos, 0755) < 0 && errno != EEXIST) {
                fd = -1;
            } else {
                fd = open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY, 0);
            }
        }
        int e = errno;
        rel[end] = saved;
        close(parent);
        parent = fd;
        if (fd < 0) {
            /* Which prefix failed: op.Put's message names it ("failed to make dir [/a]"). */
            if (failed_at != NULL)
                *failed_at = end;
            errno = e;
            return -1;
        }
        pos = end + 1;
    }
    return parent;
}

/* Retries flock() across signals; returns 0 or -1 (errno). */
static int lock_file(int fd, int how)
{
    int rc;
    while ((rc = flock(fd, how)) < 0 && errno == EINTR) {
    }
    return rc;
}

/*
 * Creates a fresh temp file in st->dirfd and holds an exclusive flock() on it for as long as the
 * store lives: that lock is how start-up cleanup, in this mock or in another one started on the
 * same root, tells a live upload's temp file from a crashed run's (the kernel drops a killed
 * process's locks with it). st->lockfd is a duplicate of st->fd, so the lock outlives the close
 * that commit does before its rename and is released only once the name is gone.
 *
 * The file exists, unlocked, between open() and flock(). A cleaner that locks it in that moment
 * removes it, and then the flock() here, which waits for the cleaner, succeeds on a file with no
 * name left (st_nlink 0): it is dropped and another name tried, so the race costs a retry, never
 * an upload. What remains: a file system without flock() (the lock fails here and in the
 * cleaner, which then keeps the file, so its stale temp files are never cleaned up), and a
 * cleaner that does not follow this protocol, e.g. an older mock.
 */
static int create_temp(mock_store *st)
{
    for (int tries = 0; tries < 8; tries++) {
        unsigned char rnd[TMP_HEX / 2];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            return -1;
        size_t w = (size_t)snprintf(st->tmpname, sizeof st->tmpname, "%s", MOCK_TMP_PREFIX);
        for (size_t i = 0; i < sizeof rnd; i++, w += 2)
            snprintf(st->tmpname + w, sizeof st->tmpname - w, "%02x", rnd[i]);
        int fd = open_beneath(st->dirfd, st->tmpname, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0)
            return -1;
        struct stat sb;
        if (lock_file(fd, LOCK_EX) == 0 && fstat(fd, &sb) == 0 && sb.st_nlink == 0) {
            close(fd); /* a cleaner removed it before the lock: not ours any more */
            continue;
        }
        st->fd = fd;
        st->lockfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (st->lockfd < 0) {
            int e = errno;
            mock_store_abort(st);
            errno = e;
            return -1;
        }
        return 0;
    }
    errno = EEXIST;
    return -1;
}

mock_store_err mock_store_begin(mock_store *st, int rootfd, const char *path, size_t *failed_dir)
{
    char rel[4096];
    size_t plen = strlen(path);
    if (path[0] != '/' || plen >= sizeof rel) {
        errno = ENAMETOOLONG;
        return MOCK_STORE_IO;
    }
    memcpy(rel, path + 1, plen); /* includes the NUL */
    char *slash = strrchr(rel, '/');
    size_t dirlen = slash != NULL ? (size_t)(slash - rel) : 0;
    st->name = path + 1 + (slash != NULL ? dirlen + 1 : 0);

    size_t failed = 0;
    st->dirfd = open_dir_creating(rootfd, rel, dirlen, &failed);
    if (st->dirfd < 0) {
        int e = errno;
        if (failed_dir != NULL)
            *failed_dir = failed + 1; /* + the leading '/' of path */
        errno = e;
        return map_errno(e);
    }

    /*
     * The temp file's own name is short, so a final name the file system cannot hold would only
     * fail at the rename, after the whole body; checked here, the error can be answered before
     * the body (at once to a client that waits for "100 Continue"). fpathconf asks the directory's
     * own file system, which is what the rename would meet.
     */
    long name_max = fpathconf(st->dirfd, _PC_NAME_MAX);
    if (name_max > 0 && strlen(st->name) > (size_t)name_max) {
        errno = ENAMETOOLONG;
        return MOCK_STORE_IO;
    }

    if (create_temp(st) < 0) {
        st->tmpname[0] = '\0';
        return MOCK_STORE_IO;
    }
    return MOCK_STORE_OK;
}

int mock_store_write(mock_store *st, const void *buf, size_t len)
{
    return sp__write_all(st->fd, buf, len);
}

int mock_store_set_mtime(mock_store *st, int64_t ms)
{
    /* Floor division, so negative (pre-1970) times land on the right second. */
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        sec--;
        rem += 1000;
    }
    struct timespec ts[2] = {{.tv_sec = (time_t)sec, .tv_nsec = (long)rem * 1000000L}};
    ts[1] = ts[0];
    return futimens(st->fd, ts);
}

mock_store_err mock_store_commit(mock_store *st)
{
    mock_store_err rc = MOCK_STORE_OK;
    int fd = st->fd;
    st->fd = -1;
    if (st->fsync && fsync(fd) < 0) {
        close(fd);
        rc = MOCK_STORE_IO;
        goto out;
    }
    /* close() reports deferred write errors (NFS, quota): a failed close is a failed upload. */
    if (close(fd) < 0) {
        rc = MOCK_STORE_IO;
        goto out;
    }
    /*
     * rename() is atomic, so concurrent uploads to one path each replace the target with a whole
     * body; with Overwrite: false, RENAME_NOREPLACE closes the race between the early existence
     * check and this moment.
     */
    if (renameat2(st->dirfd, st->tmpname, st->dirfd, st->name,
                  st->noreplace ? RENAME_NOREPLACE : 0) < 0) {
        rc = map_errno(errno);
        goto out;
    }
    st->tmpname[0] = '\0';
    /*
     * From here on the target holds the whole body and nothing can take that back: undoing the
     * rename would destroy the file a replaced target already lost. A failed directory fsync
     * breaks only the durability --fsync promises, so it gets its own result, which lets the
     * caller say both truths: the upload failed that promise, and the file is stored.
     */
    if (st->fsync && fsync(st->dirfd) < 0)
        rc = MOCK_STORE_UNSYNCED;
out:
    mock_store_abort(st);
    return rc;
}

int mock_store_exists(int rootfd, const char *path)
{
    /* O_PATH | O_NOFOLLOW: a symlink counts as existing and is not followed. */
    int fd = open_beneath(rootfd, path[1] != '\0' ? path + 1 : ".", O_PATH | O_NOFOLLOW, 0);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

void mock_store_abort(mock_store *st)
{
    int e = errno;
    if (st->fd >= 0)
        close(st->fd);
    if (st->dirfd >= 0 && st->tmpname[0] != '\0')
        unlinkat(st->dirfd, st->tmpname, 0);
    /* The lock goes only now, when the temp name is gone (renamed or removed). */
    if (st->lockfd >= 0)
        close(st->lockfd);
    if (st->dirfd >= 0)
        close(st->dirfd);
    st->fd = st->lockfd = st->dirfd = -1;
    st->tmpname[0] = '\0';
    errno = e;
}

/* 1 if name is exactly a temp file's name as create_temp makes it. */
static int is_temp_name(const char *name)
{
    size_t k = strlen(MOCK_TMP_PREFIX);
    if (strncmp(name, MOCK_TMP_PREFIX, k) != 0 || strlen(name + k) != TMP_HEX)
        return 0;
    for (const char *c = name + k; *c != '\0'; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return 0;
    return 1;
}

/*
 * Removes the temp file name in dfd if no live mock holds it: the exclusive lock must be free
 * (see create_temp), and the name must still be the very file that was locked. O_NONBLOCK: if a
 * FIFO took the name since readdir, opening it must not hang the start. What is left is a file
 * renamed onto the name between that check and the unlink, which no mock ever does (temp names
 * are only created, with O_EXCL). Returns 1 if removed.
 */
static int remove_if_stale(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat locked, named;
    int removed = fstat(fd, &locked) == 0 && S_ISREG(locked.st_mode) &&
                  lock_file(fd, LOCK_EX | LOCK_NB) == 0 &&
                  fstatat(dfd, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
                  named.st_dev == locked.st_dev && named.st_ino == locked.st_ino &&
                  unlinkat(dfd, name, 0) == 0;
    close(fd);
    return removed;
}

/* Walks one directory (fd owned and closed here), removing stale temp files, recursing below. */
static int remove_stale_in(int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return 0;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
            struct stat sb;
            if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_REG && is_temp_name(e->d_name)) {
            n += remove_if_stale(dirfd(d), e->d_name);
        } else if (type == DT_DIR && depth < STALE_MAX_DEPTH) {
            /* O_NOFOLLOW: a symlinked directory is not ours to clean (and may lead outside). */
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                n += remove_stale_in(sub, depth + 1);
        }
    }
    closedir(d);
    return n;
}

/* ---- the fs routes ---- */

/* The path relative to the root, as openat2 wants it: "." for the root itself. */
static const char *rel_of(const char *path)
{
    return path[0] == '/' && path[1] != '\0' ? path + 1 : ".";
}

/* 1 if name starts with MOCK_TMP_PREFIX: the mock's own, never shown, read or removed. */
static int reserved_name(const char *name)
{
    return strncmp(name, MOCK_TMP_PREFIX, strlen(MOCK_TMP_PREFIX)) == 0;
}

/* statx of fd itself (flags 0) or of name in the directory fd (AT_SYMLINK_NOFOLLOW: lstat). */
static int stat_at(int fd, const char *name, int flags, struct statx *sx)
{
    if (name == NULL)
        return statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, sx);
    return statx(fd, name, flags, STATX_BASIC_STATS | STATX_BTIME, sx);
}

static struct timespec ts_of(struct statx_timestamp t)
{
    return (struct timespec){.tv_sec = (time_t)t.tv_sec, .tv_nsec = (long)t.tv_nsec};
}

static void info_of(const struct statx *sx, mock_fs_info *fi)
{
    fi->is_dir = S_ISDIR(sx->stx_mode);
    fi->regular = S_ISREG(sx->stx_mode);
    fi->size = (int64_t)sx->stx_size;
    fi->mtime = ts_of(sx->stx_mtime);
    fi->btime = (sx->stx_mask & STATX_BTIME) ? ts_of(sx->stx_btime)
                                             : (struct timespec){.tv_sec = 0, .tv_nsec = -1};
}

int mock_fs_stat(int rootfd, const char *path, mock_fs_info *fi)
{
    struct statx sx;
    int fd = open_beneath(rootfd, rel_of(path), O_PATH, 0);
    if (fd < 0)
        return -1;
    int rc = stat_at(fd, NULL, 0, &sx);
    int e = errno;
    close(fd);
    if (rc < 0) {
        errno = e;
        return -1;
    }
    info_of(&sx, fi);
    return 0;
}

int mock_fs_open_file(int rootfd, const char *path, mock_fs_info *fi)
{
    struct statx sx;
    /* O_NONBLOCK: a FIFO must not hold the open until a writer comes; it is refused below. */
    int fd = open_beneath(rootfd, rel_of(path), O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0)
        return -1;
    int bad = stat_at(fd, NULL, 0, &sx) < 0 ? errno
              : S_ISDIR(sx.stx_mode)        ? EISDIR
              : !S_ISREG(sx.stx_mode)       ? EINVAL
                                            : 0;
    if (bad != 0) {
        close(fd);
        errno = bad;
        return -1;
    }
    fcntl(fd, F_SETFL, 0);
    info_of(&sx, fi);
    return fd;
}

void mock_fs_names_free(mock_fs_names *n)
{
    free(n->name);
    free(n->buf);
    *n = (mock_fs_names){0};
}

/* Go compares strings byte by byte, which is what strcmp does (as unsigned char). */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends name and its NUL to the growing buffer; -1 when out of memory. */
static int add_name(mock_fs_names *out, size_t *len, size_t *cap, const char *name)
{
    size_t k = strlen(name) + 1;
    if (*len + k > *cap) {
        size_t c = *cap > 0 ? *cap * 2 : 4096;
        while (c < *len + k)
            c *= 2;
        char *b = realloc(out->buf, c);
        if (b == NULL)
            return -1;
        out->buf = b;
        *cap = c;
    }
    memcpy(out->buf + *len, name, k);
    *len += k;
    out->n++;
    return 0;
}

int mock_fs_readdir(int rootfd, const char *path, mock_fs_names *out)
{
    *out = (mock_fs_names){0};
    int fd = open_beneath(rootfd, rel_of(path), O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return -1;
    int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = keep >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int e = errno;
        close(fd);
        if (keep >= 0)
            close(keep);
        errno = e;
        return -1;
    }
    size_t len = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || reserved_name(e->d_name))
            continue;
        rc = add_name(out, &len, &cap, e->d_name);
    }
    if (rc == 0 && errno != 0)
        rc = -1;
    int err = errno;
    closedir(d);
    if (rc == 0 && out->n > 0 && (out->name = malloc(out->n * sizeof *out->name)) == NULL) {
        rc = -1;
        err = ENOMEM;
    }
    if (rc < 0) {
        mock_fs_names_free(out);
        close(keep);
        errno = err;
        return -1;
    }
    /* The pointers are taken only now: the buffer may have moved while it grew. */
    for (size_t i = 0, off = 0; i < out->n; i++) {
        out->name[i] = out->buf + off;
        off += strlen(out->name[i]) + 1;
    }
    if (out->n > 1)
        qsort(out->name, out->n, sizeof *out->name, by_name);
    return keep;
}

int mock_fs_entry(int rootfd, int dirfd, const char *dirpath, const char *name, mock_fs_info *fi)
{
    struct statx sx;
    if (stat_at(dirfd, name, AT_SYMLINK_NOFOLLOW, &sx) < 0)
        return -1;
    info_of(&sx, fi);
    if (!S_ISLNK(sx.stx_mode))
        return 0;
    /* Resolved from the root, not from the directory: a link may lead to a sibling's subtree. */
    char rel[PATH_MAX + NAME_MAX + 2];
    const char *dir = rel_of(dirpath);
    int n = strcmp(dir, ".") == 0 ? snprintf(rel, sizeof rel, "%s", name)
                                  : snprintf(rel, sizeof rel, "%s/%s", dir, name);
    fi->btime = (struct timespec){.tv_sec = 0, .tv_nsec = -1};
    int fd = n > 0 && (size_t)n < sizeof rel ? open_beneath(rootfd, rel, O_PATH, 0) : -1;
    if (fd >= 0 && stat_at(fd, NULL, 0, &sx) == 0) {
        fi->is_dir = S_ISDIR(sx.stx_mode);
        if (sx.stx_mask & STATX_BTIME)
            fi->btime = ts_of(sx.stx_btime);
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

int mock_fs_mkdirs(int rootfd, const char *path)
{
    char rel[4096];
    size_t len = strlen(path);
    if (path[0] != '/' || len >= sizeof rel) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(rel, path + 1, len); /* includes the NUL */
    int fd = open_dir_creating(rootfd, rel, len - 1, NULL);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/*
 * Empties and removes the directory name in pfd, depth levels below the removal's start. Links
 * are unlinked, never followed (O_NOFOLLOW), so nothing outside the tree is reached. Returns 0
 * or -1 with the first error's errno; a temp file kept makes the directory's removal ENOTEMPTY.
 */
static int remove_tree(int pfd, const char *name, int depth)
{
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        /* Replaced by a file or a link since it was looked at: that is unlinked instead. */
        if (errno == ENOTDIR || errno == ELOOP)
            return unlinkat(pfd, name, 0);
        return -1;
    }
    if (depth >= REMOVE_MAX_DEPTH) {
        close(fd);
        errno = ENAMETOOLONG;
        return -1;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    int err = 0, kept = 0, removed;
    /* Entries unlinked while the directory is read may shift what readdir returns: read again
     * until a pass removes nothing. */
    do {
        removed = 0;
        struct dirent *e;
        rewinddir(d);
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (reserved_name(e->d_name)) {
                kept = 1;
                continue;
            }
            unsigned char type = e->d_type;
            struct stat sb;
            if (type == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                type = S_ISDIR(sb.st_mode) ? DT_DIR : DT_REG;
            int rc = type == DT_DIR ? remove_tree(dirfd(d), e->d_name, depth + 1)
                                    : unlinkat(dirfd(d), e->d_name, 0);
            if (rc == 0)
                removed = 1;
            else if (err == 0 && errno != ENOENT)
                err = errno;
        }
    } while (removed && err == 0);
    closedir(d);
    if (unlinkat(pfd, name, AT_REMOVEDIR) < 0 && err == 0)
        err = kept ? ENOTEMPTY : errno;
    errno = err;
    return err != 0 ? -1 : 0;
}

int mock_fs_remove(int rootfd, const char *path)
{
    char parent[4096];
    const char *slash = strrchr(path, '/');
    size_t plen = (size_t)(slash - path);
    if (path[0] != '/' || plen >= sizeof parent || slash[1] == '\0') {
        errno = EINVAL;
        return -1;
    }
    memcpy(parent, path, plen);
    parent[plen] = '\0';
    int pfd = open_beneath(rootfd, plen > 0 ? parent + 1 : ".", O_RDONLY | O_DIRECTORY, 0);
    if (pfd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat sb;
    int rc;
    if (fstatat(pfd, slash + 1, &sb, AT_SYMLINK_NOFOLLOW) < 0)
        rc = errno == ENOENT ? 0 : -1;
    else if (S_ISDIR(sb.st_mode))
        rc = remove_tree(pfd, slash + 1, 0) < 0 ? -1 : 1;
    else
        rc = unlinkat(pfd, slash + 1, 0) < 0 ? -1 : 1;
    int e = errno;
    close(pfd);
    errno = e;
    return rc;
}

int mock_store_remove_stale(int rootfd)
{
    int fd = open_beneath(rootfd, ".", O_RDONLY | O_DIRECTORY, 0);
    return fd < 0 ? 0 : remove_stale_in(fd, 0);
}
