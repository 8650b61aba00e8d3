/*
 * End to end: the real streamput uploads to the real streamput-mock on 127.0.0.1 port 0, and the
 * stored file is compared with the source byte for byte.
 */
#include "th.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536

static char *dir;
static char *root;
static th_mock mock;

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    root = strdup(th_path(dir, "root"));
    ck_assert_int_eq(mkdir(root, 0755), 0);
    ck_assert_int_eq(th_mock_start(&mock, root, NULL), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    free(root);
    th_rmtree(dir);
}

/* Uploads a random file of size bytes with the given extra options and checks the copy. */
static void upload_and_compare(uint64_t size, const char *engine)
{
    char name[64], remote[80], url[192], chunk[32];
    snprintf(name, sizeof name, "src-%llu-%s.bin", (unsigned long long)size, engine);
    snprintf(remote, sizeof remote, "/up/%s", name);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    snprintf(chunk, sizeof chunk, "%d", CHUNK);
    const char *src = th_path(dir, name);
    ck_assert_int_eq(th_write_random(src, size, (uint32_t)size + 1), 0);

    th_run r;
    th_client(&r, "-s", "-e", engine, "-c", chunk, "-p", remote, src, url, NULL);
    ck_assert_msg(r.status == 0, "size %llu engine %s: exit %d: %s", (unsigned long long)size,
                  engine, r.status, r.err);
    const char *stored = th_path(root, remote + 1);
    ck_assert_msg(th_files_equal(src, stored) == 1, "size %llu engine %s: stored copy differs",
                  (unsigned long long)size, engine);
}

static const uint64_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 8u << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

START_TEST(rw_engine_is_byte_exact)
{
    upload_and_compare(sizes[_i], "rw");
}
END_TEST

START_TEST(sendfile_engine_is_byte_exact)
{
    upload_and_compare(sizes[_i], "sendfile");
}
END_TEST

/* The comparison must be able to fail, or the tests above prove nothing. */
START_TEST(comparison_detects_a_single_flipped_byte)
{
    upload_and_compare(CHUNK + 1, "rw");
    const char *src = th_path(dir, "src-65537-rw.bin");
    const char *stored = th_path(root, "up/src-65537-rw.bin");
    int fd = open(stored, O_RDWR);
    ck_assert_int_ge(fd, 0);
    unsigned char b;
    ck_assert_int_eq(pread(fd, &b, 1, CHUNK), 1);
    b ^= 0x01;
    ck_assert_int_eq(pwrite(fd, &b, 1, CHUNK), 1);
    close(fd);
    ck_assert_int_eq(th_files_equal(src, stored), 0);
    /* A truncated copy is caught too. */
    ck_assert_int_eq(truncate(stored, CHUNK), 0);
    ck_assert_int_eq(th_files_equal(src, stored), 0);
}
END_TEST

START_TEST(stdin_is_sent_chunked_and_byte_exact)
{
    const char *src = th_path(dir, "stdin.bin");
    ck_assert_int_eq(th_write_random(src, 3 * CHUNK + 17, 42), 0);
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    char *argv[] = {TH_BIN_DIR "/streamput", "-s", "-p", "/piped.bin", "-", url, NULL};
    th_run r;
    th_run_argv(&r, argv, src, 60000);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "piped.bin")), 1);
}
END_TEST

/* Starts a second mock on root with the given --fault and points url at its upload route. */
static void start_slow_mock(th_mock *m, const char *fault, char *url, size_t urlsz)
{
    ck_assert_int_eq(th_mock_start(m, root, "--fault", fault, NULL), 0);
    snprintf(url, urlsz, "%s/api/fs/put", m->url);
}

/*
 * A server that takes its time to answer once it has the whole body is at work, not stalled:
 * OpenList passes a big file on to cloud storage before it answers. Giving up there reported a
 * failure for a file that was stored, and --retry with --no-overwrite then reported "file
 * exists" for the client's own upload.
 */
START_TEST(slow_answer_after_the_whole_body_is_not_a_stall)
{
    th_mock slow;
    char url[192];
    start_slow_mock(&slow, "delay-response=1500", url, sizeof url);
    static const uint64_t lens[] = {1000, 3u << 20}; /* without and with Expect */
    for (size_t i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "slow-%zu.bin", i);
        const char *src = th_path(dir, name);
        ck_assert_int_eq(th_write_random(src, lens[i], (uint32_t)i + 40), 0);
        th_run r;
        th_client(&r, "-v", "--no-progress", "--no-overwrite", "--stall-timeout", "0.5", "--retry",
                  "2", "--retry-delay", "100ms", src, url, NULL);
        ck_assert_msg(r.status == 0, "%s: exit %d: %s", name, r.status, r.err);
        ck_assert_msg(strstr(r.err, "retrying") == NULL, "%s: retried: %s", name, r.err);
        ck_assert_int_eq(th_files_equal(src, th_path(root, name)), 1);
    }
    ck_assert_int_eq(th_mock_stop(&slow), 0);
}
END_TEST

/*
 * When the client does give up on the answer (--answer-timeout), the file is stored anyway:
 * the message says it may be, and with --no-overwrite it does not retry into "file exists".
 */
START_TEST(answer_timeout_says_the_file_may_be_stored_and_is_right)
{
    th_mock slow;
    char url[192];
    start_slow_mock(&slow, "delay-response=1000", url, sizeof url);
    const char *src = th_path(dir, "late.bin");
    ck_assert_int_eq(th_write_random(src, 3u << 20, 42), 0);
    th_run r;
    th_client(&r, "-s", "--no-overwrite", "--answer-timeout", "300ms", "--retry", "2",
              "--retry-delay", "1500ms", src, url, NULL);
    ck_assert_msg(r.status == 5, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "the server may have stored the file") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "not retried") != NULL, "%s", r.err);
    ck_assert(th_journal_wait(&slow, "/late.bin", 10000));
    ck_assert_int_eq(th_files_equal(src, th_path(root, "late.bin")), 1);
    ck_assert_int_eq(th_mock_stop(&slow), 0);
}
END_TEST

START_TEST(wrong_token_fails_with_the_api_exit_code)
{
    th_mock authed;
    ck_assert_int_eq(th_mock_start(&authed, root, "--token", "right", NULL), 0);
    const char *src = th_path(dir, "tok.bin");
    ck_assert_int_eq(th_write_random(src, 1000, 7), 0);
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", authed.url);
    th_run r;
    th_client(&r, "-s", "-t", "wrong", "-p", "/tok.bin", src, url, NULL);
    ck_assert_int_eq(r.status, 7);
    ck_assert_msg(strstr(r.err, "token is invalidated") != NULL, "stderr: %s", r.err);
    ck_assert(!th_exists(th_path(root, "tok.bin")));
    th_client(&r, "-s", "-t", "right", "-p", "/tok.bin", src, url, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(th_files_equal(src, th_path(root, "tok.bin")), 1);
    ck_assert_int_eq(th_mock_stop(&authed), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e");
    TCase *t = tcase_create("byte_exact");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, rw_engine_is_byte_exact, 0, NSIZES);
    tcase_add_loop_test(t, sendfile_engine_is_byte_exact, 0, NSIZES);
    tcase_add_test(t, comparison_detects_a_single_flipped_byte);
    tcase_add_test(t, stdin_is_sent_chunked_and_byte_exact);
    tcase_add_test(t, wrong_token_fails_with_the_api_exit_code);
    tcase_add_test(t, slow_answer_after_the_whole_body_is_not_a_stall);
    tcase_add_test(t, answer_timeout_says_the_file_may_be_stored_and_is_right);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
