/*
 * PUT /api/fs/put and PUT /api/fs/form: AList's checks in AList's order, then the body streamed
 * piece by piece into the temp file (storage.c), digested on the way when --verify-hash asks.
 * Errors found before the body are answered at once when the client waits for "100 Continue"
 * or sends no body, and otherwise after draining the body, as AList does for "file exists".
 * A body that crosses --max-body or the X-File-Size it declared is answered as it crosses, and
 * the rest of it is never read.
 */
#include "upload.h"
#include "apath.h"
#include "auth.h"
#include "events.h"
#include "fault.h"
#include "gostr.h"
#include "journal.h"
#include "respond.h"
#include "sleep.h"
#include "sniff.h"
#include "storage.h"
#include "watchdog.h"
#include "sp_common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Large enough that multipart parsing is not a per-byte affair, small next to the memory limit. */
#define FORM_BUFFER 65536

/* A path longer than this loses its middle in messages (see msg_path). */
#define MSG_PATH_MAX 200

/*
 * The multipart framing as it passes (form_scan), for what MHD's post processor does not tell:
 * which part a piece belongs to, and where a cut-off body ended.
 */
typedef struct mock_frame {
    char *delim; /* "\r\n--" and the boundary, exactly as MHD matches it (malloc'd) */
    size_t dlen;
    size_t matched; /* bytes of delim matched by the body's latest bytes */
    unsigned parts; /* delimiters passed to the post processor so far */
    unsigned file;  /* parts while the "file" part was being delivered */
    int at;         /* where the body stands: enum form_at */
    size_t line;    /* bytes of the current boundary or header line */
    int dash;       /* the boundary line so far is a single '-' */
    int cr;         /* the latest header byte was '\r' */
} mock_frame;

/* One upload, allocated by mock_upload_begin() and freed by mock_upload_free(). */
struct mock_upload {
    const mock_server *srv;
    mock_answer *ans; /* the request's answer, which the upload decides */
    mock_who who;     /* whom the token named */
    int form;         /* /api/fs/form rather than /api/fs/put */
    int64_t t0;       /* when the request's head arrived, for the slow-read pace */
    int answer_now;   /* the error must be answered before the body is read */
    int stored;       /* the file is in place (even if the answer is an error) */
    int reset;        /* a reset-after fault fired */

    mock_store st;
    char *path;           /* cleaned File-Path (malloc'd), NULL if there is none */
    uint64_t received;    /* body bytes on the wire */
    uint64_t file_bytes;  /* bytes written to the temp file */
    int64_t declared;     /* the size the client declared (Content-Length / X-File-Size), -1 */
    int size_from_header; /* declared comes from X-File-Size and must match */
    int has_body;
    int overwrite, as_task;
    int has_mtime;
    int64_t mtime_ms;
    EVP_MD_CTX *md[MOCK_NHASH];
    const char *md_expect[MOCK_NHASH]; /* header values, valid until the request completes */
    mock_sniff sniff;                  /* the multipart diagnosis of the body's first bytes */
    int multipart_suspected;
    mock_fault fault;
    int stalled;
    int stop_now; /* a limit was crossed mid-body: answer and close without reading on */
    struct MHD_PostProcessor *pp;
    int form_part;    /* 0 before the "file" part, 1 inside it, 2 after it */
    mock_frame frame; /* the multipart framing, for /api/fs/form */
    mock_live live;   /* the dashboard's view of it while its body is read */
};

const mock_hash_kind mock_hashes[MOCK_NHASH] = {
    {"X-File-Md5", "md5", EVP_md5},
    {"X-File-Sha1", "sha1", EVP_sha1},
    {"X-File-Sha256", "sha256", EVP_sha256},
};

int mock_hash_verdict(int i, EVP_MD_CTX *md, const char *expect, char *msg, size_t msgsz)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    if (EVP_DigestFinal_ex(md, d, &len) != 1) {
        snprintf(msg, msgsz, "cannot finish %s digest", mock_hashes[i].name);
        return 500;
    }
    for (unsigned j = 0; j < len; j++)
        snprintf(hex + 2 * j, 3, "%02x", d[j]);
    if (strcasecmp(hex, expect) == 0)
        return 0;
    snprintf(msg, msgsz, "%s mismatch: %s says %s, the body's %s is %s", mock_hashes[i].name,
             mock_hashes[i].header, expect, mock_hashes[i].name, hex);
    return 400;
}

/* Records the request's error; the first one wins, as AList stops at its first failed check. */
__attribute__((format(printf, 3, 4))) static void fail(mock_upload *up, int code, const char *fmt,
                                                       ...)
{
    if (up->ans->code != 0)
        return;
    up->ans->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(up->ans->msg, sizeof up->ans->msg, fmt, ap);
    va_end(ap);
    /* Nothing of a failed upload may be stored. */
    mock_store_abort(&up->st);
}

/*
 * The first len bytes of path as a message shows them. A path longer than MSG_PATH_MAX keeps its
 * head and tail around "...", cut on UTF-8 character boundaries, so that the reason written after
 * it still fits in the message: a 4 KiB File-Path must not push "file name too long" out of it.
 */
static const char *msg_path(const char *path, size_t len, char buf[MSG_PATH_MAX + 1])
{
    if (len <= MSG_PATH_MAX) {
        snprintf(buf, MSG_PATH_MAX + 1, "%.*s", (int)len, path);
        return buf;
    }
    size_t head = MSG_PATH_MAX / 2, tail = len - (MSG_PATH_MAX / 2 - 3);
    while (head > 0 && ((unsigned char)path[head] & 0xc0) == 0x80)
        head--;
    while (tail < len && ((unsigned char)path[tail] & 0xc0) == 0x80)
        tail++;
    snprintf(buf, MSG_PATH_MAX + 1, "%.*s...%.*s", (int)head, path, (int)(len - tail), path + tail);
    return buf;
}

/*
 * The path OpenList's local driver stats for the first dirlen bytes of path: filepath.Join of the
 * storage's root, made absolute as Local.Init makes it, and that path (drivers/local/driver.go:
 * 64-70, 198-199). Here the storage's root is --root.
 */
static void local_path(const char *root, const char *path, size_t dirlen, char *out, size_t outsz)
{
    char cwd[PATH_MAX];
    if (root[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
        cwd[0] = '\0';
    snprintf(out, outsz, "%s/%s/%.*s", cwd, root, (int)dirlen, path);
    mock_path_clean(out);
}

/*
 * op.Put's MakeDir failure for a target whose directory has a file where a directory should be;
 * failed is the length of that file's path, a prefix of path. Returns the code, 500. When the file
 * is the directory itself, both find it and say "file exists" (OpenList internal/op/fs.go:318,
 * AList v3.45.0 :357). Below it, each fails its own way: OpenList's op.Get stats the directory
 * through the local driver and passes its error on, the path on the server's disk included
 * (op/fs.go:190, 321); AList's op.Get ignores that error and lists each parent in turn, up to the
 * file, which List finds to be no folder (v3.45.0 op/fs.go:126, 130, 176-181, 227, 350): one
 * "failed get dir: failed get parent list: " for each level further down.
 */
static int parent_file_error(const mock_server *srv, const char *path, size_t failed, char *msg,
                             size_t msgsz)
{
    size_t dirlen = (size_t)(strrchr(path, '/') - path);
    char dir[MSG_PATH_MAX + 1], p[MSG_PATH_MAX + 1];
    msg_path(path, dirlen, dir);
    if (failed >= dirlen) {
        snprintf(msg, msgsz, "failed to make dir [%s]: file exists", dir);
    } else if (srv->cfg.profile == MOCK_PROFILE_OPENLIST) {
        char full[2 * PATH_MAX + 8];
        local_path(srv->cfg.root, path, dirlen, full, sizeof full);
        snprintf(
            msg, msgsz,
            "failed to make dir [%s]: failed to check if dir exists: failed to get obj: stat %s: "
            "not a directory",
            dir, msg_path(full, strlen(full), p));
    } else {
        static const char level[] = "failed get dir: failed get parent list: ";
        char chain[512] = "";
        size_t w = 0;
        /* The levels below the file are the '/'s after it; the first needs no extra words. */
        for (size_t i = failed + 1; i < dirlen && w + sizeof level <= sizeof chain; i++)
            if (path[i] == '/')
                w += (size_t)snprintf(chain + w, sizeof chain - w, "%s", level);
        snprintf(msg, msgsz,
                 "failed to make dir [%s]: failed to check if dir exists: failed get parent "
                 "list: %snot a folder",
                 dir, chain);
    }
    return 500;
}

int mock_store_error(const mock_server *srv, const char *path, mock_store_err e, size_t failed_dir,
                     char *msg, size_t msgsz)
{
    int err = errno;
    char p[MSG_PATH_MAX + 1], why[128];
    switch (e) {
    case MOCK_STORE_OK:
        break;
    case MOCK_STORE_ESCAPE:
        /* A symlink leading out of the root: AList would refuse, errs.PermissionDenied. */
        snprintf(msg, msgsz, "permission denied");
        return 403;
    case MOCK_STORE_NOTDIR:
        return parent_file_error(srv, path, failed_dir, msg, msgsz);
    case MOCK_STORE_EXISTS:
        snprintf(msg, msgsz, "file exists");
        return 403;
    case MOCK_STORE_IO:
        snprintf(msg, msgsz, "failed to put [%s]: %s", msg_path(path, strlen(path), p),
                 mock_go_errno(err, why, sizeof why));
        return 500;
    case MOCK_STORE_UNSYNCED:
        /* AList has no --fsync, so there is no message of its to copy: this one says both what
         * failed and that the file is there. */
        snprintf(msg, msgsz, "[%s] is stored, but --fsync could not sync its directory: %s",
                 msg_path(path, strlen(path), p), mock_go_errno(err, why, sizeof why));
        return 500;
    }
    return 0;
}

/* Maps a storage failure to AList's code and message. */
static void fail_store(mock_upload *up, mock_store_err e, size_t failed_dir)
{
    char m[sizeof up->ans->msg];
    int code = mock_store_error(up->srv, up->path, e, failed_dir, m, sizeof m);
    if (code != 0)
        fail(up, code, "%s", m);
}

/* X-Mock-Fault replaces --fault for one request, but only when --allow-fault-header is on. */
static void pick_fault(mock_upload *up, struct MHD_Connection *c)
{
    const mock_config *cfg = &up->srv->cfg;
    const char *spec = mock_header(c, "X-Mock-Fault");
    up->fault = cfg->fault;
    if (spec == NULL)
        return;
    if (!cfg->allow_fault_header) {
        mock_warn("X-Mock-Fault '%s' ignored: start streamput-mock with --allow-fault-header",
                  spec);
        return;
    }
    char err[256];
    /* A bad spec is reported plainly, with no fault at all, not even the server-wide one:
     * "status=503,bogus" answers its 400 with HTTP 200. */
    if (mock_fault_parse(spec, &up->fault, err, sizeof err) < 0) {
        mock_fault_init(&up->fault);
        fail(up, 400, "invalid X-Mock-Fault: %s", err);
    }
}

/*
 * The body-length rules of the two profiles. AList v3 parses the Content-Length header, which Go
 * removes for chunked requests, so chunked or missing gives ParseInt's error on "". OpenList
 * takes chunked bodies, with X-File-Size as the declared size when present. A request with
 * neither length nor chunked framing has an empty body as far as HTTP is concerned: OpenList
 * would store an empty file, which is exactly the silent failure this mock exists to expose,
 * so both profiles refuse it.
 */
static void check_length(mock_upload *up, struct MHD_Connection *c, int chunked, const char *cl)
{
    char m[300];
    if (up->srv->cfg.profile == MOCK_PROFILE_ALIST && (chunked || cl == NULL)) {
        mock_go_parse_int("", &up->declared, m, sizeof m);
        fail(up, 400, "%s", m);
        return;
    }
    if (cl != NULL && !chunked) {
        mock_go_parse_int(cl, &up->declared, NULL, 0); /* MHD has validated it already */
        return;
    }
    if (!chunked) {
        fail(up, 400,
             "no Content-Length and no Transfer-Encoding: chunked, so the body is empty "
             "by HTTP's rules; OpenList would store an empty file");
        up->answer_now = 1;
        return;
    }
    const char *xs = mock_header(c, "X-File-Size");
    if (xs != NULL) {
        if (mock_go_parse_int(xs, &up->declared, m, sizeof m) < 0)
            fail(up, 400, "%s", m);
        else
            up->size_from_header = up->declared >= 0;
    }
}

/* A multipart Content-Type on /api/fs/put: the framing would become part of the file. */
static void suspect_multipart(mock_upload *up, const char *why)
{
    up->multipart_suspected = 1;
    up->sniff.done = 1;
    if (up->srv->cfg.strict) {
        fail(up, 400,
             "multipart body on /api/fs/put (%s): the framing would be stored as part of "
             "the file; send the raw bytes, or use /api/fs/form",
             why);
        return;
    }
    mock_warn("PUT /api/fs/put File-Path %s: %s; the multipart framing will be stored as part of "
              "the file. Send the raw file bytes as the body, or use PUT /api/fs/form.",
              up->path != NULL ? up->path : "-", why);
}

/* Feeds the multipart sniffer and reports its verdict once, when it is first reached. */
static void sniff_body(mock_upload *up, const char *data, size_t len, int at_end)
{
    if (up->sniff.done)
        return;
    mock_sniff_feed(&up->sniff, data, len, at_end);
    if (up->sniff.suspected)
        suspect_multipart(up, "the body starts with a --boundary line and Content-Disposition");
}

/* Starts the digests of the X-File-* headers present, when --verify-hash asks for checking. */
static void start_hashes(mock_upload *up, struct MHD_Connection *c)
{
    for (int i = 0; i < MOCK_NHASH; i++) {
        const char *v = mock_header(c, mock_hashes[i].header);
        if (v == NULL || *v == '\0' || !up->srv->cfg.verify_hash)
            continue;
        up->md_expect[i] = v;
        up->md[i] = EVP_MD_CTX_new();
        if (up->md[i] == NULL || EVP_DigestInit_ex(up->md[i], mock_hashes[i].md(), NULL) != 1)
            fail(up, 500, "cannot start %s digest", mock_hashes[i].name);
    }
}

/* Compares the finished digests with the headers (hex, either case). */
static void verify_hashes(mock_upload *up)
{
    for (int i = 0; i < MOCK_NHASH && up->ans->code == 0; i++) {
        char m[sizeof up->ans->msg];
        int code =
            up->md[i] != NULL ? mock_hash_verdict(i, up->md[i], up->md_expect[i], m, sizeof m) : 0;
        if (code != 0)
            fail(up, code, "%s", m);
    }
}

/* File bytes: digested, counted, written. */
static void store_piece(mock_upload *up, const char *data, size_t len)
{
    if (up->ans->code != 0)
        return;
    for (int i = 0; i < MOCK_NHASH; i++)
        if (up->md[i] != NULL)
            EVP_DigestUpdate(up->md[i], data, len);
    up->file_bytes += len;
    if (mock_store_write(&up->st, data, len) < 0) {
        /* Go's *os.PathError, as AList's local driver reports a failed write: "write /a.bin: no
         * space left on device". */
        char p[MSG_PATH_MAX + 1], why[128];
        mock_go_errno(errno, why, sizeof why);
        fail(up, 500, "write %s: %s", msg_path(up->path, strlen(up->path), p), why);
    }
}

/*
 * MHD's post processor calls this for every piece of every form field, and at least once for
 * each part, even an empty one. Like Go's FormFile, only the first part named "file" that carries
 * a filename counts, empty or not; everything else is skipped. The piece's offset cannot tell the
 * parts apart (an empty part's one call and the next part's first piece both have offset 0), so
 * the part is the count of delimiters fed to the parser before this piece (see consume_form).
 */
static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size)
{
    mock_upload *up = cls;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    (void)off;
    if (up->form_part == 1 && up->frame.parts != up->frame.file)
        up->form_part = 2; /* any later part ends the file */
    /* Go's Part.FileName() is "" for filename="", and ReadForm keeps such a part as a value. */
    if (up->form_part == 0 && key != NULL && strcmp(key, "file") == 0 && filename != NULL &&
        *filename != '\0') {
        up->form_part = 1;
        up->frame.file = up->frame.parts;
    }
    if (up->form_part == 1 && size > 0)
        store_piece(up, data, size);
    return MHD_YES;
}

/* Where a multipart body stands after its latest byte. */
enum form_at {
    FORM_DATA = 0, /* the preamble or a part's content */
    FORM_DELIM,    /* after a "--boundary", before its line ends */
    FORM_HEADERS,  /* a part's header lines */
    FORM_END,      /* after the closing "--boundary--": the rest is ignored */
};

/*
 * Follows the framing over data[0..n): returns how many bytes reach the end of the next
 * delimiter, setting *delim, or n when no delimiter ends inside. The delimiter is MHD's own
 * (CR LF "--" boundary, found anywhere in a part's content); the first may open the body
 * without the CR LF. Since no boundary holds a CR, a failed match restarts only at a CR.
 */
static size_t form_scan(mock_upload *up, const unsigned char *data, size_t n, int *delim)
{
    *delim = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = data[i];
        switch (up->frame.at) {
        case FORM_DATA:
            if (b == (unsigned char)up->frame.delim[up->frame.matched]) {
                if (++up->frame.matched < up->frame.dlen)
                    break;
                up->frame.matched = 0;
                up->frame.at = FORM_DELIM;
                up->frame.line = 0;
                up->frame.dash = 0;
                *delim = 1;
                return i + 1;
            }
            up->frame.matched = b == '\r';
            break;
        case FORM_DELIM:
            if (b == '-' && up->frame.line <= 1 && (up->frame.line == 0 || up->frame.dash)) {
                up->frame.dash = up->frame.line == 0;
                if (up->frame.line == 1) {
                    up->frame.at = FORM_END;
                    return n;
                }
            } else {
                up->frame.dash = 0;
            }
            up->frame.line++;
            if (b == '\n') {
                up->frame.at = FORM_HEADERS;
                up->frame.line = 0;
                up->frame.cr = 0;
            }
            break;
        case FORM_HEADERS:
            if (b != '\n') {
                up->frame.line++;
                up->frame.cr = b == '\r';
            } else if (up->frame.line == 0 || (up->frame.line == 1 && up->frame.cr)) {
                up->frame.at = FORM_DATA; /* the empty line: the part's content follows */
                up->frame.matched = 0;
            } else {
                up->frame.line = 0;
            }
            break;
        default:
            return n;
        }
    }
    return n;
}

/*
 * Feeds the form parser, cut after each delimiter: once the parser has seen a whole delimiter it
 * has delivered everything of the part before it, so every iterator call during one feed belongs
 * to the part that frame.parts counts.
 */
static void consume_form(mock_upload *up, const char *data, size_t n)
{
    while (n > 0 && up->ans->code == 0) {
        int delim;
        size_t cut = form_scan(up, (const unsigned char *)data, n, &delim);
        if (MHD_post_process(up->pp, data, cut) != MHD_YES)
            fail(up, 500, "malformed multipart body");
        up->frame.parts += (unsigned)delim;
        data += cut;
        n -= cut;
    }
}

/*
 * The body is complete: ends the parse the way Go's multipart reader ends it. MHD holds back
 * the bytes that might begin a boundary and never delivers them when the body just stops, so a
 * body without its closing boundary must fail here, as it fails in AList (FsForm answers
 * FormFile's error with code 500), with Go's words for where it stopped.
 */
static void finish_form(mock_upload *up)
{
    int parsed = MHD_destroy_post_processor(up->pp) == MHD_YES;
    up->pp = NULL;
    switch (up->frame.at) {
    case FORM_END:
        if (!parsed)
            fail(up, 500, "malformed multipart body");
        return;
    case FORM_DELIM:
        /* NextPart reads the boundary line to its end. Only after a part's content is a lone
         * '-' still content ("--boundary-" is no delimiter), which then ends unexpectedly. */
        if (up->frame.parts == 1 || !up->frame.dash || up->frame.line != 1) {
            fail(up, 500, "multipart: NextPart: EOF");
            return;
        }
        fail(up, 500, "unexpected EOF");
        return;
    case FORM_DATA:
        /* No delimiter at all is NextPart's EOF; inside a part's content, the part's reader
         * meets the end before any boundary. */
        fail(up, 500, up->frame.parts == 0 ? "multipart: NextPart: EOF" : "unexpected EOF");
        return;
    default:
        /* Cut inside a part's headers: Go's header reader returns io.EOF there, which ReadForm
         * takes for the end of the form, so the parts before it stand and the cut one does not
         * exist; the post processor's complaint about it is not AList's. */
        return;
    }
}

/*
 * The delimiter MHD's post processor looks for: everything after the first "boundary=" in the
 * Content-Type, enclosing quotes removed, behind CR LF "--". Returns 0 or -1.
 */
static int form_delimiter(mock_upload *up, const char *ct)
{
    const char *b = strstr(ct + 19, "boundary=");
    if (b == NULL)
        return -1;
    b += 9;
    size_t blen = strlen(b);
    if (blen >= 2 && b[0] == '"' && b[blen - 1] == '"') {
        b++;
        blen -= 2;
    }
    if ((up->frame.delim = malloc(blen + 5)) == NULL)
        return -1;
    memcpy(up->frame.delim, "\r\n--", 4);
    memcpy(up->frame.delim + 4, b, blen);
    up->frame.delim[blen + 4] = '\0';
    up->frame.dlen = blen + 4;
    up->frame.matched = 2; /* the first delimiter may open the body without its CR LF */
    return 0;
}

enum MHD_Result mock_upload_begin(mock_upload **out, const mock_server *srv,
                                  struct MHD_Connection *c, int form, int64_t t0, mock_answer *ans)
{
    mock_upload *up = *out = calloc(1, sizeof *up);
    if (up == NULL)
        return MHD_NO;
    up->srv = srv;
    up->ans = ans;
    up->form = form;
    up->t0 = t0;
    mock_store_init(&up->st);
    mock_fault_init(&up->fault);

    const mock_config *cfg = &srv->cfg;
    const char *te = mock_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = mock_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *ct = mock_header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *expect = mock_header(c, MHD_HTTP_HEADER_EXPECT);
    int chunked = te != NULL && strcasestr(te, "chunked") != NULL;
    uint64_t clv = 0;
    up->declared = -1;
    up->has_body = chunked || (cl != NULL && sp__parse_uint(cl, UINT64_MAX, &clv) == 0 && clv > 0);

    pick_fault(up, c);
    if (mock_auth_check(srv, c, MOCK_AUTH_REQUIRE, &up->who, ans) < 0)
        mock_store_abort(&up->st);

    /* FsUp middleware: url.PathUnescape (400), JoinBasePath (403). */
    const char *raw = mock_header(c, "File-Path");
    up->path = malloc(strlen(raw != NULL ? raw : "") + 2);
    if (up->path == NULL)
        return MHD_NO;
    char m[300];
    int code = mock_file_path(raw != NULL ? raw : "", cfg->profile, up->path, m, sizeof m);
    if (code != 0) {
        fail(up, code, "%s", m);
        /* No cleaned path exists: the journal's stored_path stays null. */
        free(up->path);
        up->path = NULL;
    }
    /*
     * AList does not check that File-Path is present ("" becomes "/") and the outcome depends on
     * the storage driver; a clear 400 serves a developer better.
     */
    if (raw == NULL || *raw == '\0')
        fail(up, 400, "missing File-Path header");
    else if (up->path != NULL && strcmp(up->path, "/") == 0)
        fail(up, 400, "File-Path names the root directory, not a file");

    /* FsStream: As-Task and Overwrite are exact, case-sensitive matches. */
    up->as_task =
        mock_header(c, "As-Task") != NULL && strcmp(mock_header(c, "As-Task"), "true") == 0;
    up->overwrite =
        mock_header(c, "Overwrite") == NULL || strcmp(mock_header(c, "Overwrite"), "false") != 0;
    if (!up->overwrite && up->ans->code == 0 && mock_store_exists(up->srv->rootfd, up->path))
        fail(up, 403, "file exists");

    if (form) {
        /* Go's multipart reader refuses anything else with this text (code 500 in FsForm). */
        if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0)
            fail(up, 500, "request Content-Type isn't multipart/form-data");
        else if (up->ans->code == 0 &&
                 ((up->pp = MHD_create_post_processor(c, FORM_BUFFER, form_iter, up)) == NULL ||
                  form_delimiter(up, ct) < 0))
            fail(up, 500, "request Content-Type isn't multipart/form-data");
    } else {
        check_length(up, c, chunked, cl);
    }

    /* Our addition: refuse an over-long body before reading it. */
    if (cfg->max_body > 0 && !chunked && cl != NULL && clv > cfg->max_body) {
        fail(up, 413, "http: request body too large");
        up->answer_now = 1;
    }
    if (!form && ct != NULL && strncasecmp(ct, "multipart/", 10) == 0)
        suspect_multipart(up, "its Content-Type is multipart/*");

    const char *lm = mock_header(c, "Last-Modified");
    up->has_mtime = lm != NULL && mock_go_parse_int(lm, &up->mtime_ms, NULL, 0) == 0;
    start_hashes(up, c);

    if (up->ans->code == 0) {
        size_t failed_dir = 0;
        up->st.noreplace = !up->overwrite;
        up->st.fsync = cfg->fsync;
        mock_store_err e = mock_store_begin(&up->st, up->srv->rootfd, up->path, &failed_dir);
        fail_store(up, e, failed_dir);
    }

    if (up->fault.reset_after == 0) {
        up->reset = 1;
        mock_respond_reset(c);
        return MHD_NO;
    }
    /*
     * A client that waits for "100 Continue" gets the error instead, and one without a body
     * has nothing to drain; MHD closes the connection after an early answer to a PUT.
     */
    if (up->ans->code != 0 && (up->answer_now || !up->has_body ||
                               (expect != NULL && strcasecmp(expect, "100-continue") == 0))) {
        up->answer_now = 1;
        return mock_upload_finish(up, c);
    }
    /*
     * The body is read from here on, drained or stored: the dashboard shows it in flight, out
     * of the size declared for it (a form's is its Content-Length, framing and all).
     */
    if (up->has_body)
        mock_live_begin(&up->live, mock_connection_id(c), up->path, up->who.name, t0,
                        form ? (chunked ? -1 : (int64_t)clv) : up->declared);
    return MHD_YES;
}

/* Sleeps until total body bytes fit the slow-read rate, counted from the request's start. */
static void pace(mock_upload *up, uint64_t total)
{
    int64_t due = up->t0 + (int64_t)(total * 1000 / up->fault.slow_read);
    int64_t now = sp__now_ms();
    if (due > now)
        mock_sleep_ms((uint64_t)(due - now));
}

/*
 * Takes n body bytes: the size limits, the multipart sniffer, the form parser or the file. A body
 * that crosses --max-body or the X-File-Size it declared cannot succeed whatever follows, so
 * nothing more of it is read (stop_now): with a first error found before the body, that error is
 * the answer, as the first error always is.
 */
static void consume(mock_upload *up, const char *data, size_t n)
{
    const mock_config *cfg = &up->srv->cfg;
    if (n == 0)
        return;
    up->received += n;
    mock_live_progress(&up->live, up->received, up->multipart_suspected);
    if (cfg->max_body > 0 && up->received > cfg->max_body) {
        fail(up, 413, "http: request body too large");
        up->stop_now = 1;
    }
    if (up->size_from_header && up->received > (uint64_t)up->declared) {
        fail(up, 400, "the body is longer than the %lld bytes X-File-Size says",
             (long long)up->declared);
        up->stop_now = 1;
    }
    if (up->stop_now)
        return;
    if (up->form) {
        consume_form(up, data, n);
    } else {
        sniff_body(up, data, n, 0);
        store_piece(up, data, n);
    }
    if (up->fault.slow_read > 0)
        pace(up, up->received);
}

static void conclude(mock_upload *up);

/*
 * Answers now, in the middle of the body, and closes the connection: MHD cannot queue an answer
 * before the body has been read (see mock_respond_now), so it is written past MHD, and MHD_NO
 * makes MHD close the connection without reading the rest.
 */
static enum MHD_Result answer_mid_body(mock_upload *up, struct MHD_Connection *c)
{
    conclude(up);
    if (mock_respond_now(c, up->ans->http_status, up->ans->code, up->ans->msg, NULL) == 0)
        mock_sleep_ms(MOCK_RST_AVOIDANCE_MS);
    else
        up->ans->http_status = 0; /* the journal says how the connection ended instead */
    return MHD_NO;
}

enum MHD_Result mock_upload_body(mock_upload *up, struct MHD_Connection *c, const char *data,
                                 size_t *size)
{
    size_t len = *size, off = 0;
    *size = 0;
    if (up->fault.reset_after > 0 && up->received + len >= (uint64_t)up->fault.reset_after) {
        up->received = (uint64_t)up->fault.reset_after;
        up->reset = 1;
        mock_store_abort(&up->st);
        mock_respond_reset(c);
        return MHD_NO;
    }
    /* The stall starts at the exact byte count: the piece is split there. */
    if (up->fault.stall_after >= 0 && !up->stalled &&
        up->received + len > (uint64_t)up->fault.stall_after) {
        off = (size_t)((uint64_t)up->fault.stall_after - up->received);
        consume(up, data, off);
        up->stalled = 1;
        if (!up->stop_now)
            mock_sleep_ms(up->fault.stall_ms);
    }
    if (!up->stop_now)
        consume(up, data + off, len - off);
    return up->stop_now ? answer_mid_body(up, c) : MHD_YES;
}

/* nanoid's default: 21 characters from A-Za-z0-9_- (tache's task ids). */
static void nanoid(char out[22])
{
    static const char abc[] = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
    unsigned char rnd[21];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 0, sizeof rnd);
    for (int i = 0; i < 21; i++)
        out[i] = abc[rnd[i] & 63];
    out[21] = '\0';
}

/*
 * The task's total_bytes: FileStream.GetSize() once putAsTask has cached the body. A form's file
 * has its part's size. A stream has the size it declared, except where OpenList took a chunked
 * body of unknown (negative) size: caching it counts the bytes, and GetSize() returns that count
 * when it is above 0 (OpenList internal/stream/stream.go:37-42, 113-138; internal/fs/put.go:72-90).
 */
static int64_t task_total(const mock_upload *up)
{
    if (up->form)
        return (int64_t)up->file_bytes;
    if (up->srv->cfg.profile == MOCK_PROFILE_OPENLIST && up->declared < 0 && up->file_bytes > 0)
        return (int64_t)up->file_bytes;
    return up->declared;
}

/*
 * As-Task's data: the TaskInfo snapshot of an upload task that has just been added (state 0,
 * pending). The whole root plays a storage mounted at "/", so the name reads
 * "upload b.txt to [/](/a)".
 */
static cJSON *task_info(const mock_upload *up)
{
    const char *slash = strrchr(up->path, '/');
    size_t cap = 2 * strlen(up->path) + 32;
    char id[22], *name = malloc(cap);
    if (name == NULL)
        return NULL;
    snprintf(name, cap, "upload %s to [/](%.*s)", slash + 1,
             slash == up->path ? 1 : (int)(slash - up->path), up->path);
    nanoid(id);
    /*
     * The creator's role, User.Role: one int in both, GUEST 1 and ADMIN 2 (OpenList
     * internal/model/user.go:17-21; AList v3.45.0 internal/model/user.go:16-20, 32). AList made
     * it a list of role ids only after v3.45.0.
     */
    int role = up->who.user->role;

    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "id", id);
    cJSON_AddStringToObject(t, "name", name);
    free(name);
    cJSON_AddStringToObject(t, "creator", up->who.name);
    cJSON_AddNumberToObject(t, "creator_role", role);
    cJSON_AddNumberToObject(t, "state", 0);
    cJSON_AddStringToObject(t, "status", "uploading");
    cJSON_AddNumberToObject(t, "progress", 0);
    cJSON_AddNullToObject(t, "start_time");
    cJSON_AddNullToObject(t, "end_time");
    cJSON_AddNumberToObject(t, "total_bytes", (double)task_total(up));
    cJSON_AddStringToObject(t, "error", "");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "task", t);
    return d;
}

/* Decides the answer into up (code, msg, http_status), commits the upload or not, and releases
 * what it holds. */
static void conclude(mock_upload *up)
{
    const mock_fault *f = &up->fault;
    if (up->ans->code == 0) {
        /* ParseMultipartForm's errors come before FormFile looks for the part. */
        if (up->form)
            finish_form(up);
        if (up->form && up->form_part == 0)
            fail(up, 500, "http: no such file");
        if (!up->form)
            sniff_body(up, "", 0, 1);
        if (up->size_from_header && up->received != (uint64_t)up->declared)
            fail(up, 400, "the body has %llu bytes but X-File-Size says %lld",
                 (unsigned long long)up->received, (long long)up->declared);
        verify_hashes(up);
    }
    if (f->code != 0)
        fail(up, f->code, "injected fault: code=%d", f->code);
    if (f->status != 0)
        fail(up, (int)f->status, "injected fault: status=%u", f->status);
    if (f->delay_ms > 0)
        mock_sleep_ms(f->delay_ms);
    if (up->ans->code == 0) {
        char why[128];
        if (up->has_mtime && mock_store_set_mtime(&up->st, up->mtime_ms) < 0)
            fail(up, 500, "failed to set the modification time: %s",
                 mock_go_errno(errno, why, sizeof why));
        if (up->ans->code == 0) {
            mock_store_err e = mock_store_commit(&up->st);
            /* The journal says what is on disk, even when the answer is an error. */
            up->stored = e == MOCK_STORE_OK || e == MOCK_STORE_UNSYNCED;
            fail_store(up, e, 0);
        }
    }
    mock_upload_release(up);
    if (up->ans->code == 0) {
        up->ans->code = 200;
        snprintf(up->ans->msg, sizeof up->ans->msg, "success");
    }
    up->ans->http_status = f->status != 0 ? f->status : MHD_HTTP_OK;
}

enum MHD_Result mock_upload_finish(mock_upload *up, struct MHD_Connection *c)
{
    conclude(up);
    /* An answer before the body means the connection cannot carry another request. */
    return mock_respond(c, up->ans->http_status, up->ans->code, up->ans->msg,
                        up->ans->code == 200 && up->as_task ? task_info(up) : NULL, up->answer_now);
}

void mock_upload_release(mock_upload *up)
{
    if (up == NULL)
        return;
    mock_live_end(&up->live, up->received, up->multipart_suspected);
    mock_store_abort(&up->st);
    for (int i = 0; i < MOCK_NHASH; i++) {
        EVP_MD_CTX_free(up->md[i]);
        up->md[i] = NULL;
    }
    if (up->pp != NULL) {
        MHD_destroy_post_processor(up->pp);
        up->pp = NULL;
    }
    free(up->frame.delim);
    up->frame.delim = NULL;
}

void mock_upload_free(mock_upload *up)
{
    if (up == NULL)
        return;
    mock_upload_release(up);
    free(up->path);
    free(up);
}

const char *mock_upload_path(const mock_upload *up)
{
    return up != NULL ? up->path : NULL;
}

uint64_t mock_upload_received(const mock_upload *up)
{
    return up != NULL ? up->received : 0;
}

const char *mock_upload_user(const mock_upload *up)
{
    return up != NULL ? up->who.name : NULL;
}

int mock_upload_stored(const mock_upload *up)
{
    return up != NULL && up->stored;
}

int mock_upload_multipart(const mock_upload *up)
{
    return up != NULL && up->multipart_suspected;
}

int mock_upload_why(const mock_upload *up, char *out, size_t outsz)
{
    if (up == NULL || !up->reset)
        return 0;
    snprintf(out, outsz, "injected fault: reset-after=%lld, connection reset after %llu bytes",
             (long long)up->fault.reset_after, (unsigned long long)up->received);
    return 1;
}
