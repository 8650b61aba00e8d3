/* File-Path handling as AList does it (apath.c, pure). */
#ifndef MOCK_APATH_H
#define MOCK_APATH_H

#include <stddef.h>

#include "config.h"

/* Go's path.Clean on a NUL-terminated path, in place. Returns the new length. */
size_t mock_path_clean(char *p);

/*
 * Turns a raw File-Path header into the cleaned absolute path AList would use, into out, which
 * must hold strlen(raw) + 2 bytes. Returns 0, or the AList error code (400, 403) with the exact
 * message in msg (out is then NUL-terminated but not meaningful). A component starting with
 * MOCK_TMP_PREFIX is refused with 403: every route that takes a path shares this check.
 */
int mock_file_path(const char *raw, mock_profile profile, char *out, char *msg, size_t msgsz);

#endif
