/*
 * The streamput command-line tool. It uses libstreamput through its public header only, plus
 * the small internal helpers in common/ that the mock shares (size parsing, escaping, the
 * clock); these helpers are split out of main so unit tests can reach them.
 */
#ifndef SP_TOOL_H
#define SP_TOOL_H

#include <stddef.h>
#include <stdint.h>

/* Process exit codes, documented in --help and the README. */
enum {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_INTERNAL = 1,    /* out of memory or another failure outside the categories below */
    TOOL_EXIT_USAGE = 2,       /* bad option, URL or header */
    TOOL_EXIT_FILE = 3,        /* local file missing, unreadable, a directory, shrank */
    TOOL_EXIT_CONNECT = 4,     /* name resolution or TCP connect */
    TOOL_EXIT_TIMEOUT = 5,     /* connect, whole-transfer or stall timeout */
    TOOL_EXIT_HTTP = 6,        /* HTTP status not 2xx */
    TOOL_EXIT_API = 7,         /* JSON code other than 200 */
    TOOL_EXIT_PROTO = 8,       /* garbage or truncated response, early 2xx */
    TOOL_EXIT_LOST = 9,        /* connection reset or closed while sending or receiving */
    TOOL_EXIT_CANCEL = 10,     /* interrupted */
    TOOL_EXIT_TLS = 11,        /* TLS handshake failed or the certificate was not trusted */
    TOOL_EXIT_SESSION = 12,    /* the server ended the multipart session: a rerun starts anew */
    TOOL_EXIT_INCOMPLETE = 13, /* multipart stopped, the session kept: a rerun resumes it */
};

/* Maps a libstreamput error code to the process exit code. */
int tool_exit_code(int sp_err);

/*
 * Parses a duration: a decimal number (fractions allowed) of seconds, or with a unit suffix
 * "ms", "s", "m" ("1.5", "500ms", "2m"). Stores milliseconds in *ms. Returns 0, or -1 if invalid.
 */
int tool_parse_duration(const char *s, uint64_t *ms);

/* Parses a comma-separated list of md5, sha1, sha256 into SP_HASH_* bits; -1 if invalid. */
int tool_parse_hashes(const char *s, unsigned *mask);

/*
 * The password for -u NAME into buf (cap bytes, NUL-terminated): the first line of file if it is
 * not NULL (a warning unless quiet if others may read it), else $STREAMPUT_PASSWORD (wiped from
 * the environment), else typed at a prompt on the controlling terminal with echo off (restored
 * on every way out, signals included). Returns 0, or the exit code with the message printed.
 * The caller wipes buf.
 */
int tool_get_password(const char *file, const char *user, int quiet, char *buf, size_t cap);

/* Formats a byte count for people: "512 B", "1.5 KiB", "3.2 GiB". */
void tool_format_bytes(uint64_t n, char *out, size_t outsz);

/*
 * Batch names (tool_names.c). tool_source_prefix: how many leading bytes of a path the walk of
 * SOURCE yields to drop to get its name relative to SOURCE's parent, rsync's rule: "a/dir" gives
 * "dir/x", "a/dir/" (and "." or "..") the contents alone, "x". The walk's paths begin with
 * SOURCE without its trailing slashes, then '/'.
 */
size_t tool_source_prefix(const char *source);

/* "/DIR/REL" into out (cap bytes) with the slashes between them made single; -1 if too long. */
int tool_remote_name(const char *dir, const char *rel, char *out, size_t cap);

#endif
