/*
 * A batch upload (-r, --parallel 4, --keep-going) of a directory that changes while it goes:
 * files grow by appends, shrink by truncation or vanish, next to files that stay as they are,
 * with --limit-rate slowing each lane so the changes land mid-send. Each file must end either
 * stored whole, as a version of it that existed (for an append-only file, a prefix of what it
 * became; for a truncated one, a prefix of what it was), or reported failed in --summary-json and
 * not stored at all: never stored cut short. A file the client saw change under it is its exit
 * 3: "input ended after N of M bytes" when it ran out early, "the file changed while it was being
 * sent" when the size or modification time it finds before the last byte are not those it began
 * with (that also catches a file rewritten in place, which test_client_api checks byte for
 * byte). A file removed while it is sent still reads as the version opened, and is stored so.
 * Once as single PUTs, once in multipart chunks.
 *
 *   ctest --test-dir build -R test_hostile_batch          (about ten seconds)
 */
#include "th.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024
#define MIB (1024 * 1024)

#define EXIT_FILE 3

static th_env env;
static th_mock mock;

/* What happens to a file during the run. */
typedef enum change { STEADY, GROW, SHRINK, VANISH } change;

typedef struct tfile {
    char name[32];
    change what;
    char path[4200]; /* in the tree */
    char full[4200]; /* outside it: every version is a prefix of this */
    uint64_t size;   /* its size in the tree now (grow, shrink) */
} tfile;

typedef struct batch {
    tfile *files;
    int n;
    uint64_t initial, step; /* the files' first size; what a grow adds, a shrink removes */
    int64_t until_ms;       /* the mutator stops then */
    atomic_int appended, truncated, vanished;
} batch;

/* Appends bytes [from, from + n) of full to path. */
static void append_from(const char *full, const char *path, uint64_t from, uint64_t n)
{
    int in = open(full, O_RDONLY), out = open(path, O_WRONLY | O_APPEND);
    char *buf = malloc(n);
    if (in >= 0 && out >= 0 && buf != NULL && pread(in, buf, n, (off_t)from) == (ssize_t)n)
        (void)th_write_all(out, buf, n);
    free(buf);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
}

/* Changes the files every 60 ms until b->until_ms; vanishing ones go one by one. */
static void *mutate(void *arg)
{
    batch *b = arg;
    int gone = 0;
    for (int tick = 0; th_now_ms() < b->until_ms; tick++) {
        th_sleep_ms(60);
        for (int i = 0; i < b->n; i++) {
            tfile *f = &b->files[i];
            if (f->what == GROW) {
                append_from(f->full, f->path, f->size, b->step);
                f->size += b->step;
                atomic_fetch_add(&b->appended, 1);
            } else if (f->what == SHRINK && f->size >= b->step) {
                f->size -= b->step;
                if (truncate(f->path, (off_t)f->size) == 0)
                    atomic_fetch_add(&b->truncated, 1);
            } else if (f->what == VANISH && tick == 5 + 10 * gone && f->size != 0) {
                unlink(f->path);
                f->size = 0; /* marks it gone */
                gone++;
                atomic_fetch_add(&b->vanished, 1);
            }
        }
    }
    return NULL;
}

/* The reason --summary-json gives for remote, or NULL if it did not fail. */
static const char *failure_of(const cJSON *summary, const char *remote)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(summary, "failures"))
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
        if (p != NULL && strcmp(p, remote) == 0)
            return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "reason"));
    }
    return NULL;
}

/* 1 if the file at stored equals the first bytes of full (as many as it has). */
static int is_prefix_of(const char *stored, const char *full, uint64_t *len)
{
    struct stat st;
    ck_assert_int_eq(stat(stored, &st), 0);
    *len = (uint64_t)st.st_size;
    const char *p = th_path(env.dir, "prefix.tmp");
    if (th_copy_prefix(full, p, *len) < 0)
        return 0;
    int eq = th_files_equal(stored, p) == 1;
    unlink(p);
    return eq;
}

/*
 * Makes a tree of `per` files of each kind, `initial` bytes each, uploads it with up to six
 * extra client arguments (NULL-terminated) while the mutator changes it by `step` bytes every
 * 60 ms for mutate_ms, and checks every file's outcome.
 */
static void run_batch(int per, uint64_t initial, uint64_t step, int mutate_ms, const char *a1,
                      const char *a2, const char *a3, const char *a4, const char *a5,
                      const char *a6)
{
    th_run r;
    const char *tree = th_path(env.dir, "tree");
    char treedir[4096], json[4096], url[192];
    snprintf(treedir, sizeof treedir, "%s", tree);
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    ck_assert_int_eq(mkdir(treedir, 0755), 0);
    int n = 4 * per;
    tfile *files = calloc((size_t)n, sizeof *files);
    ck_assert_ptr_nonnull(files);
    static const char *const kind[] = {"steady", "grow", "shrink", "vanish"};
    for (int i = 0; i < n; i++) {
        tfile *f = &files[i];
        f->what = (change)(i % 4);
        snprintf(f->name, sizeof f->name, "%s%d", kind[f->what], i / 4);
        snprintf(f->path, sizeof f->path, "%.4000s/%s", treedir, f->name);
        snprintf(f->full, sizeof f->full, "%.4000s.full", th_path(env.dir, f->name));
        uint64_t full = f->what == GROW ? initial + 200 * step : initial;
        ck_assert_int_eq(th_write_random(f->full, full, (uint32_t)i + 1), 0);
        ck_assert_int_eq(th_copy_prefix(f->full, f->path, initial), 0);
        f->size = initial;
    }
    batch b = {.files = files,
               .n = n,
               .initial = initial,
               .step = step,
               .until_ms = th_now_ms() + mutate_ms};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, mutate, &b), 0);
    char *argv[24] = {TH_BIN_DIR "/streamput", "-s", "-r", "--keep-going", "--parallel", "4",
                      "--summary-json",        json};
    int k = 8;
    const char *extra[] = {a1, a2, a3, a4, a5, a6};
    for (int i = 0; i < 6 && extra[i] != NULL; i++)
        argv[k++] = (char *)extra[i];
    argv[k++] = treedir;
    argv[k++] = url;
    argv[k] = NULL;
    th_run_argv(&r, argv, NULL, 120000);
    pthread_join(th, NULL);

    FILE *jf = fopen(json, "r");
    ck_assert_ptr_nonnull(jf);
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, jf);
    fclose(jf);
    text[len] = '\0';
    cJSON *summary = cJSON_Parse(text);
    ck_assert_msg(summary != NULL, "summary: %s", text);
    int failed = 0, shrank = 0, grew_meanwhile = 0;
    for (int i = 0; i < n; i++) {
        tfile *f = &files[i];
        char remote[128];
        snprintf(remote, sizeof remote, "/tree/%s", f->name);
        const char *why = failure_of(summary, remote);
        const char *at = th_path(env.root, remote + 1);
        uint64_t got = 0;
        if (why != NULL) {
            failed++;
            /* Caught changing: cut short as it was read, or found changed before the last
             * byte. */
            int caught = strstr(why, "input ended after") != NULL ||
                         strstr(why, "changed while it was being sent") != NULL;
            shrank += caught && f->what == SHRINK;
            grew_meanwhile += caught && f->what == GROW;
            ck_assert_msg(!th_exists(at), "%s failed (%s) but is stored", remote, why);
            ck_assert_msg(f->what != STEADY, "%s failed: %s", remote, why);
            fprintf(stderr, "  %-10s failed: %s\n", f->name, why);
            continue;
        }
        if (!th_exists(at)) {
            /* Neither stored nor failed: only a file gone before the walk came to it. */
            ck_assert_msg(f->what == VANISH, "%s neither stored nor reported", remote);
            fprintf(stderr, "  %-10s gone before the walk\n", f->name);
            continue;
        }
        ck_assert_msg(is_prefix_of(at, f->full, &got), "%s is stored as no version of it", remote);
        if (f->what == STEADY || f->what == VANISH)
            ck_assert_msg(got == initial, "%s stored %llu of %llu bytes", remote,
                          (unsigned long long)got, (unsigned long long)initial);
        else if (f->what == GROW)
            ck_assert_uint_ge(got, initial);
        else
            ck_assert_uint_le(got, initial);
        /* Stored shorter than it became: it grew while it was sent, and the prefix went. */
        grew_meanwhile += f->what == GROW && got < f->size;
        fprintf(stderr, "  %-10s stored %llu bytes\n", f->name, (unsigned long long)got);
    }
    fprintf(stderr,
            "  exit %d in %.2f s; %d failed (%d shrank), %d grew while sent; %d appends, %d "
            "truncations, %d unlinks during the run\n",
            r.status, r.seconds, failed, shrank, grew_meanwhile, atomic_load(&b.appended),
            atomic_load(&b.truncated), atomic_load(&b.vanished));
    const cJSON *nf = cJSON_GetObjectItemCaseSensitive(summary, "files_failed");
    ck_assert(cJSON_IsNumber(nf) && (int)nf->valuedouble == failed);
    ck_assert_int_eq(r.status, failed > 0 ? EXIT_FILE : 0);
    /* The changes did land mid-send: a file was caught shrinking, and one growing (stored as
     * the prefix it had when opened, or failed as changed). */
    ck_assert_int_gt(shrank, 0);
    ck_assert_int_gt(grew_meanwhile, 0);
    cJSON_Delete(summary);
    free(files);
}

START_TEST(a_changing_tree_is_stored_whole_or_reported_as_single_puts)
{
    th_env_up(&env, &mock, NULL, NULL);
    /* 4 lanes at 1 MiB/s each: 1 MiB takes about a second, the tree of 12 three rounds. */
    run_batch(3, MIB, 32 * KIB, 2500, "--limit-rate", "1M", NULL, NULL, NULL, NULL);
    th_assert_no_temps(env.root);
    th_env_down(&env, &mock);
}
END_TEST

START_TEST(a_changing_tree_is_stored_whole_or_reported_in_chunks)
{
    th_env_up(&env, &mock, "--multipart-chunk-size", "1M");
    /* 3 MiB files in 1 MiB chunks, one lane each at 1 MiB/s: three seconds a file. */
    run_batch(1, 3 * MIB, 128 * KIB, 2500, "--multipart", "always", "--parallel-chunks", "1",
              "--limit-rate", "1M");
    th_env_down(&env, &mock);
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    Suite *s = suite_create("hostile_batch");
    TCase *t = tcase_create("batch");
    tcase_set_timeout(t, 150);
    tcase_add_test(t, a_changing_tree_is_stored_whole_or_reported_as_single_puts);
    tcase_add_test(t, a_changing_tree_is_stored_whole_or_reported_in_chunks);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
