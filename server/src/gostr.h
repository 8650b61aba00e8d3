/* Go's string conversions (gostr.c, pure), for byte-identical messages. */
#ifndef MOCK_GOSTR_H
#define MOCK_GOSTR_H

#include <stddef.h>
#include <stdint.h>

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

#endif
