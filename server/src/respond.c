/*
 * Responses in AList's envelope. Both servers' releases are built with -tags=jsoniter (OpenList
 * and AList v3.45.0 build.sh), so gin renders with json-iterator's
 * ConfigCompatibleWithStandardLibrary (v1.1.12 in both go.mod files), which escapes '<', '>', '&',
 * U+2028 and U+2029, replaces invalid UTF-8 with U+FFFD and writes every control byte but \n, \r
 * and \t as \u00XX (stream_str.go:241-308). cJSON does none of the first three and writes \b and
 * \f short, so its compact output is rewritten here to be byte-identical to what the Go server
 * sends.
 */
#include "respond.h"
#include "gostr.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *mock_header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

#define JSON_TYPE "application/json; charset=utf-8"

/* How long an answer written past MHD may wait for room in the socket's send buffer. */
#define SEND_TIMEOUT_MS 5000

long mock_json_go_into(const char *raw, char *out, size_t outsz, int escape_c1)
{
    const unsigned char *s = (const unsigned char *)raw;
    size_t n = strlen(raw), w = 0;
    for (size_t i = 0; i < n;) {
        char esc[8] = "";
        size_t k = 1; /* bytes of raw this step consumes */
        if (s[i] == '\\' && i + 1 < n) {
            /* An escape cJSON wrote, taken whole so that "\\b" stays a backslash and a 'b'. */
            k = 2;
            if (s[i + 1] == 'b' || s[i + 1] == 'f')
                snprintf(esc, sizeof esc, "\\u%04x", s[i + 1] == 'b' ? 0x08u : 0x0cu);
        } else if (s[i] == '<' || s[i] == '>' || s[i] == '&') {
            snprintf(esc, sizeof esc, "\\u%04x", s[i]);
        } else if (s[i] >= 0x80 && (k = mock_utf8_len(s + i, n - i, NULL)) == 0) {
            k = 1;
            snprintf(esc, sizeof esc, "\\ufffd");
        } else if (k == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] & 0xfe) == 0xa8) {
            snprintf(esc, sizeof esc, "\\u%04x", 0x2000u + s[i + 2] - 0x80u);
        } else if (escape_c1 && k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
            snprintf(esc, sizeof esc, "\\u%04x", s[i + 1]);
        }
        const char *from = esc[0] != '\0' ? esc : (const char *)s + i;
        size_t m = esc[0] != '\0' ? 6 : k;
        if (w + m >= outsz)
            return -1;
        memcpy(out + w, from, m);
        w += m;
        i += k;
    }
    out[w] = '\0';
    return (long)w;
}

char *mock_json_go_ex(const cJSON *v, int escape_c1)
{
    char *raw = cJSON_PrintUnformatted(v);
    if (raw == NULL)
        return NULL;
    /* Worst case every byte becomes a six-byte \uXXXX escape. */
    size_t sz = 6 * strlen(raw) + 1;
    char *out = malloc(sz);
    if (out != NULL)
        mock_json_go_into(raw, out, sz, escape_c1);
    cJSON_free(raw);
    return out;
}

char *mock_json_go(const cJSON *v)
{
    return mock_json_go_ex(v, 0);
}

/* Queues body (malloc'd, taken over) with a Content-Type; Connection: close when asked. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, char *body,
                             const char *type, int close_after)
{
    if (body == NULL)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (close_after)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* {"code":code,"message":msg,"data":data} rendered as gin does; data is taken over. */
static char *envelope(int code, const char *msg, cJSON *data)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        cJSON_Delete(data);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToObject(o, "data", data != NULL ? data : cJSON_CreateNull());
    char *body = mock_json_go(o);
    cJSON_Delete(o);
    return body;
}

enum MHD_Result mock_respond(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                             cJSON *data, int close_after)
{
    return queue(c, status, envelope(code, msg, data), JSON_TYPE, close_after);
}

/*
 * Sends all of buf on c's non-blocking socket fd, through its TLS session when it has one (GnuTLS
 * then asks to repeat the same call once fd has room), waiting at most timeout_ms for room.
 */
static int conn_send_all(struct MHD_Connection *c, int fd, const char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ti =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t tls = ti != NULL ? ti->tls_session : NULL;
    while (len > 0) {
        ssize_t n;
        int intr, again;
        if (tls != NULL) {
            n = gnutls_record_send(tls, buf, len);
            intr = n == GNUTLS_E_INTERRUPTED;
            again = n == GNUTLS_E_AGAIN;
        } else {
            n = send(fd, buf, len, MSG_NOSIGNAL);
            intr = n < 0 && errno == EINTR;
            again = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (intr || (again && poll(&p, 1, SEND_TIMEOUT_MS) > 0))
            continue;
        return -1;
    }
    return 0;
}

int mock_respond_now(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                     cJSON *data)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    char *body = envelope(code, msg, data);
    int rc = -1;
    if (ci == NULL || body == NULL)
        goto out;
    /* The head MHD itself would write for this answer, field for field. */
    char date[64], head[512];
    struct tm tm;
    time_t now = time(NULL);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    size_t blen = strlen(body);
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 %u %s\r\nDate: %s\r\nConnection: close\r\nContent-Type: %s\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        status, MHD_get_reason_phrase_for(status), date, JSON_TYPE, blen);
    if (hlen < 0 || (size_t)hlen >= sizeof head)
        goto out;
    int fd = ci->connect_fd;
    if (conn_send_all(c, fd, head, (size_t)hlen) < 0 || conn_send_all(c, fd, body, blen) < 0)
        goto out;
    /* The FIN follows the answer, so the client knows that it is complete. */
    shutdown(fd, SHUT_WR);
    rc = 0;
out:
    free(body);
    return rc;
}

size_t mock_hand_out(char *buf, size_t room, const char *piece, size_t len, size_t *off)
{
    size_t k = len - *off < room ? len - *off : room;
    memcpy(buf, piece + *off, k);
    *off += k;
    return k;
}

enum MHD_Result mock_respond_raw(struct MHD_Connection *c, unsigned status, char *body,
                                 const char *type)
{
    return queue(c, status, body, type, 0);
}

void mock_respond_reset(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    int fd = ci->connect_fd;
    /*
     * With linger 0, closing the last reference to a TCP socket sends RST. MHD itself would
     * shutdown(SHUT_WR) first, and the client would see a clean FIN before the reset, so the
     * connection is reset here: dup3() atomically closes it and leaves an unconnected socket
     * under the same descriptor number for MHD to shut down and close harmlessly. Only this
     * connection's own thread (the one running this handler) ever touches fd.
     */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int spare = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (spare >= 0) {
        dup3(spare, fd, O_CLOEXEC);
        close(spare);
    }
}
