/*
 * /d and /p as OpenList serves a Local storage (server/router.go:49-52): PathParse, the sign
 * check (middlewares/down.go), then, Local being a proxy-only driver, the file itself through
 * common.Proxy's attachHeader and internal/net/serve.go's ServeHTTP, which is Go's
 * http.ServeContent reworked (its preconditions, its range parser, its multipart answer). /d and
 * /p are therefore the same for Local: content, never a redirect.
 *
 * The body is never in memory: a whole file or one range is libmicrohttpd's response from the
 * file descriptor (sendfile(2) over plain HTTP), several ranges a reader that pread(2)s each
 * range between the part heads into libmicrohttpd's own buffer.
 */
#include "download.h"
#include "apath.h"
#include "fsapi.h"
#include "gostr.h"
#include "range.h"
#include "respond.h"
#include "sign.h"
#include "storage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/*
 * mime.TypeByExtension as a Go program on Debian answers it (the built-in table, then
 * /usr/share/mime/globs2; a "text/" type gains "; charset=utf-8"), for the common extensions;
 * utils.GetMimeType (pkg/utils/file.go:166-180) adds .apk and falls back to
 * application/octet-stream. Listed by running mime.TypeByExtension over these extensions with
 * Debian 12's shared-mime-info. Go looks the extension up as it is first, then lower-cased,
 * which only matters for ".C" (globs2's one upper-case glob).
 */
static const struct {
    const char *ext, *type;
} mime_types[] = {
    {"C", "text/x-c++src; charset=utf-8"},
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apk", "application/vnd.android.package-archive"},
    {"ass", "text/x-ssa; charset=utf-8"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bak", "application/x-trash"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip"},
    {"c", "text/x-csrc; charset=utf-8"},
    {"cpp", "text/x-c++src; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"deb", "application/vnd.debian.binary-package"},
    {"dmg", "application/x-apple-diskimage"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"epub", "application/epub+zip"},
    {"exe", "application/x-ms-dos-executable"},
    {"flac", "audio/flac"},
    {"flv", "video/x-flv"},
    {"gif", "image/gif"},
    {"go", "text/x-go; charset=utf-8"},
    {"gz", "application/gzip"},
    {"h", "text/x-chdr; charset=utf-8"},
    {"heic", "image/heif"},
    {"hpp", "text/x-c++hdr; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/vnd.microsoft.icon"},
    {"img", "application/x-raw-disk-image"},
    {"iso", "application/x-cd-image"},
    {"jar", "application/x-java-archive"},
    {"java", "text/x-java; charset=utf-8"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"log", "text/x-log; charset=utf-8"},
    {"m3u8", "audio/x-mpegurl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"md", "text/markdown; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"msi", "application/x-msi"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "application/vnd.oasis.opendocument.formula-template"},
    {"pdf", "application/pdf"},
    {"php", "application/x-php"},
    {"pl", "application/x-perl"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"py", "text/x-python; charset=utf-8"},
    {"rar", "application/vnd.rar"},
    {"rb", "application/x-ruby"},
    {"rmvb", "application/vnd.rn-realmedia"},
    {"rpm", "application/x-rpm"},
    {"rs", "text/rust; charset=utf-8"},
    {"rtf", "application/rtf"},
    {"sh", "application/x-shellscript"},
    {"sql", "application/sql"},
    {"srt", "application/x-subrip"},
    {"svg", "image/svg+xml"},
    {"swf", "application/vnd.adobe.flash.movie"},
    {"tar", "application/x-tar"},
    {"tgz", "application/x-compressed-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "application/toml"},
    {"torrent", "application/x-bittorrent"},
    {"ts", "text/vnd.trolltech.linguist; charset=utf-8"},
    {"tsv", "text/tab-separated-values; charset=utf-8"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"vtt", "text/vtt; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"wav", "audio/x-wav"},
    {"webm", "video/webm"},
    {"webp", "image/webp"},
    {"wma", "audio/x-ms-wma"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "text/xml; charset=utf-8"},
    {"xz", "application/x-xz"},
    {"yaml", "application/x-yaml"},
    {"yml", "application/x-yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

/* utils.GetMimeType of a file name: path.Ext, exact then lower-cased, else octet-stream. */
static const char *mime_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t n = sizeof mime_types / sizeof mime_types[0];
    for (int fold = 0; dot != NULL && fold < 2; fold++)
        for (size_t i = 0; i < n; i++)
            if ((fold ? strcasecmp : strcmp)(dot + 1, mime_types[i].ext) == 0)
                return mime_types[i].type;
    return "application/octet-stream";
}

/* html.EscapeString of s into out, which holds 5 * strlen(s) + 1 bytes: five characters change. */
static void html_escape(const char *s, char *out)
{
    size_t w = 0;
    for (; *s != '\0'; s++) {
        const char *e = *s == '<'    ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '&'  ? "&amp;"
                        : *s == '\'' ? "&#39;"
                        : *s == '"'  ? "&#34;"
                                     : NULL;
        if (e == NULL) {
            out[w++] = *s;
            continue;
        }
        memcpy(out + w, e, strlen(e));
        w += strlen(e);
    }
    out[w] = '\0';
}

/* Queues a response made elsewhere and records status, code and msg for the journal. */
static enum MHD_Result queue(mock_call *call, unsigned status, struct MHD_Response *resp,
                             const char *msg)
{
    if (resp == NULL)
        return MHD_NO;
    call->ans->http_status = status;
    call->ans->code = (int)status;
    snprintf(call->ans->msg, sizeof call->ans->msg, "%s", msg);
    enum MHD_Result ok = MHD_queue_response(call->c, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* common.ErrorPage (server/common/common.go:47-77): the HTML page with the real HTTP status. */
static enum MHD_Result error_page(mock_call *call, unsigned status, const char *msg)
{
    char codes[64];
    snprintf(codes, sizeof codes, "%u %s", status, MHD_get_reason_phrase_for(status));
    char *esc = malloc(5 * strlen(msg) + 1);
    size_t cap = 5 * strlen(msg) + 2 * strlen(codes) + 512;
    char *page = esc != NULL ? malloc(cap) : NULL;
    if (page == NULL) {
        free(esc);
        return MHD_NO;
    }
    html_escape(msg, esc);
    int n = snprintf(page, cap,
                     "<!DOCTYPE html>\n<html lang=\"en\">\n\t<head>\n\t\t<meta charset=\"utf-8\" "
                     "/>\n\t\t<meta name=\"viewport\" content=\"width=device-width, "
                     "initial-scale=1\" />\n\t\t<meta name=\"color-scheme\" content=\"dark "
                     "light\" />\n\t\t<meta name=\"robots\" content=\"noindex\" />\n\t\t"
                     "<title>%s</title>\n\t</head>\n\t<body>\n\t\t<h1>%s</h1>\n\t\t<hr>\n\t\t"
                     "<p>%s</p>\n\t</body>\n</html>",
                     codes, codes, esc);
    free(esc);
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)n, page, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(page);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    return queue(call, status, r, msg);
}

/* ---- preconditions (internal/net/util.go:21-273) ---- */

typedef enum cond { COND_NONE, COND_TRUE, COND_FALSE } cond;

/*
 * scanETag: a W/"..." or "..." entity tag at the start of s (after blanks). Returns its length
 * from *start, or 0 when there is none.
 */
static size_t scan_etag(const char *s, const char **start)
{
    while (mock_range_blank(*s))
        s++;
    *start = s;
    size_t i = strncmp(s, "W/", 2) == 0 ? 2 : 0;
    if (strlen(s + i) < 2 || s[i] != '"')
        return 0;
    for (i++; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            return i + 1;
        if (!(c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80))
            return 0;
    }
    return 0;
}

/* etagStrongMatch / etagWeakMatch of the tag a (n bytes) against ours. */
static int etag_match(const char *a, size_t n, const char *ours, int weak)
{
    if (weak && strncmp(a, "W/", 2) == 0) {
        a += 2;
        n -= 2;
    }
    return strlen(ours) == n && memcmp(a, ours, n) == 0 && (weak || a[0] == '"');
}

/* checkIfMatch (weak 0: COND_TRUE on a match) and checkIfNoneMatch (weak 1: COND_FALSE). */
static cond check_tags(const char *h, const char *etag, int none_match)
{
    if (h == NULL || *h == '\0')
        return COND_NONE;
    for (;;) {
        while (mock_range_blank(*h))
            h++;
        if (*h == '\0')
            break;
        if (*h == ',') {
            h++;
            continue;
        }
        if (*h == '*')
            return none_match ? COND_FALSE : COND_TRUE;
        const char *t;
        size_t n = scan_etag(h, &t);
        if (n == 0)
            break;
        if (etag_match(t, n, etag, none_match))
            return none_match ? COND_FALSE : COND_TRUE;
        h = t + n;
    }
    return none_match ? COND_TRUE : COND_FALSE;
}

/*
 * checkIfUnmodifiedSince (modified 0) and checkIfModifiedSince (modified 1): the mtime, cut to
 * the second as Last-Modified is, against the header's date; no date or a bad one counts as none.
 */
static cond check_date(const char *h, const struct timespec *mtime, int modified)
{
    time_t t;
    if (h == NULL || *h == '\0' || (mtime->tv_sec == 0 && mtime->tv_nsec == 0) ||
        mock_http_parse_date(h, &t) < 0)
        return COND_NONE;
    int not_after = mtime->tv_sec <= t;
    return modified ? (not_after ? COND_FALSE : COND_TRUE) : (not_after ? COND_TRUE : COND_FALSE);
}

/* checkIfRange: COND_FALSE makes the Range header be ignored. */
static cond check_if_range(const char *h, const char *etag, time_t mtime)
{
    if (h == NULL || *h == '\0')
        return COND_NONE;
    const char *t;
    size_t n = scan_etag(h, &t);
    if (n > 0)
        return etag_match(t, n, etag, 0) ? COND_TRUE : COND_FALSE;
    time_t when;
    if (mock_http_parse_date(h, &when) < 0)
        return COND_FALSE;
    return when == mtime ? COND_TRUE : COND_FALSE;
}

/* ---- several ranges: multipart/byteranges, streamed ---- */

/*
 * The answer to several ranges as mime/multipart writes it: each part "--B" (after a CRLF from
 * the second on), its Content-Range and Content-Type, a blank line and the bytes; then
 * "\r\n--B--\r\n". The reader's own, freed with it.
 */
typedef struct parts {
    int fd;
    int64_t size;
    const char *type;
    char boundary[61];
    mock_range *r;
    size_t n, i;    /* part i is being sent */
    int in_head;    /* its head, else its bytes */
    char head[256]; /* part i's head (or the closing line once i == n) */
    size_t hlen, hoff;
    int64_t sent; /* of part i's bytes */
} parts;

/* Renders the head of part i, or the closing line after the last. Returns its length. */
static size_t part_head(const parts *p, size_t i, char *out, size_t outsz)
{
    if (i == p->n)
        return (size_t)snprintf(out, outsz, "\r\n--%s--\r\n", p->boundary);
    const mock_range *r = &p->r[i];
    return (size_t)snprintf(out, outsz,
                            "%s--%s\r\nContent-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64
                            "\r\nContent-Type: %s\r\n\r\n",
                            i > 0 ? "\r\n" : "", p->boundary, r->start, r->start + r->length - 1,
                            p->size, p->type);
}

static ssize_t parts_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    parts *p = cls;
    size_t w = 0;
    (void)pos;
    while (w < max) {
        if (p->in_head) {
            if (p->hoff == p->hlen) {
                if (p->i == p->n)
                    break; /* the closing line is out */
                p->in_head = 0;
                p->sent = 0;
                continue;
            }
            w += mock_hand_out(buf + w, max - w, p->head, p->hlen, &p->hoff);
            continue;
        }
        const mock_range *r = &p->r[p->i];
        if (p->sent == r->length) {
            p->i++;
            p->hlen = part_head(p, p->i, p->head, sizeof p->head);
            p->hoff = 0;
            p->in_head = 1;
            continue;
        }
        size_t want =
            (uint64_t)(r->length - p->sent) < max - w ? (size_t)(r->length - p->sent) : max - w;
        ssize_t k = pread(p->fd, buf + w, want, r->start + p->sent);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* the file shrank or failed */
        p->sent += k;
        w += (size_t)k;
    }
    return w > 0 ? (ssize_t)w : MHD_CONTENT_READER_END_OF_STREAM;
}

static void parts_free(void *cls)
{
    parts *p = cls;
    close(p->fd);
    free(p->r);
    free(p);
}

/* The multipart response for p (taken over, with its fd), or NULL. *len: its body's length. */
static struct MHD_Response *parts_response(parts *p, uint64_t *len)
{
    unsigned char rnd[30];
    /* multipart.Writer's random boundary: 30 random bytes in hex. */
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        parts_free(p);
        return NULL;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(p->boundary + 2 * i, 3, "%02x", rnd[i]);
    char h[256];
    uint64_t total = 0;
    for (size_t i = 0; i <= p->n; i++)
        total += part_head(p, i, h, sizeof h) + (i < p->n ? (uint64_t)p->r[i].length : 0);
    p->hlen = part_head(p, 0, p->head, sizeof p->head);
    p->in_head = 1;
    *len = total;
    struct MHD_Response *r =
        MHD_create_response_from_callback(total, 64 * 1024, parts_read, p, parts_free);
    if (r == NULL)
        parts_free(p);
    return r;
}

/* ---- the route ---- */

/* Fails the link as fs.Link would, with the page OpenList sends for it. */
static enum MHD_Result link_failed(mock_call *call, const char *path, int err)
{
    char host[4096], why[128], msg[4096 + 256];
    if (err == ENOENT)
        return error_page(call, 500,
                          "failed link: failed to get file: failed to get obj: "
                          "object not found");
    if (err == EISDIR || err == EINVAL) /* a directory, or nothing a Local link can read */
        return error_page(call, 500, "failed link: not a file");
    if (err == EXDEV) /* out of the root: refused as the fs routes refuse it */
        return error_page(call, 403, "permission denied");
    mock_fs_host_path(call->srv, path, host, sizeof host);
    mock_go_errno(err, why, sizeof why);
    mock_fs_info fi;
    /* Found but not readable: os.Open's error in Local's Link, else the stat that failed. */
    if (err == EACCES && mock_fs_stat(call->srv->rootfd, path, &fi) == 0)
        snprintf(msg, sizeof msg, "failed link: failed get link: open %s: %s", host, why);
    else
        snprintf(msg, sizeof msg, "failed link: failed to get file: failed to get obj: stat %s: %s",
                 host, why);
    return error_page(call, 500, msg);
}

/* attachHeader (server/common/proxy.go:74-89) and setLastModified. */
static void file_headers(struct MHD_Response *r, const char *name, const mock_fs_info *fi,
                         const char *etag, int with_type, int with_date)
{
    char enc[3 * 256 + 1], cd[2 * sizeof enc + 64], date[64];
    /* utils.GenerateContentDisposition: QueryEscape with "%20" for spaces, and the RFC 5987
     * form, which for every byte come out the same. */
    mock_go_escape(name, strlen(name), MOCK_ESC_UNRESERVED, enc, sizeof enc);
    snprintf(cd, sizeof cd, "attachment; filename=\"%s\"; filename*=utf-8''%s", enc, enc);
    MHD_add_response_header(r, "Content-Disposition", cd);
    if (with_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, mime_type(name));
    MHD_add_response_header(r, "Etag", etag);
    if (with_date && !(fi->mtime.tv_sec == 0 && fi->mtime.tv_nsec == 0))
        MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED,
                                mock_http_date(fi->mtime.tv_sec, date, sizeof date));
}

/* http.Error as ServeHTTP calls it for a bad Range: 416, text/plain, the error and a newline. */
static enum MHD_Result range_error(mock_call *call, const char *name, const mock_fs_info *fi,
                                   const char *etag, mock_range_err e)
{
    const char *body =
        e == MOCK_RANGE_NO_OVERLAP ? "invalid range: failed to overlap\n" : "invalid range\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    file_headers(r, name, fi, etag, 0, 1);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (e == MOCK_RANGE_NO_OVERLAP) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes */%" PRId64, fi->size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    char msg[64];
    snprintf(msg, sizeof msg, "%.*s", (int)strlen(body) - 1, body);
    return queue(call, MHD_HTTP_RANGE_NOT_SATISFIABLE, r, msg);
}

/* The answer without a body that a precondition decides: 304 or 412. */
static enum MHD_Result precondition_answer(mock_call *call, unsigned status, const char *name,
                                           const mock_fs_info *fi, const char *etag)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    /* writeNotModified drops the type, and the date because there is an Etag (util.go:225-239). */
    int full = status != MHD_HTTP_NOT_MODIFIED;
    file_headers(r, name, fi, etag, full, full);
    return queue(call, status, r, full ? "precondition failed" : "not modified");
}

/*
 * ServeHTTP (internal/net/serve.go:55-212) of the open file fd (taken over) named name: the
 * preconditions, then the whole file, one range or several.
 */
static enum MHD_Result serve(mock_call *call, int fd, const char *name, const mock_fs_info *fi)
{
    char etag[64], msg[160];
    /* GetEtag without a hash: nginx's "<mtime hex>-<size hex>" (proxy.go:90-102). */
    long long mt = (long long)fi->mtime.tv_sec;
    snprintf(etag, sizeof etag, "\"%s%llx-%llx\"", mt < 0 ? "-" : "",
             mt < 0 ? 0ull - (unsigned long long)mt : (unsigned long long)mt,
             (unsigned long long)fi->size);
    const char *range_h = mock_header(call->c, MHD_HTTP_HEADER_RANGE);
    /* checkPreconditions (util.go:243-273), in RFC 7232's order. */
    cond c = check_tags(mock_header(call->c, MHD_HTTP_HEADER_IF_MATCH), etag, 0);
    if (c == COND_NONE)
        c = check_date(mock_header(call->c, MHD_HTTP_HEADER_IF_UNMODIFIED_SINCE), &fi->mtime, 0);
    cond none = check_tags(mock_header(call->c, MHD_HTTP_HEADER_IF_NONE_MATCH), etag, 1);
    unsigned pre =
        c == COND_FALSE      ? MHD_HTTP_PRECONDITION_FAILED
        : none == COND_FALSE ? MHD_HTTP_NOT_MODIFIED
        : none == COND_NONE && check_date(mock_header(call->c, MHD_HTTP_HEADER_IF_MODIFIED_SINCE),
                                          &fi->mtime, 1) == COND_FALSE
            ? MHD_HTTP_NOT_MODIFIED
            : 0;
    if (pre != 0) {
        close(fd);
        return precondition_answer(call, pre, name, fi, etag);
    }
    if (range_h != NULL && *range_h != '\0' &&
        check_if_range(mock_header(call->c, MHD_HTTP_HEADER_IF_RANGE), etag, fi->mtime.tv_sec) ==
            COND_FALSE)
        range_h = NULL;

    /* At most one range per comma of the header, and one more. */
    size_t cap = 1;
    for (const char *p = range_h; p != NULL && (p = strchr(p, ',')) != NULL; p++)
        cap++;
    mock_range *rs = malloc(cap * sizeof *rs);
    size_t n = 0;
    if (rs == NULL) {
        close(fd);
        return MHD_NO;
    }
    mock_range_err e = mock_range_parse(range_h, fi->size, rs, cap, &n);
    /* An empty file is sent whole rather than refused (serve.go:89-97). */
    if (e == MOCK_RANGE_NO_OVERLAP && fi->size == 0) {
        e = MOCK_RANGE_OK;
        n = 0;
    }
    if (e != MOCK_RANGE_OK) {
        free(rs);
        close(fd);
        return range_error(call, name, fi, etag, e);
    }
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += rs[i].length;
    if (sum > fi->size)
        n = 0; /* more bytes than the file: the Range is ignored (serve.go:105-109) */

    struct MHD_Response *r;
    unsigned status = n == 0 ? MHD_HTTP_OK : MHD_HTTP_PARTIAL_CONTENT;
    const char *type = mime_type(name);
    char cr[96] = "", mp[128] = "";
    uint64_t len;
    if (n <= 1) {
        int64_t off = n == 1 ? rs[0].start : 0;
        len = (uint64_t)(n == 1 ? rs[0].length : fi->size);
        if (n == 1)
            snprintf(cr, sizeof cr, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, off,
                     off + (int64_t)len - 1, fi->size);
        free(rs);
        r = MHD_create_response_from_fd_at_offset64(len, fd, (uint64_t)off);
        if (r == NULL)
            close(fd);
    } else {
        parts *p = calloc(1, sizeof *p);
        if (p == NULL) {
            free(rs);
            close(fd);
            return MHD_NO;
        }
        *p = (parts){.fd = fd, .size = fi->size, .type = type, .r = rs, .n = n};
        r = parts_response(p, &len);
        if (r != NULL)
            snprintf(mp, sizeof mp, "multipart/byteranges; boundary=%s", p->boundary);
    }
    if (r == NULL)
        return MHD_NO;
    file_headers(r, name, fi, etag, n <= 1, 1);
    if (n > 1)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, mp);
    if (cr[0] != '\0')
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    int head = strcmp(call->method, "HEAD") == 0;
    snprintf(msg, sizeof msg, "%s%" PRIu64 " bytes%s%s%s", head ? "HEAD: " : "", len,
             cr[0] != '\0' ? " (" : "", cr, cr[0] != '\0' ? ")" : "");
    if (n > 1)
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " in %zu ranges", n);
    return queue(call, status, r, msg);
}

enum MHD_Result mock_download(mock_call *call)
{
    /* PathParse (middlewares/down.go:18-22, 49-51): FixAndCleanPath of the route's *path, which
     * gin has percent-decoded, as libmicrohttpd has; no relative-path check, no user at all. */
    size_t n = strlen(call->url + 2);
    char *path = malloc(n + 2);
    if (path == NULL)
        return MHD_NO;
    snprintf(path, n + 2, "%s%s", call->url[2] == '/' ? "" : "/", call->url + 2);
    for (char *c = path; *c != '\0'; c++)
        if (*c == '\\')
            *c = '/';
    mock_path_clean(path);
    enum MHD_Result r;
    if (!call->srv->cfg.no_sign) {
        /* Down (middlewares/down.go:24-45): sign_all is on, so every path needs its sign. */
        const char *q = MHD_lookup_connection_value(call->c, MHD_GET_ARGUMENT_KIND, "sign");
        char *s = strdup(q != NULL ? q : "");
        if (s == NULL) {
            free(path);
            return MHD_NO;
        }
        size_t sn = strlen(s);
        if (sn > 0 && s[sn - 1] == '/')
            s[sn - 1] = '\0';
        const char *bad = mock_sign_verify(call->srv, path, s);
        free(s);
        if (bad != NULL) {
            free(path);
            return error_page(call, 401, bad);
        }
    }
    mock_fs_info fi;
    int fd = mock_path_reserved(path) ? -1 : mock_fs_open_file(call->srv->rootfd, path, &fi);
    if (fd < 0) {
        r = link_failed(call, path, mock_path_reserved(path) ? ENOENT : errno);
        free(path);
        return r;
    }
    r = serve(call, fd, strrchr(path, '/') + 1, &fi);
    free(path);
    return r;
}
