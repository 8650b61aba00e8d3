/*
 * streamput with several SOURCEs against streamput-mock: byte-exact trees (nested folders, an
 * empty one, names with spaces, '%', '+' and UTF-8, empty files) compared file by file with
 * sha256 over one lane and eight, rsync's trailing-slash rule, several single files, '-' among
 * files, links skipped or followed with -L, a fifo skipped with a warning, --keep-going against
 * a stop at the first failure and the first failure's exit code, Ctrl-C in a batch, kept
 * connections counted in the mock's journal, --summary-json, --skip-existing by size and (against
 * a scripted AList site that reports digests) by digest, a server that closes after every
 * answer, the URL-append form against a scripted plain PUT server, and the naming functions
 * themselves.
 */
#include "sp_common.h"
#include "th.h"
#include "tool.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The exit codes of client/src/tool.h, stated here as the promise --help makes. */
#define EXIT_USAGE  2
#define EXIT_FILE   3
#define EXIT_API    7
#define EXIT_CANCEL 10

static th_env env;
static th_mock mock;
static char url[192];

static void start_mock(const char *opt, const char *val)
{
    th_env_up(&env, &mock, opt, val);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
}

static void stop_mock(void)
{
    th_env_down(&env, &mock);
}

/*
 * Runs streamput --no-progress --parallel 1 with the NULL-terminated arguments (SOURCEs and URL
 * last): one file after another, which the tests of order and connections pin down; a later
 * --parallel among the arguments overrides it.
 */
static int many_args(th_run *r, char *const args[])
{
    char *argv[40];
    int n = 0;
    argv[n++] = TH_BIN_DIR "/streamput";
    argv[n++] = "--no-progress";
    argv[n++] = "--parallel";
    argv[n++] = "1";
    for (int i = 0; args[i] != NULL && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    th_run_argv(r, argv, NULL, 60000);
    ck_assert_msg(!r->timed_out, "streamput timed out: %s", r->err);
    return r->status;
}

/* many_args with the arguments as a NULL-terminated list. */
static int many(th_run *r, ...)
{
    char *args[36];
    va_list ap;
    va_start(ap, r);
    th_argv_va(args, 0, 36, ap);
    va_end(ap);
    return many_args(r, args);
}

/* Creates dir/name (and its parents) with size random bytes. */
static void make_file(const char *dir, const char *name, uint64_t size, uint32_t seed)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
        *s = '/';
    }
    ck_assert_int_eq(th_write_random(path, size, seed), 0);
}

/* Places a file of size random bytes (seed) at name under the mock's root, as if uploaded. */
static void on_server(const char *name, uint64_t size, uint32_t seed)
{
    make_file(env.root, name, size, seed);
}

/* Places a 5000-byte file of seed at name under the mock's root, and a copy of it under the
 * scratch directory, whose path it returns: what an interrupted upload must leave whole. */
static const char *planted(const char *name, uint32_t seed)
{
    static char copy[4200];
    on_server(name, 5000, seed);
    snprintf(copy, sizeof copy, "%s", th_path(env.dir, "planted"));
    make_file(env.dir, "planted", 5000, seed);
    return copy;
}

static void make_dir(const char *dir, const char *name)
{
    ck_assert_int_eq(mkdir(th_path(dir, name), 0755), 0);
}

/* The tree the suite uploads: nested folders, an empty one, awkward names, empty files. */
static const char *make_tree(void)
{
    static char tree[4200];
    snprintf(tree, sizeof tree, "%s", th_path(env.dir, "tree"));
    ck_assert_int_eq(mkdir(tree, 0755), 0);
    make_file(tree, "top.bin", 70000, 1);
    make_file(tree, "with space.txt", 10, 2);
    make_file(tree, "100% + more.dat", 333, 3);
    make_file(tree, "a/b/c/deep.bin", 300000, 4);
    make_file(tree, "a/empty-file", 0, 5);
    make_file(tree, "a/b/\xc3\xa9t\xc3\xa9 \xe2\x82\xac.txt", 42, 6);
    make_file(tree, "a/b/+plus+", 1, 7);
    make_file(tree, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e.txt", 77, 8);
    make_dir(tree, "a/void");
    return tree;
}

/* make_tree's regular files and their bytes. */
#define TREE_FILES 8
#define TREE_BYTES "370463"

/* The walk's state for assert_copied: where the copies should be, and how many were checked. */
static const char *cmp_root;
static size_t cmp_skip;
static int cmp_count;

static int compare_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0;
    char copy[8400], want[65], got[65];
    snprintf(copy, sizeof copy, "%s/%s", cmp_root, path + cmp_skip);
    ck_assert_int_eq(th_sha256_file(path, want), 0);
    ck_assert_msg(th_sha256_file(copy, got) == 0, "missing on the server: %s", copy);
    ck_assert_msg(strcmp(want, got) == 0, "%s differs from %s", copy, path);
    cmp_count++;
    return 0;
}

/* Asserts every regular file under src has a byte-exact copy under dst (sha256); returns how
 * many were compared. */
static int assert_copied(const char *src, const char *dst)
{
    cmp_root = dst;
    cmp_skip = strlen(src) + 1;
    cmp_count = 0;
    ck_assert_int_eq(nftw(src, compare_one, 16, FTW_PHYS), 0);
    return cmp_count;
}

/*
 * Asserts that make_tree's tree went byte-exact to dest, the only files under the mock's root,
 * its empty folder left out with -v's warning, and that the -v run r counted it and named each
 * file as it went (as uploaded at remote, dest's path under the root).
 */
static void assert_tree_uploaded(const char *tree, const char *dest, const char *remote,
                                 const th_run *r)
{
    ck_assert_int_eq(assert_copied(tree, dest), TREE_FILES);
    ck_assert_int_eq(th_count_files(env.root, ""), TREE_FILES);
    /* AList makes directories as files arrive: an empty one is left out, and -v says so. */
    ck_assert(!th_exists(th_path(dest, "a/void")));
    ck_assert_msg(strstr(r->err, "tree/a/void: an empty directory") != NULL, "%s", r->err);
    char want[200];
    snprintf(want, sizeof want, "%d files uploaded, 0 failed, %s bytes", TREE_FILES, TREE_BYTES);
    ck_assert_msg(strstr(r->err, want) != NULL, "%s", r->err);
    /* Under -v a line per finished file, its name as uploaded. */
    snprintf(want, sizeof want, "uploaded %s/100%% + more.dat, 333 bytes", remote);
    ck_assert_msg(strstr(r->err, want) != NULL, "%s", r->err);
    snprintf(want, sizeof want, "uploaded %s/a/empty-file, 0 bytes", remote);
    ck_assert_msg(strstr(r->err, want) != NULL, "%s", r->err);
}

START_TEST(tree_uploads_byte_exact_under_its_own_name)
{
    start_mock(NULL, NULL);
    const char *tree = make_tree();
    th_run r;
    ck_assert_msg(many(&r, "-r", "-v", tree, url, NULL) == 0, "%s", r.err);
    assert_tree_uploaded(tree, th_path(env.root, "tree"), "/tree", &r);
    /* One connection carried all of them: the mock keeps it open. */
    int reused = 0;
    for (const char *p = r.err; (p = strstr(p, "Re-using the connection to")) != NULL; p++)
        reused++;
    ck_assert_int_eq(reused, TREE_FILES - 1);
    stop_mock();
}
END_TEST

START_TEST(tree_uploads_byte_exact_over_eight_lanes)
{
    start_mock(NULL, NULL);
    const char *tree = make_tree();
    th_run r;
    ck_assert_msg(
        many(&r, "-r", "-v", "--parallel", "8", "--remote-dir", "eight", tree, url, NULL) == 0,
        "%s", r.err);
    assert_tree_uploaded(tree, th_path(env.root, "eight/tree"), "/eight/tree", &r);
    stop_mock();
}
END_TEST

START_TEST(trailing_slash_uploads_the_contents_under_remote_dir)
{
    start_mock(NULL, NULL);
    char src[4200];
    snprintf(src, sizeof src, "%s/", make_tree());
    th_run r;
    ck_assert_msg(many(&r, "-r", "--remote-dir", "/dest/x/", src, url, NULL) == 0, "%s", r.err);
    ck_assert_int_eq(assert_copied(th_path(env.dir, "tree"), th_path(env.root, "dest/x")),
                     TREE_FILES);
    ck_assert_int_eq(th_count_files(env.root, ""), TREE_FILES);
    ck_assert(!th_exists(th_path(env.root, "dest/x/tree")));
    stop_mock();
}
END_TEST

START_TEST(several_files_and_stdin_go_one_after_another)
{
    start_mock(NULL, NULL);
    make_file(env.dir, "one.bin", 1000, 11);
    make_file(env.dir, "sub/two.bin", 0, 12);
    make_file(env.dir, "in.bin", 5000, 13);
    char one[4200], two[4200];
    snprintf(one, sizeof one, "%s", th_path(env.dir, "one.bin"));
    snprintf(two, sizeof two, "%s", th_path(env.dir, "sub/two.bin"));
    char *argv[] = {
        TH_BIN_DIR "/streamput", "--no-progress", "--remote-dir", "in", one, "-", two, url, NULL};
    th_run r;
    th_run_argv(&r, argv, th_path(env.dir, "in.bin"), 60000);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_int_eq(th_files_equal(one, th_path(env.root, "in/one.bin")), 1);
    ck_assert_int_eq(th_files_equal(two, th_path(env.root, "in/two.bin")), 1);
    ck_assert_int_eq(th_files_equal(th_path(env.dir, "in.bin"), th_path(env.root, "in/stdin")), 1);
    ck_assert_msg(strstr(r.err, "3 files uploaded, 0 failed, 6000 bytes") != NULL, "%s", r.err);
    /* Standard input can be read once only, and -p names one file. */
    ck_assert_int_eq(many(&r, "-", one, "-", url, NULL), EXIT_USAGE);
    ck_assert_int_eq(many(&r, "-p", "/x", one, two, url, NULL), EXIT_USAGE);
    ck_assert_int_eq(many(&r, "-r", "-p", "/x", one, url, NULL), EXIT_USAGE);
    ck_assert_int_eq(many(&r, "-p", "/x", th_path(env.dir, "sub"), url, NULL), EXIT_USAGE);
    ck_assert_int_eq(many(&r, one, url, "extra", NULL), EXIT_USAGE);
    ck_assert_msg(strstr(r.err, "the URL goes last") != NULL, "%s", r.err);
    ck_assert_int_eq(th_count_files(env.root, ""), 3);
    stop_mock();
}
END_TEST

START_TEST(links_are_skipped_unless_dereferenced_and_a_fifo_always)
{
    start_mock(NULL, NULL);
    char tree[4200];
    snprintf(tree, sizeof tree, "%s", th_path(env.dir, "t"));
    ck_assert_int_eq(mkdir(tree, 0755), 0);
    make_file(tree, "real.bin", 2000, 21);
    ck_assert_int_eq(symlink("real.bin", th_path(tree, "link.bin")), 0);
    ck_assert_int_eq(mkfifo(th_path(tree, "pipe"), 0600), 0);
    th_run r;
    ck_assert_msg(many(&r, "-r", tree, url, NULL) == 0, "%s", r.err);
    ck_assert(th_exists(th_path(env.root, "t/real.bin")));
    ck_assert(!th_exists(th_path(env.root, "t/link.bin")));
    ck_assert(!th_exists(th_path(env.root, "t/pipe")));
    ck_assert_msg(strstr(r.err, "t/link.bin: a symbolic link") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "t/pipe: not a regular file") != NULL, "%s", r.err);

    ck_assert_msg(many(&r, "-r", "-L", "--remote-dir", "L", tree, url, NULL) == 0, "%s", r.err);
    ck_assert_int_eq(th_files_equal(th_path(tree, "real.bin"), th_path(env.root, "L/t/link.bin")),
                     1);
    ck_assert(!th_exists(th_path(env.root, "L/t/pipe")));
    ck_assert_msg(strstr(r.err, "t/pipe: not a regular file") != NULL, "%s", r.err);
    stop_mock();
}
END_TEST

/*
 * A tree whose first file fails in the walk (a link to nothing, under -L: exit 3) and whose
 * second fails at the server (over --max-body: code 413, exit 7), then two that can go.
 */
static const char *failing_tree(void)
{
    static char tree[4200];
    snprintf(tree, sizeof tree, "%s", th_path(env.dir, "f"));
    ck_assert_int_eq(mkdir(tree, 0755), 0);
    make_file(tree, "b_big.bin", 8192, 31);
    make_file(tree, "c_ok.bin", 100, 32);
    make_file(tree, "d_ok.bin", 200, 33);
    ck_assert_int_eq(symlink("nowhere", th_path(tree, "a_dangling")), 0);
    return tree;
}

START_TEST(keep_going_uploads_the_rest_and_reports_the_failures)
{
    start_mock("--max-body", "4K");
    const char *tree = failing_tree();
    th_run r;
    ck_assert_int_eq(many(&r, "-rL", "--keep-going", tree, url, NULL), EXIT_FILE);
    ck_assert(th_exists(th_path(env.root, "f/c_ok.bin")));
    ck_assert(th_exists(th_path(env.root, "f/d_ok.bin")));
    ck_assert(!th_exists(th_path(env.root, "f/b_big.bin")));
    ck_assert_msg(strstr(r.err, "2 files uploaded, 2 failed") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "failed: ") != NULL && strstr(r.err, "a_dangling: a symbolic link "
                                                                     "to nothing") != NULL,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "failed: /f/b_big.bin: ") != NULL, "%s", r.err);
    stop_mock();
}
END_TEST

START_TEST(without_keep_going_the_run_stops_at_the_first_failure)
{
    start_mock("--max-body", "4K");
    const char *tree = failing_tree();
    th_run r;
    /* Without -L the link is skipped, so the big file is the first failure: its exit code (the
     * mock's 413 comes as AList's JSON code). */
    ck_assert_int_eq(many(&r, "-r", tree, url, NULL), EXIT_API);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    /* With -L the link fails first and nothing is sent at all. */
    ck_assert_int_eq(many(&r, "-rL", tree, url, NULL), EXIT_FILE);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    ck_assert_msg(strstr(r.err, "uploaded") == NULL, "%s", r.err);
    stop_mock();
}
END_TEST

START_TEST(a_directory_without_r_fails_as_a_file_error)
{
    start_mock(NULL, NULL);
    const char *tree = make_tree();
    make_file(env.dir, "single.bin", 10, 41);
    th_run r;
    ck_assert_int_eq(many(&r, "--keep-going", tree, th_path(env.dir, "single.bin"), url, NULL),
                     EXIT_FILE);
    ck_assert_msg(strstr(r.err, "a directory (-r uploads its tree)") != NULL, "%s", r.err);
    ck_assert_int_eq(th_count_files(env.root, ""), 1);
    stop_mock();
}
END_TEST

/* The text of a small file, into a static buffer. */
static const char *file_text(const char *path)
{
    static char text[8192];
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

START_TEST(ctrl_c_stops_the_batch_at_once)
{
    start_mock(NULL, NULL);
    make_file(env.dir, "slow1.bin", 4 * 1024 * 1024, 51);
    make_file(env.dir, "slow2.bin", 1000, 52);
    char one[4200], two[4200];
    snprintf(one, sizeof one, "%s", th_path(env.dir, "slow1.bin"));
    snprintf(two, sizeof two, "%s", th_path(env.dir, "slow2.bin"));
    /* The server has another slow1.bin, which the interrupted upload was to replace. */
    const char *kept = planted("slow1.bin", 54);
    char json[4200];
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    th_proc p;
    ck_assert_int_eq(th_proc_client(&p, 0, "--no-progress", "--parallel", "1", "--limit-rate",
                                    "256K", "--summary-json", json, one, two, url, NULL),
                     0);
    ck_assert(th_wait_temps(env.root, 1, 10000) == 1);
    kill(p.pid, SIGINT);
    th_run r;
    ck_assert_int_eq(th_proc_wait(&p, &r, 10000), EXIT_CANCEL);
    ck_assert_msg(strstr(r.err, "streamput: interrupted after ") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "0 files uploaded, 1 failed") != NULL, "%s", r.err);
    /* The summary is written all the same, with the interrupted file and its exit code. */
    cJSON *o = cJSON_Parse(file_text(json));
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "exit_code")->valueint, EXIT_CANCEL);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "files_failed")->valueint, 1);
    const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "failures"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(f, "path")->valuestring, "/slow1.bin");
    ck_assert_int_eq(cJSON_GetObjectItem(f, "exit_code")->valueint, EXIT_CANCEL);
    cJSON_Delete(o);
    th_assert_no_temps(env.root);
    ck_assert_int_eq(th_count_files(env.root, ""), 1);
    ck_assert_int_eq(th_files_equal(kept, th_path(env.root, "slow1.bin")), 1);
    stop_mock();
}
END_TEST

/* A request a scripted server read: its head as a string, and its body's start. */
typedef struct request {
    char buf[16384]; /* the head, then the body bytes that came with it */
    char head[8192]; /* the head alone, NUL-terminated */
    size_t hlen;
    long got;  /* body bytes at buf + hlen */
    long want; /* its Content-Length, 0 without one */
} request;

/* Reads the next request on fd up to its body, answering 100 Continue to an Expect. Returns 0,
 * or -1 once the stream ended or the head did not fit. */
static int next_request(int fd, request *q)
{
    long n = th_read_head(fd, q->buf, sizeof q->buf, &q->hlen, 10000);
    if (n < 0 || q->hlen >= sizeof q->head)
        return -1;
    memcpy(q->head, q->buf, q->hlen);
    q->head[q->hlen] = '\0';
    q->got = n - (long)q->hlen;
    const char *cl = strcasestr(q->head, "\r\nContent-Length:");
    q->want = cl != NULL ? strtol(cl + 17, NULL, 10) : 0;
    if (strcasestr(q->head, "\r\nExpect: 100-continue") != NULL)
        th_send_str(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    return 0;
}

/* The HTTP/1.1 200 answer with body, the connection kept open or closed after it. */
static void answer_200(int fd, int keep, const char *body)
{
    char head[256];
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
             strlen(body), keep ? "" : "Connection: close\r\n");
    th_send_str(fd, head);
    th_send_str(fd, body);
}

/* How a scripted plain PUT server treats a connection. */
typedef struct plain_mode {
    int keep;       /* answer with the connection kept open, else Connection: close */
    int drop_after; /* on the first connection: after this many answers, read the next request's
                     * head and close without an answer; 0 never */
} plain_mode;

/*
 * A plain PUT server: on each connection it serves requests until the stream ends, reporting
 * "CONN: REQUEST-LINE|file-path" (or "|none" without a File-Path) for each and reading its
 * body, answering 200; a dropped request is reported "CONN: dropped".
 */
static void plain_put(int fd, int nth, void *arg)
{
    const plain_mode *mode = arg;
    for (int served = 0;; served++) {
        request q;
        if (next_request(fd, &q) < 0)
            return;
        if (nth == 0 && mode->drop_after != 0 && served == mode->drop_after) {
            th_script_report("%d: dropped\n", nth);
            return;
        }
        th_script_report("%d: %.*s|%s\n", nth, (int)strcspn(q.head, "\r"), q.head,
                         strcasestr(q.head, "\r\nFile-Path:") != NULL ? "file-path" : "none");
        th_read_body(fd, q.got, q.want);
        answer_200(fd, mode->keep, "");
        if (!mode->keep)
            return;
    }
}

/* An object the fake AList site has, as its fs/get answers it. */
typedef struct site_obj {
    const char *path; /* the remote path asked for */
    long long size;
    char hashes[256]; /* the answer's hashinfo and hash_info members, as JSON text */
} site_obj;

/* A fake AList site: fs/get answers from objs, uploads are hashed and never stored. */
typedef struct site {
    int keep; /* keep each connection open, else Connection: close after an answer */
    int n;
    site_obj objs[8];
} site;

/* The site's answer to POST /api/fs/get whose body is the request q's: the object, or
 * OpenList's "object not found" (code 500 with HTTP 200). */
static void site_get(int fd, int nth, const site *st, request *q)
{
    char body[2048] = "";
    long have = q->got < (long)sizeof body - 1 ? q->got : (long)sizeof body - 1;
    memcpy(body, q->buf + q->hlen, (size_t)have);
    if (q->want > have && q->want < (long)sizeof body)
        th_read_full(fd, body + have, (size_t)(q->want - have));
    cJSON *o = cJSON_Parse(body);
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
    th_script_report("%d: get %s\n", nth, path != NULL ? path : "(none)");
    char answer[1024];
    snprintf(answer, sizeof answer, "%s",
             "{\"code\":500,\"message\":\"failed to get obj: object not found\",\"data\":null}");
    for (int i = 0; path != NULL && i < st->n; i++)
        if (strcmp(st->objs[i].path, path) == 0)
            snprintf(answer, sizeof answer,
                     "{\"code\":200,\"message\":\"success\",\"data\":{\"name\":\"x\",\"size\":"
                     "%lld,\"is_dir\":false,%s}}",
                     st->objs[i].size, st->objs[i].hashes);
    cJSON_Delete(o);
    answer_200(fd, st->keep, answer);
}

/*
 * The fake site's connection: fs/get answered from its objects ("CONN: get PATH" reported), a
 * PUT's body hashed ("CONN: put FILE-PATH BYTES SHA256") and answered with AList's success.
 */
static void site_serve(int fd, int nth, void *arg)
{
    const site *st = arg;
    request q;
    while (next_request(fd, &q) == 0) {
        if (strncmp(q.head, "POST /api/fs/get ", 17) == 0) {
            site_get(fd, nth, st, &q);
        } else {
            const char *fp = strcasestr(q.head, "\r\nFile-Path: ");
            char hex[65] = "";
            uint64_t got = 0;
            th_sha256_stream(fd, q.buf + q.hlen, (size_t)q.got, (uint64_t)q.want, hex, &got);
            th_script_report("%d: put %.*s %llu %s\n", nth,
                             fp != NULL ? (int)strcspn(fp + 13, "\r") : 0,
                             fp != NULL ? fp + 13 : "", (unsigned long long)got, hex);
            answer_200(fd, st->keep, TH_SUCCESS);
        }
        if (!st->keep)
            return;
    }
}

/*
 * Runs streamput with the NULL-terminated options opts (may be NULL), then -r --remote-dir in
 * over the SOURCE dir d of the current env, against the scripted server fn(arg) taking conns
 * connections, at URL path to; asserts exit 0 and returns what the server reported.
 */
static const char *run_scripted(th_script_fn fn, const void *arg, int conns, const char *path,
                                const char *const *opts, th_run *r)
{
    static char report[8192];
    th_script s;
    ck_assert_int_eq(th_script_start(&s, fn, (void *)arg, conns), 0);
    char to[128];
    snprintf(to, sizeof to, "http://127.0.0.1:%d%s", s.port, path);
    char *args[24];
    int n = 0;
    for (; opts != NULL && opts[n] != NULL && n < 16; n++)
        args[n] = (char *)opts[n];
    char *tail[] = {"-r", "--remote-dir", "in", (char *)th_path(env.dir, "d"), to, NULL};
    memcpy(args + n, tail, sizeof tail);
    int rc = many_args(r, args);
    th_script_stop(&s, report, sizeof report, 5000);
    ck_assert_msg(rc == 0, "%s", r->err);
    return report;
}

/* run_scripted against a plain PUT server in mode. */
static const char *run_plain(const plain_mode *mode, int conns, const char *path, th_run *r)
{
    return run_scripted(plain_put, mode, conns, path, NULL, r);
}

START_TEST(url_ending_in_slash_takes_each_name_percent_encoded)
{
    th_env_init(&env);
    make_file(env.dir, "d/a b%.txt", 10, 61);
    make_file(env.dir, "d/s\xc3\xbc/+x", 20, 62);
    /* Connection: close after each answer: the second file needs the second connection. */
    plain_mode mode = {.keep = 0};
    th_run r;
    ck_assert_str_eq(run_plain(&mode, 2, "/up/?k=1", &r),
                     "0: PUT /up/in/d/a%20b%25.txt?k=1 HTTP/1.1|none\n"
                     "1: PUT /up/in/d/s%C3%BC/%2Bx?k=1 HTTP/1.1|none\n");
    th_env_free(&env);
}
END_TEST

/* A fresh env whose directory d holds the files 1, 2 and 3 of size1 bytes, 20 and 0. */
static void three_files(uint64_t size1)
{
    th_env_init(&env);
    make_file(env.dir, "d/1", size1, 71);
    make_file(env.dir, "d/2", 20, 72);
    make_file(env.dir, "d/3", 0, 73);
}

START_TEST(one_kept_connection_carries_every_file)
{
    three_files(100000);
    /* The server takes one connection only: a second connect would be refused. */
    plain_mode mode = {.keep = 1};
    th_run r;
    ck_assert_str_eq(run_plain(&mode, 1, "/put", &r), "0: PUT /put HTTP/1.1|file-path\n"
                                                      "0: PUT /put HTTP/1.1|file-path\n"
                                                      "0: PUT /put HTTP/1.1|file-path\n");
    ck_assert_msg(strstr(r.err, "3 files uploaded, 0 failed") != NULL, "%s", r.err);
    th_env_free(&env);
}
END_TEST

START_TEST(a_kept_connection_the_server_dropped_is_not_a_failure)
{
    three_files(10);
    /* The server reads the second request and closes, as when its keep-alive timeout strikes
     * just as a request arrives: the same request goes again on a new connection. */
    plain_mode mode = {.keep = 1, .drop_after = 1};
    th_run r;
    ck_assert_str_eq(run_plain(&mode, 2, "/up/", &r), "0: PUT /up/in/d/1 HTTP/1.1|none\n"
                                                      "0: dropped\n"
                                                      "1: PUT /up/in/d/2 HTTP/1.1|none\n"
                                                      "1: PUT /up/in/d/3 HTTP/1.1|none\n");
    ck_assert_msg(strstr(r.err, "3 files uploaded, 0 failed") != NULL, "%s", r.err);
    th_env_free(&env);
}
END_TEST

/* The report line site_serve gives for the upload of dir/name as remote, from ": put" on. */
static const char *put_line(const char *dir, const char *name, const char *remote)
{
    static char line[256];
    char hex[65];
    struct stat st;
    ck_assert_int_eq(stat(th_path(dir, name), &st), 0);
    ck_assert_int_eq(th_sha256_file(th_path(dir, name), hex), 0);
    snprintf(line, sizeof line, ": put %s %lld %s\n", remote, (long long)st.st_size, hex);
    return line;
}

/* How many times needle occurs in text. */
static int occurrences(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

START_TEST(a_server_that_closes_after_every_answer_gets_a_connection_per_file)
{
    th_env_init(&env);
    char want[6][256];
    for (int i = 0; i < 6; i++) {
        char name[16], remote[32];
        snprintf(name, sizeof name, "d/f%d", i);
        snprintf(remote, sizeof remote, "/in/d/f%d", i);
        make_file(env.dir, name, (uint64_t)i * 1000, 400 + (uint32_t)i);
        snprintf(want[i], sizeof want[i], "%s", put_line(env.dir, name, remote));
    }
    /* Connection: close on every answer, and the server takes six connections only: a seventh
     * connect, or a request on a closed one, would fail a file. */
    site st = {.keep = 0};
    static const char *const lanes[] = {"1", "4"};
    for (int l = 0; l < 2; l++) {
        const char *opts[] = {"--parallel", lanes[l], NULL};
        th_run r;
        const char *report = run_scripted(site_serve, &st, 6, "/api/fs/put", opts, &r);
        ck_assert_msg(strstr(r.err, "6 files uploaded, 0 failed, 15000 bytes") != NULL, "%s",
                      r.err);
        /* Each file whole, once, and alone on a connection of its own (the kth line came from
         * the kth connection); one lane takes them in order. */
        const char *line = report;
        for (int k = 0; k < 6; k++) {
            char conn[16];
            snprintf(conn, sizeof conn, "%d: put ", k);
            ck_assert_msg(strncmp(line, conn, strlen(conn)) == 0, "line %d of %s", k, report);
            ck_assert_msg(occurrences(report, want[k]) == 1, "%s in %s", want[k], report);
            ck_assert_msg(l > 0 || strncmp(strchr(line, ':'), want[k], strlen(want[k])) == 0, "%s",
                          report);
            line = strchr(line, '\n') + 1;
        }
        ck_assert_msg(*line == '\0', "%s", report);
    }
    th_env_free(&env);
}
END_TEST

/* The summary file's text with the two timing figures set to 0, after checking they are
 * numbers, and bytes checked to lie in [lo, hi] and set to 0 too (how much of a refused body
 * went out depends on when the server stopped reading), so that the rest can be compared
 * exactly. */
static const char *untimed(const char *path, double lo, double hi)
{
    static char out[8192];
    const char *text = file_text(path);
    cJSON *o = cJSON_Parse(text);
    ck_assert_msg(o != NULL, "not JSON: %s", text);
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "seconds")));
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "mib_s")));
    cJSON_SetNumberValue(cJSON_GetObjectItem(o, "seconds"), 0);
    cJSON_SetNumberValue(cJSON_GetObjectItem(o, "mib_s"), 0);
    double bytes = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "bytes"));
    ck_assert_msg(bytes >= lo && bytes <= hi, "%s", text);
    cJSON_SetNumberValue(cJSON_GetObjectItem(o, "bytes"), 0);
    char *p = cJSON_PrintUnformatted(o);
    snprintf(out, sizeof out, "%s", p);
    cJSON_free(p);
    cJSON_Delete(o);
    ck_assert_msg(text[strlen(text) - 1] == '\n', "%s", text);
    return out;
}

/* How many journal entries from entry from on are method path (and, with file, that File-Path);
 * fails unless every one of them came over connection conn. */
static int journaled(const cJSON *a, int from, const char *method, const char *path,
                     const char *file, int conn)
{
    int n = 0, i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        const cJSON *m = cJSON_GetObjectItem(e, "method"), *p = cJSON_GetObjectItem(e, "path");
        const cJSON *f = cJSON_GetObjectItem(e, "file_path");
        if (i++ < from || strcmp(m->valuestring, method) != 0 || strcmp(p->valuestring, path) != 0)
            continue;
        if (file != NULL && (!cJSON_IsString(f) || strcmp(f->valuestring, file) != 0))
            continue;
        ck_assert_int_eq(th_journal_conn(e), conn);
        n++;
    }
    return n;
}

START_TEST(skip_existing_skips_a_file_of_the_same_size_after_one_lookup)
{
    start_mock(NULL, NULL);
    make_file(env.dir, "d/same.bin", 1000, 81);
    make_file(env.dir, "d/resized.bin", 500, 82);
    make_file(env.dir, "d/new.bin", 300, 83);
    /* The server's same.bin has other bytes of the same size, which size alone cannot tell. */
    on_server("d/same.bin", 1000, 91);
    on_server("d/resized.bin", 400, 92);
    char json[4200];
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    th_run r;
    ck_assert_msg(many(&r, "-v", "-r", "--skip-existing", "--summary-json", json,
                       th_path(env.dir, "d"), url, NULL) == 0,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "2 files uploaded, 1 skipped, 0 failed, 800 bytes") != NULL, "%s",
                  r.err);
    ck_assert_str_eq(untimed(json, 800, 800),
                     "{\"failures\":[],\"files_uploaded\":2,\"files_skipped\":1,"
                     "\"files_failed\":0,\"bytes\":0,\"seconds\":0,\"mib_s\":0,\"exit_code\":0}");
    ck_assert_msg(strstr(r.err, "streamput: skipped /d/same.bin: the server has it") != NULL, "%s",
                  r.err);
    ck_assert_int_eq(
        th_files_equal(th_path(env.dir, "d/same.bin"), th_path(env.root, "d/same.bin")), 0);
    ck_assert_int_eq(
        th_files_equal(th_path(env.dir, "d/resized.bin"), th_path(env.root, "d/resized.bin")), 1);
    ck_assert_int_eq(th_files_equal(th_path(env.dir, "d/new.bin"), th_path(env.root, "d/new.bin")),
                     1);
    /* One lookup per file and a PUT for the two that differ, all over the first connection. */
    cJSON *a = th_journal(mock.port);
    int conn = th_journal_conn(cJSON_GetArrayItem(a, 0));
    ck_assert_int_eq(journaled(a, 0, "POST", "/api/fs/get", NULL, conn), 3);
    ck_assert_int_eq(journaled(a, 0, "PUT", "/api/fs/put", NULL, conn), 2);
    ck_assert_int_eq(journaled(a, 0, "PUT", "/api/fs/put", "/d/same.bin", conn), 0);
    ck_assert_int_eq(journaled(a, 0, "PUT", "/api/fs/put", "/d/resized.bin", conn), 1);
    int from = cJSON_GetArraySize(a);
    cJSON_Delete(a);

    /* --hash sha256: the mock, like OpenList's Local storage, reports no digest (hash_info
     * null), so size alone still decides and nothing is sent again. */
    ck_assert_msg(many(&r, "-r", "--skip-existing", "--hash", "sha256", th_path(env.dir, "d"), url,
                       NULL) == 0,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "0 files uploaded, 3 skipped, 0 failed") != NULL, "%s", r.err);
    a = th_journal(mock.port);
    conn = th_journal_conn(cJSON_GetArrayItem(a, from));
    ck_assert_int_eq(journaled(a, from, "POST", "/api/fs/get", NULL, conn), 3);
    ck_assert_int_eq(journaled(a, from, "PUT", "/api/fs/put", NULL, conn), 0);
    cJSON_Delete(a);
    stop_mock();
}
END_TEST

/* Adds the object path of size bytes to st; its fs/get answer carries the hash members that
 * fmt formats. */
static void site_add(site *st, const char *path, long long size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void site_add(site *st, const char *path, long long size, const char *fmt, ...)
{
    ck_assert_int_lt(st->n, 8);
    site_obj *o = &st->objs[st->n++];
    o->path = path;
    o->size = size;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->hashes, sizeof o->hashes, fmt, ap);
    va_end(ap);
}

START_TEST(skip_existing_with_hash_compares_the_digest_the_server_reports)
{
    th_env_init(&env);
    make_file(env.dir, "d/absent", 10, 301);
    make_file(env.dir, "d/differs", 2000, 302);
    make_file(env.dir, "d/md5-only", 30, 303);
    make_file(env.dir, "d/same", 3000, 304);
    make_file(env.dir, "d/same-text", 40, 305);
    make_file(env.dir, "other", 2000, 306);
    char same[65], same_text[65], other[65];
    ck_assert_int_eq(th_sha256_file(th_path(env.dir, "d/same"), same), 0);
    ck_assert_int_eq(th_sha256_file(th_path(env.dir, "d/same-text"), same_text), 0);
    ck_assert_int_eq(th_sha256_file(th_path(env.dir, "other"), other), 0);
    /* The server has every file but absent at its size: differs with the digest of other bytes,
     * md5-only with a wrong MD5 only, same-text's digest in the older hashinfo string. */
    site st = {.keep = 1};
    site_add(&st, "/in/d/differs", 2000, "\"hashinfo\":\"null\",\"hash_info\":{\"sha256\":\"%s\"}",
             other);
    site_add(&st, "/in/d/md5-only", 30, "\"hash_info\":{\"md5\":\"%s\"}",
             "0123456789abcdef0123456789abcdef");
    site_add(&st, "/in/d/same", 3000, "\"hashinfo\":\"null\",\"hash_info\":{\"sha256\":\"%s\"}",
             same);
    site_add(&st, "/in/d/same-text", 40,
             "\"hashinfo\":\"{\\\"sha256\\\":\\\"%s\\\"}\",\"hash_info\":null", same_text);
    char want[2048];
    snprintf(want, sizeof want, "0: get /in/d/absent\n0%s0: get /in/d/differs\n0",
             put_line(env.dir, "d/absent", "/in/d/absent"));
    snprintf(want + strlen(want), sizeof want - strlen(want),
             "%s0: get /in/d/md5-only\n0: get /in/d/same\n0: get /in/d/same-text\n",
             put_line(env.dir, "d/differs", "/in/d/differs"));
    /* --hash sha256: a digest the server reports decides beside the size; one it does not
     * (md5-only's MD5 was not asked for) leaves the size alone to decide. All over one kept
     * connection, lookups and uploads. */
    const char *hash[] = {"--skip-existing", "--hash", "sha256", NULL};
    th_run r;
    ck_assert_str_eq(run_scripted(site_serve, &st, 1, "/api/fs/put", hash, &r), want);
    ck_assert_msg(strstr(r.err, "2 files uploaded, 3 skipped, 0 failed") != NULL, "%s", r.err);
    /* Without --hash the size alone decides, and differs is skipped too. */
    const char *size_only[] = {"--skip-existing", NULL};
    snprintf(want, sizeof want,
             "0: get /in/d/absent\n0%s0: get /in/d/differs\n0: get /in/d/md5-only\n"
             "0: get /in/d/same\n0: get /in/d/same-text\n",
             put_line(env.dir, "d/absent", "/in/d/absent"));
    ck_assert_str_eq(run_scripted(site_serve, &st, 1, "/api/fs/put", size_only, &r), want);
    ck_assert_msg(strstr(r.err, "1 file uploaded, 4 skipped, 0 failed") != NULL, "%s", r.err);
    th_env_free(&env);
}
END_TEST

START_TEST(skip_existing_sends_the_token_to_the_lookup_and_never_shows_it)
{
    start_mock("--token", "sk-t0ken-77");
    make_file(env.dir, "d/have.bin", 64, 84);
    make_file(env.dir, "d/lack.bin", 32, 85);
    on_server("d/have.bin", 64, 84);
    th_run r;
    ck_assert_msg(many(&r, "-v", "-r", "--skip-existing", "-t", "sk-t0ken-77",
                       th_path(env.dir, "d"), url, NULL) == 0,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "1 file uploaded, 1 skipped, 0 failed") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "sk-t0ken-77") == NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "> Authorization: <redacted>") != NULL, "%s", r.err);
    /* The mock names the token's user in its journal: the lookups carried it. */
    cJSON *a = th_journal(mock.port);
    const cJSON *e;
    int found = 0, missing = 0;
    cJSON_ArrayForEach(e, a)
    {
        if (strcmp(cJSON_GetObjectItem(e, "path")->valuestring, "/api/fs/get") != 0)
            continue;
        ck_assert_str_eq(cJSON_GetObjectItem(e, "user")->valuestring, "admin");
        int code = cJSON_GetObjectItem(e, "code")->valueint;
        found += code == 200;
        missing += code == 500 && strcmp(cJSON_GetObjectItem(e, "message")->valuestring,
                                         "failed to get obj: object not found") == 0;
    }
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(missing, 1);
    cJSON_Delete(a);
    /* Without the token the lookup is refused: that file's failure, and nothing is sent. */
    ck_assert_int_eq(
        many(&r, "-r", "--skip-existing", "--keep-going", th_path(env.dir, "d"), url, NULL),
        EXIT_API);
    ck_assert_msg(strstr(r.err, "/d/have.bin: looking it up on the server: server answered code "
                                "401") != NULL,
                  "%s", r.err);
    ck_assert_msg(strstr(r.err, "0 files uploaded, 0 skipped, 2 failed") != NULL, "%s", r.err);
    stop_mock();
}
END_TEST

START_TEST(skip_existing_with_a_url_that_gets_names_appended_is_a_usage_error)
{
    th_env_init(&env);
    make_file(env.dir, "d/x", 1, 86);
    th_run r;
    ck_assert_int_eq(
        many(&r, "-r", "--skip-existing", th_path(env.dir, "d"), "http://127.0.0.1:9/up/", NULL),
        EXIT_USAGE);
    ck_assert_msg(strstr(r.err, "--skip-existing asks AList's /api/fs/get") != NULL, "%s", r.err);
    th_env_free(&env);
}
END_TEST

START_TEST(summary_json_lists_the_failures_and_is_written_after_a_failed_run)
{
    start_mock("--max-body", "4K");
    const char *tree = failing_tree();
    char json[4200];
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    th_run r;
    /* Without -L the link is left out: the big file is the one failure. */
    ck_assert_int_eq(many(&r, "-r", "--keep-going", "--summary-json", json, tree, url, NULL),
                     EXIT_API);
    ck_assert_str_eq(untimed(json, 300, 300 + 8192),
                     "{\"failures\":[{\"path\":\"/f/b_big.bin\",\"exit_code\":7,\"reason\":"
                     "\"server answered code 413: http: request body too large\"}],"
                     "\"files_uploaded\":2,\"files_skipped\":0,\"files_failed\":1,\"bytes\":0,"
                     "\"seconds\":0,\"mib_s\":0,\"exit_code\":7}");
    /* A run that stops at its failure still writes the file, replacing the last one whole. */
    ck_assert_int_eq(many(&r, "-r", "--summary-json", json, tree, url, NULL), EXIT_API);
    ck_assert_str_eq(untimed(json, 0, 8192),
                     "{\"failures\":[{\"path\":\"/f/b_big.bin\",\"exit_code\":7,\"reason\":"
                     "\"server answered code 413: http: request body too large\"}],"
                     "\"files_uploaded\":0,\"files_skipped\":0,\"files_failed\":1,\"bytes\":0,"
                     "\"seconds\":0,\"mib_s\":0,\"exit_code\":7}");
    /* No temporary file is left beside it. */
    ck_assert_int_eq(th_count_files(env.dir, "summary.json.tmp"), 0);
    /* A file that cannot be made stops the run before anything is sent. */
    ck_assert_int_eq(
        many(&r, "-r", "--summary-json", th_path(env.dir, "no/such/dir.json"), tree, url, NULL),
        EXIT_FILE);
    ck_assert_msg(strstr(r.err, "--summary-json ") != NULL, "%s", r.err);
    stop_mock();
}
END_TEST

/* Asserts that python3's json module, which refuses a file that is not UTF-8, reads path;
 * nothing to check where there is no python3. */
static void assert_python_reads_json(const char *path)
{
    static const char python[] = "/usr/bin/python3";
    if (access(python, X_OK) != 0)
        return;
    char *argv[] = {(char *)python, "-c",
                    "import json,sys; json.load(open(sys.argv[1], encoding='utf-8'))", (char *)path,
                    NULL};
    th_run r;
    th_run_argv(&r, argv, NULL, 30000);
    ck_assert_msg(r.status == 0, "python3 cannot read %s: %s", path, r.err);
}

/* Written to the contract of --summary-json for such names: "path" with each byte that is not
 * part of UTF-8 replaced by U+FFFD, and "path_percent" with the exact bytes percent-encoded. */
START_TEST(summary_json_stays_valid_json_for_a_name_that_is_not_utf8)
{
    start_mock("--max-body", "4K");
    /* Both over --max-body, so both are in the list of failures: a name the file system holds
     * as the bytes b a d 0xFF, and a UTF-8 one. */
    make_file(env.dir, "d/bad\xff.bin", 8192, 501);
    make_file(env.dir, "d/caf\xc3\xa9.bin", 8192, 502);
    make_file(env.dir, "d/ok.bin", 100, 503);
    char json[4200];
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    th_run r;
    ck_assert_int_eq(
        many(&r, "-r", "--keep-going", "--summary-json", json, th_path(env.dir, "d"), url, NULL),
        EXIT_API);
    const char *text = file_text(json);
    ck_assert_msg(th_valid_utf8(text), "--summary-json wrote bytes that are not UTF-8: %s", text);
    assert_python_reads_json(json);
    cJSON *o = cJSON_Parse(text);
    ck_assert_msg(o != NULL, "not JSON: %s", text);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "files_uploaded")->valueint, 1);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "files_failed")->valueint, 2);
    const cJSON *failures = cJSON_GetObjectItem(o, "failures");
    ck_assert_int_eq(cJSON_GetArraySize(failures), 2);
    /* One lane: the failures in the walk's order, bad before caf. */
    const cJSON *bad = cJSON_GetArrayItem(failures, 0), *cafe = cJSON_GetArrayItem(failures, 1);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(bad, "path")),
                     "/d/bad\xef\xbf\xbd.bin");
    ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(bad, "path_percent")), "%s", text);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(bad, "path_percent")),
                     "/d/bad%FF.bin");
    /* A name that is UTF-8 is given as it is, and only so. */
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cafe, "path")), "/d/caf\xc3\xa9.bin");
    ck_assert_msg(cJSON_GetObjectItem(cafe, "path_percent") == NULL, "%s", text);
    cJSON_Delete(o);
    stop_mock();
}
END_TEST

/*
 * Creates dir/p with n small files of different sizes spread over five folders, named so that
 * the walk meets them in the order of their number, and returns dir/p.
 */
static const char *small_tree(int n)
{
    static char tree[4200];
    snprintf(tree, sizeof tree, "%s", th_path(env.dir, "p"));
    ck_assert_int_eq(mkdir(tree, 0755), 0);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "d%d/f%02d.bin", i / 10, i);
        make_file(tree, name, (uint64_t)(i * 97 % 1500), 100 + (uint32_t)i);
    }
    return tree;
}

/* Asserts every line of text starts with "streamput: " or a -v mark: no line was written into
 * the middle of another. */
static void assert_whole_lines(const char *text)
{
    for (const char *l = text; *l != '\0'; l = strchr(l, '\n') + 1) {
        ck_assert_msg(strncmp(l, "streamput: ", 11) == 0 || strncmp(l, "* ", 2) == 0 ||
                          strncmp(l, "> ", 2) == 0 || strncmp(l, "< ", 2) == 0,
                      "a broken line in: %s", text);
        if (strchr(l, '\n') == NULL)
            break;
    }
}

START_TEST(parallel_lanes_upload_a_tree_byte_exact_and_count_it_right)
{
    start_mock(NULL, NULL);
    const char *tree = small_tree(40);
    char json[4200];
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    unsigned long long total = 0;
    for (int i = 0; i < 40; i++)
        total += (unsigned long long)(i * 97 % 1500);
    th_run r;
    ck_assert_msg(many(&r, "-r", "--remote-dir", "one", tree, url, NULL) == 0, "%s", r.err);
    ck_assert_int_eq(assert_copied(tree, th_path(env.root, "one/p")), 40);
    ck_assert_msg(many(&r, "-r", "--parallel", "8", "--remote-dir", "eight", "--summary-json", json,
                       tree, url, NULL) == 0,
                  "%s", r.err);
    ck_assert_int_eq(assert_copied(tree, th_path(env.root, "eight/p")), 40);
    ck_assert_int_eq(th_count_files(env.root, ""), 80);
    /* The totals of all eight lanes together. */
    char want[128];
    snprintf(want, sizeof want, "40 files uploaded, 0 failed, %llu bytes", total);
    ck_assert_msg(strstr(r.err, want) != NULL, "%s", r.err);
    snprintf(want, sizeof want,
             "{\"failures\":[],\"files_uploaded\":40,\"files_skipped\":0,"
             "\"files_failed\":0,\"bytes\":0,\"seconds\":0,\"mib_s\":0,"
             "\"exit_code\":0}");
    ck_assert_str_eq(untimed(json, (double)total, (double)total), want);
    /* Under -v a line per file, each whole (ten files: all of -v fits the buffer th_run keeps). */
    ck_assert_msg(many(&r, "-r", "-v", "--parallel", "8", "--remote-dir", "v", th_path(tree, "d0"),
                       url, NULL) == 0,
                  "%s", r.err);
    int lines = 0;
    for (const char *p = r.err; (p = strstr(p, "streamput: uploaded /v/d0/")) != NULL; p++)
        lines++;
    ck_assert_int_eq(lines, 10);
    assert_whole_lines(r.err);
    stop_mock();
}
END_TEST

/* --parallel's progress: one line redrawn in place, files and bytes done of those found, an ETA
 * once the walk is over, ended once at the end, never once a file. */
START_TEST(the_aggregate_line_is_redrawn_in_place_and_ended_once)
{
    start_mock(NULL, NULL);
    const char *tree = small_tree(40);
    th_run r;
    ck_assert_msg(many(&r, "-r", "--progress", "--parallel", "4", tree, url, NULL) == 0, "%s",
                  r.err);
    ck_assert_int_eq(assert_copied(tree, th_path(env.root, "p")), 40);
    ck_assert_int_eq(occurrences(r.err, "\n"), 2);  /* the line's end, and the summary's */
    ck_assert_int_ge(occurrences(r.err, "\r"), 40); /* redrawn as each file ends */
    const char *last = strrchr(r.err, '\r');
    ck_assert_msg(strncmp(last, "\r40/40 files  ", 14) == 0, "%s", last);
    ck_assert_msg(strstr(last, " / ") != NULL && strstr(last, "/s  ETA 0:00") != NULL, "%s", last);
    ck_assert_msg(strstr(last, "\nstreamput: 40 files uploaded, 0 failed") != NULL, "%s", last);
    /* -s: nothing but errors, so neither the line nor the summary. */
    ck_assert_msg(many(&r, "-s", "-r", "--progress", "--parallel", "4", "--remote-dir", "quiet",
                       tree, url, NULL) == 0,
                  "%s", r.err);
    ck_assert_str_eq(r.err, "");
    ck_assert_int_eq(assert_copied(tree, th_path(env.root, "quiet/p")), 40);
    stop_mock();
}
END_TEST

START_TEST(each_lane_keeps_one_connection_across_its_files)
{
    /* Every answer waits 50 ms, so that the lanes' uploads overlap. */
    start_mock("--fault", "delay-response=50");
    const char *tree = small_tree(40);
    th_run r;
    ck_assert_msg(many(&r, "-r", th_path(tree, "d0"), url, NULL) == 0, "%s", r.err);
    cJSON *a = th_journal(mock.port);
    int from = cJSON_GetArraySize(a);
    ck_assert_int_eq(th_journal_conns(a, 0, "PUT"),
                     1); /* --parallel 1: ten files, one connection */
    cJSON_Delete(a);
    /* More lanes than one, and none of them opened a second connection. */
    static const char *const lanes[] = {"4", "8"};
    for (int i = 0; i < 2; i++) {
        char dest[32];
        snprintf(dest, sizeof dest, "l%s", lanes[i]);
        int most = 4 << i;
        ck_assert_msg(
            many(&r, "-r", "--parallel", lanes[i], "--remote-dir", dest, tree, url, NULL) == 0,
            "%s", r.err);
        a = th_journal(mock.port);
        int conns = th_journal_conns(a, from, "PUT");
        ck_assert_msg(conns > 1 && conns <= most, "%d connections for 40 files over %s", conns,
                      lanes[i]);
        from = cJSON_GetArraySize(a);
        cJSON_Delete(a);
        ck_assert_int_eq(assert_copied(tree, th_path(env.root, th_path(dest, "p"))), 40);
    }
    stop_mock();
}
END_TEST

START_TEST(keep_going_over_one_and_eight_lanes_uploads_all_but_the_failing_file)
{
    start_mock("--max-body", "4K");
    const char *tree = small_tree(40);
    /* Over --max-body, and met by the walk between d1 and d2: twenty files go before it and
     * twenty after. */
    make_file(tree, "d1x-big.bin", 8192, 99);
    static const char *const lanes[] = {"1", "8"};
    for (int l = 0; l < 2; l++) {
        char dest[32], under[4200], want[128];
        snprintf(dest, sizeof dest, "l%s", lanes[l]);
        snprintf(under, sizeof under, "%s/%s/p", env.root, dest);
        th_run r;
        ck_assert_int_eq(many(&r, "-r", "--parallel", lanes[l], "--keep-going", "--remote-dir",
                              dest, tree, url, NULL),
                         EXIT_API);
        ck_assert_int_eq(th_count_files(under, ""), 40);
        ck_assert(!th_exists(th_path(under, "d1x-big.bin")));
        for (int d = 0; d < 4; d++) {
            char sub[8], from[4200];
            snprintf(sub, sizeof sub, "d%d", d);
            snprintf(from, sizeof from, "%s", th_path(tree, sub));
            ck_assert_int_eq(assert_copied(from, th_path(under, sub)), 10);
        }
        ck_assert_msg(strstr(r.err, "40 files uploaded, 1 failed") != NULL, "%s", r.err);
        snprintf(want, sizeof want, "failed: /%s/p/d1x-big.bin: ", dest);
        ck_assert_msg(strstr(r.err, want) != NULL, "%s", r.err);
        th_assert_no_temps(env.root);
    }
    stop_mock();
}
END_TEST

START_TEST(parallel_without_keep_going_starts_no_file_after_a_failure)
{
    start_mock(NULL, NULL);
    const char *tree = small_tree(40);
    /* The walk meets the broken link after f25, and fails it itself: from then on no file may
     * start, while those already handed to a lane may finish. */
    ck_assert_int_eq(symlink("nowhere", th_path(tree, "d2/f25x-dangling")), 0);
    th_run r;
    ck_assert_int_eq(many(&r, "-rL", "--parallel", "4", tree, url, NULL), EXIT_FILE);
    int stored = th_count_files(env.root, "");
    ck_assert_msg(stored <= 26, "%d stored: files after the failure were started", stored);
    for (int i = 26; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof name, "p/d%d/f%02d.bin", i / 10, i);
        ck_assert_msg(!th_exists(th_path(env.root, name)), "%s was started", name);
    }
    ck_assert_msg(strstr(r.err, "f25x-dangling: a symbolic link to nothing") != NULL, "%s", r.err);
    stop_mock();
}
END_TEST

START_TEST(ctrl_c_stops_every_lane_and_stores_nothing)
{
    start_mock(NULL, NULL);
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "big/%d.bin", i);
        make_file(env.dir, name, 4 * 1024 * 1024, 200 + (uint32_t)i);
    }
    const char *kept = planted("big/3.bin", 55);
    char json[4200];
    snprintf(json, sizeof json, "%s", th_path(env.dir, "summary.json"));
    th_proc p;
    ck_assert_int_eq(th_proc_client(&p, 0, "--no-progress", "--parallel", "8", "--limit-rate",
                                    "256K", "--summary-json", json, "-r", th_path(env.dir, "big"),
                                    url, NULL),
                     0);
    /* All eight on the way at once, each in a temp file of the mock. */
    ck_assert_int_eq(th_wait_temps(env.root, 8, 10000), 8);
    kill(p.pid, SIGINT);
    th_run r;
    ck_assert_int_eq(th_proc_wait(&p, &r, 10000), EXIT_CANCEL);
    ck_assert_msg(strstr(r.err, "0 files uploaded, 8 failed") != NULL, "%s", r.err);
    cJSON *o = cJSON_Parse(file_text(json));
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "exit_code")->valueint, EXIT_CANCEL);
    ck_assert_int_eq(cJSON_GetObjectItem(o, "files_failed")->valueint, 8);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "failures")), 8);
    cJSON_Delete(o);
    th_assert_no_temps(env.root);
    ck_assert_int_eq(th_count_files(env.root, ""), 1);
    ck_assert_int_eq(th_files_equal(kept, th_path(env.root, "big/3.bin")), 1);
    stop_mock();
}
END_TEST

START_TEST(parallel_lanes_share_one_login)
{
    start_mock("--user", "alice:s3cret");
    const char *tree = small_tree(10);
    char pw[4200];
    snprintf(pw, sizeof pw, "%s", th_path(env.dir, "pw"));
    FILE *f = fopen(pw, "w");
    ck_assert_ptr_nonnull(f);
    fputs("s3cret\n", f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(pw, 0600), 0);
    th_run r;
    ck_assert_msg(many(&r, "-r", "--parallel", "4", "-u", "alice", "--password-file", pw, tree, url,
                       NULL) == 0,
                  "%s", r.err);
    ck_assert_int_eq(assert_copied(tree, th_path(env.root, "p")), 10);
    /* One login before the lanes start; each lane sends its token. */
    cJSON *a = th_journal(mock.port);
    int logins = 0, puts = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        const char *m = cJSON_GetObjectItem(e, "method")->valuestring;
        const char *p = cJSON_GetObjectItem(e, "path")->valuestring;
        logins += strcmp(m, "POST") == 0 && strstr(p, "/api/auth/login") != NULL;
        puts += strcmp(m, "PUT") == 0;
    }
    cJSON_Delete(a);
    ck_assert_int_eq(logins, 1);
    ck_assert_int_eq(puts, 10);
    stop_mock();
}
END_TEST

START_TEST(naming_follows_rsync_and_encodes_each_segment)
{
    ck_assert_uint_eq(tool_source_prefix("dir"), 0);
    ck_assert_uint_eq(tool_source_prefix("a/b/dir"), 4);
    ck_assert_uint_eq(tool_source_prefix("a/b/dir/"), 8);
    ck_assert_uint_eq(tool_source_prefix("a/b/dir//"), 8);
    ck_assert_uint_eq(tool_source_prefix("."), 2);
    ck_assert_uint_eq(tool_source_prefix("x/.."), 5);
    ck_assert_uint_eq(tool_source_prefix("/"), 1);
    ck_assert_uint_eq(tool_source_prefix("/f.txt"), 1);

    char out[64];
    ck_assert_int_eq(tool_remote_name("/", "a/b", out, sizeof out), 0);
    ck_assert_str_eq(out, "/a/b");
    ck_assert_int_eq(tool_remote_name("//x/y//", "/f", out, sizeof out), 0);
    ck_assert_str_eq(out, "/x/y/f");
    ck_assert_int_eq(tool_remote_name("", "f", out, sizeof out), 0);
    ck_assert_str_eq(out, "/f");
    ck_assert_int_eq(tool_remote_name("/d",
                                      "0123456789012345678901234567890123456789012345678901"
                                      "234567890123",
                                      out, sizeof out),
                     -1);

    ck_assert_int_eq(sp__url_is_dir("http://h/up/"), 1);
    ck_assert_int_eq(sp__url_is_dir("http://h/"), 1);
    ck_assert_int_eq(sp__url_is_dir("http://h/up/?a=b/"), 1);
    ck_assert_int_eq(sp__url_is_dir("http://h/api/fs/put"), 0);
    ck_assert_int_eq(sp__url_is_dir("http://h/up?to=/"), 0);
    ck_assert_int_eq(sp__url_is_dir("http://h"), 0);

    char u[128];
    ck_assert_int_eq(sp__url_append("http://h/up/", "/a b/100%+\xc3\xa9", u, sizeof u), 0);
    ck_assert_str_eq(u, "http://h/up/a%20b/100%25%2B%C3%A9");
    ck_assert_int_eq(sp__url_append("http://h/?q#f", "/x", u, sizeof u), 0);
    ck_assert_str_eq(u, "http://h/x?q#f");
    ck_assert_int_eq(sp__url_append("http://h/", "/0123456789", u, 16), -1);
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("client_many");
    TCase *t = tcase_create("many");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, naming_follows_rsync_and_encodes_each_segment);
    tcase_add_test(t, tree_uploads_byte_exact_under_its_own_name);
    tcase_add_test(t, tree_uploads_byte_exact_over_eight_lanes);
    tcase_add_test(t, trailing_slash_uploads_the_contents_under_remote_dir);
    tcase_add_test(t, several_files_and_stdin_go_one_after_another);
    tcase_add_test(t, links_are_skipped_unless_dereferenced_and_a_fifo_always);
    tcase_add_test(t, keep_going_uploads_the_rest_and_reports_the_failures);
    tcase_add_test(t, without_keep_going_the_run_stops_at_the_first_failure);
    tcase_add_test(t, a_directory_without_r_fails_as_a_file_error);
    tcase_add_test(t, ctrl_c_stops_the_batch_at_once);
    tcase_add_test(t, url_ending_in_slash_takes_each_name_percent_encoded);
    tcase_add_test(t, one_kept_connection_carries_every_file);
    tcase_add_test(t, a_kept_connection_the_server_dropped_is_not_a_failure);
    tcase_add_test(t, a_server_that_closes_after_every_answer_gets_a_connection_per_file);
    tcase_add_test(t, skip_existing_skips_a_file_of_the_same_size_after_one_lookup);
    tcase_add_test(t, skip_existing_with_hash_compares_the_digest_the_server_reports);
    tcase_add_test(t, skip_existing_sends_the_token_to_the_lookup_and_never_shows_it);
    tcase_add_test(t, skip_existing_with_a_url_that_gets_names_appended_is_a_usage_error);
    tcase_add_test(t, summary_json_lists_the_failures_and_is_written_after_a_failed_run);
    tcase_add_test(t, summary_json_stays_valid_json_for_a_name_that_is_not_utf8);
    tcase_add_test(t, parallel_lanes_upload_a_tree_byte_exact_and_count_it_right);
    tcase_add_test(t, the_aggregate_line_is_redrawn_in_place_and_ended_once);
    tcase_add_test(t, each_lane_keeps_one_connection_across_its_files);
    tcase_add_test(t, keep_going_over_one_and_eight_lanes_uploads_all_but_the_failing_file);
    tcase_add_test(t, parallel_without_keep_going_starts_no_file_after_a_failure);
    tcase_add_test(t, ctrl_c_stops_every_lane_and_stores_nothing);
    tcase_add_test(t, parallel_lanes_share_one_login);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
