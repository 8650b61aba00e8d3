/*
 * streamput-mock, OpenList's resumable multipart upload: /api/fs/multipart/init, chunk,
 * complete, status and abort. Answers are compared byte for byte with what OpenList 0b1e9d09
 * sends: the envelope (server/common/common.go:79-105), SessionSnapshot's fields in their order
 * (internal/multipart/session.go:102-115, MultipartInitResp's "resumed" after them), the
 * messages of server/handles/multipart.go, session.go and window.go. Stored files are compared
 * by SHA-256; "nothing behind" is checked as no file and no temp file beneath the root.
 *
 *   ctest --test-dir build -R test_mock_multipart      (about half a minute)
 *   build/bin/test_mock_multipart --large [SIZE]       (label slow: 4 GiB, or SIZE, through
 *                                                       four lanes; the mock's VmHWM stays flat)
 */
#include "th.h"

#include "gostr.h"
#include "sp_common.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024 * 1024)

static th_env env;
static th_mock mock;

/* ---- the mock and its requests ---- */

/* Starts the mock on a fresh root with 1 MiB chunks, a 2 s window wait and the extra options
 * (NULL-terminated, at most six). */
static void up_with(const char *a, const char *b, const char *c, const char *d, const char *e,
                    const char *f)
{
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--multipart-chunk-size", "1M",
                                   "--multipart-window-wait", "2", "--allow-fault-header", a, b, c,
                                   d, e, f, NULL),
                     0);
}

static void up(void)
{
    up_with(NULL, NULL, NULL, NULL, NULL, NULL);
}

static void down(void)
{
    th_env_down(&env, &mock);
}

/* POST route with X-Upload-Id: id (NULL: none) and the extra headers; returns the body. */
static const char *post(const char *route, const char *id, const char *headers, th_resp *r)
{
    char h[4096];
    snprintf(h, sizeof h, "%s%s%s%s", id != NULL ? "X-Upload-Id: " : "", id != NULL ? id : "",
             id != NULL ? "\r\n" : "", headers);
    ck_assert_int_eq(th_request(mock.port, "POST", route, h, NULL, r), 200);
    return r->body;
}

/* POST /api/fs/multipart/init for path and size with the extra headers; returns the body. */
static const char *init(const char *path, long long size, const char *headers, th_resp *r)
{
    char h[4096];
    snprintf(h, sizeof h, "File-Path: %s\r\nX-File-Size: %lld\r\n%s", path, size, headers);
    return post("/api/fs/multipart/init", NULL, h, r);
}

/* data.upload_id of an answer, into a static rotating buffer; fails the test if there is none. */
static const char *id_of(const th_resp *r)
{
    static char ids[4][64];
    static int next;
    char *out = ids[next++ % 4];
    cJSON *j = cJSON_Parse(r->body);
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "upload_id"));
    ck_assert_msg(v != NULL && *v != '\0', "no upload_id in %s", r->body);
    snprintf(out, 64, "%s", v);
    cJSON_Delete(j);
    return out;
}

/* init that must succeed; returns the upload id. */
static const char *init_ok(const char *path, long long size, const char *headers)
{
    static th_resp r;
    init(path, size, headers, &r);
    ck_assert_msg(strstr(r.body, "{\"code\":200,") == r.body, "init failed: %s", r.body);
    return id_of(&r);
}

/* PUT one chunk of len bytes (Content-Length) with the extra headers; returns the body. */
static const char *chunk_h(const char *id, long long idx, const void *body, size_t len,
                           const char *headers, th_resp *r)
{
    char h[4096];
    snprintf(h, sizeof h, "X-Upload-Id: %s\r\nX-Chunk-Index: %lld\r\n%s", id, idx, headers);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/multipart/chunk", h, body, len, 0, r), 200);
    return r->body;
}

static const char *chunk(const char *id, long long idx, const void *body, size_t len, th_resp *r)
{
    return chunk_h(id, idx, body, len, "", r);
}

/* GET /api/fs/multipart/status?query; returns the body. */
static const char *status(const char *query, th_resp *r)
{
    char target[512];
    snprintf(target, sizeof target, "/api/fs/multipart/status?%s", query);
    ck_assert_int_eq(th_request(mock.port, "GET", target, "", NULL, r), 200);
    return r->body;
}

static const char *status_id(const char *id, th_resp *r)
{
    char q[128];
    snprintf(q, sizeof q, "upload_id=%s", id);
    return status(q, r);
}

/* The bytes of a source file: bytes [off, off + len) of the pattern th_write_random(seed) wrote,
 * read back from path into a malloc'd buffer. */
static char *slice(const char *path, long long off, size_t len)
{
    char *b = malloc(len > 0 ? len : 1);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseeko(f, (off_t)off, SEEK_SET), 0);
    ck_assert_uint_eq(fread(b, 1, len, f), len);
    fclose(f);
    return b;
}

/* Sends chunk idx of src (chunk size cs, file size size) and asserts success. */
static void chunk_of(const char *id, const char *src, long long idx, long long cs, long long size)
{
    static th_resp r;
    long long off = idx * cs, len = size - off < cs ? size - off : cs;
    char *b = slice(src, off, (size_t)len);
    chunk(id, idx, b, (size_t)len, &r);
    free(b);
    ck_assert_msg(strstr(r.body, "{\"code\":200,") == r.body, "chunk %lld: %s", idx, r.body);
}

/* A source file of size random bytes in the scratch directory. */
static const char *source(const char *name, long long size, uint32_t seed)
{
    const char *p = th_path(env.dir, name);
    static char keep[8][4096];
    static int next;
    char *out = keep[next++ % 8];
    snprintf(out, 4096, "%s", p);
    ck_assert_int_eq(th_write_random(out, (uint64_t)size, seed), 0);
    return out;
}

/* A random source file of size bytes and the session init opened for it at path: its id into
 * *id; returns the source's path. */
static const char *fresh(const char *path, long long size, const char *headers, const char **id)
{
    static uint32_t seed = 1;
    const char *src = source("src.bin", size, seed++);
    *id = init_ok(path, size, headers);
    return src;
}

/* ---- what OpenList sends ---- */

/* A SessionSnapshot as OpenList renders it (session.go:102-115): resumed < 0 leaves
 * MultipartInitResp's field out, error NULL is omitempty's empty. */
typedef struct want_snap {
    const char *id, *state, *path;
    long long size, cs, total;
    const char *received;
    long long bytes, frontier;
    const char *progress;
    const char *error;
    int resumed;
} want_snap;

static const char *snap(const want_snap *w, char *out, size_t n)
{
    char err[1024] = "", res[32] = "";
    if (w->error != NULL)
        snprintf(err, sizeof err, ",\"error\":\"%s\"", w->error);
    if (w->resumed >= 0)
        snprintf(res, sizeof res, ",\"resumed\":%s", w->resumed ? "true" : "false");
    snprintf(out, n,
             "{\"upload_id\":\"%s\",\"state\":\"%s\",\"attempt\":0,\"path\":\"%s\",\"size\":%lld,"
             "\"chunk_size\":%lld,\"total_chunks\":%lld,\"received\":%s,\"received_bytes\":%lld,"
             "\"frontier\":%lld,\"storage_progress\":%s%s%s}",
             w->id, w->state, w->path, w->size, w->cs, w->total, w->received, w->bytes, w->frontier,
             w->progress, err, res);
    return out;
}

/* The envelope around data (common.go: SuccessResp, ErrorWithDataResp). */
static const char *env_of(int code, const char *msg, const char *data, char *out, size_t n)
{
    snprintf(out, n, "{\"code\":%d,\"message\":\"%s\",\"data\":%s}", code, msg, data);
    return out;
}

/* Asserts the body is the envelope of code, msg and the snapshot w. */
static void assert_snap(const th_resp *r, int code, const char *msg, const want_snap *w)
{
    char s[4096], e[8192];
    ck_assert_str_eq(r->body, env_of(code, msg, snap(w, s, sizeof s), e, sizeof e));
}

/* The zero SessionSnapshot ErrorWithDataResp sends when there is no session (a nil Received). */
#define ZERO_SNAP                                                                                  \
    "{\"upload_id\":\"\",\"state\":\"\",\"attempt\":0,\"path\":\"\",\"size\":0,\"chunk_size\":0,"  \
    "\"total_chunks\":0,\"received\":null,\"received_bytes\":0,\"frontier\":0,"                    \
    "\"storage_progress\":0}"

#define ERR(code, msg) "{\"code\":" #code ",\"message\":\"" msg "\",\"data\":null}"

/* The journal's entries on route (the path after /api/fs/multipart/), optionally only chunk idx
 * (-1: any): how many. */
static int journaled(const char *route, long long idx)
{
    char path[128];
    snprintf(path, sizeof path, "/api/fs/multipart/%s", route);
    cJSON *a = th_journal(mock.port), *e;
    int n = 0;
    cJSON_ArrayForEach(e, a)
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "chunk");
        if (p != NULL && strcmp(p, path) == 0 &&
            (idx < 0 || (cJSON_IsNumber(c) && (long long)c->valuedouble == idx)))
            n++;
    }
    cJSON_Delete(a);
    return n;
}

/* ---- init ---- */

START_TEST(init_answers_a_fresh_snapshot_with_a_v4_uuid)
{
    static th_resp r;
    up();
    init("/a/b.bin", 2500000, "", &r);
    const char *id = id_of(&r);
    /* uuid.NewString(): 8-4-4-4-12 lower-case hex, version 4, RFC 4122 variant. */
    ck_assert_uint_eq(strlen(id), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ck_assert_int_eq(id[i], '-');
        else
            ck_assert_ptr_nonnull(strchr("0123456789abcdef", id[i]));
    }
    ck_assert_int_eq(id[14], '4');
    ck_assert_ptr_nonnull(strchr("89ab", id[19]));
    want_snap w = {id, "receiving", "/a/b.bin", 2500000, MIB, 3, "[]", 0, 0, "0", NULL, 0};
    assert_snap(&r, 200, "success", &w);
    /* The temp file is beside the target, nothing else is there yet. */
    ck_assert_int_eq(th_count_prefix(th_path(env.root, "a"), TH_TMP_PREFIX), 1);
    ck_assert_int_eq(th_count_files(env.root, ""), 1);
    /* Two inits never share an id. */
    ck_assert_str_ne(init_ok("/c.bin", 1, ""), id);
    down();
}
END_TEST

START_TEST(init_refuses_what_openlist_refuses)
{
    static th_resp r;
    up();
    post("/api/fs/multipart/init", NULL, "File-Path: /x.bin\r\n", &r);
    ck_assert_str_eq(r.body, ERR(400, "multipart upload requires a valid X-File-Size header"));
    init("/x.bin", 0, "", &r);
    ck_assert_str_eq(r.body, ERR(400, "multipart upload requires a positive X-File-Size; upload "
                                      "empty files via /fs/put"));
    init("/x.bin", -5, "", &r);
    ck_assert_str_eq(r.body, ERR(400, "multipart upload requires a positive X-File-Size; upload "
                                      "empty files via /fs/put"));
    post("/api/fs/multipart/init", NULL, "File-Path: /x.bin\r\nX-File-Size: 12x\r\n", &r);
    ck_assert_str_eq(r.body, ERR(400, "multipart upload requires a valid X-File-Size header"));
    /* ErrorResp(err) of strconv's error, Go's quoting included. */
    init("/x.bin", 10, "X-Chunk-Size: big\r\n", &r);
    ck_assert_str_eq(r.body, ERR(400, "strconv.ParseInt: parsing \\\"big\\\": invalid syntax"));
    /* FsUp's checks come first. */
    init("/a/%zz", 10, "X-Chunk-Size: big\r\n", &r);
    ck_assert_str_eq(r.body, ERR(400, "invalid URL escape \\\"%zz\\\""));
    init("/../../etc/x", 10, "", &r);
    ck_assert_str_eq(r.body, ERR(403, "using relative path is not allowed"));
    /* Overwrite: false with the file there. */
    ck_assert_int_eq(th_write_pattern(th_path(env.root, "there.bin"), "x", 1, 5), 0);
    init("/there.bin", 10, "Overwrite: false\r\n", &r);
    ck_assert_str_eq(r.body, ERR(403, "file exists"));
    /* Nothing of any of them is left. */
    ck_assert_int_eq(th_count_files(env.root, ""), 1);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 0);
    /* Control: the same init with Overwrite left as it is goes through. */
    init_ok("/there.bin", 10, "");
    down();
}
END_TEST

START_TEST(sizes_up_to_int64_max_count_their_chunks)
{
    static th_resp r;
    up();
    /* OpenList's int((size + chunkSize - 1) / chunkSize) wraps negative here; the mock counts
     * 2^43 chunks of 1 MiB, the last one 1 MiB - 1 bytes, and holds no more memory for them. */
    init("/huge.bin", INT64_MAX, "", &r);
    const char *id = id_of(&r);
    want_snap w = {id,   "receiving", "/huge.bin", INT64_MAX, MIB,  8796093022208LL,
                   "[]", 0,           0,           "0",       NULL, 0};
    assert_snap(&r, 200, "success", &w);
    chunk(id, 8796093022208LL, "x", 1, &r);
    ck_assert_ptr_nonnull(
        strstr(r.body, "\"message\":\"chunk index 8796093022208 out of range [0,8796093022208)\""));
    chunk(id, -1, "x", 1, &r);
    ck_assert_ptr_nonnull(
        strstr(r.body, "\"message\":\"chunk index -1 out of range [0,8796093022208)\""));
    /* strconv.Atoi past int64 is no index at all. */
    char h[128];
    snprintf(h, sizeof h, "X-Upload-Id: %s\r\nX-Chunk-Index: 9223372036854775808\r\n", id);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/multipart/chunk", h, "x", 1, 0, &r), 200);
    ck_assert_str_eq(r.body, ERR(400, "invalid X-Chunk-Index header"));
    /* One byte under a chunk boundary and one over it. */
    init("/b1.bin", INT64_MAX - MIB + 1, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"total_chunks\":8796093022207,"));
    init("/b2.bin", INT64_MAX - MIB + 2, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"total_chunks\":8796093022208,"));
    down();
}
END_TEST

/* POST init of path with each of the three hash headers len bytes long; returns the body. */
static const char *init_long_hashes(const char *path, size_t len, th_resp *r)
{
    size_t cap = 3 * len + 512;
    char *v = malloc(len + 1), *req = malloc(cap);
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(req);
    memset(v, 'a', len);
    v[len] = '\0';
    int n = snprintf(req, cap,
                     "POST /api/fs/multipart/init HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Connection: close\r\nFile-Path: %s\r\nX-File-Size: 10\r\nX-File-Md5: %s\r\n"
                     "X-File-Sha1: %s\r\nX-File-Sha256: %s\r\nContent-Length: 0\r\n\r\n",
                     path, v, v, v);
    ck_assert_int_eq(th_raw(mock.port, req, (size_t)n, r), 200);
    free(v);
    free(req);
    return r->body;
}

START_TEST(a_session_keeps_no_more_than_a_digest_of_each_hash)
{
    static th_resp r;
    /* Its VmHWM is measured: no quarantine to blur it under AddressSanitizer. */
    th_asan_no_quarantine();
    up();
    /* Up to SHA-512's 128 hex digits is kept (and, not being a digest, never matches). */
    init_long_hashes("/h.bin", 128, &r);
    ck_assert_msg(strstr(r.body, "{\"code\":200,") == r.body, "%s", r.body);
    init_long_hashes("/h.bin", 129, &r);
    ck_assert_str_eq(r.body, ERR(400, "X-File-Md5 is longer than 128 bytes, which no hex digest "
                                      "is: a session keeps at most that of each hash"));
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 1);
    /* Sessions that kept their headers would hold 450 KiB each here. */
    init_long_hashes("/h0.bin", 150000, &r);
    long base = th_vmhwm_kib(mock.pid);
    for (int i = 1; i <= 40; i++) {
        char p[32];
        snprintf(p, sizeof p, "/h%d.bin", i);
        init_long_hashes(p, 150000, &r);
    }
    long peak = th_vmhwm_kib(mock.pid);
    ck_assert_msg(peak - base < 4096, "VmHWM grew by %ld KiB", peak - base);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 1);
    down();
}
END_TEST

START_TEST(the_chunk_size_is_the_settings_ceiling)
{
    static th_resp r;
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--multipart-chunk-size", "4M", NULL), 0);
    static const struct {
        const char *header;
        long long cs;
    } cases[] = {
        {"", 4 * MIB},                          /* none: the ceiling */
        {"X-Chunk-Size: 0\r\n", 4 * MIB},       /* not > 0 */
        {"X-Chunk-Size: -3\r\n", 4 * MIB},      /* not > 0 */
        {"X-Chunk-Size: 100\r\n", MIB},         /* at least multipartMinChunkSize */
        {"X-Chunk-Size: 3000000\r\n", 3000000}, /* any size in between */
        {"X-Chunk-Size: 4194304\r\n", 4 * MIB}, /* not < ceiling */
        {"X-Chunk-Size: 99999999\r\n", 4 * MIB},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[32], want[64];
        snprintf(p, sizeof p, "/cs%zu.bin", i);
        init(p, 10 * MIB, cases[i].header, &r);
        snprintf(want, sizeof want, "\"chunk_size\":%lld,", cases[i].cs);
        ck_assert_msg(strstr(r.body, want) != NULL, "%s: %s", cases[i].header, r.body);
    }
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    /* The setting is a whole number of MB from 1 to 90. */
    static const char *const bad[] = {"512K", "91M", "1572864", "0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_ne(th_mock_start(&mock, env.root, "--multipart-chunk-size", bad[i], NULL), 0);
    }
    th_env_free(&env);
}
END_TEST

START_TEST(no_multipart_turns_init_off_only)
{
    static th_resp r;
    up_with("--no-multipart", NULL, NULL, NULL, NULL, NULL);
    init("/x.bin", 10, "", &r);
    ck_assert_str_eq(r.body, ERR(403, "multipart upload is disabled"));
    /* FsUp's path check runs before the setting's. */
    init("/../x", 10, "", &r);
    ck_assert_str_eq(r.body, ERR(403, "using relative path is not allowed"));
    /* Only init asks the setting: the other routes look the session up as always. */
    chunk("nope", 0, "x", 1, &r);
    ck_assert_str_eq(
        r.body,
        "{\"code\":404,\"message\":\"multipart upload session not found\",\"data\":" ZERO_SNAP "}");
    status_id("nope", &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    down();
}
END_TEST

/* ---- chunks ---- */

START_TEST(chunks_in_any_order_and_twice_store_the_file)
{
    static th_resp r;
    up();
    long long size = 3 * MIB + 5;
    const char *id;
    const char *src = fresh("/d/f.bin", size, "", &id);
    char *c[4];
    for (int i = 0; i < 4; i++)
        c[i] = slice(src, (long long)i * MIB, i < 3 ? MIB : 5);
    want_snap w = {id, "receiving", "/d/f.bin", size, MIB, 4, "[[2,2]]", MIB, 0, "0", NULL, -1};
    chunk(id, 2, c[2], MIB, &r);
    assert_snap(&r, 200, "success", &w);
    /* The short last chunk, then chunk 0: the frontier moves to the first gap. */
    chunk(id, 3, c[3], 5, &r);
    w.received = "[[2,3]]";
    w.bytes = MIB + 5;
    assert_snap(&r, 200, "success", &w);
    chunk(id, 0, c[0], MIB, &r);
    /* storage_progress: the bytes before the frontier over size / 100 (utils.CopyWithCtx). */
    w.received = "[[0,0],[2,3]]";
    w.bytes = 2 * MIB + 5;
    w.frontier = 1;
    w.progress = "33.333630034650476";
    assert_snap(&r, 200, "success", &w);
    /* A chunk received already succeeds at once and changes nothing, even with other bytes. */
    chunk(id, 2, c[0], MIB, &r);
    assert_snap(&r, 200, "success", &w);
    chunk(id, 1, c[1], MIB, &r);
    w.received = "[[0,3]]";
    w.bytes = size;
    w.frontier = 4;
    w.progress = "100.00104905108562";
    assert_snap(&r, 200, "success", &w);
    /* The status says the same; complete answers the completed snapshot and the file is there. */
    status_id(id, &r);
    assert_snap(&r, 200, "success", &w);
    ck_assert(!th_exists(th_path(env.root, "d/f.bin")));
    post("/api/fs/multipart/complete", id, "", &r);
    w.state = "completed";
    w.progress = "100";
    assert_snap(&r, 200, "success", &w);
    th_assert_stored(env.root, "/d/f.bin", src);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 0);
    /* Completed sessions are removed (session.go:537). */
    status_id(id, &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    /* The journal counts what was sent per chunk: chunk 2 twice. */
    ck_assert_int_eq(journaled("chunk", 2), 2);
    ck_assert_int_eq(journaled("chunk", 1), 1);
    ck_assert_int_eq(journaled("chunk", -1), 5);
    for (int i = 0; i < 4; i++)
        free(c[i]);
    down();
}
END_TEST

START_TEST(short_and_long_bodies_are_refused_with_the_snapshot)
{
    static th_resp r;
    up();
    long long size = 2 * MIB;
    const char *id;
    const char *src = fresh("/f.bin", size, "", &id);
    char *b = slice(src, 0, MIB + 10);
    want_snap w = {id, "receiving", "/f.bin", size, MIB, 2, "[]", 0, 0, "0", NULL, -1};
    chunk(id, 0, b, 100, &r);
    assert_snap(&r, 400, "incomplete chunk 0: got 100 of 1048576 bytes: EOF", &w);
    chunk(id, 0, b, MIB + 10, &r);
    assert_snap(&r, 400, "chunk 0 larger than expected 1048576 bytes", &w);
    chunk(id, 0, b, 0, &r);
    assert_snap(&r, 400, "incomplete chunk 0: got 0 of 1048576 bytes: EOF", &w);
    /* A body far longer is drained only to chunk_size + 64 KiB past the chunk (and its probe
     * byte), then answered with the connection closed. */
    char *far = calloc(1, 3 * MIB);
    ck_assert_ptr_nonnull(far);
    chunk(id, 0, far, 3 * MIB, &r);
    assert_snap(&r, 400, "chunk 0 larger than expected 1048576 bytes", &w);
    free(far);
    /* Journaled once the connection is closed, after Go's RST avoidance delay. */
    long long drained = 0;
    for (int64_t until = th_now_ms() + 5000; drained == 0 && th_now_ms() < until; usleep(50000))
        drained = strtoll(th_journal_last(mock.port, "bytes_received"), NULL, 10);
    ck_assert_int_gt(drained, 2 * MIB + 65536 + 1);
    ck_assert_int_lt(drained, 3 * MIB);
    /* Less than 256 KiB past that, Go's server reads the rest itself before it answers
     * (net/http's maxPostHandlerReadBytes), and keeps the connection. */
    size_t near = 2 * MIB + 65536 + 1 + 100000;
    far = calloc(1, near);
    ck_assert_ptr_nonnull(far);
    chunk(id, 0, far, near, &r);
    assert_snap(&r, 400, "chunk 0 larger than expected 1048576 bytes", &w);
    free(far);
    drained = 0;
    for (int64_t until = th_now_ms() + 5000; drained != (long long)near && th_now_ms() < until;
         usleep(50000))
        drained = strtoll(th_journal_last(mock.port, "bytes_received"), NULL, 10);
    ck_assert_int_eq(drained, near);
    /* The index: Atoi's error has no data; one out of range has the snapshot. */
    th_put(mock.port, "/api/fs/multipart/chunk", "X-Upload-Id: x\r\nX-Chunk-Index: one\r\n", b, 1,
           0, &r);
    ck_assert_str_eq(r.body, ERR(400, "invalid X-Chunk-Index header"));
    th_put(mock.port, "/api/fs/multipart/chunk", "X-Upload-Id: x\r\n", b, 1, 0, &r);
    ck_assert_str_eq(r.body, ERR(400, "invalid X-Chunk-Index header"));
    /* That refusal reads no body: a client waiting for "100 Continue" gets it at once. */
    static const char early[] = "PUT /api/fs/multipart/chunk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "X-Upload-Id: x\r\nContent-Length: 1048576\r\n"
                                "Expect: 100-continue\r\n\r\n";
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, early, sizeof early - 1), 0);
    th_recv_resp(fd, &r, 10000);
    close(fd);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, ERR(400, "invalid X-Chunk-Index header"));
    /* So does one that sends no Expect, from 256 KiB of Content-Length on: the same head
     * without that line. */
    fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(
        th_send_all(fd, early, sizeof early - 1 - strlen("Expect: 100-continue\r\n\r\n")), 0);
    ck_assert_int_eq(th_send_all(fd, "\r\n", 2), 0);
    th_recv_resp(fd, &r, 10000);
    close(fd);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, ERR(400, "invalid X-Chunk-Index header"));
    chunk(id, 2, b, 1, &r);
    assert_snap(&r, 400, "chunk index 2 out of range [0,2)", &w);
    chunk(id, -1, b, 1, &r);
    assert_snap(&r, 400, "chunk index -1 out of range [0,2)", &w);
    /* A chunked body counts the same way. */
    char h[256];
    snprintf(h, sizeof h, "X-Upload-Id: %s\r\nX-Chunk-Index: 1\r\n", id);
    th_put(mock.port, "/api/fs/multipart/chunk", h, b, MIB - 1, 65536, &r);
    assert_snap(&r, 400, "incomplete chunk 1: got 1048575 of 1048576 bytes: EOF", &w);
    /* complete refuses while bytes are missing, with the snapshot. */
    chunk_of(id, src, 1, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    w.received = "[[1,1]]";
    w.bytes = MIB;
    assert_snap(&r, 400, "cannot complete: 1048576 of 2097152 bytes received", &w);
    /* Then the right body goes through. */
    chunk_of(id, src, 0, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
    th_assert_stored(env.root, "/f.bin", src);
    free(b);
    down();
}
END_TEST

START_TEST(unknown_sessions_are_404_with_or_without_data)
{
    static th_resp r;
    up();
    const char *nf = "multipart upload session not found";
    char want[2048];
    /* chunk and complete: ErrorWithDataResp with the zero snapshot; status, abort: ErrorResp. */
    chunk("00000000-0000-4000-8000-000000000000", 0, "x", 1, &r);
    ck_assert_str_eq(r.body, env_of(404, nf, ZERO_SNAP, want, sizeof want));
    post("/api/fs/multipart/complete", "nope", "", &r);
    ck_assert_str_eq(r.body, env_of(404, nf, ZERO_SNAP, want, sizeof want));
    post("/api/fs/multipart/complete", NULL, "", &r);
    ck_assert_str_eq(r.body, env_of(404, nf, ZERO_SNAP, want, sizeof want));
    post("/api/fs/multipart/abort", "nope", "", &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    status_id("nope", &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    status("path=/x.bin&size=10", &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    status("path=/x.bin", &r);
    ck_assert_str_eq(r.body, ERR(400, "status lookup requires upload_id, or path and size"));
    status("path=/../x&size=3", &r);
    ck_assert_str_eq(r.body, ERR(403, "using relative path is not allowed"));
    down();
}
END_TEST

/* Opens a connection and sends the head of chunk idx with a len-byte body; returns the socket,
 * for the test to send the body at its own pace. */
static int open_chunk(const char *id, long long idx, long long len)
{
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "PUT /api/fs/multipart/chunk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\nX-Upload-Id: %s\r\nX-Chunk-Index: %lld\r\n"
                      "Content-Length: %lld\r\n\r\n",
                      id, idx, len);
    ck_assert_int_eq(th_send_all(fd, head, (size_t)hl), 0);
    return fd;
}

/* A chunk sent by a thread of its own (body NULL: the session's complete): the answer lands
 * in r. */
typedef struct lane_chunk {
    const char *id;
    long long idx;
    const char *body;
    size_t len;
    th_resp r;
    pthread_t th;
} lane_chunk;

static void *lane_chunk_run(void *arg)
{
    lane_chunk *l = arg;
    char h[256];
    snprintf(h, sizeof h, "X-Upload-Id: %s\r\nX-Chunk-Index: %lld\r\n", l->id, l->idx);
    if (l->body == NULL)
        th_request(mock.port, "POST", "/api/fs/multipart/complete", h, NULL, &l->r);
    else
        th_put(mock.port, "/api/fs/multipart/chunk", h, l->body, l->len, 0, &l->r);
    return NULL;
}

START_TEST(the_window_admits_eight_and_holds_or_refuses_the_rest)
{
    static th_resp r;
    static lane_chunk b;
    up();
    long long size = 10 * MIB;
    const char *id;
    const char *src = fresh("/w.bin", size, "", &id);
    char *c0 = slice(src, 0, MIB), *c8 = slice(src, 8 * MIB, MIB);
    want_snap w = {id, "receiving", "/w.bin", size, MIB, 10, "[]", 0, 0, "0", NULL, -1};

    /* A sends half of chunk 0 and holds the rest. */
    int fd = open_chunk(id, 0, MIB);
    ck_assert_int_eq(th_send_all(fd, c0, MIB / 2), 0);
    /* Wait until the mock has A's chunk in flight. The probe's one byte cannot be chunk 0
     * (which it would take, and refuse as incomplete, were it first), only its in-flight 409. */
    int64_t until = th_now_ms() + 10000;
    for (;;) {
        usleep(50 * 1000);
        chunk(id, 0, c0, 1, &r);
        if (strstr(r.body, "\"code\":409") != NULL || th_now_ms() > until)
            break;
        ck_assert_msg(strstr(r.body, "incomplete chunk 0: got 1 of") != NULL, "%s", r.body);
    }
    assert_snap(&r, 409, "chunk is being uploaded by another request", &w);
    /* Chunk 8 is beyond frontier 0 + 8: it waits the window wait out, then 429. */
    chunk(id, 8, c8, MIB, &r);
    assert_snap(&r, 429, "chunk is out of the receiving window", &w);
    /* B sends chunk 8 again and waits; A's rest moves the frontier, which lets B in. */
    b = (lane_chunk){.id = id, .idx = 8, .body = c8, .len = MIB};
    ck_assert_int_eq(pthread_create(&b.th, NULL, lane_chunk_run, &b), 0);
    usleep(200 * 1000);
    ck_assert_int_eq(th_send_all(fd, c0 + MIB / 2, MIB / 2), 0);
    static th_resp ra;
    th_recv_resp(fd, &ra, 20000);
    close(fd);
    w.received = "[[0,0]]";
    w.bytes = MIB;
    w.frontier = 1;
    w.progress = "10.000057220786404";
    ck_assert_ptr_nonnull(strstr(ra.body, "{\"code\":200,\"message\":\"success\""));
    pthread_join(b.th, NULL);
    ck_assert_msg(strstr(b.r.body, "{\"code\":200,") == b.r.body, "B: %s", b.r.body);
    status_id(id, &r);
    w.received = "[[0,0],[8,8]]";
    w.bytes = 2 * MIB;
    assert_snap(&r, 200, "success", &w);
    for (int i = 1; i < 10; i++)
        if (i != 8)
            chunk_of(id, src, i, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
    th_assert_stored(env.root, "/w.bin", src);
    free(c0);
    free(c8);
    down();
}
END_TEST

/* ---- resume, supersede, abort, expiry ---- */

START_TEST(init_resumes_with_a_matching_hash_and_supersedes_otherwise)
{
    static th_resp r;
    up();
    long long size = 2 * MIB + 1;
    const char *id;
    const char *src = fresh("/r.bin", size, "X-File-Md5: aaaa\r\nX-File-Sha1: bbbb\r\n", &id);
    chunk_of(id, src, 0, MIB, size);
    /* Same user, path and size, one hash type shared and equal: the same session, resumed. */
    init("/r.bin", size, "X-File-Md5: aaaa\r\n", &r);
    want_snap w = {id, "receiving",         "/r.bin", size, MIB, 3, "[[0,0]]", MIB,
                   1,  "50.00123980735301", NULL,     1};
    assert_snap(&r, 200, "success", &w);
    /* status by path and size finds it too, for a client that lost the id. */
    status("path=/r.bin&size=2097153", &r);
    w.resumed = -1;
    assert_snap(&r, 200, "success", &w);
    status("path=r.bin&size=2097153", &r); /* JoinPath adds the '/' */
    assert_snap(&r, 200, "success", &w);
    status("path=/r.bin&size=2097154", &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    /* A different hash: the old session is superseded, a new one starts from nothing. */
    const char *id2 = init_ok("/r.bin", size, "X-File-Md5: cccc\r\n");
    ck_assert_str_ne(id2, id);
    status_id(id, &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 1);
    /* No hash at all is no proof either. */
    const char *id3 = init_ok("/r.bin", size, "");
    ck_assert_str_ne(id3, id2);
    /* ... and a session without hashes never resumes. */
    const char *id4 = init_ok("/r.bin", size, "X-File-Md5: cccc\r\n");
    ck_assert_str_ne(id4, id3);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 1);
    /* Another size is another key: both live. */
    init_ok("/r.bin", size + 1, "");
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 2);
    /* The resumed upload completes from where it is. */
    for (int i = 0; i < 3; i++)
        chunk_of(id4, src, i, MIB, size);
    post("/api/fs/multipart/complete", id4, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
    th_assert_stored(env.root, "/r.bin", src);
    down();
}
END_TEST

START_TEST(abort_removes_the_session_and_its_temp_file)
{
    static th_resp r;
    up();
    const char *id;
    const char *src = fresh("/a/x.bin", 2 * MIB, "", &id);
    chunk_of(id, src, 1, MIB, 2 * MIB);
    post("/api/fs/multipart/abort", id, "", &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    status_id(id, &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    post("/api/fs/multipart/abort", id, "", &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    down();
}
END_TEST

START_TEST(a_chunk_in_flight_learns_of_the_abort)
{
    static th_resp r;
    static lane_chunk parked;
    up();
    const char *id;
    const char *src = fresh("/f.bin", 10 * MIB, "", &id);
    char *c0 = slice(src, 0, MIB), *c9 = slice(src, 9 * MIB, MIB);
    int fd = open_chunk(id, 0, MIB);
    ck_assert_int_eq(th_send_all(fd, c0, 1000), 0);
    /* Chunk 9 waits for the window meanwhile. */
    parked = (lane_chunk){.id = id, .idx = 9, .body = c9, .len = MIB};
    ck_assert_int_eq(pthread_create(&parked.th, NULL, lane_chunk_run, &parked), 0);
    usleep(300 * 1000);
    post("/api/fs/multipart/abort", id, "", &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    /* Both learn it as OpenList's closed window tells it (session.go:47, 371-392). */
    ck_assert_int_eq(th_send_all(fd, c0 + 1000, MIB - 1000), 0);
    th_recv_resp(fd, &r, 20000);
    close(fd);
    want_snap w = {id,
                   "aborted",
                   "/f.bin",
                   10 * MIB,
                   MIB,
                   10,
                   "[]",
                   0,
                   0,
                   "0",
                   "multipart upload aborted by client",
                   -1};
    assert_snap(&r, 400, "multipart upload aborted: context canceled", &w);
    pthread_join(parked.th, NULL);
    assert_snap(&parked.r, 400, "multipart upload aborted: context canceled", &w);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    free(c0);
    free(c9);
    down();
}
END_TEST

START_TEST(expired_sessions_leave_nothing_behind)
{
    static th_resp r;
    up_with("--multipart-expiry", "2", NULL, NULL, NULL, NULL);
    const char *kept;
    const char *src = fresh("/kept.bin", 2 * MIB, "", &kept);
    const char *id = init_ok("/gone.bin", 2 * MIB, "");
    chunk_of(id, src, 0, MIB, 2 * MIB);
    /* Every request slides the expiry: status keeps one session alive past it. */
    int64_t until = th_now_ms() + 3500;
    while (th_now_ms() < until) {
        status_id(kept, &r);
        ck_assert_msg(strstr(r.body, "{\"code\":200,") == r.body, "%s", r.body);
        usleep(300 * 1000);
    }
    /* The other is gone, temp file and all, without any request to it. */
    ck_assert_int_eq(th_wait_temps(env.root, 1, 3000), 1);
    status_id(id, &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    ck_assert_int_eq(th_wait_temps(env.root, 0, 5000), 0);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    down();
}
END_TEST

START_TEST(shutdown_removes_every_temp_file)
{
    up();
    const char *id;
    const char *src = fresh("/s/x.bin", 3 * MIB, "", &id);
    chunk_of(id, src, 2, MIB, 3 * MIB);
    init_ok("/s/y.bin", 5, "");
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 2);
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    th_env_free(&env);
}
END_TEST

START_TEST(the_session_table_is_bounded)
{
    static th_resp r;
    up_with("--journal", "0", NULL, NULL, NULL, NULL);
    /* A log line a request: drained, or the pipe fills and the mock blocks writing it. */
    th_drain d;
    th_drain_start(&d, &mock);
    char p[64], first[64] = "";
    for (int i = 0; i < 1024; i++) {
        snprintf(p, sizeof p, "/t/%d.bin", i);
        const char *id = init_ok(p, 1, "");
        if (i == 0)
            snprintf(first, sizeof first, "%s", id);
    }
    init("/t/over.bin", 1, "", &r);
    ck_assert_str_eq(r.body, ERR(500, "too many multipart upload sessions (1024 live): complete "
                                      "or abort one, or wait for one to expire"));
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 1024);
    post("/api/fs/multipart/abort", first, "", &r);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    init_ok("/t/over.bin", 1, "");
    th_drain_stop(&d);
    down();
}
END_TEST

/* ---- checks beyond OpenList ---- */

START_TEST(max_body_refuses_a_big_chunk_while_small_chunks_go_through)
{
    static th_resp r;
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--multipart-chunk-size", "2M", "--max-body",
                                   "1500000", NULL),
                     0);
    long long size = 3 * MIB;
    const char *src = source("src.bin", size, 14);
    char *all = slice(src, 0, (size_t)size);
    /* The proxy's limit in front of /fs/put ... */
    th_put(mock.port, "/api/fs/put", "File-Path: /p.bin\r\n", all, (size_t)size, 0, &r);
    ck_assert_str_eq(r.body, ERR(413, "http: request body too large"));
    /* ... and in front of a 2 MiB chunk, sent with a length or chunked. */
    const char *big = init_ok("/big.bin", size, "");
    chunk(big, 0, all, 2 * MIB, &r);
    ck_assert_str_eq(r.body, ERR(413, "http: request body too large"));
    char h[256];
    snprintf(h, sizeof h, "X-Upload-Id: %s\r\nX-Chunk-Index: 0\r\n", big);
    th_put(mock.port, "/api/fs/multipart/chunk", h, all, 2 * MIB, 65536, &r);
    ck_assert_str_eq(r.body, ERR(413, "http: request body too large"));
    status_id(big, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"received\":[]"));
    /* With 1 MiB chunks the same file goes through. */
    const char *id = init_ok("/m.bin", size, "X-Chunk-Size: 1048576\r\n");
    for (int i = 0; i < 3; i++)
        chunk_of(id, src, i, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
    th_assert_stored(env.root, "/m.bin", src);
    free(all);
    down();
}
END_TEST

START_TEST(verify_hash_fails_a_mismatch_for_good)
{
    static th_resp r;
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--multipart-chunk-size", "1M", "--verify-hash",
                                   "--fsync", NULL),
                     0);
    long long size = MIB + 3;
    const char *src = source("src.bin", size, 15);
    char sha[65];
    ck_assert_int_eq(th_sha256_file(src, sha), 0);
    const char *bad = "00000000000000000000000000000000000000000000000000000000000000ff";
    char h[256];
    snprintf(h, sizeof h, "X-File-Sha256: %s\r\n", bad);
    const char *id = init_ok("/h.bin", size, h);
    chunk_of(id, src, 0, MIB, size);
    chunk_of(id, src, 1, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    char err[512], msg[700];
    snprintf(err, sizeof err, "sha256 mismatch: X-File-Sha256 says %s, the body's sha256 is %s",
             bad, sha);
    snprintf(msg, sizeof msg, "upload failed (failed_permanent): %s", err);
    want_snap w = {id, "failed_permanent",  "/h.bin", size, MIB, 2, "[]", 0,
                   0,  "100.0075345731998", err,      -1};
    assert_snap(&r, 400, msg, &w);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    /* The session stays to say so, and takes no more chunks. */
    status_id(id, &r);
    assert_snap(&r, 200, "success", &w);
    chunk(id, 0, "x", 1, &r);
    snprintf(msg, sizeof msg, "session is failed_permanent: %s", err);
    assert_snap(&r, 400, msg, &w);
    /* A new init of the same file supersedes it; with the right hash it is stored. */
    snprintf(h, sizeof h, "X-File-Sha256: %s\r\n", sha);
    const char *ok = init_ok("/h.bin", size, h);
    chunk_of(ok, src, 0, MIB, size);
    chunk_of(ok, src, 1, MIB, size);
    post("/api/fs/multipart/complete", ok, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
    th_assert_stored(env.root, "/h.bin", src);
    status_id(id, &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    down();
}
END_TEST

/* Uploads every chunk of a fresh 24 MiB source to path with its SHA-256 announced and starts
 * its complete, whose hashing keeps the session busy a while; returns the source. */
static const char *completing(const char *path, lane_chunk *l)
{
    long long size = 24 * MIB;
    static uint32_t seed = 100;
    const char *src = source("c.bin", size, seed++);
    char sha[65], h[128];
    ck_assert_int_eq(th_sha256_file(src, sha), 0);
    snprintf(h, sizeof h, "X-File-Sha256: %s\r\n", sha);
    l->id = init_ok(path, size, h);
    for (int i = 0; i < 24; i++)
        chunk_of(l->id, src, i, MIB, size);
    l->body = NULL;
    ck_assert_int_eq(pthread_create(&l->th, NULL, lane_chunk_run, l), 0);
    usleep(5000);
    return src;
}

START_TEST(a_complete_in_progress_is_waited_for)
{
    static th_resp r;
    static lane_chunk l;
    up_with("--verify-hash", NULL, NULL, NULL, NULL, NULL);
    for (int round = 0; round < 6; round++) {
        /*
         * An init of the same path and size without a hash supersedes the session, an abort
         * ends it: arriving while the complete hashes the file, either waits for it, which
         * stores the file; arriving before it, either ends the session the complete then
         * does not find. Nothing else is left either way.
         */
        const char *src = completing("/c.bin", &l);
        if (round % 2 == 0) {
            const char *id2 = init_ok("/c.bin", 24 * MIB, "");
            ck_assert_str_ne(id2, l.id);
            status_id(id2, &r);
            ck_assert_msg(strstr(r.body, "\"state\":\"receiving\"") != NULL, "%s", r.body);
            ck_assert_msg(strstr(r.body, "\"frontier\":0,") != NULL, "%s", r.body);
            post("/api/fs/multipart/abort", id2, "", &r);
            ck_assert_str_eq(r.body, TH_SUCCESS);
        } else {
            post("/api/fs/multipart/abort", l.id, "", &r);
            ck_assert_msg(strcmp(r.body, TH_SUCCESS) == 0 ||
                              strcmp(r.body, ERR(404, "multipart upload session not found")) == 0,
                          "%s", r.body);
        }
        pthread_join(l.th, NULL);
        if (strstr(l.r.body, "\"state\":\"completed\"") != NULL) {
            th_assert_stored(env.root, "/c.bin", src);
            unlink(th_path(env.root, "c.bin"));
        } else {
            ck_assert_msg(strstr(l.r.body, "\"message\":\"multipart upload session not "
                                           "found\"") != NULL,
                          "%s", l.r.body);
        }
        ck_assert_int_eq(th_count_files(env.root, ""), 0);
    }
    /* So does the shutdown, and leaves no temp file behind. */
    completing("/d.bin", &l);
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    pthread_join(l.th, NULL);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 0);
    th_env_free(&env);
}
END_TEST

START_TEST(overwrite_false_loses_to_a_file_stored_meanwhile)
{
    static th_resp r;
    up();
    const char *id = init_ok("/o.bin", 3, "Overwrite: false\r\n");
    ck_assert_int_eq(th_upload(mock.port, "/o.bin", "", "old", &r), 200);
    chunk(id, 0, "new", 3, &r);
    post("/api/fs/multipart/complete", id, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"message\":\"upload failed (failed_permanent): file "
                                         "exists\""));
    char buf[8] = "";
    FILE *f = fopen(th_path(env.root, "o.bin"), "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(buf, 1, sizeof buf - 1, f), 3);
    fclose(f);
    ck_assert_str_eq(buf, "old");
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 0);
    down();
}
END_TEST

/* ---- faults ---- */

START_TEST(chunk_faults_fire_once_per_session)
{
    static th_resp r;
    up_with("--fault", "chunk-busy=1", NULL, NULL, NULL, NULL);
    long long size = 2 * MIB;
    const char *src = source("src.bin", size, 16);
    char *c0 = slice(src, 0, MIB), *c1 = slice(src, MIB, MIB);
    /* --fault's chunk-busy=1: the session's first chunk request is 429, after its body. */
    const char *id = init_ok("/f1.bin", size, "");
    chunk(id, 0, c0, MIB, &r);
    want_snap w = {id, "receiving", "/f1.bin", size, MIB, 2, "[]", 0, 0, "0", NULL, -1};
    assert_snap(&r, 429, "chunk is out of the receiving window", &w);
    chunk_of(id, src, 0, MIB, size);
    chunk_of(id, src, 1, MIB, size);
    /* X-Mock-Fault on the init replaces --fault for that session: chunk-fail=1:500. */
    id = init_ok("/f2.bin", size, "X-Mock-Fault: chunk-fail=1:500\r\n");
    chunk_of(id, src, 0, MIB, size);
    chunk(id, 1, c1, MIB, &r);
    w = (want_snap){id,  "receiving", "/f2.bin",           size, MIB, 2, "[[0,0]]",
                    MIB, 1,           "50.00123980735301", NULL, -1};
    assert_snap(&r, 500, "injected fault: chunk-fail=1", &w);
    chunk_of(id, src, 1, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    th_assert_stored(env.root, "/f2.bin", src);
    /* chunk-reset: the first request for chunk 0 is cut at byte 1000; the retry is stored. */
    id = init_ok("/f3.bin", size, "X-Mock-Fault: chunk-reset=0:1000\r\n");
    ck_assert_int_eq(th_put(mock.port, "/api/fs/multipart/chunk",
                            "X-Upload-Id: x\r\nX-Chunk-Index: 0\r\n", "", 0, 0, &r),
                     200);
    char h[256];
    snprintf(h, sizeof h, "X-Upload-Id: %s\r\nX-Chunk-Index: 0\r\n", id);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/multipart/chunk", h, c0, MIB, 0, &r), -1);
    ck_assert_str_eq(th_journal_last(mock.port, "message"),
                     "injected fault: chunk-reset=0:1000, connection reset after 1000 bytes");
    chunk_of(id, src, 0, MIB, size);
    chunk_of(id, src, 1, MIB, size);
    post("/api/fs/multipart/complete", id, "", &r);
    th_assert_stored(env.root, "/f3.bin", src);
    /* chunk-busy-ms: chunks within 1 s of the init are 429; later ones go through. */
    id = init_ok("/f4.bin", size, "X-Mock-Fault: chunk-busy-ms=1000\r\n");
    chunk(id, 0, c0, MIB, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "{\"code\":429,"));
    usleep(1100 * 1000);
    chunk_of(id, src, 0, MIB, size);
    /* drop-after=0: chunk 0 is received, then the session is gone, temp file and all. */
    id = init_ok("/f5.bin", size, "X-Mock-Fault: drop-after=0\r\n");
    chunk_of(id, src, 0, MIB, size);
    chunk(id, 1, c1, MIB, &r);
    ck_assert_str_eq(
        r.body,
        "{\"code\":404,\"message\":\"multipart upload session not found\",\"data\":" ZERO_SNAP "}");
    ck_assert(!th_exists(th_path(env.root, "f5.bin")));
    /* A bad spec is the init's 400. */
    init("/f6.bin", size, "X-Mock-Fault: chunk-fail=x\r\n", &r);
    ck_assert_str_eq(r.body,
                     ERR(400, "invalid X-Mock-Fault: bad value 'x' for fault 'chunk-fail'"));
    free(c0);
    free(c1);
    down();
    /* The /f4.bin session was still live at shutdown: nothing of it is left either. */
}
END_TEST

/* ---- users ---- */

/* POST /api/auth/login as user; returns the token (static rotating buffer). */
static const char *login(const char *user, const char *pw)
{
    static th_resp r;
    static char toks[2][2048];
    static int next;
    char body[256];
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    ck_assert_int_eq(th_request(mock.port, "POST", "/api/auth/login",
                                "Content-Type: application/json\r\n", body, &r),
                     200);
    cJSON *j = cJSON_Parse(r.body);
    const char *t = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "token"));
    ck_assert_msg(t != NULL, "login: %s", r.body);
    char *out = toks[next++ % 2];
    snprintf(out, 2048, "%s", t);
    cJSON_Delete(j);
    return out;
}

START_TEST(a_session_is_its_owners_alone)
{
    static th_resp r;
    up_with("--user", "alice:pw-a", "--user", "bob:pw-b", NULL, NULL);
    char ha[2200], hb[2200], h[2400];
    snprintf(ha, sizeof ha, "Authorization: %s\r\n", login("alice", "pw-a"));
    snprintf(hb, sizeof hb, "Authorization: %s\r\n", login("bob", "pw-b"));
    /* Without a token the guest is disabled, as on every authed route. */
    init("/u.bin", 5, "", &r);
    ck_assert_str_eq(r.body, ERR(401, "Guest user is disabled, login please"));
    const char *id = init_ok("/u.bin", 5, ha);
    const char *own = "multipart upload session belongs to another user";
    char want[2048];
    chunk_h(id, 0, "hello", 5, hb, &r);
    ck_assert_str_eq(r.body, env_of(403, own, ZERO_SNAP, want, sizeof want));
    post("/api/fs/multipart/complete", id, hb, &r);
    ck_assert_str_eq(r.body, env_of(403, own, ZERO_SNAP, want, sizeof want));
    post("/api/fs/multipart/abort", id, hb, &r);
    ck_assert_str_eq(r.body, ERR(403, "multipart upload session belongs to another user"));
    snprintf(h, sizeof h, "/api/fs/multipart/status?upload_id=%s", id);
    th_request(mock.port, "GET", h, hb, NULL, &r);
    ck_assert_str_eq(r.body, ERR(403, "multipart upload session belongs to another user"));
    /* By path and size bob finds only his own sessions: the key holds the user's id. */
    th_request(mock.port, "GET", "/api/fs/multipart/status?path=/u.bin&size=5", hb, NULL, &r);
    ck_assert_str_eq(r.body, ERR(404, "multipart upload session not found"));
    /* bob's init of the same path and size is his own session; alice's stays. */
    const char *bobs = init_ok("/u.bin", 5, hb);
    ck_assert_str_ne(bobs, id);
    chunk_h(id, 0, "hello", 5, ha, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "{\"code\":200,"));
    post("/api/fs/multipart/complete", id, ha, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
    /* The journal names the user of each request, with its upload id. */
    cJSON *a = th_journal(mock.port), *e;
    int bob_chunks = 0;
    cJSON_ArrayForEach(e, a)
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "user"));
        const char *i = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "upload_id"));
        if (p != NULL && strcmp(p, "/api/fs/multipart/chunk") == 0 && u != NULL &&
            strcmp(u, "bob") == 0 && i != NULL && strcmp(i, id) == 0)
            bob_chunks++;
    }
    cJSON_Delete(a);
    ck_assert_int_eq(bob_chunks, 1);
    down();
}
END_TEST

/* ---- byte-exact files ---- */

START_TEST(files_around_the_chunk_boundary_are_stored_byte_for_byte)
{
    static th_resp r;
    up();
    static const long long sizes[] = {1,       99,          100,     MIB - 1,    MIB,
                                      MIB + 1, 2 * MIB - 1, 2 * MIB, 2 * MIB + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        long long size = sizes[i], total = (size + MIB - 1) / MIB;
        char name[32], path[40];
        snprintf(name, sizeof name, "s%zu.bin", i);
        snprintf(path, sizeof path, "/b/%s", name);
        const char *src = source(name, size, (uint32_t)(100 + i));
        const char *id = init_ok(path, size, "");
        /* Backwards, so the frontier moves only with the last request. */
        for (long long k = total - 1; k >= 0; k--)
            chunk_of(id, src, k, MIB, size);
        status_id(id, &r);
        char want[64];
        snprintf(want, sizeof want, "\"total_chunks\":%lld,", total);
        ck_assert_ptr_nonnull(strstr(r.body, want));
        /* Below 100 bytes, size / 100 is 0 and the driver reports no progress. */
        if (size < 100)
            ck_assert_ptr_nonnull(strstr(r.body, "\"storage_progress\":0}"));
        post("/api/fs/multipart/complete", id, "", &r);
        ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"completed\""));
        ck_assert_ptr_nonnull(strstr(r.body, "\"storage_progress\":100}"));
        th_assert_stored(env.root, path, src);
    }
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 0);
    down();
}
END_TEST

/* ---- Go's float formatting (the snapshots' storage_progress) ---- */

START_TEST(floats_are_formatted_as_go_formats_them)
{
    static const struct {
        double v;
        const char *go;
    } cases[] = {
        {0, "0"},
        {100, "100"},
        {83.88608, "83.88608"},
        {100.0 / 3, "33.333333333333336"},
        {0.1, "0.1"},
        {1e-6, "0.000001"},
        {1e-7, "1e-7"},
        {1.5e-10, "1.5e-10"},
        {123456789012345678.0, "123456789012345680"},
        {1e20, "100000000000000000000"},
        {1e21, "1e+21"},
        {2.5e300, "2.5e+300"},
        {5e-324, "5e-324"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        ck_assert_str_eq(mock_go_float(cases[i].v, out, sizeof out), cases[i].go);
    }
}
END_TEST

/* ---- constant memory ---- */

static uint64_t large_size; /* 0: the large case is not run */

/* Lanes that send the chunks of src, each taking the next index, resending on 429 and 409. */
typedef struct lanes {
    const char *id, *src;
    long long size, cs, total;
    atomic_llong next;
    atomic_int failed;
} lanes;

/*
 * Sends chunk idx of the file, read from fd through buf (cs bytes), on the lane's keep-alive
 * connection *sock (opened when -1, closed again when the answer closes it, as a client's
 * connection pool does). Returns the answer's status or -1.
 */
static int send_from(int *sock, int fd, const char *id, long long idx, long long off, long long len,
                     char *buf, th_resp *r)
{
    if (*sock < 0 && (*sock = th_connect(mock.port)) < 0)
        return -1;
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "PUT /api/fs/multipart/chunk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "X-Upload-Id: %s\r\nX-Chunk-Index: %lld\r\nContent-Length: %lld\r\n\r\n",
                      id, idx, len);
    int ok = th_send_all(*sock, head, (size_t)hl) == 0 && pread(fd, buf, (size_t)len, off) == len &&
             th_send_all(*sock, buf, (size_t)len) == 0;
    int st = ok ? th_recv_resp(*sock, r, 60000) : -1;
    if (st < 0 || strcasestr(r->raw, "\r\nConnection: close") != NULL) {
        close(*sock);
        *sock = -1;
    }
    return st;
}

static void *lane_run(void *arg)
{
    lanes *l = arg;
    char *buf = malloc((size_t)l->cs);
    th_resp *r = malloc(sizeof *r);
    int fd = open(l->src, O_RDONLY | O_CLOEXEC), sock = -1;
    long long idx;
    while (buf != NULL && r != NULL && fd >= 0 &&
           (idx = atomic_fetch_add(&l->next, 1)) < l->total) {
        long long off = idx * l->cs, len = l->size - off < l->cs ? l->size - off : l->cs;
        for (int tries = 0;; tries++) {
            int st = send_from(&sock, fd, l->id, idx, off, len, buf, r);
            if (st == 200 && strstr(r->body, "{\"code\":200,") == r->body)
                break;
            /* A connection the mock closed meanwhile is opened again; 429 and 409 resent. */
            if (tries > 100 || (st == 200 && strstr(r->body, "\"code\":429") == NULL &&
                                strstr(r->body, "\"code\":409") == NULL)) {
                atomic_store(&l->failed, 1);
                goto out;
            }
        }
    }
out:
    if (sock >= 0)
        close(sock);
    if (fd >= 0)
        close(fd);
    free(r);
    free(buf);
    return NULL;
}

#define MAX_LANES 16

/* Uploads size bytes through n lanes and completes; returns the mock's VmHWM after, KiB. */
static long upload_in_lanes(const char *path, long long size, int n)
{
    static th_resp r;
    lanes l = {.size = size, .cs = MIB, .total = (size + MIB - 1) / MIB};
    l.src = source("large.bin", size, 77);
    l.id = init_ok(path, size, "");
    atomic_init(&l.next, 0);
    atomic_init(&l.failed, 0);
    pthread_t th[MAX_LANES];
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, lane_run, &l), 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&l.failed), 0);
    post("/api/fs/multipart/complete", l.id, "", &r);
    ck_assert_msg(strstr(r.body, "\"state\":\"completed\"") != NULL, "%s", r.body);
    th_assert_stored(env.root, path, l.src);
    unlink(l.src);
    unlink(th_path(env.root, path + 1));
    return th_vmhwm_kib(mock.pid);
}

START_TEST(the_mocks_memory_does_not_grow_with_the_file)
{
    /* --journal 0: the journal's entries are bounded but would blur a flat line; so would
     * AddressSanitizer's quarantine of freed memory (this case's process alone goes without). */
    th_asan_no_quarantine();
    up_with("--journal", "0", "--verify-hash", NULL, NULL, NULL);
    th_drain d;
    th_drain_start(&d, &mock);
    long long size = large_size > 0 ? (long long)large_size : 64 * MIB;
    /* The base is long enough for every lane to be busy at once, with its connection's
     * thread, buffer and arena: what grows after it grows with the file. */
    long base = upload_in_lanes("/base.bin", 16 * MIB, 4);
    long peak = upload_in_lanes("/large.bin", size, 4);
    fprintf(stderr,
            "multipart %lld MiB in 4 lanes: mock VmHWM %ld KiB after 16 MiB, %ld KiB after "
            "it (+%ld KiB)\n",
            size / MIB, base, peak, peak - base);
    ck_assert_msg(peak - base < 1024, "VmHWM grew by %ld KiB", peak - base);
    th_drain_stop(&d);
    down();
}
END_TEST

START_TEST(more_lanes_than_the_window_wait_their_turn)
{
    /* Twelve lanes for eight places: four wait (or are turned away with 429 and resend) while
     * the frontier moves; every byte lands once, in place. */
    up();
    th_drain d;
    th_drain_start(&d, &mock);
    upload_in_lanes("/lanes.bin", 40 * MIB + 17, 12);
    ck_assert_int_ge(journaled("chunk", -1), 41);
    th_drain_stop(&d);
    down();
}
END_TEST

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int large = argc > 1 && strcmp(argv[1], "--large") == 0;
    if (large) {
        large_size = 4ull << 30;
        if (argc > 2 && sp__parse_size(argv[2], &large_size) < 0)
            return 2;
    }
    Suite *s = suite_create(large ? "mock_multipart_large" : "mock_multipart");
    TCase *t = tcase_create("multipart");
    tcase_set_timeout(t, large ? 3000 : 60);
    if (large) {
        tcase_add_test(t, the_mocks_memory_does_not_grow_with_the_file);
        suite_add_tcase(s, t);
        return th_run_suite(s);
    }
    tcase_add_test(t, floats_are_formatted_as_go_formats_them);
    tcase_add_test(t, init_answers_a_fresh_snapshot_with_a_v4_uuid);
    tcase_add_test(t, init_refuses_what_openlist_refuses);
    tcase_add_test(t, sizes_up_to_int64_max_count_their_chunks);
    tcase_add_test(t, a_session_keeps_no_more_than_a_digest_of_each_hash);
    tcase_add_test(t, the_chunk_size_is_the_settings_ceiling);
    tcase_add_test(t, no_multipart_turns_init_off_only);
    tcase_add_test(t, chunks_in_any_order_and_twice_store_the_file);
    tcase_add_test(t, short_and_long_bodies_are_refused_with_the_snapshot);
    tcase_add_test(t, unknown_sessions_are_404_with_or_without_data);
    tcase_add_test(t, the_window_admits_eight_and_holds_or_refuses_the_rest);
    tcase_add_test(t, init_resumes_with_a_matching_hash_and_supersedes_otherwise);
    tcase_add_test(t, abort_removes_the_session_and_its_temp_file);
    tcase_add_test(t, a_chunk_in_flight_learns_of_the_abort);
    tcase_add_test(t, expired_sessions_leave_nothing_behind);
    tcase_add_test(t, shutdown_removes_every_temp_file);
    tcase_add_test(t, the_session_table_is_bounded);
    tcase_add_test(t, max_body_refuses_a_big_chunk_while_small_chunks_go_through);
    tcase_add_test(t, verify_hash_fails_a_mismatch_for_good);
    tcase_add_test(t, a_complete_in_progress_is_waited_for);
    tcase_add_test(t, overwrite_false_loses_to_a_file_stored_meanwhile);
    tcase_add_test(t, chunk_faults_fire_once_per_session);
    tcase_add_test(t, a_session_is_its_owners_alone);
    tcase_add_test(t, files_around_the_chunk_boundary_are_stored_byte_for_byte);
    tcase_add_test(t, the_mocks_memory_does_not_grow_with_the_file);
    tcase_add_test(t, more_lanes_than_the_window_wait_their_turn);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
