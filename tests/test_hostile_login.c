/*
 * streamput-mock's logins and tokens against a hostile client: a brute force from one address
 * (sequential, spread over user names and both login routes, and concurrent), tokens it never
 * issued (another run's, signed with another key; one signed for a user it does not have), the
 * token of a user removed from --users-file, and a 1 MiB Authorization header. Each refusal is
 * OpenList's answer (common/auth.go, handles/auth.go at 0b1e9d09) or, for the header, the 431
 * Go's net/http gives past its 1 MiB MaxHeaderBytes; nothing is stored, and the mock still serves.
 *
 *   ctest --test-dir build -R test_hostile_login          (a few seconds)
 */
#include "th.h"

#include "jwt.h"
#include "users.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* OL handles/auth.go:55, :61 (model.InvalidUsernameOrPassword). */
#define INVALID "{\"code\":401,\"message\":\"Invalid username or password\",\"data\":null}"
/* OL handles/auth.go:48 (model.TooManyAttempts). */
#define TOO_MANY                                                                                   \
    "{\"code\":429,\"message\":\"Too many unsuccessful sign-in attempts have been made using an "  \
    "incorrect username or password, Try again later.\",\"data\":null}"
/* OL server/common/auth.go:46: a token the allow-list does not hold, whatever its signature. */
#define INVALIDATED "{\"code\":401,\"message\":\"token is invalidated\",\"data\":null}"

static th_env env;
static char src[4096]; /* 64 KiB for the proof uploads, outside the root */

static void setup(void)
{
    th_env_init(&env);
    snprintf(src, sizeof src, "%s", th_path(env.dir, "src.bin"));
    ck_assert_int_eq(th_write_random(src, 64 << 10, 3), 0);
}

static void teardown(void)
{
    th_env_free(&env);
}

/* POST /api/auth/login (or route) as user/pw from the client key xff (NULL: the peer's). */
static const char *login_at(int port, const char *route, const char *user, const char *pw,
                            const char *xff, th_resp *r)
{
    char body[256], h[256] = "Content-Type: application/json\r\nConnection: close\r\n";
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    if (xff != NULL)
        snprintf(h + strlen(h), sizeof h - strlen(h), "X-Forwarded-For: %s\r\n", xff);
    ck_assert_int_eq(th_request(port, "POST", route, h, body, r), 200);
    return r->body;
}

static const char *login(int port, const char *user, const char *pw, const char *xff, th_resp *r)
{
    return login_at(port, "/api/auth/login", user, pw, xff, r);
}

/*
 * As tok: GET path (body NULL) or PUT body to path as a File-Path. Returns the answer's body,
 * asserting HTTP 200, as every /api answer is.
 */
static const char *as(int port, const char *tok, const char *path, const char *body, th_resp *r)
{
    char h[2200];
    snprintf(h, sizeof h, "Authorization: %s\r\nConnection: close\r\n", tok);
    int st = body == NULL ? th_request(port, "GET", path, h, NULL, r)
                          : th_upload(port, path, h, body, r);
    ck_assert_int_eq(st, 200);
    return r->body;
}

/* The proof that m still serves a user: the real client uploads src with tok, byte-exact. */
static void still_serves(const th_mock *m, const char *tok, const char *file_path)
{
    static th_run r;
    char url[192];
    snprintf(url, sizeof url, "%s/api/fs/put", m->url);
    th_client(&r, "-s", "--timeout", "10", "-t", (char *)tok, "-p", (char *)file_path, src, url,
              NULL);
    ck_assert_msg(r.status == 0, "upload: exit %d in %.2f s: %s", r.status, r.seconds, r.err);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, file_path + 1)), 1);
}

/* ---- brute force ---- */

/*
 * LoginCache counts per client (gin's ClientIP), not per user name: five failures spread over
 * names that exist and names that do not lock the address for every user, on both routes, and
 * from then on no guess is checked at all (each is 429, never 401). Tokens issued before keep
 * working, another address logs in, and the lock ends --login-lock seconds after the last try.
 */
START_TEST(brute_force_from_one_address_locks_it_for_every_user)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--user", "alice:s3cret", "--user", "bob:b0b",
                                   "--user", "admin:adm1n", "--login-lock", "2", NULL),
                     0);
    char before[2048];
    th_login_token(m.port, "alice", "s3cret", before, sizeof before);
    const char *ip = "198.51.100.20";
    static const char *const guesses[5][2] = {{"alice", "123456"},
                                              {"bob", "password"},
                                              {"root", "toor"},
                                              {"admin", "admin"},
                                              {"alice", "s3cret "}};
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(login(m.port, guesses[i][0], guesses[i][1], ip, &r), INVALID);
    /* The right password of every user is refused now, on /login and on /login/hash. */
    ck_assert_str_eq(login(m.port, "alice", "s3cret", ip, &r), TOO_MANY);
    ck_assert_str_eq(login(m.port, "bob", "b0b", ip, &r), TOO_MANY);
    ck_assert_str_eq(login(m.port, "admin", "adm1n", ip, &r), TOO_MANY);
    char hash[65];
    ck_assert_int_eq(mock_static_hash("s3cret", 6, hash), 0);
    ck_assert_str_eq(login_at(m.port, "/api/auth/login/hash", "alice", hash, ip, &r), TOO_MANY);
    /* A hundred more guesses: none gets to a password check (each refusal also extends the
     * lock, so the loop stays within it). */
    int checked = 0;
    for (int i = 0; i < 100; i++) {
        char pw[32];
        snprintf(pw, sizeof pw, "guess%d", i);
        login(m.port, i % 2 ? "alice" : "bob", pw, ip, &r);
        checked += strcmp(r.body, TOO_MANY) != 0;
    }
    ck_assert_int_eq(checked, 0);
    /* The lock is on logins only: the token issued before still acts, another address logs in. */
    ck_assert_ptr_nonnull(
        strstr(as(m.port, before, "/api/me", NULL, &r), "\"username\":\"alice\""));
    login(m.port, "alice", "s3cret", "198.51.100.21", &r);
    char other[2048];
    th_token_of(r.body, other, sizeof other);
    /* Quiet for longer than --login-lock: the address logs in again. */
    th_sleep_ms(2300);
    login(m.port, "alice", "s3cret", ip, &r);
    th_token_of(r.body, other, sizeof other);
    still_serves(&m, other, "/after-lock.bin");
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

#define BRUTE_THREADS 16
#define BRUTE_TRIES   8

typedef struct brute {
    int port;
    atomic_int invalid, locked, other;
} brute;

static void *brute_main(void *arg)
{
    brute *b = arg;
    static _Thread_local th_resp r;
    for (int i = 0; i < BRUTE_TRIES; i++) {
        char body[128], h[160];
        snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"p%d\"}", i);
        snprintf(h, sizeof h,
                 "Content-Type: application/json\r\nConnection: close\r\n"
                 "X-Forwarded-For: 203.0.113.50\r\n");
        th_request(b->port, "POST", "/api/auth/login", h, body, &r);
        if (strcmp(r.body, INVALID) == 0)
            atomic_fetch_add(&b->invalid, 1);
        else if (strcmp(r.body, TOO_MANY) == 0)
            atomic_fetch_add(&b->locked, 1);
        else
            atomic_fetch_add(&b->other, 1);
    }
    return NULL;
}

/*
 * Sixteen connections guessing at once from one address. OpenList reads the count, checks the
 * password and writes count + 1 (handles/auth.go:46-58), and so does the mock: concurrent
 * failures may count once, so a burst gets more than five guesses checked, as upstream does. What
 * must hold: every answer is 401 or 429, the burst ends locked (the right password is refused),
 * and no more guesses are checked than one round of five per connection.
 */
START_TEST(a_concurrent_brute_force_ends_locked)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--user", "alice:s3cret", NULL), 0);
    th_drain d;
    th_drain_start(&d, &m);
    brute b = {.port = m.port};
    pthread_t th[BRUTE_THREADS];
    for (int i = 0; i < BRUTE_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, brute_main, &b), 0);
    for (int i = 0; i < BRUTE_THREADS; i++)
        pthread_join(th[i], NULL);
    int invalid = atomic_load(&b.invalid), locked = atomic_load(&b.locked);
    fprintf(stderr, "concurrent brute force: %d of %d guesses checked (401), %d refused (429)\n",
            invalid, BRUTE_THREADS * BRUTE_TRIES, locked);
    ck_assert_int_eq(atomic_load(&b.other), 0);
    ck_assert_int_eq(invalid + locked, BRUTE_THREADS * BRUTE_TRIES);
    ck_assert_int_ge(invalid, 5);
    ck_assert_int_le(invalid, 5 * BRUTE_THREADS);
    ck_assert_str_eq(login(m.port, "alice", "s3cret", "203.0.113.50", &r), TOO_MANY);
    th_drain_stop(&d);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* ---- tokens it never issued ---- */

/*
 * Two mocks at once with the same users: each draws its own signing key, and a token is good only
 * on the run that issued it (its allow-list), both ways, on every authed route; a JWT signed with
 * a key of the test's own for a real user, or for a user no run has, is refused the same way.
 */
START_TEST(another_runs_token_and_a_forged_one_are_refused)
{
    static th_resp r;
    th_mock a, b;
    ck_assert_int_eq(th_mock_start(&a, env.root, "--user", "alice:s3cret", NULL), 0);
    ck_assert_int_eq(th_mock_start(&b, env.root, "--user", "alice:s3cret", NULL), 0);
    char ta[2048], tb[2048];
    th_login_token(a.port, "alice", "s3cret", ta, sizeof ta);
    th_login_token(b.port, "alice", "s3cret", tb, sizeof tb);
    ck_assert_str_ne(ta, tb);
    ck_assert_str_eq(as(b.port, ta, "/api/me", NULL, &r), INVALIDATED);
    ck_assert_str_eq(as(a.port, tb, "/api/me", NULL, &r), INVALIDATED);
    ck_assert_str_eq(as(b.port, ta, "/foreign.txt", "x", &r), INVALIDATED);
    char h[2300];
    snprintf(h, sizeof h, "Authorization: %s\r\nFile-Path: /foreign-mp.bin\r\nX-File-Size: 5\r\n",
             ta);
    th_request(b.port, "POST", "/api/fs/multipart/init", h, NULL, &r);
    ck_assert_str_eq(r.body, INVALIDATED);

    unsigned char key[32];
    ck_assert_int_eq(RAND_bytes(key, sizeof key), 1);
    int64_t now = (int64_t)time(NULL);
    char forged[MOCK_JWT_MAX];
    static const char *const names[] = {"alice", "admin", "mallory"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ck_assert_int_gt(
            mock_jwt_sign(key, sizeof key, names[i], 0, now - 5, now + 3600, forged, sizeof forged),
            0);
        ck_assert_str_eq(as(a.port, forged, "/api/me", NULL, &r), INVALIDATED);
        ck_assert_str_eq(as(a.port, forged, "/forged.txt", "x", &r), INVALIDATED);
    }
    ck_assert_int_eq(th_count_files(env.root, ""), 0);
    still_serves(&a, ta, "/a.bin");
    still_serves(&b, tb, "/b.bin");
    ck_assert_int_eq(th_mock_stop(&a), 0);
    ck_assert_int_eq(th_mock_stop(&b), 0);
}
END_TEST

/* Writes text to the scratch file name; returns its path (static). */
static const char *scratch(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s", th_path(env.dir, name));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/*
 * The mock reads --users-file once, at start: a user taken out of the file keeps working until
 * the restart, and after it neither the token (the allow-list is empty) nor a login works, while
 * the users left log in as before.
 */
START_TEST(a_removed_users_token_is_refused)
{
    static th_resp r;
    th_mock m;
    char users[4096];
    snprintf(users, sizeof users, "%s", scratch("users", "alice:s3cret\ncarol:c4rol\n"));
    ck_assert_int_eq(th_mock_start(&m, env.root, "--users-file", users, NULL), 0);
    char tok[2048];
    th_login_token(m.port, "carol", "c4rol", tok, sizeof tok);
    ck_assert_ptr_nonnull(strstr(as(m.port, tok, "/api/me", NULL, &r), "\"username\":\"carol\""));
    /* Removed from the file while the mock runs: the file is not read again. */
    scratch("users", "alice:s3cret\n");
    ck_assert_ptr_nonnull(strstr(as(m.port, tok, "/api/me", NULL, &r), "\"username\":\"carol\""));
    ck_assert_int_eq(th_mock_stop(&m), 0);

    ck_assert_int_eq(th_mock_start(&m, env.root, "--users-file", users, NULL), 0);
    ck_assert_str_eq(as(m.port, tok, "/api/me", NULL, &r), INVALIDATED);
    ck_assert_str_eq(as(m.port, tok, "/carol.txt", "x", &r), INVALIDATED);
    ck_assert_str_eq(login(m.port, "carol", "c4rol", NULL, &r), INVALID);
    ck_assert(!th_exists(th_path(env.root, "carol.txt")));
    char alice[2048];
    th_login_token(m.port, "alice", "s3cret", alice, sizeof alice);
    still_serves(&m, alice, "/alice.bin");
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* ---- a 1 MiB Authorization header ---- */

/* Sends head (a request head of any size, then body) and reads the answer within 5 s; asserts
 * the mock then closes the connection. Returns the status. */
static int send_huge(int port, const char *head, size_t hlen, const char *body, th_resp *r)
{
    int fd = th_connect(port);
    ck_assert_int_ge(fd, 0);
    int64_t t0 = th_now_ms();
    (void)th_send_all(fd, head, hlen); /* an early answer may cut the sending short */
    (void)th_send_all(fd, body, strlen(body));
    int st = th_recv_resp(fd, r, 5000);
    char rest[256];
    long more = th_recv_all(fd, rest, sizeof rest, 3000);
    int64_t ms = th_now_ms() - t0;
    close(fd);
    ck_assert_msg(more <= 0, "the connection stayed open (%ld more bytes)", more);
    ck_assert_msg(ms < 5000, "the refusal took %lld ms", (long long)ms);
    return st;
}

/* A request head to method target with an Authorization of n bytes, then extra and the blank
 * line; malloc'd, length in *len. */
static char *huge_head(const char *method, const char *target, size_t n, const char *extra,
                       size_t *len)
{
    size_t cap = n + 1024;
    char *h = malloc(cap);
    ck_assert_ptr_nonnull(h);
    int w =
        snprintf(h, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ", method, target);
    memset(h + w, 'A', n);
    int k = snprintf(h + (size_t)w + n, cap - (size_t)w - n, "\r\n%s\r\n", extra);
    *len = (size_t)w + n + (size_t)k;
    return h;
}

/*
 * 1 MiB of Authorization is past the mock's 512 KiB of connection memory: libmicrohttpd answers
 * 431 with Connection: close before any route runs, as Go's server does past its 1 MiB
 * MaxHeaderBytes, on every route (a login, the token check of /api/me, an upload with a body,
 * a chunk), and closes. Nothing is stored, no temp file is left, and the mock still serves. A
 * token of 256 KiB fits and is refused as any token it did not issue.
 */
START_TEST(a_1mib_authorization_header_is_refused_with_431)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--user", "alice:s3cret", "--token", "st4tic", NULL), 0);
    static const struct {
        const char *method, *target, *extra, *body;
    } routes[] = {
        {"GET", "/api/me", "", ""},
        {"POST", "/api/auth/login", "Content-Type: application/json\r\nContent-Length: 42\r\n",
         "{\"username\":\"alice\",\"password\":\"s3cret\"}"},
        {"PUT", "/api/fs/put", "File-Path: /huge.txt\r\nContent-Length: 5\r\n", "hello"},
        {"PUT", "/api/fs/multipart/chunk",
         "X-Upload-Id: x\r\nX-Chunk-Index: 0\r\nContent-Length: 5\r\n", "hello"},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t len;
        char *h = huge_head(routes[i].method, routes[i].target, 1 << 20, routes[i].extra, &len);
        int st = send_huge(m.port, h, len, routes[i].body, &r);
        free(h);
        ck_assert_msg(st == 431, "%s: status %d: %.300s", routes[i].target, st, r.raw);
        ck_assert_ptr_nonnull(strstr(r.raw, "Connection: close\r\n"));
    }
    ck_assert(!th_exists(th_path(env.root, "huge.txt")));
    th_assert_no_temps(env.root);
    /* 256 KiB fits: the token check answers it, and the connection is closed as asked. */
    size_t len;
    char *h = huge_head("GET", "/api/me", 256 << 10, "Connection: close\r\n", &len);
    ck_assert_int_eq(send_huge(m.port, h, len, "", &r), 200);
    free(h);
    ck_assert_str_eq(r.body, INVALIDATED);
    still_serves(&m, "st4tic", "/after-431.bin");
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    Suite *s = suite_create("hostile_login");
    TCase *t = tcase_create("login");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, brute_force_from_one_address_locks_it_for_every_user);
    tcase_add_test(t, a_concurrent_brute_force_ends_locked);
    tcase_add_test(t, another_runs_token_and_a_forged_one_are_refused);
    tcase_add_test(t, a_removed_users_token_is_refused);
    tcase_add_test(t, a_1mib_authorization_header_is_refused_with_431);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
