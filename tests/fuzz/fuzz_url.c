/*
 * Fuzzes URL parsing, header validation and request building: whatever is accepted must not be
 * able to put CR, LF or a space into the request line or a header (request splitting).
 */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The head must have exactly one CRLF per line and end with the blank line. */
static void check_head(const char *head, int len)
{
    if (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0)
        abort();
    for (int i = 0; i < len; i++) {
        if (head[i] == '\r' && head[i + 1] != '\n')
            abort();
        if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r'))
            abort();
        if (head[i] == '\0')
            abort();
    }
    if (memmem(head, (size_t)len - 4, "\r\n\r\n", 4) != NULL)
        abort(); /* an early blank line would end the head: splitting */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Input: URL \0 header \0 remote path \0 token */
    char buf[4096];
    if (size >= sizeof buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *parts[4] = {buf, "", "", ""};
    size_t at = 0;
    for (int i = 1; i < 4; i++) {
        at += strlen(buf + at) + 1;
        if (at > size)
            break;
        parts[i] = buf + at;
    }

    sp_client *c = sp_client_new();
    if (c == NULL)
        abort();
    sp_url u;
    if (sp__url_parse(c, parts[0], &u) == SP_OK) {
        if (strpbrk(u.target, " \r\n") != NULL || strpbrk(u.hostport, "\r\n") != NULL)
            abort();
        const char *why;
        int header_ok = sp__header_valid(parts[1], &why) == 0;
        if (header_ok != (sp_add_header(c, parts[1]) == SP_OK))
            abort();
        sp_set_remote_path(c, parts[2]);
        sp_set_token(c, parts[3]);
        sp_body_info b = {
            .size = size, .mtime_ms = (int64_t)size * 1000, .expect = (int)(size & 1)};
        char head[16384];
        int len = sp__build_request(c, &u, &b, head, sizeof head);
        if (len >= 0)
            check_head(head, len);
    }
    sp_client_free(c);
    return 0;
}
