/*
 * OpenList's resumable multipart upload against hostile peers, both ways. The mock against
 * hostile clients: chunks sent into another user's session, chunk bodies cut short (FIN, RST, a
 * stall) or running long, a thousand sessions opened and abandoned, and a SIGKILL with sessions
 * open; whatever happens, no byte a request was refused for reaches the stored file, no chunk's
 * place in the window is lost, nothing half-written is ever visible under the root, and no temp
 * file survives the session's expiry or the next start. The client against hostile servers: one
 * that answers every chunk 429 for ever must not outlast --timeout, and one whose status claims
 * chunks it does not hold must not get an exit 0 for bytes it never received.
 *
 *   ctest --test-dir build -R test_hostile_multipart      (about twenty seconds)
 *   build/bin/test_hostile_multipart --large              label slow: also 429 for ever without
 *                                                         --timeout (up to about 40 s)
 */
#include "th.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* The exit codes of client/src/tool.h, stated here as the promise --help makes. */
#define EXIT_INCOMPLETE 13

#define ERR(code, msg) "{\"code\":" #code ",\"message\":\"" msg "\",\"data\":null}"

static int large; /* --large: the cases that take tens of seconds */
static th_env env;
static th_mock mock;

/* Starts the mock on a fresh root with 1 MiB chunks, a 2 s window wait and up to four more
 * arguments (NULL-terminated). */
static void up_with(const char *a, const char *b, const char *c, const char *d)
{
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--multipart-chunk-size", "1M",
                                   "--multipart-window-wait", "2", a, b, c, d, NULL),
                     0);
}

static void down(void)
{
    th_env_down(&env, &mock);
}

/* ---- requests (auth: "Authorization: TOKEN\r\n" or "") ---- */

/* POST route with X-Upload-Id: id (NULL: none) and the extra header lines; returns the body. */
static const char *post(const char *route, const char *id, const char *auth, const char *extra,
                        th_resp *r)
{
    char h[4096];
    snprintf(h, sizeof h, "%s%s%s%s%s", auth, id != NULL ? "X-Upload-Id: " : "",
             id != NULL ? id : "", id != NULL ? "\r\n" : "", extra);
    ck_assert_int_eq(th_request(mock.port, "POST", route, h, NULL, r), 200);
    return r->body;
}

/* init for path and size that must succeed; returns the upload id (static rotating buffer). */
static const char *init_ok(const char *path, long long size, const char *auth)
{
    static th_resp r;
    static char ids[4][64];
    static int next;
    char h[512];
    snprintf(h, sizeof h, "File-Path: %s\r\nX-File-Size: %lld\r\n", path, size);
    post("/api/fs/multipart/init", NULL, auth, h, &r);
    cJSON *j = cJSON_Parse(r.body);
    const char *v = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "upload_id"));
    ck_assert_msg(v != NULL && *v != '\0', "init %s: %s", path, r.body);
    char *out = ids[next++ % 4];
    snprintf(out, 64, "%s", v);
    cJSON_Delete(j);
    return out;
}

/* PUT len bytes as chunk idx of session id (Content-Length); returns the body. */
static const char *chunk(const char *id, long long idx, const void *body, size_t len,
                         const char *auth, th_resp *r)
{
    char h[4096];
    snprintf(h, sizeof h, "%sX-Upload-Id: %s\r\nX-Chunk-Index: %lld\r\n", auth, id, idx);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/multipart/chunk", h, body, len, 0, r), 200);
    return r->body;
}

/* GET status of session id; returns the body. */
static const char *status_of(const char *id, const char *auth, th_resp *r)
{
    char target[256];
    snprintf(target, sizeof target, "/api/fs/multipart/status?upload_id=%s", id);
    ck_assert_int_eq(th_request(mock.port, "GET", target, auth, NULL, r), 200);
    return r->body;
}

/* Asserts that a body is a success envelope (code 200). */
static void assert_ok(const char *what, const th_resp *r)
{
    ck_assert_msg(strncmp(r->body, "{\"code\":200,", 12) == 0, "%s: %s", what, r->body);
}

/* Bytes [off, off + len) of the file at path, malloc'd. */
static char *slice(const char *path, long long off, size_t len)
{
    char *b = malloc(len);
    FILE *f = fopen(path, "rb");
    ck_assert(b != NULL && f != NULL);
    ck_assert_int_eq(fseeko(f, (off_t)off, SEEK_SET), 0);
    ck_assert_uint_eq(fread(b, 1, len, f), len);
    fclose(f);
    return b;
}

/* Sends chunk idx (1 MiB chunks) of src as auth and asserts success. */
static void chunk_of(const char *id, const char *src, long long idx, long long size,
                     const char *auth)
{
    static th_resp r;
    long long off = idx * MIB, len = size - off < MIB ? size - off : MIB;
    char *b = slice(src, off, (size_t)len);
    chunk(id, idx, b, (size_t)len, auth, &r);
    free(b);
    char what[32];
    snprintf(what, sizeof what, "chunk %lld", idx);
    assert_ok(what, &r);
}

/* complete that must store the file. */
static void complete_ok(const char *id, const char *auth)
{
    static th_resp r;
    post("/api/fs/multipart/complete", id, auth, "", &r);
    ck_assert_msg(strstr(r.body, "\"state\":\"completed\"") != NULL, "complete: %s", r.body);
}

/*
 * Opens a chunk request for idx of session id with Content-Length declared, and sends `sent`
 * bytes of 'k' (a pattern no source here has) without finishing it; returns the socket.
 */
static int chunk_started(const char *id, long long idx, size_t declared, size_t sent)
{
    char h[512];
    int n = snprintf(h, sizeof h,
                     "PUT /api/fs/multipart/chunk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "X-Upload-Id: %s\r\nX-Chunk-Index: %lld\r\nContent-Length: %zu\r\n\r\n",
                     id, idx, declared);
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, h, (size_t)n), 0);
    ck_assert_int_eq(th_send_fill(fd, 'k', sent), 0);
    return fd;
}

/* A fresh random source of size bytes in the scratch directory (static path). */
static const char *source(const char *name, long long size, uint32_t seed)
{
    static char path[4][4096];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s", th_path(env.dir, name));
    ck_assert_int_eq(th_write_random(p, (uint64_t)size, seed), 0);
    return p;
}

/* ---- the mock against hostile clients ---- */

/*
 * bob knows alice's upload id: each of his chunks is refused (403, the zero snapshot) before a
 * byte of it is written (its body is drained, as OpenList drains every chunk's); his abort and
 * complete are refused too. alice's session counts none of his bytes: complete still lacks chunk 0,
 * and once she sends it the stored file is hers byte for byte.
 */
START_TEST(another_users_chunks_never_reach_the_file)
{
    static th_resp r;
    up_with("--user", "alice:pw-a", "--user", "bob:pw-b");
    char ta[2048], tb[2048], ha[2100], hb[2100];
    th_login_token(mock.port, "alice", "pw-a", ta, sizeof ta);
    th_login_token(mock.port, "bob", "pw-b", tb, sizeof tb);
    snprintf(ha, sizeof ha, "Authorization: %s\r\n", ta);
    snprintf(hb, sizeof hb, "Authorization: %s\r\n", tb);
    long long size = 2 * MIB;
    const char *src = source("a.bin", size, 5);
    const char *id = init_ok("/alice/a.bin", size, ha);
    char *garbage = malloc(MIB);
    ck_assert_ptr_nonnull(garbage);
    memset(garbage, 'B', MIB);
    for (int idx = 0; idx < 2; idx++) {
        chunk(id, idx, garbage, MIB, hb, &r);
        ck_assert_ptr_nonnull(strstr(
            r.body,
            "\"code\":403,\"message\":\"multipart upload session belongs to another user\""));
    }
    post("/api/fs/multipart/abort", id, hb, "", &r);
    ck_assert_str_eq(r.body, ERR(403, "multipart upload session belongs to another user"));
    post("/api/fs/multipart/complete", id, hb, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "belongs to another user"));
    /* alice's session holds nothing of bob's. */
    ck_assert_ptr_nonnull(strstr(status_of(id, ha, &r), "\"received\":[],\"received_bytes\":0"));
    chunk_of(id, src, 1, size, ha);
    post("/api/fs/multipart/complete", id, ha, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "cannot complete: 1048576 of 2097152 bytes received"));
    chunk_of(id, src, 0, size, ha);
    complete_ok(id, ha);
    th_assert_stored(env.root, "/alice/a.bin", src);
    free(garbage);
    down();
}
END_TEST

/*
 * Chunk bodies that end before their Content-Length (FIN, RST) or stall midway, and bodies longer
 * or shorter than the chunk: none is received, each one's place in the window comes back (the
 * same chunk sent right after is taken, not 409), a stalled one holds its place only while it
 * lasts, and the bytes they wrote at the chunk's offset are all replaced by the real chunk: the
 * stored file is the source byte for byte. A chunk received already and sent again with other
 * bytes is acknowledged and changes nothing (OpenList absorbs it).
 */
START_TEST(cut_and_misfit_chunks_leave_no_trace)
{
    static th_resp r;
    up_with(NULL, NULL, NULL, NULL);
    long long size = 3 * MIB;
    const char *src = source("c.bin", size, 6);
    const char *id = init_ok("/c.bin", size, "");
    /* FIN after 300 KB of chunk 0, then RST after 600 KB of it. */
    int fd = chunk_started(id, 0, MIB, 300 * 1000);
    shutdown(fd, SHUT_WR);
    char rest[256];
    th_recv_all(fd, rest, sizeof rest, 3000);
    close(fd);
    fd = chunk_started(id, 0, MIB, 600 * 1000);
    th_reset(fd);
    close(fd);
    /* A stall: while it lasts the place is its (409), once it is cut the place is free. */
    fd = chunk_started(id, 1, MIB, 500 * 1000);
    char *k = malloc(MIB + 10);
    ck_assert_ptr_nonnull(k);
    memset(k, 'k', MIB + 10);
    /* Probed with 1-byte bodies: one that comes before the stalled head is admitted is refused
     * as incomplete, and leaves nothing received. */
    int64_t until = th_now_ms() + 5000;
    do
        chunk(id, 1, k, 1, "", &r);
    while (strstr(r.body, "\"code\":409,") == NULL && th_now_ms() < until);
    ck_assert_msg(strstr(r.body, "\"code\":409,\"message\":\"chunk is being uploaded by another "
                                 "request\"") != NULL,
                  "%s", r.body);
    close(fd);
    /* Longer and shorter than the chunk: 400, nothing received. */
    chunk(id, 2, k, MIB + 10, "", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"message\":\"chunk 2 larger than expected 1048576"));
    chunk(id, 2, k, MIB - 1, "", &r);
    ck_assert_ptr_nonnull(
        strstr(r.body, "\"message\":\"incomplete chunk 2: got 1048575 of 1048576 bytes: EOF"));
    ck_assert_ptr_nonnull(strstr(status_of(id, "", &r), "\"received\":[],\"received_bytes\":0"));
    /* Every place is free again: each real chunk is taken at once. */
    for (int idx = 0; idx < 3; idx++) {
        until = th_now_ms() + 5000;
        long long len = MIB;
        char *b = slice(src, idx * MIB, (size_t)len);
        do
            chunk(id, idx, b, (size_t)len, "", &r);
        while (strstr(r.body, "\"code\":409,") != NULL && th_now_ms() < until);
        free(b);
        assert_ok("the real chunk", &r);
    }
    /* Received already: other bytes are acknowledged and not written. */
    chunk(id, 0, k, MIB, "", &r);
    assert_ok("chunk 0 again", &r);
    complete_ok(id, "");
    th_assert_stored(env.root, "/c.bin", src);
    th_assert_no_temps(env.root);
    free(k);
    down();
}
END_TEST

#define ABANDONED 1000

/*
 * A thousand sessions opened and left, some with a chunk in them: with --multipart-expiry 3 every
 * one of them ends without a request, its temp file and its descriptors with it, and the table
 * they filled takes a thousand more.
 */
START_TEST(a_thousand_abandoned_sessions_expire_and_leave_nothing)
{
    static th_resp r;
    up_with("--multipart-expiry", "3", "--journal", "0");
    th_drain d;
    th_drain_start(&d, &mock);
    int fds0 = th_proc_fds(mock.pid);
    const char *src = source("x.bin", 2 * MIB, 7);
    char p[64], first[64] = "";
    int64_t t0 = th_now_ms();
    for (int i = 0; i < ABANDONED; i++) {
        snprintf(p, sizeof p, "/ab/%d/x.bin", i % 10);
        snprintf(p + strlen(p), sizeof p - strlen(p), ".%d", i);
        const char *id = init_ok(p, 2 * MIB, "");
        if (i == 0)
            snprintf(first, sizeof first, "%s", id);
        if (i % 100 == 0)
            chunk_of(id, src, 1, 2 * MIB, "");
    }
    int64_t opened_ms = th_now_ms() - t0;
    int temps = th_count_files(env.root, TH_TMP_PREFIX), fds = th_proc_fds(mock.pid);
    fprintf(stderr, "%d sessions opened in %lld ms: %d temp files, %d descriptors (%d before)\n",
            ABANDONED, (long long)opened_ms, temps, fds, fds0);
    /* Unless opening took longer than the expiry (a loaded machine), all are there, each with its
     * descriptors. */
    if (opened_ms < 2500) {
        ck_assert_int_eq(temps, ABANDONED);
        ck_assert_int_gt(fds, fds0 + ABANDONED);
    }
    /* Expiry plus the sweep's period: all gone, with nothing stored. */
    ck_assert_int_eq(th_wait_temps(env.root, 0, 10000), 0);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    ck_assert_str_eq(status_of(first, "", &r), ERR(404, "multipart upload session not found"));
    ck_assert_int_le(th_proc_fds(mock.pid), fds0 + 2);
    for (int i = 0; i < ABANDONED; i++) {
        snprintf(p, sizeof p, "/again/%d.bin", i);
        init_ok(p, 1, "");
    }
    th_drain_stop(&d);
    down();
}
END_TEST

/* The body of an fs/list of dir (as the guest). */
static const char *list_of(const char *dir, th_resp *r)
{
    char body[512];
    snprintf(body, sizeof body, "{\"path\":\"%s\"}", dir);
    ck_assert_int_eq(th_request(mock.port, "POST", "/api/fs/list",
                                "Content-Type: application/json\r\n", body, r),
                     200);
    return r->body;
}

/*
 * SIGKILL with three sessions open: one with chunks in, one empty, one with a chunk in flight.
 * Before the kill nothing of them is visible (no target, fs/list shows no entry); after it the
 * temp files remain (the control), and the next start on the same root removes them and says so,
 * knows none of the sessions, and takes the file again from scratch.
 */
START_TEST(sigkill_mid_session_then_restart_cleans_up)
{
    static th_resp r;
    static char log[16384];
    up_with(NULL, NULL, NULL, NULL);
    long long size = 3 * MIB;
    const char *src = source("k.bin", size, 8);
    const char *a = init_ok("/k/a.bin", size, "");
    chunk_of(a, src, 0, size, "");
    chunk_of(a, src, 2, size, "");
    init_ok("/k/b.bin", size, "");
    const char *c = init_ok("/k/deep/c.bin", size, "");
    int fd = chunk_started(c, 1, MIB, 400 * 1000);
    ck_assert_int_eq(th_wait_temps(env.root, 3, 3000), 3);
    ck_assert(!th_exists(th_path(env.root, "k/a.bin")));
    ck_assert(!th_exists(th_path(env.root, "k/deep/c.bin")));
    const char *l = list_of("/k", &r);
    ck_assert_msg(strstr(l, "\"content\":[{\"name\":\"deep\",") != NULL &&
                      strstr(l, "\"total\":1,") != NULL && strstr(l, "a.bin") == NULL &&
                      strstr(l, TH_TMP_PREFIX) == NULL,
                  "%s", l);
    char ida[64];
    snprintf(ida, sizeof ida, "%s", a);

    ck_assert_int_eq(kill(mock.pid, SIGKILL), 0);
    ck_assert_int_eq(th_mock_stop(&mock), 128 + SIGKILL);
    close(fd);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 3);
    ck_assert_int_eq(th_count_files(env.root, ""), 3);

    ck_assert_int_eq(th_mock_start(&mock, env.root, "--multipart-chunk-size", "1M", NULL), 0);
    log[0] = '\0';
    ck_assert_msg(th_mock_log_wait(&mock, "removed 3 stale temp file(s)", log, sizeof log, 3000),
                  "%s", log);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    ck_assert_str_eq(status_of(ida, "", &r), ERR(404, "multipart upload session not found"));
    ck_assert_str_eq(th_request(mock.port, "GET",
                                "/api/fs/multipart/status?path=/k/a.bin&size=3145728", "", NULL,
                                &r) == 200
                         ? r.body
                         : "",
                     ERR(404, "multipart upload session not found"));
    const char *again = init_ok("/k/a.bin", size, "");
    ck_assert_ptr_nonnull(strstr(status_of(again, "", &r), "\"received\":[]"));
    for (int idx = 0; idx < 3; idx++)
        chunk_of(again, src, idx, size, "");
    complete_ok(again, "");
    th_assert_stored(env.root, "/k/a.bin", src);
    down();
}
END_TEST

/* ---- the client against hostile servers ---- */

/* Runs streamput --multipart always over 4 lanes uploading src to /busy.bin, with --timeout
 * timeout_s and --retry 3 (0: neither). Returns the exit status. */
static int busy_client(th_run *r, const char *src, int timeout_s)
{
    char url[192], t[16];
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    snprintf(t, sizeof t, "%d", timeout_s);
    if (timeout_s > 0)
        return th_client(r, "-s", "--multipart", "always", "--parallel-chunks", "4", "--retry", "3",
                         "--retry-delay", "200ms", "--timeout", t, "-p", "/busy.bin", src, url,
                         NULL);
    return th_client(r, "-s", "--multipart", "always", "--parallel-chunks", "4", "-p", "/busy.bin",
                     src, url, NULL);
}

/*
 * Every chunk answered 429 (the window is full) for ten minutes: --timeout 4 ends the upload
 * within its bound plus one busy pause (2 s at most) and a margin, with exit 13 (the session
 * stays: the library's promise for a chunk that fails, timeouts included) and a message naming
 * the timeout; the session is still on the server for a rerun. Nothing is stored.
 */
START_TEST(chunks_busy_for_ever_end_within_the_timeout)
{
    static th_resp r;
    static th_run run;
    up_with("--fault", "chunk-busy-ms=600000", NULL, NULL);
    const char *src = source("busy.bin", 5 * MIB, 9);
    busy_client(&run, src, 4);
    fprintf(stderr, "429 for ever, --timeout 4: exit %d after %.2f s: %s", run.status, run.seconds,
            run.err);
    ck_assert_msg(run.status == EXIT_INCOMPLETE, "exit %d: %s", run.status, run.err);
    ck_assert_msg(run.seconds <= 4.0 + 2.0 + 2.0, "took %.2f s", run.seconds);
    ck_assert_msg(run.seconds >= 3.9, "gave up early: %.2f s", run.seconds);
    ck_assert_msg(strstr(run.err, "timed out") != NULL || strstr(run.err, "--timeout") != NULL,
                  "%s", run.err);
    ck_assert_ptr_nonnull(strstr(run.err, "the same upload again resumes it"));
    ck_assert_int_eq(th_request(mock.port, "GET",
                                "/api/fs/multipart/status?path=/busy.bin&size=5242880", "", NULL,
                                &r),
                     200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"receiving\""));
    ck_assert(!th_exists(th_path(env.root, "busy.bin")));
    if (large) {
        /* Without --timeout the busy answers themselves are bounded (20 besides --retry). */
        busy_client(&run, src, 0);
        fprintf(stderr, "429 for ever, no --timeout: exit %d after %.2f s: %s", run.status,
                run.seconds, run.err);
        ck_assert_msg(run.status == EXIT_INCOMPLETE, "exit %d: %s", run.status, run.err);
        ck_assert_msg(run.seconds < 50.0, "took %.2f s", run.seconds);
        ck_assert_ptr_nonnull(strstr(run.err, "code 429 21 times"));
    }
    down();
}
END_TEST

/* A lying OpenList for a 3-chunk file of 3 MiB (1 MiB chunks). */
typedef struct liar {
    int keeps;   /* 1: a chunk it got whole is held; 0: it acknowledges and loses every one */
    int held[3]; /* what it really holds (the script process's copy) */
} liar;

/* The session snapshot: received from `held` (all, if claim_all), as OpenList renders it. */
static void liar_answer(int fd, const liar *l, int claim_all, int code, const char *msg,
                        const char *state)
{
    char ranges[64] = "", body[1024];
    long long bytes = 0;
    for (int i = 0; i < 3; i++) {
        if (!claim_all && !l->held[i])
            continue;
        snprintf(ranges + strlen(ranges), sizeof ranges - strlen(ranges), "%s[%d,%d]",
                 ranges[0] != '\0' ? "," : "", i, i);
        bytes += MIB;
    }
    snprintf(body, sizeof body,
             "{\"code\":%d,\"message\":\"%s\",\"data\":{\"upload_id\":\"lie-1\",\"state\":\"%s\","
             "\"attempt\":0,\"path\":\"/lie.bin\",\"size\":3145728,\"chunk_size\":1048576,"
             "\"total_chunks\":3,\"received\":[%s],\"received_bytes\":%lld,\"frontier\":0,"
             "\"storage_progress\":0}}",
             code, msg, state, ranges, bytes);
    th_send_answer(fd, "200 OK", "Content-Type: application/json; charset=utf-8\r\n", body);
}

/*
 * status says the server holds every chunk, which it does not. complete then tells the truth
 * (code 400, "cannot complete", the session's real ranges), as OpenList's does. Reports S, C and
 * each chunk's index.
 */
static void serve_liar(int fd, int nth, void *arg)
{
    (void)nth;
    liar *l = arg;
    th_req q;
    char idx[16];
    while (th_req_read(fd, &q, TH_REQ_CONTINUE, 10000) == 1) {
        if (strncmp(q.target, "/api/fs/multipart/status", 24) == 0) {
            th_script_report("S ");
            liar_answer(fd, l, 1, 200, "success", "receiving");
        } else if (strcmp(q.target, "/api/fs/multipart/chunk") == 0) {
            th_req_header(&q, "X-Chunk-Index", idx, sizeof idx);
            th_script_report("%s ", idx);
            long i = strtol(idx, NULL, 10);
            if (l->keeps && i >= 0 && i < 3 && q.complete && q.body_len == MIB)
                l->held[i] = 1;
            liar_answer(fd, l, 0, 200, "success", "receiving");
        } else if (strcmp(q.target, "/api/fs/multipart/complete") == 0) {
            th_script_report("C ");
            int all = l->held[0] && l->held[1] && l->held[2];
            if (all)
                liar_answer(fd, l, 0, 200, "success", "completed");
            else
                liar_answer(fd, l, 0, 400, "cannot complete: missing bytes", "receiving");
        } else {
            th_script_report("? %s ", q.target);
            th_answer(fd, "404 Not Found", "", "");
        }
    }
}

/*
 * A status that lists chunks the server does not hold: the client skips them (it cannot know),
 * but complete's refusal with the real ranges makes it send what is missing and complete again;
 * a server that keeps losing what it acknowledged gets one such round and then exit 13, never 0.
 */
START_TEST(a_status_claiming_chunks_it_lacks_is_not_trusted)
{
    th_env_init(&env);
    const char *src = source("lie.bin", 3 * MIB, 10);
    static const struct {
        int keeps;
        int exit;
        const char *report;
    } cases[] = {
        {1, 0, "S C 0 1 2 C "},
        {0, EXIT_INCOMPLETE, "S C 0 1 2 C "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        liar l = {.keeps = cases[i].keeps};
        th_script s;
        th_run run;
        char report[512], url[128];
        ck_assert_int_eq(th_script_start(&s, serve_liar, &l, 4), 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s.port);
        th_client(&run, "--multipart", "always", "--parallel-chunks", "1", "--timeout", "20", "-p",
                  "/lie.bin", src, url, NULL);
        th_script_stop(&s, report, sizeof report, 2000);
        ck_assert_msg(run.status == cases[i].exit, "case %zu: exit %d (%s): %s", i, run.status,
                      report, run.err);
        ck_assert_str_eq(report, cases[i].report);
    }
    th_env_free(&env);
}
END_TEST

int main(int argc, char **argv)
{
    th_asan_no_quarantine();
    large = argc > 1 && strcmp(argv[1], "--large") == 0;
    Suite *s = suite_create("hostile_multipart");
    TCase *t = tcase_create("multipart");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, another_users_chunks_never_reach_the_file);
    tcase_add_test(t, cut_and_misfit_chunks_leave_no_trace);
    tcase_add_test(t, a_thousand_abandoned_sessions_expire_and_leave_nothing);
    tcase_add_test(t, sigkill_mid_session_then_restart_cleans_up);
    tcase_add_test(t, chunks_busy_for_ever_end_within_the_timeout);
    tcase_add_test(t, a_status_claiming_chunks_it_lacks_is_not_trusted);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
