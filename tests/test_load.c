/*
 * streamput-mock under load, driven from threads over raw sockets (bounded and steady on two
 * cores, where hundreds of client processes would mostly measure fork): many concurrent uploads,
 * each of its own content, all byte-exact (SHA-256 while sending vs. the stored file) with the
 * mock's peak RSS printed; thousands of sequential small requests of every kind (success,
 * chunked, refused, aborted, malformed) without fd or memory growth; and writers racing on one
 * path, which leave exactly one whole body. The mock's access log is drained on a thread.
 *
 *   ctest --test-dir build -R test_load        CI size: 64 x 4 MiB at once, 1,000 sequential,
 *                                               16 racing writers of 4 MiB (~15 s)
 *   build/bin/test_load --large                label slow: 256 x 16 MiB at once, 10,000
 *                                               sequential, 64 racing writers of 16 MiB
 */
#include "th.h"

#include <check.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Allowed growth of the mock's VmRSS over the sequential requests, after a warm-up. Under
 * AddressSanitizer, freed memory waits in ASan's quarantine (256 MiB by default), so RSS climbs by
 * ~14 KiB a request without any leak; there LeakSanitizer, run at the mock's exit, is the check.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SEQ_RSS_LIMIT_KIB (-1L)
#else
#define SEQ_RSS_LIMIT_KIB 1024L
#endif

#define EXISTS "{\"code\":403,\"message\":\"file exists\",\"data\":null}"

static int large;
static th_env env;
static th_mock mock;
static th_drain drain;

static void setup(void)
{
    th_env_up(&env, &mock, "--journal", "100");
    th_drain_start(&drain, &mock);
}

static void teardown(void)
{
    th_drain_stop(&drain);
    th_env_down(&env, &mock);
}

/* ---- one uploader thread ---- */

typedef struct uploader {
    int port;
    char file_path[64];
    uint64_t size;
    uint64_t seed; /* the body: seed's own sequence of words, or all `fill` if seed is 0 */
    char fill;
    const char *extra;     /* more header lines, or "" */
    pthread_barrier_t *go; /* everyone has sent the head: bodies start together */
    char answer[256];      /* the JSON body of the answer, "" if none */
    char sha[65];          /* of the body as sent */
} uploader;

/* The body's bytes at offset off (a multiple of 8): distinct for every upload and position. */
static void fill_words(char *buf, size_t n, uint64_t seed, uint64_t off)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = (off + i + seed * 0x100000001b3ull) * 0x9e3779b97f4a7c15ull;
        x ^= x >> 29;
        memcpy(buf + i, &x, 8);
    }
}

static void *upload_one(void *arg)
{
    uploader *u = arg;
    enum { PIECE = 65536 };
    char *buf = malloc(PIECE);
    static __thread th_resp r;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char head[512];
    int n = snprintf(head, sizeof head,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "File-Path: %s\r\nContent-Length: %llu\r\n%s\r\n",
                     u->file_path, (unsigned long long)u->size, u->extra);
    int fd = th_connect(u->port);
    int ok = fd >= 0 && buf != NULL && ctx != NULL && th_send_all(fd, head, (size_t)n) == 0 &&
             EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    pthread_barrier_wait(u->go); /* always, or the others would wait forever */
    if (u->seed == 0 && buf != NULL)
        memset(buf, u->fill, PIECE);
    for (uint64_t off = 0; ok && off < u->size; off += PIECE) {
        size_t k = u->size - off < PIECE ? (size_t)(u->size - off) : PIECE;
        if (u->seed != 0)
            fill_words(buf, k, u->seed, off);
        EVP_DigestUpdate(ctx, buf, k);
        ok = th_send_all(fd, buf, k) == 0;
    }
    u->answer[0] = '\0';
    if (ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1) {
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(u->sha + 2 * i, 3, "%02x", md[i]);
        th_recv_resp(fd, &r, 120000);
        snprintf(u->answer, sizeof u->answer, "%s", r.body);
    }
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(ctx);
    free(buf);
    return NULL;
}

/*
 * Runs n uploaders at once: every head is sent, and the bodies start together only once the mock
 * holds all n uploads (a temp file each; up to 10 s). Returns how many it held at once.
 */
static int run_uploaders(uploader *u, int n)
{
    pthread_t *th = calloc((size_t)n, sizeof *th);
    pthread_barrier_t go;
    pthread_attr_t attr;
    ck_assert_ptr_nonnull(th);
    ck_assert_int_eq(pthread_barrier_init(&go, NULL, (unsigned)n + 1), 0);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (int i = 0; i < n; i++) {
        u[i].go = &go;
        ck_assert_int_eq(pthread_create(&th[i], &attr, upload_one, &u[i]), 0);
    }
    /* Wait for the mock to hold them all, so they race for real. */
    int held = 0;
    for (int64_t end = th_now_ms() + 10000; held < n && th_now_ms() < end; th_sleep_ms(5))
        held = th_count_files(env.root, TH_TMP_PREFIX);
    pthread_barrier_wait(&go);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&go);
    free(th);
    return held;
}

START_TEST(concurrent_uploads_are_byte_exact)
{
    int n = large ? 256 : 64;
    uint64_t size = large ? 16u << 20 : 4u << 20;
    uploader *u = calloc((size_t)n, sizeof *u);
    ck_assert_ptr_nonnull(u);
    for (int i = 0; i < n; i++) {
        u[i] = (uploader){.port = mock.port, .size = size, .seed = (uint64_t)i + 1, .extra = ""};
        snprintf(u[i].file_path, sizeof u[i].file_path, "/load/%03d.bin", i);
    }
    long hwm0 = th_vmhwm_kib(mock.pid);
    int64_t t0 = th_now_ms();
    int held = run_uploaders(u, n);
    double secs = (double)(th_now_ms() - t0) / 1000.0;
    long hwm = th_vmhwm_kib(mock.pid);
    fprintf(stderr,
            "load: %d concurrent uploads of %llu MiB in %.2f s (%.0f MiB/s), %d held at once; "
            "mock VmHWM %ld KiB before, %ld KiB after (+%ld KiB, %ld KiB per upload)\n",
            n, (unsigned long long)(size >> 20), secs, (double)n * (double)(size >> 20) / secs,
            held, hwm0, hwm, hwm - hwm0, (hwm - hwm0) / n);
    for (int i = 0; i < n; i++) {
        char got[65];
        const char *at = th_path(env.root, u[i].file_path + 1);
        ck_assert_msg(strcmp(u[i].answer, TH_SUCCESS) == 0, "upload %d: '%s'", i, u[i].answer);
        ck_assert_int_eq(th_sha256_file(at, got), 0);
        ck_assert_msg(strcmp(got, u[i].sha) == 0, "upload %d is not byte-exact", i);
        unlink(at);
    }
    /* Control: every upload really was in flight at once (one mock thread each). */
    ck_assert_int_ge(held, n);
    /* Memory: MHD's 512 KiB pool and a 256 KiB stack per connection, at most. */
    ck_assert_int_le(hwm - hwm0, (long)n * (512 + 256) + 8192);
    th_assert_no_temps(env.root);
    free(u);
}
END_TEST

/* ---- sequential requests of every kind ---- */

/* One small request of kind k (0..5); asserts the answer each kind must get. */
static void small_request(int i)
{
    static th_resp r;
    static char body[1024];
    char fp[64], h[128];
    memset(body, 'q', sizeof body);
    snprintf(fp, sizeof fp, "File-Path: /seq/%d.bin\r\n", i % 50);
    switch (i % 6) {
    case 0: /* Content-Length */
        ck_assert_int_eq(th_put(mock.port, "/api/fs/put", fp, body, sizeof body, 0, &r), 200);
        ck_assert_str_eq(r.body, TH_SUCCESS);
        break;
    case 1: /* chunked */
        ck_assert_int_eq(th_put(mock.port, "/api/fs/put", fp, body, sizeof body, 300, &r), 200);
        ck_assert_str_eq(r.body, TH_SUCCESS);
        break;
    case 2: /* refused before the body, which is drained */
        ck_assert_int_eq(
            th_put(mock.port, "/api/fs/put", "File-Path: ../x\r\n", body, sizeof body, 0, &r), 200);
        ck_assert_ptr_nonnull(strstr(r.body, "relative path"));
        break;
    case 3: { /* the client goes away mid-body */
        int fd = th_connect(mock.port);
        int n = snprintf(h, sizeof h,
                         "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\n%s"
                         "Content-Length: 5000\r\n\r\n",
                         fp);
        ck_assert_int_eq(th_send_all(fd, h, (size_t)n), 0);
        ck_assert_int_eq(th_send_all(fd, body, 100), 0);
        close(fd);
        break;
    }
    case 4: { /* malformed chunked framing */
        static const char bad[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /seq/bad\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\nzz\r\n";
        ck_assert_int_eq(th_raw(mock.port, bad, sizeof bad - 1, &r), 400);
        break;
    }
    default: /* Overwrite: false on a file that exists */
        snprintf(h, sizeof h, "File-Path: /seq/%d.bin\r\nOverwrite: false\r\n", (i - 5) % 50);
        ck_assert_int_eq(th_put(mock.port, "/api/fs/put", h, body, 10, 0, &r), 200);
        ck_assert_str_eq(r.body, EXISTS);
        break;
    }
}

/* Waits up to 5 s for the mock to be back to its idle thread count; returns the count. */
static int settle(int idle_threads)
{
    int t = -1;
    for (int64_t end = th_now_ms() + 5000; th_now_ms() < end; th_sleep_ms(10))
        if ((t = th_proc_threads(mock.pid)) <= idle_threads)
            break;
    th_sleep_ms(50); /* the listening thread closes what a finished connection thread left */
    return t;
}

START_TEST(sequential_requests_do_not_grow_fds_or_memory)
{
    int n = large ? 10000 : 1000, warm = 300;
    int idle = th_proc_threads(mock.pid);
    /* Warm-up: the journal ring (--journal 100) fills and malloc's arenas settle. */
    for (int i = 0; i < warm; i++)
        small_request(i);
    settle(idle);
    int fds0 = th_proc_fds(mock.pid);
    long rss0 = th_vmrss_kib(mock.pid);

    /* Control: the fd probe does see uploads in flight (socket, directory, temp file each). */
    int held[5];
    for (int i = 0; i < 5; i++) {
        char h[128];
        int k = snprintf(h, sizeof h,
                         "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /h/%d\r\n"
                         "Content-Length: 9\r\n\r\n",
                         i);
        held[i] = th_connect(mock.port);
        ck_assert_int_eq(th_send_all(held[i], h, (size_t)k), 0);
    }
    int fds_held = -1;
    for (int64_t end = th_now_ms() + 5000; th_now_ms() < end && fds_held < fds0 + 15;
         th_sleep_ms(10))
        fds_held = th_proc_fds(mock.pid);
    ck_assert_int_ge(fds_held, fds0 + 15);
    for (int i = 0; i < 5; i++)
        close(held[i]);
    settle(idle);
    ck_assert_int_eq(th_proc_fds(mock.pid), fds0);

    int64_t t0 = th_now_ms();
    for (int i = warm; i < warm + n; i++)
        small_request(i);
    double secs = (double)(th_now_ms() - t0) / 1000.0;
    int threads = settle(idle);
    int fds1 = th_proc_fds(mock.pid);
    long rss1 = th_vmrss_kib(mock.pid);
    fprintf(stderr,
            "sequential: %d requests in %.2f s (%.0f/s); mock fds %d -> %d, VmRSS %ld -> %ld KiB "
            "(%+ld), threads %d\n",
            n, secs, n / secs, fds0, fds1, rss0, rss1, rss1 - rss0, threads);
    ck_assert_int_eq(threads, idle);
    ck_assert_int_eq(fds1, fds0);
    if (SEQ_RSS_LIMIT_KIB >= 0)
        ck_assert_int_le(rss1 - rss0, SEQ_RSS_LIMIT_KIB);
    th_assert_no_temps(env.root);
}
END_TEST

/* ---- writers racing on one path ---- */

/*
 * The writer whose whole body the file at path is (each sent its own constant byte, and knows the
 * SHA-256 of what it sent), or -1: a mix of bodies, or a cut one, matches no writer.
 */
static int whole_body_of(const char *path, const uploader *u, int n)
{
    char got[65];
    if (th_sha256_file(path, got) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(got, u[i].sha) == 0)
            return i;
    return -1;
}

/* n writers of size bytes each to one path (each its own fill byte 'A' + i) with extra headers. */
static void race(uploader *u, int n, uint64_t size, const char *extra)
{
    for (int i = 0; i < n; i++) {
        u[i] = (uploader){.port = mock.port, .size = size, .fill = (char)('A' + i), .extra = extra};
        snprintf(u[i].file_path, sizeof u[i].file_path, "/race/target.bin");
    }
    ck_assert_int_ge(run_uploaders(u, n), n); /* all of them in flight at once */
}

START_TEST(racing_writers_leave_exactly_one_whole_body)
{
    int n = large ? 64 : 16, rounds = 3;
    uint64_t size = large ? 16u << 20 : 4u << 20;
    const char *target = th_path(env.root, "race/target.bin");
    uploader *u = calloc((size_t)n, sizeof *u);
    ck_assert_ptr_nonnull(u);
    for (int round = 0; round < rounds; round++) {
        race(u, n, size, "");
        for (int i = 0; i < n; i++)
            ck_assert_msg(strcmp(u[i].answer, TH_SUCCESS) == 0, "writer %d: %s", i, u[i].answer);
        ck_assert_msg(whole_body_of(target, u, n) >= 0,
                      "round %d: the target is not one whole body", round);
        th_assert_no_temps(env.root);
    }
    /* Overwrite: false: exactly one writer wins, every other gets "file exists", and the file is
     * the winner's body. */
    for (int round = 0; round < rounds; round++) {
        ck_assert_int_eq(unlink(target), 0);
        race(u, n, size, "Overwrite: false\r\n");
        int winner = -1;
        for (int i = 0; i < n; i++) {
            if (strcmp(u[i].answer, TH_SUCCESS) == 0) {
                ck_assert_msg(winner < 0, "writers %d and %d both won", winner, i);
                winner = i;
            } else {
                ck_assert_msg(strcmp(u[i].answer, EXISTS) == 0, "writer %d: %s", i, u[i].answer);
            }
        }
        ck_assert_int_ge(winner, 0);
        ck_assert_int_eq(whole_body_of(target, u, n), winner);
        th_assert_no_temps(env.root);
    }
    /* Negative control: one byte of another writer's body is caught. */
    FILE *f = fopen(target, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, (long)(size / 2), SEEK_SET);
    fputc('a', f);
    fclose(f);
    ck_assert_int_eq(whole_body_of(target, u, n), -1);
    free(u);
}
END_TEST

int main(int argc, char **argv)
{
    large = argc > 1 && strcmp(argv[1], "--large") == 0;
    Suite *s = suite_create("load");
    TCase *t = tcase_create("load");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, large ? 900 : 120);
    tcase_add_test(t, concurrent_uploads_are_byte_exact);
    tcase_add_test(t, sequential_requests_do_not_grow_fds_or_memory);
    tcase_add_test(t, racing_writers_leave_exactly_one_whole_body);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
