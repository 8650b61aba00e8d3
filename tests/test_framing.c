/*
 * No multipart framing: what streamput sends to /api/fs/put is the file's bytes and nothing else.
 *
 * Checked three ways for each engine (rw, sendfile, chunked from a pipe):
 *   - on the wire, by a capturing server: the request's Content-Type is not multipart/... and has
 * no boundary parameter, and the body (de-chunked where chunked) equals the source exactly, with
 *     every chunk at most --chunk-size long;
 *   - in the stored copy: equal to the source, with no Content-Disposition, boundary line or
 *     boundary= that the source did not have;
 *   - in the mock's journal (GET /_mock/requests): content_type not multipart/...,
 *     multipart_suspected false, every byte received and stored.
 * Negative controls prove each check can fail: a multipart upload built here (raw socket) IS
 * flagged by the journal and IS stored with its framing, whether it says multipart/form-data or
 * hides behind application/octet-stream; and streamput told to send a multipart Content-Type is
 * caught by the wire check.
 */
#include "th.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_SIZE 300001 /* several chunks of every size tried, and not a multiple of any */
#define CHUNK    "64K"
#define CHUNK_N  65536

enum engine { ENG_RW, ENG_SENDFILE, ENG_CHUNKED, NENGINES };
static const char *const engine_names[NENGINES] = {"rw", "sendfile", "chunked"};

static char *dir;
static char *root;
static th_mock mock;
static char url[192];
static const char *sources[2]; /* random bytes; text with CRLFs and dashes but no framing */
static const char *const source_kinds[2] = {"random", "text"};

/* Text that is close to multipart without being it: CRLF CRLF, "-" runs, "name=" pairs. */
static const char lookalike_text[] =
    "Subject: minutes\r\n\r\nItem 1 -- agreed.\r\n- bullet\r\n---\r\nfield name=\"x\"; "
    "filename=\"y\"\r\n\r\n";

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    root = strdup(th_path(dir, "root"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    sources[0] = strdup(th_path(dir, "random.bin"));
    sources[1] = strdup(th_path(dir, "text.txt"));
    ck_assert_int_eq(th_write_random(sources[0], SRC_SIZE, 5), 0);
    ck_assert_int_eq(
        th_write_pattern(sources[1], lookalike_text, sizeof lookalike_text - 1, SRC_SIZE), 0);
    ck_assert_int_eq(th_mock_start(&mock, root, NULL), 0);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
}

static void teardown(void)
{
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    free((char *)sources[0]);
    free((char *)sources[1]);
    free(root);
    th_rmtree(dir);
}

/* Counts non-overlapping occurrences of needle in a file, in constant memory; a match may span
 * two reads, and a match already counted is never counted again. */
static long count_in_file(const char *path, const char *needle)
{
    static char buf[65536 + 256];
    size_t nlen = strlen(needle), keep = 0;
    long count = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf + keep, sizeof buf - keep);
        if (n <= 0)
            break;
        size_t len = keep + (size_t)n, done = 0;
        for (char *p = buf; (p = memmem(p, len - (size_t)(p - buf), needle, nlen)) != NULL;) {
            count++;
            p += nlen;
            done = (size_t)(p - buf);
        }
        /* Carry over the tail that could begin a match, but nothing of a counted one. */
        size_t from = len > nlen - 1 ? len - (nlen - 1) : 0;
        if (from < done)
            from = done;
        keep = len - from;
        memmove(buf, buf + from, keep);
    }
    close(fd);
    return count;
}

/* Does the file start with "--"? (A boundary line at the very start has no CRLF before it.) */
static int starts_with_dashes(const char *path)
{
    char b[2] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, b, 2) : -1;
    if (fd >= 0)
        close(fd);
    return n == 2 && b[0] == '-' && b[1] == '-';
}

/*
 * The stored-copy verdict, without asserting: 0 when stored equals src and carries no framing
 * marker src lacks; otherwise -1 with why filled. Used by the properties and their controls.
 */
static int stored_verdict(const char *src, const char *stored, char *why, size_t whysz)
{
    static const char *const markers[] = {"Content-Disposition", "\r\n--", "boundary="};
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        long a = count_in_file(src, markers[i]), b = count_in_file(stored, markers[i]);
        if (a < 0 || b < 0) {
            snprintf(why, whysz, "cannot read %s", a < 0 ? src : stored);
            return -1;
        }
        if (b != a) {
            snprintf(why, whysz, "stored copy has %ld '%s' where the source has %ld", b,
                     i == 1 ? "CRLF--" : markers[i], a);
            return -1;
        }
    }
    if (starts_with_dashes(stored) && !starts_with_dashes(src)) {
        snprintf(why, whysz, "stored copy starts with a boundary line");
        return -1;
    }
    if (th_files_equal(src, stored) != 1) {
        snprintf(why, whysz, "stored copy differs from the source");
        return -1;
    }
    return 0;
}

/* ---- the mock's journal ---- */

/* The newest journal entry whose file_path is fp (caller deletes), waiting up to 3 s: the mock
 * journals a request once its connection is done. */
static cJSON *journal_entry(const char *fp)
{
    cJSON *e = th_journal_find(&mock, fp, 3000);
    ck_assert_msg(e != NULL, "no journal entry for File-Path %s", fp);
    return e;
}

static const char *jstr(const cJSON *e, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, key));
}

static double jnum(const cJSON *e, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int jtrue(const cJSON *e, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, key));
}

/* The journal verdict: 0 if the request was a raw body of size bytes, stored; else -1 + why. */
static int journal_verdict(const cJSON *e, uint64_t size, char *why, size_t whysz)
{
    const char *ct = jstr(e, "content_type");
    if (ct != NULL && strncasecmp(ct, "multipart/", 10) == 0) {
        snprintf(why, whysz, "Content-Type is %s", ct);
        return -1;
    }
    if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "multipart_suspected"))) {
        snprintf(why, whysz, "the mock suspects multipart framing");
        return -1;
    }
    if (jnum(e, "bytes_received") != (double)size || !jtrue(e, "stored") ||
        jnum(e, "code") != 200) {
        snprintf(why, whysz, "received %.0f of %llu bytes, stored %d, code %.0f",
                 jnum(e, "bytes_received"), (unsigned long long)size, jtrue(e, "stored"),
                 jnum(e, "code"));
        return -1;
    }
    return 0;
}

/* ---- streamput ---- */

/* Runs the client on src through engine to target_url, with optional extra arguments. */
static void run_client(th_run *r, const char *src, enum engine e, const char *remote,
                       const char *target_url, const char *x1, const char *x2)
{
    char *argv[16];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput";
    argv[n++] = "-s";
    argv[n++] = "-c";
    argv[n++] = CHUNK;
    argv[n++] = "-e";
    argv[n++] = e == ENG_SENDFILE ? "sendfile" : "rw";
    argv[n++] = "-p";
    argv[n++] = (char *)remote;
    if (x1 != NULL)
        argv[n++] = (char *)x1;
    if (x2 != NULL)
        argv[n++] = (char *)x2;
    argv[n++] = e == ENG_CHUNKED ? "-" : (char *)src;
    argv[n++] = (char *)target_url;
    argv[n] = NULL;
    if (e == ENG_CHUNKED)
        th_run_piped(r, argv, src, th_path(dir, "stdin.fifo"), 60000);
    else
        th_run_argv(r, argv, NULL, 60000);
    th_mock_drain_log(&mock);
}

/* _i covers engine x source kind. */
START_TEST(upload_is_stored_raw_and_journaled_as_raw)
{
    enum engine e = (enum engine)(_i % NENGINES);
    const char *src = sources[_i / NENGINES];
    char remote[64], label[64], why[256];
    snprintf(remote, sizeof remote, "/raw/%s-%s", engine_names[e], source_kinds[_i / NENGINES]);
    snprintf(label, sizeof label, "engine %s, %s source", engine_names[e],
             source_kinds[_i / NENGINES]);
    static th_run r;
    run_client(&r, src, e, remote, url, NULL, NULL);
    ck_assert_msg(r.status == 0, "%s: exit %d: %s", label, r.status, r.err);
    ck_assert_msg(stored_verdict(src, th_path(root, remote + 1), why, sizeof why) == 0, "%s: %s",
                  label, why);

    cJSON *j = journal_entry(remote);
    ck_assert_msg(journal_verdict(j, SRC_SIZE, why, sizeof why) == 0, "%s: %s", label, why);
    ck_assert_str_eq(jstr(j, "content_type"), "application/octet-stream");
    if (e == ENG_CHUNKED) {
        ck_assert_pstr_eq(jstr(j, "transfer_encoding"), "chunked");
    } else {
        ck_assert_msg(jnum(j, "content_length") == SRC_SIZE, "%s: Content-Length %.0f", label,
                      jnum(j, "content_length"));
    }
    cJSON_Delete(j);
}
END_TEST

/* ---- a capturing server: what really goes over the wire ---- */

/* Buffered reads from the client's socket, for the capturing server's chunked decoder. */
typedef struct rd {
    int fd;
    char buf[65536];
    size_t pos, len;
} rd;

/* Makes sure at least one byte is buffered; -1 at EOF or on error. */
static int rd_fill(rd *r)
{
    if (r->pos < r->len)
        return 0;
    ssize_t n = recv(r->fd, r->buf, sizeof r->buf, 0);
    if (n <= 0)
        return -1;
    r->pos = 0;
    r->len = (size_t)n;
    return 0;
}

static int rd_byte(rd *r)
{
    return rd_fill(r) < 0 ? -1 : (unsigned char)r->buf[r->pos++];
}

/* Reads a CRLF-terminated line (without the CRLF); -1 on EOF, overlong or a bare LF. */
static int rd_line(rd *r, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        int ch = rd_byte(r);
        if (ch < 0 || n + 1 >= cap)
            return -1;
        if (ch == '\n')
            return n > 0 && out[n - 1] == '\r' ? (out[n - 1] = '\0', 0) : -1;
        out[n++] = (char)ch;
    }
}

/* Copies exactly n bytes from the socket to the file out. */
static int rd_copy(rd *r, int out, uint64_t n)
{
    while (n > 0) {
        if (rd_fill(r) < 0)
            return -1;
        size_t k = r->len - r->pos < n ? r->len - r->pos : (size_t)n;
        if (write(out, r->buf + r->pos, k) != (ssize_t)k)
            return -1;
        r->pos += k;
        n -= k;
    }
    return 0;
}

/* Finds a header's value in a request head (case-insensitive name); copies it into out. */
static int head_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            v += strspn(v, " \t");
            size_t vlen = strcspn(v, "\r");
            snprintf(out, cap, "%.*s", (int)vlen, v);
            return 0;
        }
    }
    return -1;
}

/* The capturing server: saves the head and the (de-chunked) body under the path in arg. */
static void capture(int fd, int nth, void *arg)
{
    const char *base = arg;
    static rd r;
    char head[16384], path[4200], v[256];
    size_t hlen = 0;
    long got = th_read_head(fd, head, sizeof head, &hlen, 10000);
    if (got < 0) {
        th_script_report("no head\n");
        return;
    }
    /* Body bytes that came with the head go first. */
    r.fd = fd;
    memcpy(r.buf, head + hlen, (size_t)got - hlen);
    r.len = (size_t)got - hlen;
    r.pos = 0;
    head[hlen] = '\0';
    snprintf(path, sizeof path, "%s.head", base);
    int hf = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (write(hf, head, hlen) != (ssize_t)hlen)
        th_script_report("head write failed\n");
    close(hf);
    if (head_value(head, "Expect", v, sizeof v) == 0)
        th_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);

    snprintf(path, sizeof path, "%s.body", base);
    int bf = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    unsigned long chunks = 0, maxchunk = 0, bad = 0;
    if (head_value(head, "Transfer-Encoding", v, sizeof v) == 0) {
        char line[128];
        for (;;) {
            if (rd_line(&r, line, sizeof line) < 0) {
                bad++;
                break;
            }
            char *end;
            unsigned long n = strtoul(line, &end, 16);
            if (end == line || *end != '\0') /* pure hex: no extensions, no spaces */
                bad++;
            if (n == 0)
                break;
            chunks++;
            if (n > maxchunk)
                maxchunk = n;
            if (rd_copy(&r, bf, n) < 0 || rd_line(&r, line, sizeof line) < 0 || line[0] != '\0') {
                bad++;
                break;
            }
        }
        if (bad == 0 && (rd_line(&r, line, sizeof line) < 0 || line[0] != '\0'))
            bad++; /* the empty line after the last chunk (no trailers expected) */
    } else if (head_value(head, "Content-Length", v, sizeof v) == 0) {
        if (rd_copy(&r, bf, strtoull(v, NULL, 10)) < 0)
            bad++;
    }
    close(bf);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: 44\r\nConnection: close\r\n\r\n"
                             "{\"code\":200,\"message\":\"success\",\"data\":null}";
    th_send_all(fd, ok, sizeof ok - 1);
    th_script_report("chunks=%lu max=%lu bad=%lu\n", chunks, maxchunk, bad);
    (void)nth;
}

/* Reads a whole small file into a static buffer. */
static const char *slurp(const char *path)
{
    static char buf[16384];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* The wire verdict on a captured request head: 0 if it declares a raw body; else -1 + why. */
static int head_verdict(const char *head, char *why, size_t whysz)
{
    char ct[256];
    if (strncmp(head, "PUT /api/fs/put HTTP/1.1\r\n", 26) != 0) {
        snprintf(why, whysz, "request line: %.40s", head);
        return -1;
    }
    if (head_value(head, "Content-Type", ct, sizeof ct) == 0 &&
        (strncasecmp(ct, "multipart/", 10) == 0 || strcasestr(ct, "boundary=") != NULL)) {
        snprintf(why, whysz, "Content-Type: %.200s", ct);
        return -1;
    }
    return 0;
}

START_TEST(request_on_the_wire_is_the_raw_file)
{
    enum engine e = (enum engine)(_i % NENGINES);
    const char *src = sources[_i / NENGINES];
    char base[4200], target[128], label[64], why[256], report[256], v[64];
    snprintf(base, sizeof base, "%s/wire-%d", dir, _i);
    snprintf(label, sizeof label, "engine %s, %s source", engine_names[e],
             source_kinds[_i / NENGINES]);
    th_script s;
    ck_assert_int_eq(th_script_start(&s, capture, base, 1), 0);
    snprintf(target, sizeof target, "http://127.0.0.1:%d/api/fs/put", s.port);
    static th_run r;
    run_client(&r, src, e, "/wire.bin", target, NULL, NULL);
    th_script_stop(&s, report, sizeof report, 5000);
    ck_assert_msg(r.status == 0, "%s: exit %d: %s", label, r.status, r.err);

    char hp[4300], bp[4300];
    snprintf(hp, sizeof hp, "%s.head", base);
    snprintf(bp, sizeof bp, "%s.body", base);
    const char *head = slurp(hp);
    ck_assert_msg(head_verdict(head, why, sizeof why) == 0, "%s: %s", label, why);
    ck_assert_int_eq(head_value(head, "Content-Type", v, sizeof v), 0);
    ck_assert_str_eq(v, "application/octet-stream");
    ck_assert_msg(strcasestr(head, "boundary") == NULL, "%s: head mentions a boundary", label);
    ck_assert_msg(th_files_equal(src, bp) == 1, "%s: the body on the wire is not the file", label);

    unsigned long chunks = 0, maxchunk = 0, bad = 0;
    ck_assert_msg(sscanf(report, "chunks=%lu max=%lu bad=%lu", &chunks, &maxchunk, &bad) == 3,
                  "%s: capture says '%s'", label, report);
    ck_assert_msg(bad == 0, "%s: malformed chunked framing (%lu errors)", label, bad);
    if (e == ENG_CHUNKED) {
        ck_assert_msg(head_value(head, "Content-Length", v, sizeof v) < 0,
                      "%s: chunked request also has Content-Length", label);
        ck_assert_msg(chunks >= SRC_SIZE / CHUNK_N && maxchunk <= CHUNK_N,
                      "%s: %lu chunks, largest %lu (chunk size %d)", label, chunks, maxchunk,
                      CHUNK_N);
    } else {
        ck_assert_int_eq(head_value(head, "Content-Length", v, sizeof v), 0);
        ck_assert_str_eq(v, "300001");
        ck_assert_uint_eq(chunks, 0);
    }
}
END_TEST

/* ---- negative controls ---- */

#define BOUNDARY "----streamputTestBoundary7MA4YWxkTrZu0gW"

/*
 * Sends src as a browser's multipart/form-data upload would, to /api/fs/put, labelled with
 * content_type, and returns the HTTP status line's code (the mock answers 200 either way).
 */
static int multipart_upload(const char *src, const char *remote, const char *content_type)
{
    static char file[SRC_SIZE], req[SRC_SIZE + 4096];
    int fd = open(src, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(read(fd, file, sizeof file), SRC_SIZE);
    close(fd);
    char pre[512], post[128];
    int plen = snprintf(pre, sizeof pre,
                        "--" BOUNDARY "\r\n"
                        "Content-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                        "Content-Type: application/octet-stream\r\n\r\n",
                        remote + 1);
    int qlen = snprintf(post, sizeof post, "\r\n--" BOUNDARY "--\r\n");
    size_t body = (size_t)plen + SRC_SIZE + (size_t)qlen;
    int hlen = snprintf(req, sizeof req,
                        "PUT /api/fs/put HTTP/1.1\r\nHost: 127.0.0.1\r\nFile-Path: %s\r\n"
                        "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                        remote, content_type, body);
    size_t len = (size_t)hlen;
    memcpy(req + len, pre, (size_t)plen);
    len += (size_t)plen;
    memcpy(req + len, file, SRC_SIZE);
    len += SRC_SIZE;
    memcpy(req + len, post, (size_t)qlen);
    len += (size_t)qlen;
    static char resp[4096];
    long n = th_http(mock.port, req, len, resp, sizeof resp, 10000);
    th_mock_drain_log(&mock);
    ck_assert_msg(n > 12, "no answer to the multipart upload");
    ck_assert_msg(strstr(resp, "\"code\":200") != NULL, "mock refused it: %s", resp);
    return (int)strtol(resp + 9, NULL, 10);
}

/* _i = 0: labelled multipart/form-data; 1: the same body labelled application/octet-stream. */
START_TEST(negative_control_multipart_upload_is_flagged_and_stored_with_framing)
{
    static const char *const types[] = {"multipart/form-data; boundary=" BOUNDARY,
                                        "application/octet-stream"};
    const char *src = sources[0];
    const char *remote = _i == 0 ? "/neg/labelled.bin" : "/neg/disguised.bin";
    ck_assert_int_eq(multipart_upload(src, remote, types[_i]), 200);

    /* The stored copy carries the framing, and the stored-copy check says so. */
    const char *stored = th_path(root, remote + 1);
    char why[256];
    ck_assert_int_eq(stored_verdict(src, stored, why, sizeof why), -1);
    ck_assert_msg(strstr(why, "Content-Disposition") != NULL, "verdict: %s", why);
    ck_assert_int_eq(count_in_file(stored, "Content-Disposition"), 1);
    ck_assert_int_eq(count_in_file(stored, "--" BOUNDARY), 2);
    ck_assert(starts_with_dashes(stored));
    struct stat st;
    ck_assert_int_eq(stat(stored, &st), 0);
    ck_assert_int_gt(st.st_size, SRC_SIZE);

    /* The journal flags it, and the journal check says so. */
    cJSON *j = journal_entry(remote);
    ck_assert_msg(jtrue(j, "multipart_suspected"), "journal does not flag %s", remote);
    ck_assert_int_eq(journal_verdict(j, SRC_SIZE, why, sizeof why), -1);
    cJSON_Delete(j);
}
END_TEST

/* streamput made to send a multipart Content-Type is caught by the wire check. */
START_TEST(negative_control_multipart_content_type_is_caught_on_the_wire)
{
    char base[4200], target[128], report[256], why[256], hp[4300];
    snprintf(base, sizeof base, "%s/wire-neg", dir);
    th_script s;
    ck_assert_int_eq(th_script_start(&s, capture, base, 1), 0);
    snprintf(target, sizeof target, "http://127.0.0.1:%d/api/fs/put", s.port);
    static th_run r;
    run_client(&r, sources[0], ENG_RW, "/wire.bin", target, "-T",
               "multipart/form-data; boundary=" BOUNDARY);
    th_script_stop(&s, report, sizeof report, 5000);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    snprintf(hp, sizeof hp, "%s.head", base);
    ck_assert_int_eq(head_verdict(slurp(hp), why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "multipart/form-data"));

    /* And the mock journals the same request as suspect, though its body is the raw file. */
    run_client(&r, sources[0], ENG_RW, "/neg/ct.bin", url, "-T",
               "multipart/form-data; boundary=" BOUNDARY);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    cJSON *j = journal_entry("/neg/ct.bin");
    ck_assert(jtrue(j, "multipart_suspected"));
    ck_assert_int_eq(journal_verdict(j, SRC_SIZE, why, sizeof why), -1);
    cJSON_Delete(j);
}
END_TEST

/* The counting behind the stored-copy check finds markers split across its read buffer. */
START_TEST(marker_count_sees_markers_across_buffer_edges)
{
    const char *p = th_path(dir, "edges.bin");
    static char buf[65536 * 2 + 64];
    memset(buf, 'x', sizeof buf);
    memcpy(buf + 65536 - 7, "Content-Disposition", 19); /* straddles the first read */
    memcpy(buf + 65536 * 2 + 10, "Content-Disposition", 19);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
    close(fd);
    ck_assert_int_eq(count_in_file(p, "Content-Disposition"), 2);
    /* A needle that overlaps itself: 2 x 65536 dashes hold exactly 65536 "--", not more. */
    memset(buf, '-', 65536 * 2);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_eq(write(fd, buf, 65536 * 2), 65536 * 2);
    close(fd);
    ck_assert_int_eq(count_in_file(p, "--"), 65536);
    ck_assert_int_eq(count_in_file(p, "---"), 131072 / 3);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("framing");
    TCase *t = tcase_create("no_multipart");
    tcase_add_unchecked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, upload_is_stored_raw_and_journaled_as_raw, 0, 2 * NENGINES);
    tcase_add_loop_test(t, request_on_the_wire_is_the_raw_file, 0, 2 * NENGINES);
    tcase_add_loop_test(t, negative_control_multipart_upload_is_flagged_and_stored_with_framing, 0,
                        2);
    tcase_add_test(t, negative_control_multipart_content_type_is_caught_on_the_wire);
    tcase_add_test(t, marker_count_sees_markers_across_buffer_edges);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
