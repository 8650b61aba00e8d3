/* Go's string conversions (gostr.c, pure), for byte-identical messages. */
#ifndef MOCK_GOSTR_H
#define MOCK_GOSTR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes; rune receives it), 0 if invalid. */
size_t mock_utf8_len(const unsigned char *s, size_t n, uint32_t *rune);

/* Go's strconv.Quote of n bytes into out (truncated to fit outsz). */
void mock_go_quote(const char *s, size_t n, char *out, size_t outsz);

/*
 * Go's strconv.ParseInt(s, 10, 64). Returns 0, or -1 with Go's error text in msg
 * ("strconv.ParseInt: parsing \"x\": invalid syntax") when msg is not NULL.
 */
int mock_go_parse_int(const char *s, int64_t *out, char *msg, size_t msgsz);

/*
 * Go's text for an errno (syscall.Errno's Error()) into buf, which it returns: glibc's strerror
 * with a lower-case first letter, which is what Go's table says for every error a file system
 * gives ("file too large", "no space left on device", "file name too long").
 */
const char *mock_go_errno(int e, char *buf, size_t bufsz);

/* Which bytes Go's URL escaping keeps as they are (mock_go_escape). */
typedef enum mock_go_esc {
    MOCK_ESC_PATH_SEGMENT, /* url.PathEscape: also $ & + : = @ */
    MOCK_ESC_UNRESERVED,   /* url.QueryEscape with "+" then replaced by "%20", which is also
                            * OpenList's RFC 5987 encoding: only A-Z a-z 0-9 - . _ ~ */
} mock_go_esc;

/*
 * Escapes n bytes of s as Go's net/url does in the given mode, every other byte as %XX (upper-case
 * hex), into out (NUL-terminated, cut to outsz). Returns the length the whole escaping needs, as
 * snprintf does.
 */
size_t mock_go_escape(const char *s, size_t n, mock_go_esc mode, char *out, size_t outsz);

/*
 * A time as Go's time.Time.MarshalJSON writes it, without the quotes: RFC 3339 with nanoseconds,
 * trailing zeros of the fraction dropped (and its dot when it is 0), in the process's local zone
 * (TZ), "Z" for a zero offset. Writes at most outsz bytes; returns out.
 */
const char *mock_go_time(struct timespec t, char *out, size_t outsz);

/*
 * A finite float64 as Go's encoding/json (and jsoniter) writes it: strconv's shortest digits that
 * read back as v, in 'f' form, or in 'e' form with a one-digit negative exponent's 0 dropped
 * ("1e-7") below 1e-6 and from 1e21 on. Writes at most outsz bytes; returns out.
 */
const char *mock_go_float(double v, char *out, size_t outsz);

/* A time in UTC as http.TimeFormat ("Mon, 02 Jan 2006 15:04:05 GMT"); returns out. */
const char *mock_http_date(time_t t, char *out, size_t outsz);

/*
 * Go's http.ParseTime: http.TimeFormat, RFC 850 or ANSI C's asctime form. Returns 0 with the Unix
 * time in *t, or -1.
 */
int mock_http_parse_date(const char *s, time_t *t);

#endif
