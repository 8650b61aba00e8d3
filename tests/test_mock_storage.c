/*
 * streamput-mock, storage: nothing is ever written outside --root (traversal, symlinks), a
 * half-received body never survives (client abort, short body, stale temp files from a crash),
 * concurrent uploads to one path leave exactly one whole body, --max-body and --fsync.
 */
#include "th.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static th_env env;
static th_mock mock;

static void setup(void)
{
    th_env_up(&env, &mock, NULL, NULL);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/* Entries of dir other than "." and "..". */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(traversal_never_leaves_the_root)
{
    static th_resp r;
    th_mock al;
    ck_assert_int_eq(th_mock_start(&al, env.root, "--profile", "alist", NULL), 0);
    static const char *const attempts[] = {
        "../escape.txt",         "/../escape.txt",   "%2e%2e/escape.txt",
        "%2E%2E%2Fescape.txt",   "..\\escape.txt",   "/a/../../escape.txt",
        "a\\..\\..\\escape.txt", "....//escape.txt", "/root/../escape.txt",
    };
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        th_upload(mock.port, attempts[i], "", "evil", &r);
        th_upload(al.port, attempts[i], "", "evil", &r);
    }
    /* The scratch dir still holds only root/: nothing landed beside it. */
    ck_assert_int_eq(entries(env.dir), 1);
    ck_assert(!th_exists(th_path(env.dir, "escape.txt")));
    /* Control: an ordinary upload does land (in the root). */
    ck_assert_int_eq(th_upload(mock.port, "/inside.txt", "", "ok", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "inside.txt")));
    ck_assert_int_eq(th_mock_stop(&al), 0);
}
END_TEST

START_TEST(symlinks_cannot_lead_out_of_the_root)
{
    static th_resp r;
    char outside[4096], abs_target[4096];
    snprintf(outside, sizeof outside, "%s", th_path(env.dir, "outside"));
    ck_assert_int_eq(mkdir(outside, 0755), 0);
    snprintf(abs_target, sizeof abs_target, "%s", outside);
    ck_assert_int_eq(symlink("../outside", th_path(env.root, "rel")), 0);
    ck_assert_int_eq(symlink(abs_target, th_path(env.root, "abs")), 0);
    ck_assert_int_eq(mkdir(th_path(env.root, "deep"), 0755), 0);
    ck_assert_int_eq(symlink("../../outside", th_path(env.root, "deep/up")), 0);
    ck_assert_int_eq(symlink("/proc/self/cwd", th_path(env.root, "magic")), 0);

    static const char *const via[] = {"/rel/x.txt", "/abs/x.txt", "/deep/up/x.txt",
                                      "/rel/new/dir/x.txt", "/magic/x.txt"};
    for (size_t i = 0; i < sizeof via / sizeof via[0]; i++) {
        ck_assert_int_eq(th_upload(mock.port, via[i], "", "evil", &r), 200);
        ck_assert_msg(strcmp(r.body, "{\"code\":403,\"message\":\"permission denied\","
                                     "\"data\":null}") == 0,
                      "%s: %s", via[i], r.body);
    }
    ck_assert_int_eq(entries(outside), 0);

    /* A symlink as the target is replaced by the file; what it pointed to is untouched. */
    FILE *f = fopen(th_path(outside, "victim.txt"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("orig", f);
    fclose(f);
    ck_assert_int_eq(symlink("../outside/victim.txt", th_path(env.root, "victim.txt")), 0);
    ck_assert_int_eq(th_upload(mock.port, "/victim.txt", "", "new", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    struct stat st;
    ck_assert_int_eq(lstat(th_path(env.root, "victim.txt"), &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(stat(th_path(outside, "victim.txt"), &st), 0);
    ck_assert_int_eq(st.st_size, 4);

    /* Control: a symlink that stays inside the root is followed. */
    ck_assert_int_eq(mkdir(th_path(env.root, "sub"), 0755), 0);
    ck_assert_int_eq(symlink("sub", th_path(env.root, "in")), 0);
    ck_assert_int_eq(th_upload(mock.port, "/in/ok.txt", "", "ok", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "sub/ok.txt")));
}
END_TEST

/* Starts an upload of total bytes to file_path and sends the first `sent` of them. */
static int start_upload(const char *file_path, unsigned long long total, size_t sent)
{
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: %s\r\n"
                     "Content-Length: %llu\r\n\r\n",
                     file_path, total);
    ck_assert_int_eq(th_send_all(fd, head, (size_t)n), 0);
    static char buf[65536];
    memset(buf, 'z', sizeof buf);
    for (size_t off = 0; off < sent; off += sizeof buf)
        ck_assert_int_eq(th_send_all(fd, buf, sent - off < sizeof buf ? sent - off : sizeof buf),
                         0);
    return fd;
}

START_TEST(client_abort_leaves_no_temp_file)
{
    const char *dir = th_path(env.root, "ab");
    int fd = start_upload("/ab/big.bin", 10ull << 20, 1 << 20);
    /* Control: while the body arrives, the temp file is there to be cleaned up. */
    ck_assert_int_eq(th_wait_temps(dir, 1, 5000), 1);
    close(fd);
    ck_assert_int_eq(th_wait_temps(dir, 0, 5000), 0);
    ck_assert(!th_exists(th_path(env.root, "ab/big.bin")));

    /* The same with a RST instead of a FIN. */
    fd = start_upload("/ab/rst.bin", 10ull << 20, 1 << 20);
    ck_assert_int_eq(th_wait_temps(dir, 1, 5000), 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    ck_assert_int_eq(th_wait_temps(dir, 0, 5000), 0);
    ck_assert(!th_exists(th_path(env.root, "ab/rst.bin")));
}
END_TEST

START_TEST(short_body_stores_nothing)
{
    int fd = start_upload("/short.bin", 1000, 500);
    shutdown(fd, SHUT_WR);
    static th_resp r;
    th_recv_all(fd, r.raw, sizeof r.raw, 5000);
    close(fd);
    ck_assert_int_eq(th_wait_temps(env.root, 0, 5000), 0);
    ck_assert(!th_exists(th_path(env.root, "short.bin")));
    ck_assert_ptr_null(strstr(r.raw, "success"));
}
END_TEST

START_TEST(stale_temp_files_are_removed_at_start)
{
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    ck_assert_int_eq(mkdir(th_path(env.root, "s"), 0755), 0);
    ck_assert_int_eq(
        th_write_pattern(th_path(env.root, TH_TMP_PREFIX "0123abcd0123abcd"), "x", 1, 10), 0);
    ck_assert_int_eq(
        th_write_pattern(th_path(env.root, "s/" TH_TMP_PREFIX "deadbeefdeadbeef"), "x", 1, 10), 0);
    /* Control: names that only resemble the prefix are the user's files and stay. */
    ck_assert_int_eq(th_write_pattern(th_path(env.root, ".streamput-tmpfile"), "x", 1, 10), 0);
    ck_assert_int_eq(th_write_pattern(th_path(env.root, "s/keep" TH_TMP_PREFIX), "x", 1, 10), 0);
    ck_assert_int_eq(th_mock_start(&mock, env.root, NULL), 0);
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    ck_assert_int_eq(th_count_prefix(th_path(env.root, "s"), TH_TMP_PREFIX), 0);
    ck_assert(th_exists(th_path(env.root, ".streamput-tmpfile")));
    ck_assert(th_exists(th_path(env.root, "s/keep" TH_TMP_PREFIX)));
}
END_TEST

START_TEST(parent_directories_are_created)
{
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/p/q/r/s/t.txt", "", "deep", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "p/q/r/s/t.txt")));
}
END_TEST

START_TEST(directory_target_with_overwrite_is_an_error)
{
    static th_resp r;
    ck_assert_int_eq(mkdir(th_path(env.root, "isdir"), 0755), 0);
    ck_assert_int_eq(th_upload(mock.port, "/isdir", "", "x", &r), 200);
    ck_assert_msg(strncmp(r.body, "{\"code\":500,\"message\":\"failed to put [/isdir]: ", 46) == 0,
                  "%s", r.body);
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
}
END_TEST

/* ---- concurrent writers ---- */

#define WRITERS 8
#define WBODY   (2u << 20)

typedef struct writer {
    int port;
    char fill;
    int status;
} writer;

/* Sends a WBODY-byte body of w->fill in 16 KiB pieces, yielding between them to interleave. */
static void *write_one(void *arg)
{
    writer *w = arg;
    static __thread char buf[16384];
    static __thread th_resp r;
    memset(buf, w->fill, sizeof buf);
    w->status = -1;
    int fd = th_connect(w->port);
    if (fd < 0)
        return NULL;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "File-Path: /same/target.bin\r\nContent-Length: %u\r\n\r\n",
                     WBODY);
    int ok = th_send_all(fd, head, (size_t)n) == 0;
    for (unsigned off = 0; ok && off < WBODY; off += sizeof buf) {
        ok = th_send_all(fd, buf, sizeof buf) == 0;
        sched_yield();
    }
    if (ok && th_recv_resp(fd, &r, 20000) > 0) {
        w->status = strcmp(r.body, TH_SUCCESS) == 0 ? 200 : 0;
    }
    close(fd);
    return NULL;
}

/* 1 if path holds exactly WBODY bytes that are all the same, one writer's whole body. */
static int one_whole_body(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t total = 0, n;
    int first = -1, same = 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (first < 0)
            first = (unsigned char)buf[0];
        for (size_t i = 0; i < n; i++)
            same &= (unsigned char)buf[i] == first;
        total += n;
    }
    fclose(f);
    return same && total == WBODY && first >= 'A' && first < 'A' + WRITERS;
}

START_TEST(concurrent_writers_leave_exactly_one_body)
{
    const char *target = th_path(env.root, "same/target.bin");
    for (int round = 0; round < 3; round++) {
        pthread_t th[WRITERS];
        writer w[WRITERS];
        for (int i = 0; i < WRITERS; i++) {
            w[i] = (writer){.port = mock.port, .fill = (char)('A' + i)};
            ck_assert_int_eq(pthread_create(&th[i], NULL, write_one, &w[i]), 0);
        }
        for (int i = 0; i < WRITERS; i++) {
            pthread_join(th[i], NULL);
            ck_assert_int_eq(w[i].status, 200);
        }
        ck_assert_msg(one_whole_body(target), "round %d: the target mixes bodies", round);
        ck_assert_int_eq(th_count_prefix(th_path(env.root, "same"), TH_TMP_PREFIX), 0);
        th_mock_drain_log(&mock);
    }
    /* Negative control: a file made of two writers' halves is caught. */
    FILE *f = fopen(target, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, WBODY / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, WBODY / 2, SEEK_SET);
    fputc(c == 'A' ? 'B' : 'A', f);
    fclose(f);
    ck_assert(!one_whole_body(target));
}
END_TEST

START_TEST(max_body_is_refused_early_and_mid_stream)
{
    static th_resp r;
    static const char too_large[] =
        "{\"code\":413,\"message\":\"http: request body too large\",\"data\":null}";
    th_mock lim;
    ck_assert_int_eq(th_mock_start(&lim, env.root, "--max-body", "1000", NULL), 0);
    /* Content-Length over the limit: answered from the headers, before any body is sent. */
    static const char head[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /big.bin\r\n"
                               "Content-Length: 1001\r\n\r\n";
    ck_assert_int_eq(th_raw(lim.port, head, sizeof head - 1, &r), 200);
    ck_assert_str_eq(r.body, too_large);
    /* Chunked bodies are cut off as they pass the limit. */
    static char body[3000];
    memset(body, 'c', sizeof body);
    ck_assert_int_eq(
        th_put(lim.port, "/api/fs/put", "File-Path: /big.bin\r\n", body, 3000, 500, &r), 200);
    ck_assert_str_eq(r.body, too_large);
    ck_assert(!th_exists(th_path(env.root, "big.bin")));
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    /* Control: exactly the limit is fine, either way. */
    ck_assert_int_eq(th_put(lim.port, "/api/fs/put", "File-Path: /fits.bin\r\n", body, 1000, 0, &r),
                     200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(
        th_put(lim.port, "/api/fs/put", "File-Path: /fits2.bin\r\n", body, 1000, 300, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(th_mock_stop(&lim), 0);
}
END_TEST

START_TEST(fsync_mode_stores_normally)
{
    static th_resp r;
    th_mock fs;
    ck_assert_int_eq(th_mock_start(&fs, env.root, "--fsync", NULL), 0);
    ck_assert_int_eq(th_upload(fs.port, "/synced/f.txt", "", "durable", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "synced/f.txt")));
    ck_assert_int_eq(th_mock_stop(&fs), 0);
}
END_TEST

/*
 * A final name over the file system's NAME_MAX (255 bytes here) can never be stored. The temp
 * file's own name is short, so this used to surface only at the rename, after the whole body,
 * even from a client that waited for "100 Continue". Now the check runs before the body.
 */
START_TEST(a_name_too_long_to_store_is_refused_before_the_body)
{
    static th_resp r;
    char name[300], fp[320], want[512];
    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(fp, sizeof fp, "/long/%s", name);
    /* The message shortens a path this long around "..." (the head and the tail of it). */
    snprintf(want, sizeof want,
             "{\"code\":500,\"message\":\"failed to put [%.100s...%s]: file name too long\","
             "\"data\":null}",
             fp, fp + strlen(fp) - 97);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: %s\r\n"
                     "Content-Length: 20000000\r\nExpect: 100-continue\r\n\r\n",
                     fp);
    /* Only the head is sent: the answer must come without the body, and with no "100 Continue"
     * before it (th_recv_resp would skip one, so the raw bytes are checked). */
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, head, (size_t)n), 0);
    th_recv_resp(fd, &r, 3000);
    close(fd);
    ck_assert_msg(strncmp(r.raw, "HTTP/1.1 200 ", 13) == 0, "got: %s", r.raw);
    ck_assert_str_eq(r.body, want);
    ck_assert(th_journal_wait(&mock, fp, 5000));
    ck_assert_str_eq(th_journal_last(mock.port, "bytes_received"), "0");
    /* Without Expect the body is read first, as AList reads it, and the answer is the same. */
    ck_assert_int_eq(th_upload(mock.port, fp, "", "some body", &r), 200);
    ck_assert_str_eq(r.body, want);
    ck_assert_int_eq(th_count_prefix(th_path(env.root, "long"), TH_TMP_PREFIX), 0);
    ck_assert_int_eq(entries(th_path(env.root, "long")), 0);
    /* Control: 255 bytes fit. */
    name[255] = '\0';
    snprintf(fp, sizeof fp, "/long/%s", name);
    ck_assert_int_eq(th_upload(mock.port, fp, "", "fits", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, fp + 1)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_storage");
    TCase *t = tcase_create("storage");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, traversal_never_leaves_the_root);
    tcase_add_test(t, symlinks_cannot_lead_out_of_the_root);
    tcase_add_test(t, client_abort_leaves_no_temp_file);
    tcase_add_test(t, short_body_stores_nothing);
    tcase_add_test(t, stale_temp_files_are_removed_at_start);
    tcase_add_test(t, parent_directories_are_created);
    tcase_add_test(t, directory_target_with_overwrite_is_an_error);
    tcase_add_test(t, concurrent_writers_leave_exactly_one_body);
    tcase_add_test(t, max_body_is_refused_early_and_mid_stream);
    tcase_add_test(t, fsync_mode_stores_normally);
    tcase_add_test(t, a_name_too_long_to_store_is_refused_before_the_body);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
