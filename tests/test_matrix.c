/*
 * The byte-exact matrix: the real streamput uploads to the real streamput-mock on 127.0.0.1 port
 * 0, and every stored copy is compared with its source by content and by SHA-256.
 *
 *   sizes       0, 1, 1023, 1024, 1025, chunk-1, chunk, chunk+1, 16 MiB+7, four sizes drawn
 *               from a fixed seed
 *   engines     rw, sendfile, and chunked encoding from a real pipe (FILE "-", stdin a FIFO fed
 *               in uneven writes)
 *   chunk sizes 1 KiB, 64 KiB, 1 MiB
 *
 * A second table sends content made to look like HTTP framing (all zeros, all 0xFF, CRLF CRLF,
 * the last-chunk marker "0\r\n\r\n", chunk-size lines, multipart boundary lines) through every
 * engine and chunk size, so that a body byte taken for framing shows up as a difference.
 *
 * Run as "test_matrix --large" (ctest's test_matrix_large, label slow) it uploads 4 GiB + 7 bytes
 * through each engine instead.
 * The mock and the source files are set up once per test case (Check tcase), not per upload.
 */
#include "th.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

enum engine { ENG_RW, ENG_SENDFILE, ENG_CHUNKED, NENGINES };
static const char *const engine_names[NENGINES] = {"rw", "sendfile", "chunked"};

static const uint64_t chunk_sizes[] = {KIB, 64 * KIB, MIB};
#define NCHUNKS (sizeof chunk_sizes / sizeof chunk_sizes[0])

/* One upload of the matrix: which source, through which engine, with which chunk size. */
typedef struct mcase {
    uint64_t size;
    uint64_t chunk;
    enum engine engine;
    int content; /* index into contents[], or -1 for random bytes */
} mcase;

#define MAX_CASES 256
static mcase cases[MAX_CASES];
static int ncases;

/* Content that looks like framing. Each pattern repeats to fill the file. */
typedef struct content {
    const char *name;
    const char *bytes;
    size_t len;
} content;

#define C(name, lit)                                                                               \
    {                                                                                              \
        name, lit, sizeof lit - 1                                                                  \
    }
static const content contents[] = {
    C("zeros", "\0"),
    C("ones", "\xff"),
    C("crlfcrlf", "GET / HTTP/1.1\r\nHost: x\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
    C("last_chunk", "0\r\n\r\n"),
    C("chunk_lines", "400\r\n\r\nffffffff\r\n0;ext=1\r\n\r\n"),
    C("boundary", "--boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n--boundary--\r\n"),
};
#undef C
#define NCONTENTS (sizeof contents / sizeof contents[0])

static char *dir;  /* sources, FIFOs */
static char *root; /* the mock's --root */
static th_mock mock;
static char url[192];

/* Human-readable chunk size for messages and for -c: "1K", "64K", "1M". */
static const char *chunk_arg(uint64_t chunk)
{
    static char buf[4][24];
    static unsigned n;
    char *b = buf[n++ % 4];
    if (chunk % MIB == 0)
        snprintf(b, sizeof buf[0], "%lluM", (unsigned long long)(chunk / MIB));
    else
        snprintf(b, sizeof buf[0], "%lluK", (unsigned long long)(chunk / KIB));
    return b;
}

/* The source file for a case: one per distinct (content, size), written once by the fixture. */
static const char *source_name(const mcase *c)
{
    static char name[96];
    if (c->content < 0)
        snprintf(name, sizeof name, "random-%llu.bin", (unsigned long long)c->size);
    else
        snprintf(name, sizeof name, "%s-%llu.bin", contents[c->content].name,
                 (unsigned long long)c->size);
    return name;
}

static int write_source(const mcase *c, const char *path)
{
    if (th_exists(path))
        return 0;
    if (c->content < 0)
        return th_write_random(path, c->size, (uint32_t)(c->size * 2654435761u) + 1);
    return th_write_pattern(path, contents[c->content].bytes, contents[c->content].len, c->size);
}

static void add_case(uint64_t size, uint64_t chunk, enum engine e, int kind)
{
    for (int i = 0; i < ncases; i++)
        if (cases[i].size == size && cases[i].chunk == chunk && cases[i].engine == e &&
            cases[i].content == kind)
            return; /* chunk-1 = 1023 for 1 KiB chunks: one upload is enough */
    if (ncases == MAX_CASES) {
        fprintf(stderr, "test_matrix: MAX_CASES too small\n");
        exit(2);
    }
    cases[ncases++] = (mcase){size, chunk, e, kind};
}

/* xorshift32, so the "random" sizes are the same on every run and every machine. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

#define MATRIX_SEED 0x5eed2026u
#define NRANDOM     4

/* Fills cases[]: the size matrix first, then the framing-content table. Returns the split. */
static int build_cases(void)
{
    uint64_t random_sizes[NRANDOM];
    uint32_t seed = MATRIX_SEED;
    for (int i = 0; i < NRANDOM; i++)
        random_sizes[i] = next_rand(&seed) % (3 * MIB); /* up to 3 MiB: several 1 MiB chunks */
    for (size_t k = 0; k < NCHUNKS; k++) {
        uint64_t c = chunk_sizes[k];
        const uint64_t fixed[] = {0, 1, 1023, 1024, 1025, c - 1, c, c + 1, 16 * MIB + 7};
        for (int e = 0; e < NENGINES; e++) {
            for (size_t s = 0; s < sizeof fixed / sizeof fixed[0]; s++)
                add_case(fixed[s], c, (enum engine)e, -1);
            for (size_t s = 0; s < NRANDOM; s++)
                add_case(random_sizes[s], c, (enum engine)e, -1);
        }
    }
    int first_content = ncases;
    for (size_t k = 0; k < NCHUNKS; k++)
        for (int e = 0; e < NENGINES; e++)
            for (size_t p = 0; p < NCONTENTS; p++)
                add_case(3 * chunk_sizes[k] + 5, chunk_sizes[k], (enum engine)e, (int)p);
    return first_content;
}

static void fixture_up(int first, int last)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    root = strdup(th_path(dir, "root"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    for (int i = first; i < last; i++) {
        const char *src = th_path(dir, source_name(&cases[i]));
        ck_assert_msg(write_source(&cases[i], src) == 0, "cannot write %s", src);
    }
    ck_assert_int_eq(th_mock_start(&mock, root, NULL), 0);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
}

static int split;

static void sizes_up(void)
{
    fixture_up(0, split);
}

static void content_up(void)
{
    fixture_up(split, ncases);
}

static void fixture_down(void)
{
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    free(root);
    root = NULL;
    th_rmtree(dir);
    dir = NULL;
}

/*
 * The verdict on one stored copy, without asserting, so the negative controls can show that it
 * fails: 0 if stored matches src in size, content and SHA-256; otherwise -1 with why filled.
 */
static int verify_copy(const char *src, const char *stored, char *why, size_t whysz)
{
    struct stat ss, st;
    char h1[65], h2[65];
    if (stat(src, &ss) < 0 || stat(stored, &st) < 0) {
        snprintf(why, whysz, "missing: %s", th_exists(src) ? stored : src);
        return -1;
    }
    if (st.st_size != ss.st_size) {
        snprintf(why, whysz, "stored %lld bytes, source has %lld", (long long)st.st_size,
                 (long long)ss.st_size);
        return -1;
    }
    if (th_files_equal(src, stored) != 1) {
        snprintf(why, whysz, "same size, different content");
        return -1;
    }
    if (th_sha256_file(src, h1) < 0 || th_sha256_file(stored, h2) < 0 || strcmp(h1, h2) != 0) {
        snprintf(why, whysz, "SHA-256 differs");
        return -1;
    }
    return 0;
}

/* Runs the client on src (or on a pipe fed from it) and returns its outcome in *r. */
static void upload(th_run *r, const char *src, const char *remote, enum engine engine,
                   uint64_t chunk, const char *size_opt, int timeout_ms)
{
    const char *eng = engine == ENG_CHUNKED ? "rw" : engine_names[engine];
    char *argv[18];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput";
    argv[n++] = "-s";
    argv[n++] = "--multipart"; /* the engines of one PUT, at every size (test_client_multipart */
    argv[n++] = "never";       /* has the chunks) */
    argv[n++] = "-e";
    argv[n++] = (char *)eng;
    argv[n++] = "-c";
    argv[n++] = (char *)chunk_arg(chunk);
    argv[n++] = "-p";
    argv[n++] = (char *)remote;
    if (size_opt != NULL) {
        argv[n++] = "--size";
        argv[n++] = (char *)size_opt;
    }
    argv[n++] = engine == ENG_CHUNKED ? "-" : (char *)src;
    argv[n++] = url;
    argv[n] = NULL;
    if (engine == ENG_CHUNKED)
        th_run_piped(r, argv, src, th_path(dir, "stdin.fifo"), timeout_ms);
    else
        th_run_argv(r, argv, NULL, timeout_ms);
    th_mock_drain_log(&mock);
}

/*
 * Uploads src through engine with chunk size chunk to remote (an absolute File-Path) and checks
 * the stored copy; what identifies the case goes in every message.
 */
static void upload_and_verify(const char *src, const char *remote, enum engine engine,
                              uint64_t chunk, const char *label, int timeout_ms)
{
    static th_run r;
    upload(&r, src, remote, engine, chunk, NULL, timeout_ms);
    ck_assert_msg(!r.timed_out, "%s: client killed after %d ms", label, timeout_ms);
    ck_assert_msg(r.status == 0, "%s: exit %d: %s", label, r.status, r.err);
    ck_assert_msg(r.err[0] == '\0', "%s: -s but stderr says: %s", label, r.err);

    const char *stored = th_path(root, remote + 1);
    char why[256];
    ck_assert_msg(verify_copy(src, stored, why, sizeof why) == 0, "%s: %s", label, why);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", stored);
    *strrchr(parent, '/') = '\0';
    ck_assert_msg(th_count_prefix(parent, TH_TMP_PREFIX) == 0, "%s: temp file left", label);
    unlink(stored); /* keep the disk footprint to one copy at a time */
}

static void run_case(int i)
{
    const mcase *c = &cases[i];
    char label[160], remote[160];
    snprintf(label, sizeof label, "engine %s, chunk %s, %s size %llu", engine_names[c->engine],
             chunk_arg(c->chunk), c->content < 0 ? "random" : contents[c->content].name,
             (unsigned long long)c->size);
    snprintf(remote, sizeof remote, "/m/%s-%s-%s", engine_names[c->engine], chunk_arg(c->chunk),
             source_name(c));
    upload_and_verify(th_path(dir, source_name(c)), remote, c->engine, c->chunk, label, 240000);
}

START_TEST(sizes_arrive_byte_exact)
{
    run_case(_i);
}
END_TEST

START_TEST(framing_lookalike_content_arrives_byte_exact)
{
    run_case(split + _i);
}
END_TEST

/*
 * The verdict must be able to fail on what real transfer bugs produce. A copy one byte short is
 * made by a real upload (--size one less than the file); a copy with a chunk-size line left in
 * the middle, and one with a single byte changed, are made by hand.
 */
START_TEST(negative_control_short_framed_and_altered_copies_are_caught)
{
    const mcase c = {64 * KIB + 1, 64 * KIB, ENG_RW, -1};
    const char *src = th_path(dir, source_name(&c));
    const char *stored = th_path(root, "neg/short.bin");
    char why[256];
    static th_run r;
    /* A real upload of a copy one byte short, as a client that drops the tail would store. */
    const char *shorter = th_path(dir, "short-source.bin");
    ck_assert_int_eq(th_copy_prefix(src, shorter, c.size - 1), 0);
    upload(&r, shorter, "/neg/short.bin", ENG_RW, c.chunk, NULL, 60000);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(verify_copy(src, stored, why, sizeof why), -1);
    ck_assert_str_eq(why, "stored 65536 bytes, source has 65537");

    /* The same size, but with "400\r\n" where four body bytes were: a framing leak. */
    upload(&r, src, "/neg/framed.bin", ENG_RW, c.chunk, NULL, 60000);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    stored = th_path(root, "neg/framed.bin");
    ck_assert_int_eq(verify_copy(src, stored, why, sizeof why), 0);
    FILE *f = fopen(stored, "r+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 1024, SEEK_SET), 0);
    ck_assert_int_eq(fwrite("400\r\n", 1, 5, f), 5);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(verify_copy(src, stored, why, sizeof why), -1);
    ck_assert_str_eq(why, "same size, different content");

    /* A single flipped bit in the last byte. */
    upload(&r, src, "/neg/flipped.bin", ENG_SENDFILE, c.chunk, NULL, 60000);
    stored = th_path(root, "neg/flipped.bin");
    ck_assert_int_eq(verify_copy(src, stored, why, sizeof why), 0);
    f = fopen(stored, "r+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, -1, SEEK_END), 0);
    int last = fgetc(f);
    ck_assert_int_eq(fseek(f, -1, SEEK_END), 0);
    fputc(last ^ 0x01, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(verify_copy(src, stored, why, sizeof why), -1);
}
END_TEST

/*
 * 4 GiB + 7 bytes: past 2^32, so any 32-bit length, offset or counter shows. The content is a
 * 65521-byte random block repeated: 65521 is prime, so a dropped, doubled or reordered chunk of
 * any power-of-two size cannot line up with the pattern and go unseen.
 */
#define LARGE_SIZE (4096 * MIB + 7)

static void large_up(void)
{
    static char block[65521];
    uint32_t seed = MATRIX_SEED;
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)(next_rand(&seed) >> 24);
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    root = strdup(th_path(dir, "root"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    ck_assert_int_eq(th_write_pattern(th_path(dir, "large.bin"), block, sizeof block, LARGE_SIZE),
                     0);
    ck_assert_int_eq(th_mock_start(&mock, root, NULL), 0);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
}

START_TEST(four_gib_arrives_byte_exact)
{
    char label[96], remote[64];
    snprintf(label, sizeof label, "engine %s, chunk 1M, size %llu", engine_names[_i],
             (unsigned long long)LARGE_SIZE);
    snprintf(remote, sizeof remote, "/large/%s.bin", engine_names[_i]);
    upload_and_verify(th_path(dir, "large.bin"), remote, (enum engine)_i, MIB, label, 900000);
}
END_TEST

/* "test_matrix" runs the matrix; "test_matrix --large" only the 4 GiB uploads (label slow). */
int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int large = argc > 1 && strcmp(argv[1], "--large") == 0;
    Suite *s = suite_create(large ? "matrix_large" : "matrix");
    TCase *t;
    if (large) {
        t = tcase_create("large");
        tcase_add_unchecked_fixture(t, large_up, fixture_down);
        tcase_set_timeout(t, 1200);
        tcase_add_loop_test(t, four_gib_arrives_byte_exact, 0, NENGINES);
        suite_add_tcase(s, t);
        goto run;
    }
    split = build_cases();
    t = tcase_create("sizes");
    tcase_add_unchecked_fixture(t, sizes_up, fixture_down);
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, sizes_arrive_byte_exact, 0, split);
    tcase_add_test(t, negative_control_short_framed_and_altered_copies_are_caught);
    suite_add_tcase(s, t);

    t = tcase_create("framing_content");
    tcase_add_unchecked_fixture(t, content_up, fixture_down);
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, framing_lookalike_content_arrives_byte_exact, 0, ncases - split);
    suite_add_tcase(s, t);

run:;
    return th_run_suite(s);
}
