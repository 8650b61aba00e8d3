/*
 * streamput through OpenList's resumable multipart API, end to end against streamput-mock (its
 * /api/fs/multipart/ routes, chunk faults and journal) with 1 MiB chunks: byte-exact stores at
 * the chunk boundaries for every lane count 1..8, auto's threshold choosing PUT or multipart, a
 * server without the routes (scripted 404 and web page) and one with multipart disabled falling
 * back to a PUT, injected chunk failures, 429 and 409 retried, --retry exhausted and a dropped
 * or failed session with their exit codes, a --max-body one PUT cannot pass, SIGKILL at about
 * half then a rerun that sends only what the server lacks, Ctrl-C's message, standard input with
 * --size, TLS, the library's sp_getinfo() figures, and the connections the journal counts: one
 * per lane with the control requests on lane 0's, one for a PUT after a login.
 *
 * OpenList sources cited: OL = OpenListTeam/OpenList 0b1e9d09.
 */
#include "th.h"
#include "streamput.h"

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB   (1024 * 1024)
#define CHUNK MIB

/* The exit codes of client/src/tool.h, stated here as the promise --help makes. */
#define EXIT_API        7
#define EXIT_CANCEL     10
#define EXIT_SESSION    12
#define EXIT_INCOMPLETE 13

static th_env env;
static th_mock mock;
static char url[192];

/* Starts the mock with up to four extra arguments (NULL-terminated) and sets url. */
static void start_mock(const char *a, const char *b, const char *c2, const char *d)
{
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, a, b, c2, d, NULL), 0);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
}

static void stop_mock(void)
{
    th_env_down(&env, &mock);
}

/* A source file of size bytes in the test's scratch directory; returns its path (static). */
static const char *source(const char *name, uint64_t size, uint32_t seed)
{
    static char path[4][4200];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s", th_path(env.dir, name));
    ck_assert_int_eq(th_write_random(p, size, seed), 0);
    return p;
}

/*
 * Runs streamput with 1 MiB chunks, the NULL-terminated extra arguments, then src and url;
 * returns the exit status, with the outcome in *r.
 */
static int mp_client(th_run *r, const char *src, ...)
{
    char *argv[40];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput";
    argv[n++] = "--no-progress";
    argv[n++] = "--multipart-chunk-size";
    argv[n++] = "1M";
    va_list ap;
    va_start(ap, src);
    n = th_argv_va(argv, n, 36, ap);
    va_end(ap);
    argv[n++] = (char *)src;
    argv[n++] = url;
    argv[n] = NULL;
    return th_run_argv(r, argv, NULL, 60000);
}

/* The end of a client's stderr, short enough for Check's failure message (a -v run's is not). */
static const char *tail(const char *err)
{
    size_t n = strlen(err);
    return n > 1500 ? err + n - 1500 : err;
}

/* What the journal says of a client's multipart requests, from entry `from` on. */
typedef struct mp_log {
    int entries; /* the journal's length */
    int puts;    /* PUT /api/fs/put */
    int status, inits, completes;
    int chunks;           /* chunk requests */
    int chunks_ok;        /* answered code 200 */
    long long bytes;      /* body bytes the chunk requests carried */
    char id[64];          /* the last upload_id named */
    unsigned char ok[64]; /* chunk index -> answered 200 at least once (indexes < 64) */
    int conns;            /* distinct connections */
    int ctl;              /* the connection of status, init and complete; -1: more than one */
    int ctl_chunks;       /* chunk requests on that connection */
} mp_log;

/* 1 if path is one of the session's control requests (status, init, complete). */
static int control_path(const char *path)
{
    return strcmp(path, "/api/fs/multipart/status") == 0 ||
           strcmp(path, "/api/fs/multipart/init") == 0 ||
           strcmp(path, "/api/fs/multipart/complete") == 0;
}

/* Fills g's connection figures from the entries of all from entry from on. */
static void count_conns(const cJSON *all, int from, mp_log *g)
{
    const cJSON *e;
    int i = 0;
    g->conns = th_journal_conns(all, from, NULL);
    g->ctl = 0;
    cJSON_ArrayForEach(e, all)
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        if (i++ < from || path == NULL || !control_path(path))
            continue;
        int n = th_journal_conn(e);
        g->ctl = g->ctl == 0 || g->ctl == n ? n : -1;
    }
    i = 0;
    cJSON_ArrayForEach(e, all)
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        if (i++ >= from && path != NULL && strcmp(path, "/api/fs/multipart/chunk") == 0)
            g->ctl_chunks += th_journal_conn(e) == g->ctl;
    }
}

static void read_log_once(int from, mp_log *g)
{
    memset(g, 0, sizeof *g);
    cJSON *all = th_journal(mock.port), *e;
    int i = 0;
    cJSON_ArrayForEach(e, all)
    {
        if (i++ < from)
            continue;
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path"));
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "upload_id"));
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *chunk = cJSON_GetObjectItemCaseSensitive(e, "chunk");
        const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(e, "bytes_received");
        if (path == NULL)
            continue;
        if (id != NULL && *id != '\0')
            snprintf(g->id, sizeof g->id, "%s", id);
        if (strcmp(path, "/api/fs/put") == 0)
            g->puts++;
        else if (strcmp(path, "/api/fs/multipart/status") == 0)
            g->status++;
        else if (strcmp(path, "/api/fs/multipart/init") == 0)
            g->inits++;
        else if (strcmp(path, "/api/fs/multipart/complete") == 0)
            g->completes++;
        else if (strcmp(path, "/api/fs/multipart/chunk") == 0) {
            g->chunks++;
            g->bytes += cJSON_IsNumber(bytes) ? (long long)bytes->valuedouble : 0;
            if (cJSON_IsNumber(code) && code->valuedouble == 200) {
                g->chunks_ok++;
                if (cJSON_IsNumber(chunk) && chunk->valuedouble >= 0 && chunk->valuedouble < 64)
                    g->ok[(int)chunk->valuedouble] = 1;
            }
        }
    }
    g->entries = i;
    count_conns(all, from, g);
    cJSON_Delete(all);
}

/*
 * The journal once it has settled: the mock journals a request after its answer has gone, so
 * the client may have exited before its last requests are in. Read until two readings 50 ms
 * apart agree (2 s at most).
 */
static void read_log(int from, mp_log *g)
{
    read_log_once(from, g);
    for (int64_t end = th_now_ms() + 2000; th_now_ms() < end;) {
        int seen = g->entries;
        th_sleep_ms(50);
        read_log_once(from, g);
        if (g->entries == seen)
            break;
    }
}

/* Chunks of size bytes. */
static int nchunks(uint64_t size)
{
    return (int)((size + CHUNK - 1) / CHUNK);
}

/*
 * Every size at a chunk boundary, byte-exact, over _i + 1 lanes with either engine: each chunk
 * sent once, under one session, and no PUT.
 */
START_TEST(byte_exact_at_chunk_boundaries_for_each_lane_count)
{
    static const uint64_t sizes[] = {CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 1};
    char lanes[16], remote[64];
    snprintf(lanes, sizeof lanes, "%d", _i + 1);
    /* Both engines read at the chunk's offset: pread into the lane's buffer, or sendfile with
     * an offset (auto would pick rw toward this host). */
    const char *engine = _i % 2 == 0 ? "rw" : "sendfile";
    start_mock(NULL, NULL, NULL, NULL);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        th_run r;
        mp_log g;
        snprintf(remote, sizeof remote, "/f%zu.bin", k);
        const char *src = source("src.bin", sizes[k], (uint32_t)(k * 8 + (size_t)_i));
        int before = (read_log(0, &g), g.entries);
        int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", lanes, "-e",
                           engine, "-p", remote, NULL);
        ck_assert_msg(st == 0, "%s lanes, %s, %llu bytes: exit %d: %s", lanes, engine,
                      (unsigned long long)sizes[k], st, tail(r.err));
        th_assert_stored(env.root, remote, src);
        read_log(before, &g);
        ck_assert_int_eq(g.puts, 0);
        ck_assert_int_eq(g.status, 1);
        ck_assert_int_eq(g.inits, 1);
        ck_assert_int_eq(g.completes, 1);
        ck_assert_int_eq(g.chunks, nchunks(sizes[k]));
        ck_assert_int_eq(g.chunks_ok, nchunks(sizes[k]));
        ck_assert_int_eq(g.bytes, (long long)sizes[k]);
        ck_assert_msg(strstr(r.err, g.id) != NULL, "no session %s in: %s", g.id, tail(r.err));
    }
    stop_mock();
}
END_TEST

/* -v over several lanes: each lane's notes are marked, and the token is never shown. */
START_TEST(verbose_output_never_shows_the_token)
{
    start_mock(NULL, NULL, NULL, NULL);
    th_run r;
    const char *src = source("src.bin", 4 * CHUNK, 20);
    int st = mp_client(&r, src, "--multipart", "always", "-v", "-t", "tok-SECRET-7", NULL);
    ck_assert_msg(st == 0, "exit %d: %s", st, tail(r.err));
    ck_assert_msg(strstr(r.err, "tok-SECRET-7") == NULL, "the token in: %s", tail(r.err));
    ck_assert_msg(strstr(r.err, "> Authorization: <redacted>") != NULL, "%s", tail(r.err));
    /* Which lanes got a chunk is up to the threads' timing; some did. */
    ck_assert_msg(strstr(r.err, "] the server is on this host") != NULL, "no lane's note in: %s",
                  tail(r.err));
    ck_assert_msg(strstr(r.err, "* multipart: new session ") != NULL, "%s", tail(r.err));
    stop_mock();
}
END_TEST

/* auto: a file up to --multipart-threshold is one PUT, a larger one goes in chunks. */
START_TEST(auto_threshold_chooses_put_or_multipart)
{
    start_mock(NULL, NULL, NULL, NULL);
    th_run r;
    mp_log g;
    const char *small = source("small.bin", 2 * CHUNK, 1);
    ck_assert_int_eq(mp_client(&r, small, "--multipart-threshold", "2M", "-p", "/small.bin", NULL),
                     0);
    read_log(0, &g);
    ck_assert_int_eq(g.puts, 1);
    ck_assert_int_eq(g.status + g.inits + g.chunks, 0);
    th_assert_stored(env.root, "/small.bin", small);

    const char *big = source("big.bin", 2 * CHUNK + 1, 2);
    int before = g.entries;
    ck_assert_int_eq(mp_client(&r, big, "--multipart-threshold", "2M", "-p", "/big.bin", NULL), 0);
    read_log(before, &g);
    ck_assert_int_eq(g.puts, 0);
    ck_assert_int_eq(g.chunks, 3);
    th_assert_stored(env.root, "/big.bin", big);

    /* never: one PUT whatever the size. */
    before = g.entries;
    ck_assert_int_eq(mp_client(&r, big, "--multipart", "never", "--multipart-threshold", "1", "-p",
                               "/never.bin", NULL),
                     0);
    read_log(before, &g);
    ck_assert_int_eq(g.puts, 1);
    ck_assert_int_eq(g.status + g.inits + g.chunks, 0);
    stop_mock();
}
END_TEST

/* Connection 0 answers the status lookup as a server without the routes; 1 takes the PUT. */
static void serve_no_routes(int fd, int nth, void *arg)
{
    if (nth == 0)
        th_answer(fd, (const char *)arg, "Content-Type: text/html\r\n",
                  "<!doctype html><html><body>OpenList</body></html>");
    else
        th_serve_hashed(fd, 0);
}

/*
 * A server without the multipart routes, answering HTTP 404 or (as OpenList's catch-all does,
 * OL server/static/static.go:213-227) 200 with its web page, gets one PUT and no error; -v says
 * why in one line.
 */
START_TEST(server_without_the_routes_gets_a_put)
{
    static const char *const answers[] = {"404 Not Found", "200 OK"};
    th_env_init(&env);
    const char *src = source("src.bin", 2 * CHUNK + 5, 3);
    for (size_t k = 0; k < 2; k++) {
        th_script s;
        char report[512];
        th_run r;
        ck_assert_int_eq(th_script_start(&s, serve_no_routes, (void *)answers[k], 2), 0);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s.port);
        int st = mp_client(&r, src, "--multipart-threshold", "1M", "-v", NULL);
        th_script_stop(&s, report, sizeof report, 5000);
        ck_assert_msg(st == 0, "%s: exit %d: %s", answers[k], st, tail(r.err));
        th_assert_served(report, src);
        ck_assert_msg(strstr(r.err, "* multipart: the server has no multipart upload routes") !=
                          NULL,
                      "%s", tail(r.err));
        ck_assert_msg(strstr(r.err, "uploading with a single PUT") != NULL, "%s", tail(r.err));
    }
    th_env_free(&env);
}
END_TEST

/* OL's init checks multipart_enabled (handles/multipart.go MultipartInit): auto falls back to a
 * PUT; always reports the refusal. */
START_TEST(disabled_multipart_falls_back_to_put)
{
    start_mock("--no-multipart", NULL, NULL, NULL);
    th_run r;
    mp_log g;
    const char *src = source("src.bin", 3 * CHUNK, 4);
    ck_assert_int_eq(mp_client(&r, src, "--multipart-threshold", "1M", "-v", NULL), 0);
    ck_assert_msg(strstr(r.err, "multipart upload is disabled on the server; uploading with a "
                                "single PUT") != NULL,
                  "%s", tail(r.err));
    read_log(0, &g);
    ck_assert_int_eq(g.inits, 1);
    ck_assert_int_eq(g.puts, 1);
    ck_assert_int_eq(g.chunks, 0);
    th_assert_stored(env.root, "/src.bin", src);
    ck_assert_int_eq(mp_client(&r, src, "--multipart", "always", "-p", "/always.bin", NULL),
                     EXIT_API);
    ck_assert_msg(strstr(r.err, "multipart upload is disabled") != NULL, "%s", tail(r.err));
    stop_mock();
}
END_TEST

/*
 * Uploads size bytes with -v, --retry retries and 50 ms back-off to a mock with the chunk fault
 * spec; asserts success, a byte-exact store and the -v line that names each of want. Leaves the
 * outcome in *r and the journal in *g.
 */
static void faulty_upload(const char *fault, uint64_t size, const char *retry,
                          const char *const want[2], th_run *r, mp_log *g)
{
    start_mock("--fault", fault, NULL, NULL);
    const char *src = source("src.bin", size, (uint32_t)size);
    int st = mp_client(r, src, "--multipart", "always", "--retry", retry, "--retry-delay", "50ms",
                       "-v", NULL);
    ck_assert_msg(st == 0, "%s: exit %d: %s", fault, st, tail(r->err));
    th_assert_stored(env.root, "/src.bin", src);
    read_log(0, g);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(strstr(r->err, want[i]) != NULL, "no '%s' in: %s", want[i], tail(r->err));
    stop_mock();
}

/* Failing chunk faults (a code 503 after the body, a reset mid-body) are sent again under
 * --retry, and the store is byte-exact. */
START_TEST(failed_chunks_are_sent_again)
{
    /* A reset on a connection that had carried a chunk before may also read as the kept
     * connection closed: "multipart: chunk 3: the kept connection was closed ...". */
    static const char *const want[2] = {"multipart: chunk 1 failed", "multipart: chunk 3"};
    th_run r;
    mp_log g;
    faulty_upload("chunk-fail=1:503,chunk-reset=3:100000", 5 * CHUNK + 3, "2", want, &r, &g);
    ck_assert_int_eq(g.chunks_ok, 6);
    ck_assert_int_ge(g.chunks, 8);
}
END_TEST

/* 429 (the window is full) and 409 (the chunk is in flight elsewhere) are the server's flow
 * control: sent again after a short pause without using up --retry (0 here). */
START_TEST(busy_429_and_409_are_waited_out)
{
    static const char *const want[2] = {"server busy (code 429", "server busy (code 409"};
    th_run r;
    mp_log g;
    faulty_upload("chunk-busy=3,chunk-fail=2:409", 4 * CHUNK, "0", want, &r, &g);
    ck_assert_int_eq(g.chunks, 4 + 3 + 1);
}
END_TEST

/*
 * A chunk that still fails when --retry is used up stops the upload with exit 13 and the session
 * kept; the same command then resumes it and sends only what is missing.
 */
START_TEST(retry_exhausted_keeps_the_session_for_a_rerun)
{
    start_mock("--fault", "chunk-fail=2", NULL, NULL);
    th_run r;
    mp_log g;
    const char *src = source("src.bin", 4 * CHUNK + 1, 7);
    int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", NULL);
    ck_assert_msg(st == EXIT_INCOMPLETE, "exit %d: %s", st, tail(r.err));
    read_log(0, &g);
    ck_assert_msg(strstr(r.err, "chunk 2") != NULL && strstr(r.err, g.id) != NULL &&
                      strstr(r.err, "holds 2097152 of 4194305 bytes") != NULL,
                  "%s", tail(r.err));
    ck_assert(!th_exists(th_path(env.root, "src.bin")));
    int before = g.entries;
    st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", NULL);
    ck_assert_msg(st == 0, "rerun: exit %d: %s", st, tail(r.err));
    th_assert_stored(env.root, "/src.bin", src);
    char id[64];
    snprintf(id, sizeof id, "%s", g.id);
    read_log(before, &g);
    ck_assert_str_eq(g.id, id);
    ck_assert_int_eq(g.inits, 0);
    ck_assert_int_eq(g.chunks, 3); /* 2, 3 and 4 */
    ck_assert_msg(strstr(r.err, "3 chunks sent, 2 already on the server, of 5") != NULL, "%s",
                  tail(r.err));
    stop_mock();
}
END_TEST

/*
 * With digests the init proves the file (OL internal/multipart/session.go hashesQualifyResume):
 * the same sha256 resumes the session a failed run left; digests that share no type with it
 * replace it with a new one.
 */
START_TEST(digests_let_the_server_decide_the_resume)
{
    start_mock("--fault", "chunk-fail=2", NULL, NULL);
    th_run r;
    mp_log g;
    const char *src = source("src.bin", 4 * CHUNK, 21);
    static const char *const reruns[] = {"sha256", "md5"};
    for (int k = 0; k < 2; k++) {
        int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", "--hash",
                           "sha256", "-p", "/d.bin", NULL);
        ck_assert_msg(st == EXIT_INCOMPLETE, "exit %d: %s", st, tail(r.err));
        read_log(0, &g);
        char id[64];
        snprintf(id, sizeof id, "%s", g.id);
        int before = g.entries;
        /* A new session's chunk 2 fails once more: the mock's faults are per session. */
        st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", "--hash",
                       reruns[k], "--retry", "1", "--retry-delay", "10ms", "-p", "/d.bin", NULL);
        ck_assert_msg(st == 0, "rerun with %s: exit %d: %s", reruns[k], st, tail(r.err));
        th_assert_stored(env.root, "/d.bin", src);
        read_log(before, &g);
        ck_assert_int_eq(g.status, 1);
        ck_assert_int_eq(g.inits, 1);
        if (k == 0) {
            ck_assert_str_eq(g.id, id);
            ck_assert_int_eq(g.chunks, 2);
        } else {
            ck_assert_str_ne(g.id, id);
            ck_assert_int_eq(g.chunks_ok, 4);
        }
    }
    stop_mock();
}
END_TEST

/* An OpenList session snapshot in state st for a 3-chunk file of 3 MiB (OL SessionSnapshot). */
static void send_snapshot(int fd, int code, const char *message, const char *st)
{
    char body[1024], head[256];
    snprintf(body, sizeof body,
             "{\"code\":%d,\"message\":\"%s\",\"data\":{\"upload_id\":\"u-1\",\"state\":"
             "\"%s\",\"attempt\":1,\"path\":\"/r.bin\",\"size\":3145728,\"chunk_size\":"
             "1048576,\"total_chunks\":3,\"received\":[[0,1]],\"received_bytes\":2097152,"
             "\"frontier\":2,\"storage_progress\":0,\"error\":\"the storage went away\"}}",
             code, message, st);
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
             "Content-Length: %zu\r\n\r\n",
             strlen(body));
    th_send_str(fd, head);
    th_send_str(fd, body);
}

/*
 * A scripted OpenList whose session failed retriably: status says failed_retriable, chunk 2
 * fails once more the same way, everything else succeeds. Reports each chunk it gets as
 * "IDX " and each other request by its first letter.
 */
static void serve_retriable(int fd, int nth, void *arg)
{
    (void)nth;
    int *failed_once = arg;
    th_req q;
    char idx[16];
    while (th_req_read(fd, &q, TH_REQ_CONTINUE, 10000) == 1) {
        if (strncmp(q.target, "/api/fs/multipart/status", 24) == 0) {
            th_script_report("S ");
            send_snapshot(fd, 200, "success", "failed_retriable");
        } else if (strcmp(q.target, "/api/fs/multipart/chunk") == 0) {
            th_req_header(&q, "X-Chunk-Index", idx, sizeof idx);
            th_script_report("%s ", idx);
            if (strcmp(idx, "2") == 0 && !*failed_once) {
                *failed_once = 1; /* this process's copy: the script is one process */
                send_snapshot(fd, 400,
                              "upload attempt failed, resend from chunk 0 to retry: the storage "
                              "went away",
                              "failed_retriable");
            } else {
                send_snapshot(fd, 200, "success", "receiving");
            }
        } else if (strcmp(q.target, "/api/fs/multipart/complete") == 0) {
            th_script_report("C ");
            send_snapshot(fd, 200, "success", "completed");
        } else {
            th_script_report("? %s ", q.target);
            send_snapshot(fd, 404, "not here", "");
        }
    }
}

/*
 * OL: a failed_retriable session wants the file again from chunk 0 (session.go Chunk), found by
 * status (then nothing is skipped, and chunk 0 goes before the rest) or told by a chunk's
 * answer mid-way (then the whole file goes again, under --retry).
 */
START_TEST(failed_retriable_sends_again_from_chunk_0)
{
    th_env_init(&env);
    const char *src = source("r.bin", 3 * CHUNK, 22);
    th_script s;
    char report[512];
    th_run r;
    int failed_once = 0;
    ck_assert_int_eq(th_script_start(&s, serve_retriable, &failed_once, 4), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s.port);
    int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", "--retry", "1",
                       "-v", NULL);
    th_script_stop(&s, report, sizeof report, 2000);
    ck_assert_msg(st == 0, "exit %d: %s", st, tail(r.err));
    ck_assert_str_eq(report, "S 0 1 2 0 1 2 C ");
    ck_assert_msg(strstr(r.err, "the storage went away") != NULL, "%s", tail(r.err));

    /* Without a retry left, the stop keeps the session: exit 13. */
    failed_once = 0;
    ck_assert_int_eq(th_script_start(&s, serve_retriable, &failed_once, 4), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/fs/put", s.port);
    st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", NULL);
    th_script_stop(&s, report, sizeof report, 2000);
    ck_assert_msg(st == EXIT_INCOMPLETE, "exit %d: %s", st, tail(r.err));
    ck_assert_str_eq(report, "S 0 1 2 ");
    th_env_free(&env);
}
END_TEST

/* Uploads size bytes to remote over one lane with --retry 3 and asserts exit 12 with want in
 * the message: a session that ended is not retried. */
static void assert_session_ends(uint64_t size, const char *remote, const char *want)
{
    th_run r;
    const char *src = source("src.bin", size, (uint32_t)size);
    int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "1", "--retry", "3",
                       "-p", remote, NULL);
    ck_assert_msg(st == EXIT_SESSION, "exit %d: %s", st, tail(r.err));
    ck_assert_msg(strstr(r.err, want) != NULL, "no '%s' in: %s", want, tail(r.err));
}

/* A session the server dropped (then code 404) is exit 12 with the server's words. */
START_TEST(dropped_session_is_its_own_exit_code)
{
    start_mock("--fault", "drop-after=1", NULL, NULL);
    assert_session_ends(6 * CHUNK, "/src.bin", "multipart upload session not found");
    stop_mock();
}
END_TEST

/* A session whose store failed for good (the target is a directory that cannot be replaced) is
 * exit 12 with the session's state and error. */
START_TEST(failed_permanent_session_is_its_own_exit_code)
{
    start_mock(NULL, NULL, NULL, NULL);
    ck_assert_int_eq(mkdir(th_path(env.root, "taken"), 0755), 0);
    ck_assert_int_eq(th_write_random(th_path(env.root, "taken/keep"), 10, 1), 0);
    assert_session_ends(2 * CHUNK, "/taken", "(failed_permanent)");
    stop_mock();
}
END_TEST

/* Behind a limit on request bodies (3 MiB) one PUT of 10 MiB is refused; chunks pass. */
START_TEST(max_body_refuses_the_put_and_passes_the_chunks)
{
    start_mock("--max-body", "3M", NULL, NULL);
    th_run r;
    const char *src = source("src.bin", 10 * CHUNK, 10);
    ck_assert_int_eq(mp_client(&r, src, "--multipart", "never", NULL), EXIT_API);
    ck_assert(!th_exists(th_path(env.root, "src.bin")));
    int st = mp_client(&r, src, "--multipart-threshold", "3M", NULL);
    ck_assert_msg(st == 0, "exit %d: %s", st, tail(r.err));
    th_assert_stored(env.root, "/src.bin", src);
    stop_mock();
}
END_TEST

/* Waits until the journal holds at least want chunks answered 200; returns how many it holds. */
static int wait_chunks_ok(int want, int timeout_ms)
{
    mp_log g;
    for (int64_t end = th_now_ms() + timeout_ms;; th_sleep_ms(20)) {
        read_log_once(0, &g); /* while the upload goes on: it never settles */
        if (g.chunks_ok >= want || th_now_ms() >= end)
            return g.chunks_ok;
    }
}

/* Starts the client in the background on src, slowed down so that it can be stopped midway. */
static void start_slow(th_proc *p, const char *src, const char *lanes)
{
    ck_assert_int_eq(th_proc_client(p, 0, "--no-progress", "--multipart", "always",
                                    "--multipart-chunk-size", "1M", "--parallel-chunks", lanes,
                                    "--limit-rate", "4M", (char *)src, url, NULL),
                     0);
}

/*
 * SIGKILL at about half of 16 MiB, then the same command: it finds the session, skips what the
 * server holds and sends at most the rest plus one chunk per lane (those cut off in flight).
 */
START_TEST(sigkill_then_rerun_resumes)
{
    start_mock(NULL, NULL, NULL, NULL);
    int threads0 = th_proc_threads(mock.pid);
    const int total = 16, lanes = 4;
    const char *src = source("src.bin", (uint64_t)total * CHUNK, 11);
    th_proc p;
    th_run r;
    mp_log g;
    start_slow(&p, src, "4");
    ck_assert_int_ge(wait_chunks_ok(total / 2, 20000), total / 2);
    kill(p.pid, SIGKILL);
    th_proc_wait(&p, &r, 5000);
    ck_assert_int_eq(r.status, 128 + SIGKILL);
    /* The chunks cut off are journaled once the mock is done with them, before their
     * connections' threads end: a chunk journaled only after the read below would count as the
     * rerun's. */
    ck_assert_int_le(th_wait_probe(th_proc_threads, mock.pid, threads0, 0, 10000), threads0);
    read_log(0, &g);
    int held = 0;
    for (int i = 0; i < total; i++)
        held += g.ok[i];
    ck_assert_msg(held >= total / 2 && held < total, "held %d", held);
    mp_log first = g;

    int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "4", NULL);
    ck_assert_msg(st == 0, "rerun: exit %d: %s", st, tail(r.err));
    th_assert_stored(env.root, "/src.bin", src);
    read_log(first.entries, &g);
    ck_assert_str_eq(g.id, first.id);
    ck_assert_int_eq(g.inits, 0);
    long long remaining = (long long)(total - held) * CHUNK;
    ck_assert_msg(g.bytes <= remaining + (long long)lanes * CHUNK,
                  "the rerun sent %lld bytes; %lld were missing", g.bytes, remaining);
    for (int i = 0; i < total; i++)
        ck_assert_msg(!(first.ok[i] && g.ok[i]), "chunk %d was held and sent again", i);
    char line[96];
    snprintf(line, sizeof line, "%d chunks sent, %d already on the server, of %d", total - held,
             held, total);
    ck_assert_msg(strstr(r.err, line) != NULL, "want '%s' in: %s", line, tail(r.err));
    fprintf(stderr,
            "multipart resume: killed with %d of %d chunks held (%d chunk requests, %lld bytes); "
            "the rerun: %d status, %d inits, %d chunk requests, %lld bytes (%lld missing, bound "
            "%lld), %d completes\n",
            held, total, first.chunks, first.bytes, g.status, g.inits, g.chunks, g.bytes, remaining,
            remaining + (long long)lanes * CHUNK, g.completes);
    stop_mock();
}
END_TEST

/* Ctrl-C: the lanes stop, the session stays, and the message names it and what it holds. */
START_TEST(ctrl_c_names_the_session_to_resume)
{
    start_mock(NULL, NULL, NULL, NULL);
    const char *src = source("src.bin", 16 * CHUNK, 12);
    th_proc p;
    th_run r;
    mp_log g;
    start_slow(&p, src, "2");
    ck_assert_int_ge(wait_chunks_ok(3, 20000), 3);
    kill(p.pid, SIGINT);
    th_proc_wait(&p, &r, 10000);
    ck_assert_msg(r.status == EXIT_CANCEL, "exit %d: %s", r.status, tail(r.err));
    read_log(0, &g);
    char want[160];
    snprintf(want, sizeof want, "; session %s holds ", g.id);
    ck_assert_msg(strstr(r.err, "streamput: interrupted after sending ") != NULL &&
                      strstr(r.err, want) != NULL &&
                      strstr(r.err, " of 16777216 bytes; run the same command again to resume") !=
                          NULL,
                  "%s", tail(r.err));
    ck_assert_int_eq(mp_client(&r, src, "--multipart", "always", NULL), 0);
    th_assert_stored(env.root, "/src.bin", src);
    stop_mock();
}
END_TEST

/* Standard input with --size: one lane, chunks in order from chunk 0; -v says it cannot
 * resume. */
START_TEST(stdin_with_size_goes_in_chunks)
{
    start_mock(NULL, NULL, NULL, NULL);
    const char *src = source("src.bin", 3 * CHUNK + 17, 13);
    th_run r;
    mp_log g;
    char size[32];
    snprintf(size, sizeof size, "%d", 3 * CHUNK + 17);
    char *argv[] = {TH_BIN_DIR "/streamput",
                    "--no-progress",
                    "-v",
                    "--multipart",
                    "always",
                    "--multipart-chunk-size",
                    "1M",
                    "--size",
                    size,
                    "-p",
                    "/stdin.bin",
                    "-",
                    url,
                    NULL};
    th_run_piped(&r, argv, src, th_path(env.dir, "stdin.fifo"), 60000);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, tail(r.err));
    th_assert_stored(env.root, "/stdin.bin", src);
    read_log(0, &g);
    ck_assert_int_eq(g.status, 0); /* nothing to resume: init at once */
    ck_assert_int_eq(g.chunks, 4);
    ck_assert_msg(strstr(r.err, "a stream cannot be resumed") != NULL, "%s", tail(r.err));
    stop_mock();
}
END_TEST

#ifdef TH_HAVE_TLS
/* Over https:// each lane has its own TLS connection; the store is byte-exact. */
START_TEST(byte_exact_over_tls)
{
    char cert[4200];
    th_env_init(&env);
    snprintf(cert, sizeof cert, "%s/cert.pem", env.dir);
    ck_assert_int_eq(
        th_mock_start(&mock, env.root, "--tls-self-signed", "--tls-cert-out", cert, NULL), 0);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    const char *src = source("src.bin", 5 * CHUNK + 1, 14);
    th_run r;
    int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", "3", "--cacert", cert,
                       NULL);
    ck_assert_msg(st == 0, "exit %d: %s", st, tail(r.err));
    th_assert_stored(env.root, "/src.bin", src);
    /* The journal is served over TLS too: the client's own count tells. */
    ck_assert_msg(strstr(r.err, "6 chunks sent, 0 already on the server, of 6") != NULL, "%s",
                  tail(r.err));
    stop_mock();
}
END_TEST
#endif

static long info_long(sp_client *c, sp_info what)
{
    long v = -1;
    ck_assert_int_eq(sp_getinfo(c, what, &v), SP_OK);
    return v;
}

/* The library: the setters' bounds, and sp_getinfo's session figures for a fresh and a resumed
 * upload. */
START_TEST(library_reports_the_session)
{
    start_mock("--fault", "chunk-fail=3", NULL, NULL);
    const char *src = source("src.bin", 5 * CHUNK, 15);
    sp_client *c = sp_client_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(sp_set_parallel_chunks(c, 0), SP_EINVAL);
    ck_assert_int_eq(sp_set_parallel_chunks(c, 9), SP_EINVAL);
    ck_assert_int_eq(sp_set_multipart(c, (sp_multipart)7), SP_EINVAL);
    ck_assert_int_eq(sp_set_parallel_chunks(c, 1), SP_OK);
    ck_assert_int_eq(sp_set_multipart(c, SP_MULTIPART_AUTO), SP_OK);
    ck_assert_int_eq(sp_set_multipart_threshold(c, 4 * CHUNK), SP_OK);
    ck_assert_int_eq(sp_set_multipart_chunk_size(c, CHUNK), SP_OK);
    ck_assert_int_eq(sp_set_remote_path(c, "/lib.bin"), SP_OK);
    ck_assert_int_eq(sp_put_file(c, src, url), SP_EINCOMPLETE);
    const char *id = NULL;
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_UPLOAD_ID, &id), SP_OK);
    ck_assert_int_eq((int)strlen(id), 36);
    char first[64];
    snprintf(first, sizeof first, "%s", id);
    ck_assert_int_eq(info_long(c, SP_INFO_CHUNKS_TOTAL), 5);
    ck_assert_int_eq(info_long(c, SP_INFO_CHUNKS_SENT), 3);
    uint64_t held = 0;
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_BYTES_HELD, &held), SP_OK);
    ck_assert_uint_eq(held, 3 * CHUNK);
    ck_assert_msg(strstr(sp_errmsg(c), first) != NULL, "%s", sp_errmsg(c));

    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_UPLOAD_ID, &id), SP_OK);
    ck_assert_str_eq(id, first);
    ck_assert_int_eq(info_long(c, SP_INFO_CHUNKS_SKIPPED), 3);
    ck_assert_int_eq(info_long(c, SP_INFO_CHUNKS_SENT), 2);
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_BYTES_HELD, &held), SP_OK);
    ck_assert_uint_eq(held, 5 * CHUNK);
    th_assert_stored(env.root, "/lib.bin", src);

    /* A single PUT has no session. */
    ck_assert_int_eq(sp_set_multipart(c, SP_MULTIPART_NEVER), SP_OK);
    ck_assert_int_eq(sp_put_file(c, src, url), SP_OK);
    ck_assert_int_eq(sp_getinfo(c, SP_INFO_UPLOAD_ID, &id), SP_OK);
    ck_assert_str_eq(id, "");
    ck_assert_int_eq(info_long(c, SP_INFO_CHUNKS_TOTAL), 0);
    sp_client_free(c);
    stop_mock();
}
END_TEST

/*
 * A lane is one kept-alive connection, and the session's control requests (status, init,
 * complete) go over lane 0's (multipart.c control()): --parallel-chunks N uses at most N
 * connections, exactly N once every lane has had a chunk. A chunk-busy-ms fault makes sure of
 * that: every chunk sent in the first 300 ms is answered 429 and its lane keeps it, so each lane
 * started by then holds one; the retries stay on their lane's connection.
 */
START_TEST(each_lane_is_one_connection_and_control_shares_lane_0s)
{
    static const int lane_counts[] = {1, 4};
    const int n = lane_counts[_i], total = 12;
    char lanes[16];
    snprintf(lanes, sizeof lanes, "%d", n);
    for (int busy = 0; busy < 2; busy++) {
        start_mock(busy ? "--fault" : NULL, "chunk-busy-ms=300", NULL, NULL); /* NULL: no fault */
        th_run r;
        mp_log g;
        const char *src = source("src.bin", (uint64_t)total * CHUNK, 12);
        int st = mp_client(&r, src, "--multipart", "always", "--parallel-chunks", lanes, NULL);
        ck_assert_msg(st == 0, "%d lanes: exit %d: %s", n, st, tail(r.err));
        th_assert_stored(env.root, "/src.bin", src);
        read_log(0, &g);
        fprintf(stderr,
                "--parallel-chunks %d%s: %d connection(s) for %d requests, %d chunks on the "
                "control connection\n",
                n, busy ? " (chunk-busy-ms=300)" : "", g.conns, g.entries, g.ctl_chunks);
        ck_assert_int_eq(g.chunks_ok, total);
        if (busy)
            ck_assert_int_gt(g.chunks, total); /* the fault did answer 429 */
        ck_assert_msg(g.ctl > 0, "status, init and complete on more than one connection");
        ck_assert_int_gt(g.ctl_chunks, 0);
        if (busy || n == 1)
            ck_assert_int_eq(g.conns, n);
        else
            ck_assert_int_le(g.conns, n);
        stop_mock();
    }
}
END_TEST

/* A single PUT after a login goes over the login's connection: one connection in all. */
START_TEST(a_put_after_a_login_uses_the_logins_connection)
{
    start_mock("--user", "alice:secret", NULL, NULL);
    const char *src = source("src.bin", 64 * 1024, 13);
    char pw[4200];
    snprintf(pw, sizeof pw, "%s", th_path(env.dir, "pw"));
    ck_assert_int_eq(th_write_pattern(pw, "secret\n", 7, 7), 0);
    ck_assert_int_eq(chmod(pw, 0600), 0);
    th_run r;
    mp_log g;
    int st = mp_client(&r, src, "--multipart", "never", "-u", "alice", "--password-file", pw, NULL);
    ck_assert_msg(st == 0, "exit %d: %s", st, tail(r.err));
    th_assert_stored(env.root, "/src.bin", src);
    read_log(0, &g);
    cJSON *a = th_journal(mock.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 2);
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, 0), "path")),
        "/api/auth/login/hash");
    cJSON_Delete(a);
    ck_assert_int_eq(g.puts, 1);
    ck_assert_int_eq(g.conns, 1);
    stop_mock();
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("client_multipart");
    TCase *t = tcase_create("multipart");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, byte_exact_at_chunk_boundaries_for_each_lane_count, 0, 8);
    tcase_add_test(t, verbose_output_never_shows_the_token);
    tcase_add_test(t, auto_threshold_chooses_put_or_multipart);
    tcase_add_test(t, server_without_the_routes_gets_a_put);
    tcase_add_test(t, disabled_multipart_falls_back_to_put);
    tcase_add_test(t, failed_chunks_are_sent_again);
    tcase_add_test(t, busy_429_and_409_are_waited_out);
    tcase_add_test(t, retry_exhausted_keeps_the_session_for_a_rerun);
    tcase_add_test(t, digests_let_the_server_decide_the_resume);
    tcase_add_test(t, failed_retriable_sends_again_from_chunk_0);
    tcase_add_test(t, dropped_session_is_its_own_exit_code);
    tcase_add_test(t, failed_permanent_session_is_its_own_exit_code);
    tcase_add_test(t, max_body_refuses_the_put_and_passes_the_chunks);
    tcase_add_test(t, sigkill_then_rerun_resumes);
    tcase_add_test(t, ctrl_c_names_the_session_to_resume);
    tcase_add_test(t, stdin_with_size_goes_in_chunks);
#ifdef TH_HAVE_TLS
    tcase_add_test(t, byte_exact_over_tls);
#endif
    tcase_add_test(t, library_reports_the_session);
    tcase_add_loop_test(t, each_lane_is_one_connection_and_control_shares_lane_0s, 0, 2);
    tcase_add_test(t, a_put_after_a_login_uses_the_logins_connection);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
