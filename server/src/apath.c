/*
 * File-Path handling exactly as AList/OpenList do it: url.PathUnescape, then JoinBasePath
 * (relative-path check, backslashes to '/', a leading '/', path.Clean). The messages are the
 * ones Go produces, because clients and their tests match on them.
 */
#include "apath.h"
#include "gostr.h"
#include "sp_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mock_path_clean(char *p)
{
    /* A line-by-line port of Go's path.Clean; writing in place is safe because w <= r. */
    size_t n = strlen(p);
    if (n == 0) {
        p[0] = '.';
        p[1] = '\0';
        return 1;
    }
    int rooted = p[0] == '/';
    size_t r = 0, w = 0, dotdot = 0;
    if (rooted) {
        p[w++] = '/';
        r = dotdot = 1;
    }
    while (r < n) {
        if (p[r] == '/') {
            r++;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            r++;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (w > dotdot) {
                w--;
                while (w > dotdot && p[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    p[w++] = '/';
                p[w++] = '.';
                p[w++] = '.';
                dotdot = w;
            }
        } else {
            if ((rooted && w != 1) || (!rooted && w != 0))
                p[w++] = '/';
            for (; r < n && p[r] != '/'; r++)
                p[w++] = p[r];
        }
    }
    if (w == 0)
        p[w++] = '.';
    p[w] = '\0';
    return w;
}

/* AList's JoinBasePath rejects only a ".." segment delimited by '/' in the decoded path. */
static int alist_is_relative(const char *p)
{
    size_t n = strlen(p);
    return strcmp(p, "..") == 0 || (n >= 3 && strcmp(p + n - 3, "/..") == 0) ||
           strncmp(p, "../", 3) == 0 || strstr(p, "/../") != NULL;
}

int mock_path_reserved(const char *p)
{
    size_t k = strlen(MOCK_TMP_PREFIX);
    for (const char *c = p; c != NULL; c = strchr(c + 1, '/'))
        if (strncmp(c + 1, MOCK_TMP_PREFIX, k) == 0)
            return 1;
    return 0;
}

/*
 * JoinBasePath on the decoded path at p, which lies at out + 1 (p may have to grow a leading '/'
 * into out[0]); the result is moved to out. Returns 0, or 403 with errs.RelativePath's text.
 */
static int join_in_place(char *p, char *out, mock_profile profile, char *msg, size_t msgsz)
{
    int relative = profile == MOCK_PROFILE_ALIST ? alist_is_relative(p) : strstr(p, "..") != NULL;
    for (char *c = p; *c != '\0'; c++)
        if (*c == '\\')
            *c = '/';
    if (*p != '/')
        *--p = '/';
    mock_path_clean(p);
    if (p != out)
        memmove(out, p, strlen(p) + 1);
    /*
     * OpenList rejects a path whose raw form had ".." that cleaning removed; AList only a ".."
     * segment. Both say it with errs.RelativePath, whose text OpenList shortened when it made the
     * check stricter: "using relative path is not allowed" against AList's "access using ...".
     */
    if (profile == MOCK_PROFILE_OPENLIST && relative && strstr(out, "..") != NULL)
        relative = 0;
    if (relative) {
        snprintf(msg, msgsz, "%susing relative path is not allowed",
                 profile == MOCK_PROFILE_ALIST ? "access " : "");
        return 403;
    }
    return 0;
}

int mock_join_path(const char *p, mock_profile profile, char *out, char *msg, size_t msgsz)
{
    memmove(out + 1, p, strlen(p) + 1);
    return join_in_place(out + 1, out, profile, msg, msgsz);
}

int mock_file_path(const char *raw, mock_profile profile, char *out, char *msg, size_t msgsz)
{
    const char *bad = NULL;
    /* Room for the leading '/' FixAndCleanPath may add. */
    ssize_t n = sp__pct_decode(raw, out + 1, &bad);
    if (n < 0) {
        out[0] = '\0';
        size_t left = strlen(bad);
        char q[64];
        /* Go quotes the '%' and at most the two bytes after it. */
        mock_go_quote(bad, left < 3 ? left : 3, q, sizeof q);
        snprintf(msg, msgsz, "invalid URL escape %s", q);
        return 400;
    }
    /* Go strings may hold NUL, file names may not: %00 is refused rather than truncated. */
    if (memchr(out + 1, '\0', (size_t)n) != NULL) {
        out[0] = '\0';
        snprintf(msg, msgsz, "invalid File-Path: %%00 decodes to a NUL byte");
        return 400;
    }
    int code = join_in_place(out + 1, out, profile, msg, msgsz);
    if (code != 0)
        return code;
    if (mock_path_reserved(out)) {
        snprintf(msg, msgsz,
                 "File-Path uses the reserved name prefix " MOCK_TMP_PREFIX
                 " (streamput-mock's temp files carry it); choose another name");
        return 403;
    }
    return 0;
}
