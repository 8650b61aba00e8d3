/*
 * Fuzzes the mock's File-Path handling (Go's url.PathUnescape, backslashes, path.Clean, the ".."
 * rules of both profiles). Whatever it accepts must be a clean absolute path that cannot climb
 * out of the root: no "..", "." or empty segments, no NUL, and cleaning it again changes nothing.
 */
#include "apath.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *p)
{
    if (p[0] != '/')
        abort();
    if (p[1] != '\0') {
        /* Every segment between the slashes is a real name: not empty, ".", or "..". */
        const char *seg = p + 1;
        for (;;) {
            size_t n = strcspn(seg, "/");
            if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                abort();
            if (seg[n] == '\0')
                break;
            seg += n + 1;
        }
    }
    char again[4096];
    size_t len = strlen(p);
    if (len < sizeof again) {
        memcpy(again, p, len + 1);
        mock_path_clean(again);
        if (strcmp(again, p) != 0)
            abort(); /* not a fixed point of path.Clean */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char raw[2048], out[2048 + 2], msg[512];
    if (size >= sizeof raw)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';
    for (int profile = 0; profile < 2; profile++) {
        int code = mock_file_path(raw, (mock_profile)profile, out, msg, sizeof msg);
        if (code == 0)
            check_clean(out);
        else if ((code != 400 && code != 403) || memchr(msg, '\0', sizeof msg) == NULL)
            abort();
    }
    return 0;
}
