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

/*
 * JoinBasePath of a path that needs no decoding (a JSON or form field, a route's URL that the
 * HTTP layer decoded): the profile's relative-path rule, '\\' to '/', a leading '/', path.Clean,
 * into out, which must hold strlen(p) + 2 bytes (out may be p). Returns 0, or 403 with the text
 * of errs.RelativePath in msg.
 */
int mock_join_path(const char *p, mock_profile profile, char *out, char *msg, size_t msgsz);

/*
 * 1 if a component of the cleaned absolute path p starts with MOCK_TMP_PREFIX. Such names are
 * the mock's own: a client's file of that name would be mistaken for a temp file (start-up
 * cleanup would delete it), and a client could name, and so replace, read or remove, a live
 * upload's temp file. Checked on the cleaned path, the one storage opens, so no spelling ("%2e",
 * "\\", "//", "./") gets a reserved name past it.
 */
int mock_path_reserved(const char *p);

#endif
