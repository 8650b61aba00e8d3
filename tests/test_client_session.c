/*
 * libstreamput's batch API, sp_session, against the real streamput-mock: each queued file ends
 * in exactly one done call, lanes keep their connections, --skip-existing's lookup, a stop from
 * the done callback drops the queue, the progress callback names its lane, and the settings and
 * arguments it refuses.
 */
#include "th.h"
#include "streamput.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILES 20

static th_env env;
static th_mock mock;
static char url[192];
static sp_client *c;

/* What the done calls said, guarded: they come from the lanes' threads. */
typedef struct tally {
    pthread_mutex_t mu;
    int calls[FILES];
    int outcomes[5];
    int first_err;
    unsigned max_lane;
    int bad; /* a call that broke the contract: no handle, a wrong status, an unknown file */
    int stop_on_failure;
    sp_session *s;
    /* progress */
    unsigned progress_lanes; /* bit per lane seen */
    uint64_t progress_total;
} tally;

static tally tl;

static void setup(void)
{
    th_env_up(&env, &mock, NULL, NULL);
    snprintf(url, sizeof url, "%s/api/fs/put", mock.url);
    c = sp_client_new();
    ck_assert_ptr_nonnull(c);
    memset(&tl, 0, sizeof tl);
    pthread_mutex_init(&tl.mu, NULL);
}

static void teardown(void)
{
    sp_client_free(c);
    pthread_mutex_destroy(&tl.mu);
    th_env_down(&env, &mock);
}

static void on_done(void *ud, const sp_done *d)
{
    tally *x = ud;
    long status = 0;
    int i = (int)(intptr_t)d->userdata;
    if (d->handle != NULL)
        sp_getinfo(d->handle, SP_INFO_HTTP_STATUS, &status);
    pthread_mutex_lock(&x->mu);
    if (i < 0 || i >= FILES || d->outcome > SP_NOT_STARTED)
        x->bad++;
    else
        x->calls[i]++;
    x->outcomes[d->outcome]++;
    if (d->lane > x->max_lane)
        x->max_lane = d->lane;
    if ((d->outcome == SP_NOT_STARTED) != (d->handle == NULL) ||
        (d->outcome == SP_UPLOADED && (status != 200 || d->err != SP_OK)))
        x->bad++;
    if (d->outcome != SP_UPLOADED && d->outcome != SP_SKIPPED && x->first_err == 0)
        x->first_err = d->err;
    pthread_mutex_unlock(&x->mu);
    if (d->outcome == SP_FAILED && x->stop_on_failure)
        sp_session_stop(x->s);
}

static int on_progress(void *ud, unsigned lane, uint64_t sent, uint64_t total)
{
    tally *x = ud;
    pthread_mutex_lock(&x->mu);
    x->progress_lanes |= 1u << lane;
    if (sent == total)
        x->progress_total += total;
    pthread_mutex_unlock(&x->mu);
    return 0;
}

static int counted_progress;

static int on_c_progress(void *ud, uint64_t sent, uint64_t total)
{
    (void)ud;
    (void)sent;
    (void)total;
    __atomic_add_fetch(&counted_progress, 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Makes file i (size bytes) in the scratch directory; its path and remote name into the given
 * buffers. */
static void make_file(int i, uint64_t size, char *path, size_t pcap, char *remote, size_t rcap)
{
    snprintf(remote, rcap, "/d/f %02d.bin", i);
    snprintf(path, pcap, "%s", th_path(env.dir, remote + 3));
    ck_assert_int_eq(th_write_random(path, size, (uint32_t)(100 + i)), 0);
}

START_TEST(every_file_ends_in_one_done_call_over_kept_connections)
{
    sp_set_progress(c, on_c_progress, NULL);
    sp_session *s = sp_session_new(c, 3, on_done, &tl);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sp_session_set_progress(s, on_progress, &tl), SP_OK);
    char path[FILES][4096], remote[FILES][64];
    for (int i = 0; i < FILES; i++) {
        make_file(i, 10000 + (uint64_t)i, path[i], sizeof path[i], remote[i], sizeof remote[i]);
        ck_assert_int_eq(sp_session_put(s, path[i], remote[i], url, (void *)(intptr_t)i), SP_OK);
    }
    ck_assert_int_eq(sp_session_finish(s), SP_OK);
    ck_assert_int_eq(sp_session_finish(s), SP_OK);
    sp_session_free(s);
    ck_assert_int_eq(tl.bad, 0);
    ck_assert_int_eq(tl.outcomes[SP_UPLOADED], FILES);
    for (int i = 0; i < FILES; i++) {
        ck_assert_int_eq(tl.calls[i], 1);
        th_assert_stored(env.root, remote[i], path[i]);
    }
    ck_assert_uint_lt(tl.max_lane, 3);
    ck_assert_uint_ne(tl.progress_lanes, 0);
    ck_assert_uint_eq(tl.progress_lanes & ~7u, 0);
    ck_assert_uint_eq(tl.progress_total, FILES * 10000 + FILES * (FILES - 1) / 2);
    /* The lanes report through the session only, never to the handle they were copied from. */
    ck_assert_int_eq(counted_progress, 0);
    /* Three lanes, each one kept connection: no more than three connections carried twenty. */
    cJSON *a = th_journal(mock.port);
    int conns = th_journal_conns(a, 0, "PUT");
    cJSON_Delete(a);
    ck_assert_int_ge(conns, 1);
    ck_assert_int_le(conns, 3);
}
END_TEST

START_TEST(skip_existing_skips_what_the_server_has_and_uploads_the_rest)
{
    char path[2][4096], remote[2][64], there[4096];
    make_file(0, 5000, path[0], sizeof path[0], remote[0], sizeof remote[0]);
    make_file(1, 6000, path[1], sizeof path[1], remote[1], sizeof remote[1]);
    snprintf(there, sizeof there, "%s/d", env.root);
    ck_assert_int_eq(mkdir(there, 0755), 0);
    ck_assert_int_eq(th_copy_prefix(path[0], th_path(env.root, remote[0] + 1), 5000), 0);
    sp_session *s = sp_session_new(c, 2, on_done, &tl);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(sp_session_set_skip_existing(s, 1), SP_OK);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(sp_session_put(s, path[i], remote[i], url, (void *)(intptr_t)i), SP_OK);
    ck_assert_int_eq(sp_session_finish(s), SP_OK);
    sp_session_free(s);
    ck_assert_int_eq(tl.bad, 0);
    ck_assert_int_eq(tl.outcomes[SP_SKIPPED], 1);
    ck_assert_int_eq(tl.outcomes[SP_UPLOADED], 1);
    th_assert_stored(env.root, remote[1], path[1]);
    /* The skipped one was asked about, never sent. */
    cJSON *a = th_journal(mock.port);
    int puts = 0, gets = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        const char *p = cJSON_GetObjectItem(e, "path")->valuestring;
        puts += strcmp(p, "/api/fs/put") == 0;
        gets += strcmp(p, "/api/fs/get") == 0;
    }
    cJSON_Delete(a);
    ck_assert_int_eq(puts, 1);
    ck_assert_int_eq(gets, 2);
}
END_TEST

START_TEST(a_stop_from_the_done_call_drops_the_queue)
{
    tl.stop_on_failure = 1;
    sp_session *s = tl.s = sp_session_new(c, 1, on_done, &tl);
    ck_assert_ptr_nonnull(s);
    char path[FILES][4096], remote[FILES][64];
    int accepted = 0, canceled = 0;
    for (int i = 0; i < 8; i++) {
        make_file(i, 300000, path[i], sizeof path[i], remote[i], sizeof remote[i]);
        /* The first is gone before its lane opens it: a local failure, which stops the rest. */
        const char *p = i == 0 ? th_path(env.dir, "missing.bin") : path[i];
        int rc = sp_session_put(s, p, remote[i], url, (void *)(intptr_t)i);
        ck_assert(rc == SP_OK || rc == SP_ECANCELED);
        accepted += rc == SP_OK;
        canceled += rc == SP_ECANCELED;
    }
    ck_assert_int_eq(sp_session_finish(s), SP_EFILE);
    sp_session_free(s);
    ck_assert_int_eq(tl.bad, 0);
    ck_assert_int_eq(tl.first_err, SP_EFILE);
    ck_assert_int_eq(tl.outcomes[SP_FAILED], 1);
    /* One lane, which stopped in the failed file's done call: nothing after it started. */
    ck_assert_int_eq(tl.outcomes[SP_UPLOADED], 0);
    ck_assert_int_eq(tl.outcomes[SP_FAILED] + tl.outcomes[SP_NOT_STARTED], accepted);
    ck_assert_int_eq(accepted + canceled, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_le(tl.calls[i], 1);
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
}
END_TEST

START_TEST(refuses_bad_arguments_and_late_settings)
{
    ck_assert_ptr_null(sp_session_new(NULL, 1, on_done, &tl));
    ck_assert_ptr_null(sp_session_new(c, 0, on_done, &tl));
    ck_assert_ptr_null(sp_session_new(c, 65, on_done, &tl));
    ck_assert_ptr_null(sp_session_new(c, 1, NULL, &tl));
    sp_session_free(NULL);
    sp_session *s = sp_session_new(c, 64, on_done, &tl);
    ck_assert_ptr_nonnull(s);
    char path[4096], remote[64];
    make_file(0, 10, path, sizeof path, remote, sizeof remote);
    ck_assert_int_eq(sp_session_put(s, NULL, remote, url, NULL), SP_EINVAL);
    ck_assert_int_eq(sp_session_put(s, path, remote, NULL, NULL), SP_EINVAL);
    ck_assert_int_eq(sp_session_put(s, path, remote, url, (void *)(intptr_t)0), SP_OK);
    ck_assert_int_eq(sp_session_set_skip_existing(s, 1), SP_EINVAL);
    ck_assert_int_eq(sp_session_set_progress(s, on_progress, &tl), SP_EINVAL);
    ck_assert_int_eq(sp_session_finish(s), SP_OK);
    ck_assert_int_eq(sp_session_put(s, path, remote, url, NULL), SP_EINVAL);
    sp_session_free(s);
    ck_assert_int_eq(tl.outcomes[SP_UPLOADED], 1);
    th_assert_stored(env.root, remote, path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_session");
    TCase *t = tcase_create("session");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, every_file_ends_in_one_done_call_over_kept_connections);
    tcase_add_test(t, skip_existing_skips_what_the_server_has_and_uploads_the_rest);
    tcase_add_test(t, a_stop_from_the_done_call_drops_the_queue);
    tcase_add_test(t, refuses_bad_arguments_and_late_settings);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
