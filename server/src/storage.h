/* All file-system access, confined beneath the root fd (storage.c). */
#ifndef MOCK_STORAGE_H
#define MOCK_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One upload in progress: a temp file in the target's directory. */
typedef struct mock_store {
    int dirfd;        /* the target's directory, -1 when not open */
    int fd;           /* the temp file, -1 when not open */
    int lockfd;       /* a duplicate of fd that keeps its flock() until the rename is done */
    char tmpname[64]; /* the temp file's name inside dirfd */
    const char *name; /* the target's final name inside dirfd (points into the caller's path) */
    int noreplace;    /* commit fails with MOCK_STORE_EXISTS rather than replace the target */
    int fsync;        /* fsync the file and its directory around the rename */
} mock_store;

/* Result of a storage operation, mapped to AList's answers by the caller. */
typedef enum mock_store_err {
    MOCK_STORE_OK = 0,
    MOCK_STORE_ESCAPE,   /* resolution would leave the root (symlink or "..") */
    MOCK_STORE_NOTDIR,   /* a parent component exists and is not a directory */
    MOCK_STORE_EXISTS,   /* target exists and overwrite is off */
    MOCK_STORE_IO,       /* anything else: errno says what */
    MOCK_STORE_UNSYNCED, /* commit only: the target is in place, but --fsync of its directory
                          * failed (errno says why), so it may not survive a crash */
} mock_store_err;

/* Sets every field to the "nothing open" state. */
void mock_store_init(mock_store *st);

/*
 * Opens (creating as needed) the directory of the cleaned absolute path `path` beneath rootfd and
 * creates a fresh temp file in it. A final name longer than the directory's file system allows
 * fails here (MOCK_STORE_IO, ENAMETOOLONG), before any body is read, not at the rename. path must
 * start with '/' and name a file. On failure *failed_dir (if not NULL) is set to the length of the
 * path prefix that could not be made a directory.
 */
mock_store_err mock_store_begin(mock_store *st, int rootfd, const char *path, size_t *failed_dir);

/* Appends a body piece to the temp file with an honest write loop. Returns 0 or -1 (errno). */
int mock_store_write(mock_store *st, const void *buf, size_t len);

/* Sets the temp file's atime and mtime to Unix time ms (milliseconds). Returns 0 or -1. */
int mock_store_set_mtime(mock_store *st, int64_t ms);

/*
 * Renames the temp file onto its target. Returns MOCK_STORE_OK or an error; the store is closed.
 * Only MOCK_STORE_UNSYNCED leaves the target in place with an error.
 */
mock_store_err mock_store_commit(mock_store *st);

/* 1 if the cleaned absolute path names anything (file, directory, symlink) beneath rootfd. */
int mock_store_exists(int rootfd, const char *path);

/* Closes and removes whatever the store still holds; safe to call repeatedly. */
void mock_store_abort(mock_store *st);

/* ---- reading, listing, creating and removing beneath the root (the fs routes) ---- */

/* What a stat says about a file, as OpenList's Local driver reads it. */
typedef struct mock_fs_info {
    int is_dir;   /* a directory, or a symlink leading (beneath the root) to one */
    int regular;  /* a regular file (what a download can serve) */
    int64_t size; /* st_size */
    struct timespec mtime;
    struct timespec btime; /* the birth time; tv_nsec < 0 when the file system keeps none */
} mock_fs_info;

/*
 * os.Stat of the cleaned absolute path beneath rootfd: symlinks are followed as long as they
 * stay beneath the root. Returns 0, or -1 with errno: ENOENT, ENOTDIR (a component is a file),
 * EXDEV (the way leads out of the root), ...
 */
int mock_fs_stat(int rootfd, const char *path, mock_fs_info *fi);

/*
 * Opens the regular file at path beneath rootfd for reading, following symlinks beneath the root,
 * and fills *fi from the open file. Returns the fd, or -1 with errno (EISDIR for a directory,
 * EINVAL for a FIFO, socket or device: nothing else is served, and opening a FIFO would hang).
 */
int mock_fs_open_file(int rootfd, const char *path, mock_fs_info *fi);

/* A directory's entry names, sorted byte-wise as Go sorts strings. */
typedef struct mock_fs_names {
    char **name;
    size_t n;
    char *buf; /* the names themselves, NUL-separated */
} mock_fs_names;

/*
 * Reads the directory at path beneath rootfd (following symlinks beneath the root): every entry
 * but "." and "..", and none whose name starts with MOCK_TMP_PREFIX (the mock's own files are
 * never shown). Returns an fd of the directory for mock_fs_entry, or -1 with errno. Memory grows
 * with the names, never with what a listing of them renders to.
 */
int mock_fs_readdir(int rootfd, const char *path, mock_fs_names *out);
void mock_fs_names_free(mock_fs_names *n);

/*
 * One listed entry as Go's Readdir sees it, lstat: a symlink's own size and mtime; but, as the
 * Local driver then asks, a symlink to a directory counts as one and the birth time is the
 * target's, both only when the link stays beneath the root. dirpath is the listed directory's
 * cleaned path, dirfd what mock_fs_readdir returned. Returns 0 or -1 (errno).
 */
int mock_fs_entry(int rootfd, int dirfd, const char *dirpath, const char *name, mock_fs_info *fi);

/* os.MkdirAll of the cleaned absolute path beneath rootfd. Returns 0 or -1 (errno). */
int mock_fs_mkdirs(int rootfd, const char *path);

/*
 * Removes what the cleaned absolute path names beneath rootfd, never following a symlink: a
 * file or a link is unlinked, a directory removed with all it holds (os.RemoveAll), except the
 * mock's own temp files, which stay with the directories they are in (errno ENOTEMPTY then).
 * Returns 1 when something was removed, 0 when nothing was there, -1 with errno.
 */
int mock_fs_remove(int rootfd, const char *path);

/*
 * Removes stale temp files anywhere beneath rootfd (left by a crashed run): only regular files
 * named exactly as mock_store_begin names them that no live mock holds locked. Returns the count.
 */
int mock_store_remove_stale(int rootfd);

#endif
