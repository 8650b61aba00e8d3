/*
 * streamput-mock when its process or its disk fails: SIGKILL mid-upload (no file at the target,
 * the next start removes the stale temp files and says so), a file size limit (RLIMIT_FSIZE set
 * in the mock before exec, so writes fail with EFBIG and SIGXFSZ must not kill it), and a full
 * or read-only file system (a 1 MiB tmpfs mounted in a private mount namespace, so the mount
 * disappears with the test process whatever happens; skipped where mounting is not permitted).
 * Each failing upload gets AList's code 500 with Go's error text, leaves no temp file, and the
 * mock keeps serving.
 *
 *   ctest --test-dir build -R test_hostile_disk          (a few seconds; no long form)
 */
#include "th.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define EFBIG_MSG "{\"code\":500,\"message\":\"write /big.bin: file too large\",\"data\":null}"
#define ENOSPC_MSG                                                                                 \
    "{\"code\":500,\"message\":\"write /big.bin: no space left on device\",\"data\":null}"

static th_env env;
static char small[4096]; /* 256 KiB: fits every limit here */
static char big[4096];   /* 3 MiB: fits none */

static void setup(void)
{
    th_env_init(&env);
    snprintf(small, sizeof small, "%s", th_path(env.dir, "small.bin"));
    snprintf(big, sizeof big, "%s", th_path(env.dir, "big.bin"));
    ck_assert_int_eq(th_write_random(small, 256 << 10, 11), 0);
    ck_assert_int_eq(th_write_random(big, 3 << 20, 12), 0);
}

static void teardown(void)
{
    th_env_free(&env);
}

/* Starts a PUT of total body bytes to file_path and sends `sent` of them; returns the socket. */
static int partial_upload(int port, const char *file_path, size_t total, size_t sent)
{
    static char buf[65536];
    char h[256];
    int n = snprintf(h, sizeof h,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     file_path, total);
    int fd = th_connect(port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, h, (size_t)n), 0);
    memset(buf, 'k', sizeof buf);
    for (size_t off = 0; off < sent; off += sizeof buf)
        ck_assert_int_eq(th_send_all(fd, buf, sent - off < sizeof buf ? sent - off : sizeof buf),
                         0);
    return fd;
}

START_TEST(sigkill_mid_upload_stores_nothing_and_the_next_start_cleans_up)
{
    static char log[16384];
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, NULL), 0);
    th_client_upload_ok(&m, env.root, small, "/done.bin"); /* stored before the crash */
    int a = partial_upload(m.port, "/a/big.bin", 64u << 20, 4u << 20);
    int b = partial_upload(m.port, "/b/c/deep.bin", 64u << 20, 1u << 20);
    ck_assert_int_eq(th_wait_temps(env.root, 2, 5000), 2);
    ck_assert_int_eq(kill(m.pid, SIGKILL), 0);
    ck_assert_int_eq(th_mock_stop(&m), 128 + SIGKILL);
    close(a);
    close(b);
    /* No target, and (the control) the crash did leave both temp files behind. */
    ck_assert(!th_exists(th_path(env.root, "a/big.bin")));
    ck_assert(!th_exists(th_path(env.root, "b/c/deep.bin")));
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 2);

    /* The next start on the same root removes them and says so on stderr. */
    ck_assert_int_eq(th_mock_start(&m, env.root, NULL), 0);
    log[0] = '\0';
    ck_assert_msg(th_mock_log_wait(&m, "removed 2 stale temp file(s)", log, sizeof log, 2000), "%s",
                  log);
    ck_assert_int_eq(th_count_files(env.root, TH_TMP_PREFIX), 0);
    ck_assert(!th_exists(th_path(env.root, "a/big.bin")));
    ck_assert_int_eq(th_files_equal(small, th_path(env.root, "done.bin")), 1);
    th_client_upload_ok(&m, env.root, small, "/a/big.bin");
    ck_assert_int_eq(th_mock_stop(&m), 0);

    /* Control: a start with nothing stale says nothing about it. */
    ck_assert_int_eq(th_mock_start(&m, env.root, NULL), 0);
    log[0] = '\0';
    ck_assert(!th_mock_log_wait(&m, "stale", log, sizeof log, 300));
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* Starts the mock with RLIMIT_FSIZE = bytes: set here around the fork, inherited through exec. */
static void start_fsize_limited(th_mock *m, rlim_t bytes)
{
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = bytes;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = th_mock_start(m, env.root, NULL);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(rc, 0);
}

/* PUTs the first len bytes of the file at path to the mock as /big.bin (chunk 0: with
 * Content-Length, else chunked in pieces of chunk bytes); returns the JSON body. */
static const char *put_file(int port, const char *path, size_t len, size_t chunk)
{
    static th_resp r;
    char *body = malloc(len);
    FILE *f = fopen(path, "rb");
    ck_assert(body != NULL && f != NULL);
    ck_assert_uint_eq(fread(body, 1, len, f), len);
    fclose(f);
    ck_assert_int_eq(th_put(port, "/api/fs/put", "File-Path: /big.bin\r\n", body, len, chunk, &r),
                     200);
    free(body);
    return r.body;
}

START_TEST(file_size_limit_fails_the_upload_not_the_server)
{
    static th_run r;
    th_mock m;
    char url[192];
    start_fsize_limited(&m, 1 << 20);
    snprintf(url, sizeof url, "%s/api/fs/put", m.url);
    /* The real client: a clear error, exit 7 (API code other than 200). */
    th_client(&r, "-s", "--timeout", "10", "-p", "/big.bin", big, url, NULL);
    ck_assert_msg(r.status == 7, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "write /big.bin: file too large") != NULL, "%s", r.err);
    ck_assert_msg(th_alive(m.pid), "the mock died: SIGXFSZ must be ignored");
    th_assert_no_temps(env.root);
    ck_assert(!th_exists(th_path(env.root, "big.bin")));
    /* The exact answer, for a Content-Length and a chunked body. */
    ck_assert_str_eq(put_file(m.port, big, 3 << 20, 0), EFBIG_MSG);
    ck_assert_str_eq(put_file(m.port, big, 3 << 20, 65536), EFBIG_MSG);
    /* The limit is exact: one byte over fails, the limit itself is stored. */
    ck_assert_str_eq(put_file(m.port, big, (1 << 20) + 1, 0), EFBIG_MSG);
    th_assert_no_temps(env.root);
    ck_assert_str_eq(put_file(m.port, big, 1 << 20, 0), TH_SUCCESS);
    ck_assert_int_eq(unlink(th_path(env.root, "big.bin")), 0);
    /* The mock keeps serving. */
    ck_assert(th_alive(m.pid));
    th_client_upload_ok(&m, env.root, small, "/after.bin");
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    /* Control: without the limit the same upload is stored. */
    ck_assert_int_eq(th_mock_start(&m, env.root, NULL), 0);
    th_client_upload_ok(&m, env.root, big, "/big.bin");
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* Free blocks of the file system holding path. */
static unsigned long free_blocks(const char *path)
{
    struct statvfs sv;
    ck_assert_int_eq(statvfs(path, &sv), 0);
    return (unsigned long)sv.f_bfree;
}

START_TEST(full_and_read_only_file_systems_fail_the_upload_not_the_server)
{
    /* A private mount namespace: the tmpfs vanishes with this (forked) test process. */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        fprintf(stderr, "full file system: skipped, cannot make a mount namespace: %s\n",
                strerror(errno));
        return;
    }
    char fs[4096];
    snprintf(fs, sizeof fs, "%s", th_path(env.dir, "fs"));
    ck_assert_int_eq(mkdir(fs, 0755), 0);
    if (mount("tmpfs", fs, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") < 0) {
        fprintf(stderr, "full file system: skipped, cannot mount a tmpfs: %s\n", strerror(errno));
        return;
    }
    char *root = strdup(th_path(fs, "root"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    unsigned long empty = free_blocks(fs);
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, root, NULL), 0);

    ck_assert_str_eq(put_file(m.port, big, 3 << 20, 0), ENOSPC_MSG);
    ck_assert_str_eq(put_file(m.port, big, 3 << 20, 65536), ENOSPC_MSG);
    th_assert_no_temps(root);
    ck_assert(!th_exists(th_path(root, "big.bin")));
    /* The space is given back: no temp file is kept open behind its unlinked name. */
    ck_assert_uint_ge(free_blocks(fs) + 1, empty);
    ck_assert(th_alive(m.pid));
    th_client_upload_ok(&m, root, small, "/after.bin");

    /* Read-only: the upload cannot even begin, and says why. */
    ck_assert_int_eq(mount(NULL, fs, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    static th_resp r;
    ck_assert_int_eq(th_upload(m.port, "/ro.bin", "", "x", &r), 200);
    ck_assert_str_eq(r.body,
                     "{\"code\":500,\"message\":\"failed to put [/ro.bin]: read-only file system\","
                     "\"data\":null}");
    ck_assert(th_alive(m.pid));
    ck_assert_int_eq(mount(NULL, fs, NULL, MS_REMOUNT, NULL), 0);
    th_client_upload_ok(&m, root, small, "/after-ro.bin");

    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    ck_assert_int_eq(umount2(fs, MNT_DETACH), 0);
    free(root);
}
END_TEST

/*
 * --fsync syncs the file, renames it, then syncs its directory. When only that last step fails,
 * the file is in place and cannot be taken back, but the durability --fsync promised is not
 * there: the answer is a 500 that says both, and the journal says "stored": true, which it used
 * to deny. The failure comes from th_fsync_fail, preloaded into the mock.
 */
START_TEST(a_failed_directory_fsync_after_the_rename_reports_the_file_as_stored)
{
    static th_resp r;
    th_mock m;
    char opts[1024];
    const char *asan = getenv("ASAN_OPTIONS");
    /* A sanitizer build's runtime insists on coming first among the preloaded libraries. */
    snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", asan != NULL ? asan : "",
             asan != NULL && *asan != '\0' ? ":" : "");
    ck_assert_int_eq(setenv("ASAN_OPTIONS", opts, 1), 0);
    ck_assert_int_eq(setenv("LD_PRELOAD", TH_FSYNC_FAIL_SO, 1), 0);
    int rc = th_mock_start(&m, env.root, "--fsync", NULL);
    unsetenv("LD_PRELOAD");
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(th_upload(m.port, "/d/synced.txt", "", "durable?", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":500,\"message\":\"[/d/synced.txt] is stored, but --fsync "
                             "could not sync its directory: input/output error\",\"data\":null}");
    ck_assert_str_eq(th_journal_last(m.port, "stored"), "true");
    FILE *f = fopen(th_path(env.root, "d/synced.txt"), "rb");
    char got[16] = {0};
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(got, 1, sizeof got - 1, f), 8);
    fclose(f);
    ck_assert_str_eq(got, "durable?");
    th_assert_no_temps(env.root);
    th_mock_drain_log(&m);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    /* Controls: without --fsync the shim changes nothing; without the shim --fsync succeeds. */
    ck_assert_int_eq(setenv("LD_PRELOAD", TH_FSYNC_FAIL_SO, 1), 0);
    rc = th_mock_start(&m, env.root, NULL);
    unsetenv("LD_PRELOAD");
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(th_upload(m.port, "/d/plain.txt", "", "x", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    ck_assert_int_eq(th_mock_start(&m, env.root, "--fsync", NULL), 0);
    ck_assert_int_eq(th_upload(m.port, "/d/synced2.txt", "", "x", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(th_journal_last(m.port, "stored"), "true");
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostile_disk");
    TCase *t = tcase_create("disk");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, sigkill_mid_upload_stores_nothing_and_the_next_start_cleans_up);
    tcase_add_test(t, file_size_limit_fails_the_upload_not_the_server);
    tcase_add_test(t, full_and_read_only_file_systems_fail_the_upload_not_the_server);
    tcase_add_test(t, a_failed_directory_fsync_after_the_rename_reports_the_file_as_stored);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
