/*
 * Internal helpers shared by libstreamput, the streamput CLI and streamput-mock.
 * Not installed and not part of the public API: every symbol carries the sp__ prefix.
 */
#ifndef SP_COMMON_H
#define SP_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Parses a byte count: decimal digits with an optional binary suffix K, M, G or T
 * (case-insensitive, optionally followed by "iB" or "B"), e.g. "1024", "64K", "1MiB".
 * Returns 0 and stores the value in *out, or -1 for empty input, a sign, garbage or overflow.
 */
int sp__parse_size(const char *s, uint64_t *out);

/*
 * Parses a rate or duration given as a decimal number of units (digits only, no suffix):
 * used for milliseconds and plain counts. Returns 0 or -1 like sp__parse_size.
 */
int sp__parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * Percent-encodes like JavaScript's encodeURIComponent, but keeps '/' as is, so a path stays
 * readable: bytes outside A-Z a-z 0-9 - _ . ! ~ * ' ( ) / become %XX (upper-case hex).
 * Writes at most outsz bytes including the terminating NUL and returns the length the full
 * encoding needs (excluding the NUL), as snprintf does; the output is complete iff the result
 * is less than outsz.
 */
size_t sp__pct_encode(const char *in, char *out, size_t outsz);

/* 1 if the URL's path ends in '/', so each file's name is appended to it (curl -T's rule). */
int sp__url_is_dir(const char *url);

/*
 * The URL with remote (its leading '/' dropped) appended to the path, each segment
 * percent-encoded, before any query; into out (cap bytes). Returns 0, or -1 if too long.
 */
int sp__url_append(const char *url, const char *remote, char *out, size_t cap);

/*
 * Copies in to out with every byte that is not part of well-formed UTF-8 replaced by U+FFFD, so
 * that the copy is valid in JSON, where raw bytes are not. Sets *replaced to 1 if any was.
 * Returns the length the whole copy needs and writes as snprintf does, never half a character.
 */
size_t sp__utf8_repair(const char *in, char *out, size_t outsz, int *replaced);

/*
 * Percent-decodes like Go's url.PathUnescape: "%XX" becomes the byte, '+' stays '+'.
 * out must hold strlen(in) + 1 bytes (decoding never grows). Returns the decoded length, or
 * -1 on a malformed escape, in which case *bad_at (if not NULL) points at the '%' that starts
 * it in the input. Decoded NUL bytes are kept; callers that need C strings must reject them.
 */
ssize_t sp__pct_decode(const char *in, char *out, const char **bad_at);

/*
 * Like write(2), but writes all count bytes to a blocking fd: retries on EINTR and after short
 * writes. Returns 0, or -1 with errno set (count bytes may then be partly written).
 */
int sp__write_all(int fd, const void *buf, size_t count);

/*
 * Copies s into out for a one-line message that can neither split a line nor drive a terminal.
 * Well-formed printable UTF-8 (accented letters, CJK, emoji) is kept as is. C0 controls (below
 * 0x20), DEL, C1 controls (U+0080-U+009F, as raw bytes or as UTF-8) and every byte that is not
 * part of well-formed UTF-8 (overlong forms, surrogates, code points above U+10FFFF, sequences
 * cut short) become \xHH, one escape per byte. A copy that does not fit ends in "..." after a
 * whole character or escape, never half of one. out holds outsz bytes (at least 8) and is always
 * NUL-terminated. Returns out.
 */
const char *sp__printable(const char *s, char *out, size_t outsz);

/* Monotonic clock in milliseconds, for deadlines and durations. */
int64_t sp__now_ms(void);

#endif
