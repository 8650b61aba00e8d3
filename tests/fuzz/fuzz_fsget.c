/*
 * Fuzzes the client's reading of an fs/get answer: the HTTP response through the response
 * parser (sp__resp_*), then the verdict sp__fs_get decides (found, "object not found", or a
 * failure). Properties: the same bytes read in pieces of any size and whole give the same
 * verdict and result; found only for a 2xx with code 200 (or, without the envelope required,
 * none), "not found" only for a 2xx with code 500 whose message ends with "object not found",
 * never both; and for an answer built here from a status, a code and a message, exactly the
 * verdict those say. Byte 0: bits 0-5 the piece size, bit 6 an EOF after the bytes, bit 7 the
 * envelope required; byte 1 bit 0 builds the answer from what follows, else it is raw.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FOUND, NOT_FOUND, FAILED };

/* The verdict of an answer read in pieces of piece bytes, with rc and res. */
static int read_answer(sp_client *c, const char *in, size_t n, size_t piece, int eof, int env,
                       int *rc, sp_result *res)
{
    sp_resp r;
    sp__resp_init(&r, c);
    r.want_envelope = env;
    memset(res, 0, sizeof *res);
    *rc = SP_OK;
    for (size_t at = 0; at < n && *rc == SP_OK && !r.done; at += piece)
        *rc = sp__resp_feed(&r, in + at, n - at < piece ? n - at : piece);
    if (*rc == SP_OK && !r.done)
        *rc = eof ? sp__resp_eof(&r) : SP_ERECV;
    if (*rc == SP_OK && !r.done)
        *rc = SP_ERECV; /* the exchange reports a cut answer so */
    if (*rc == SP_OK)
        *rc = sp__resp_finish(&r, res, 0, 0);
    if (res->message[sizeof res->message - 1] != '\0')
        abort();
    int nf = sp__fs_get_not_found(*rc, res);
    if (nf && *rc == SP_OK)
        abort(); /* both found and not found */
    return *rc == SP_OK ? FOUND : nf ? NOT_FOUND : FAILED;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sp_client *c;
    if (c == NULL && (c = sp_client_new()) == NULL)
        abort();
    if (size < 2)
        return 0;
    size_t piece = (size_t)(data[0] & 0x3f) + 1;
    int eof = (data[0] & 0x40) != 0, env = (data[0] & 0x80) != 0, built = data[1] & 1;
    unsigned pick = data[1] >> 1;
    data += 2;
    size -= 2;

    char *in = NULL, msg[512] = "";
    size_t n = 0;
    int status = 200;
    long code = 0;
    if (built) {
        /* A status, a code, and the rest as the message (up to its first NUL). */
        static const int statuses[] = {200, 200, 200, 204, 404, 500};
        static const long codes[] = {200, 500, 500, 401, 403, 404, 500, 0};
        status = statuses[pick % 6];
        code = codes[pick / 6 % 8];
        snprintf(msg, sizeof msg, "%.*s", (int)(size < sizeof msg - 1 ? size : sizeof msg - 1),
                 (const char *)data);
        cJSON *o = cJSON_CreateObject(), *data_item = cJSON_CreateNull();
        cJSON_AddNumberToObject(o, "code", (double)code);
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddItemToObject(o, "data", data_item);
        char *body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (body == NULL)
            return 0;
        size_t bl = strlen(body);
        if ((in = malloc(bl + 128)) == NULL)
            abort();
        n = (size_t)snprintf(in, bl + 128,
                             "HTTP/1.1 %d X\r\nContent-Type: application/json; charset=utf-8\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             status, status == 204 ? (size_t)0 : bl, status == 204 ? "" : body);
        cJSON_free(body);
    } else {
        if ((in = malloc(size > 0 ? size : 1)) == NULL)
            abort();
        memcpy(in, data, size);
        n = size;
    }

    sp_result a, b;
    int rc1, rc2;
    int v1 = read_answer(c, in, n, piece, eof, env, &rc1, &a);
    int v2 = read_answer(c, in, n, n > 0 ? n : 1, eof, env, &rc2, &b);
    if (v1 != v2 || rc1 != rc2 || a.http_status != b.http_status || a.has_code != b.has_code ||
        a.code != b.code || strcmp(a.message, b.message) != 0)
        abort(); /* the same answer, read in other pieces, says something else */
    if (v1 == FOUND && (a.http_status < 200 || a.http_status > 299 ||
                        (a.has_code && a.code != 200) || (env && !a.has_code)))
        abort();
    if (v1 == NOT_FOUND && (a.http_status < 200 || a.http_status > 299 || !a.has_code ||
                            a.code != 500 || !ends_with(a.message, "object not found")))
        abort();
    if (built && status != 204) {
        int want = FAILED;
        if (status == 200 && code == 200)
            want = FOUND;
        /* Go's message whole: a message the result had to cut may read either way. */
        else if (status == 200 && code == 500 && ends_with(msg, "object not found") &&
                 strlen(msg) < sizeof a.message)
            want = NOT_FOUND;
        if (v1 != want && !(code == 500 && strlen(msg) >= sizeof a.message))
            abort(); /* not the verdict the status, code and message say */
    }
    free(in);
    return 0;
}
