/*
 * Files for tests: temporary trees, generated contents, comparisons and hashes in constant
 * memory, honest read/write loops, and the listings that show what a server left behind.
 */
#ifndef TH_FILES_H
#define TH_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The name prefix of the mock's temp files. It must equal MOCK_TMP_PREFIX in the mock's sources;
 * the tests keep their own copy so that they state the promise instead of borrowing it. */
#define TH_TMP_PREFIX ".streamput-tmp."

/* Creates a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path, or NULL. */
char *th_tmpdir(void);

/* Removes a tree made by th_tmpdir() and frees path. NULL is a no-op. */
void th_rmtree(char *path);

/* Joins dir and name into a static rotating buffer (valid for the next 8 calls). */
const char *th_path(const char *dir, const char *name);

/* Like write(2), but writes all len bytes, retrying EINTR. Returns 0, or -1. */
int th_write_all(int fd, const void *buf, size_t len);

/* The loop behind th_write_all and th_send_all: with socket set it uses send(MSG_NOSIGNAL), so
 * a peer that went away is an error return, not a SIGPIPE. */
int th_io_all(int fd, const void *buf, size_t len, int socket);

/* read() until n bytes or end of file, retrying EINTR. Returns the count, or -1. */
ssize_t th_read_full(int fd, void *buf, size_t n);

/* Writes size pseudo-random bytes from seed to path, in constant memory. Returns 0 or -1. */
int th_write_random(const char *path, uint64_t size, uint32_t seed);

/* Writes size bytes to path, repeating the len-byte pattern. Returns 0 or -1. */
int th_write_pattern(const char *path, const void *pattern, size_t len, uint64_t size);

/* Compares two files by content in constant memory: 1 equal, 0 different, -1 on error. */
int th_files_equal(const char *a, const char *b);

/* Copies the first n bytes of src to dst in constant memory. Returns 0, or -1 (src too short). */
int th_copy_prefix(const char *src, const char *dst, uint64_t n);

/* SHA-256 of a file as lower-case hex into out[65]. Returns 0 or -1. */
int th_sha256_file(const char *path, char out[65]);

/* Asserts that root holds a byte-exact copy of src at remote ("/d/f.bin"), by SHA-256 of both. */
void th_assert_stored(const char *root, const char *remote, const char *src);

/*
 * SHA-256 of the len bytes at pre followed by what fd (a file or a socket) yields until its end or
 * until want bytes in all (UINT64_MAX: no limit), as hex into out[65], in constant memory; *got
 * (may be NULL) receives the byte count, pre included. Returns 0 or -1.
 */
int th_sha256_stream(int fd, const void *pre, size_t len, uint64_t want, char out[65],
                     uint64_t *got);

/* 1 if the NUL-terminated s is well-formed UTF-8 throughout (RFC 3629: no overlong forms,
 * surrogates, code points above U+10FFFF or sequences cut short), else 0. JSON parsers such as
 * Python's refuse the rest; glibc's C.UTF-8 decoder lets code points above U+10FFFF pass. */
int th_valid_utf8(const char *s);

/* True if the file exists (lstat). */
int th_exists(const char *path);

/* Number of entries in dir (not below it) whose name starts with prefix; -1 on error. */
int th_count_prefix(const char *dir, const char *prefix);

/* Regular files beneath dir (recursively) whose name starts with prefix ("" for all); -1 on
 * error, e.g. when dir does not exist. */
int th_count_files(const char *dir, const char *prefix);

/*
 * Every entry beneath dir as sorted "TYPE relative/path" lines (f file, d directory, l symlink,
 * o other), leaving out the subtree skip (NULL: nothing) and its contents. Caller frees.
 */
char *th_listing(const char *dir, const char *skip);

/* Asserts that dir's listing (without skip) still equals before, naming what changed. */
void th_assert_listing(const char *before, const char *dir, const char *skip);

/* A test's scratch directory with an empty root/ for the mock; both freed by th_env_free. */
typedef struct th_env {
    char *dir;
    char *root;
} th_env;

/* Creates e->dir and e->root, failing the test if it cannot. */
void th_env_init(th_env *e);
void th_env_free(th_env *e);

/*
 * A root with a directory beside it, for confinement tests: dir/jail/root and dir/jail/outside,
 * which holds victim.txt ("orig"). before is the listing of dir without the root, taken when the
 * jail is made; nothing a server under test does in the root may change it.
 */
typedef struct th_jail {
    char *dir;
    char root[4096], outside[4096];
    char *before;
} th_jail;

/* Makes the jail (failing the test if it cannot) and lists it. */
void th_jail_init(th_jail *j);

/* Asserts that nothing outside the root changed and victim.txt still holds "orig". */
void th_jail_assert_intact(const th_jail *j);

void th_jail_free(th_jail *j);

#endif
