/*
 * streamput-mock, the AList API it reproduces: the exact JSON bytes, every error message, the
 * File-Path rules of both profiles, Overwrite, Last-Modified, As-Task, the X-File-* digests,
 * /ping, /api/fs/form, the JSON 404 and the command line. Everything goes through real HTTP on
 * 127.0.0.1 port 0.
 */
#include "th.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static th_env env;
static th_mock mock;

static void setup(void)
{
    th_env_up(&env, &mock, "--token", "T0k");
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/* Uploads body to file_path with the right token plus extra headers. */
static int put_auth(const char *file_path, const char *extra, const char *body, th_resp *r)
{
    char h[4096];
    snprintf(h, sizeof h, "Authorization: T0k\r\n%s", extra);
    return th_upload(mock.port, file_path, h, body, r);
}

/* Reads a small stored file into a static buffer ("(missing)" if absent). */
static const char *stored(const char *rel)
{
    static char buf[4096];
    FILE *f = fopen(th_path(env.root, rel), "rb");
    if (f == NULL)
        return "(missing)";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(success_answer_is_byte_exact_gin_json)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/a/b.txt", "", "hello", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_ptr_nonnull(strstr(r.raw, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
    ck_assert_ptr_nonnull(strstr(r.raw, "\r\nContent-Length: 44\r\n"));
    ck_assert_str_eq(stored("a/b.txt"), "hello");
}
END_TEST

START_TEST(auth_messages_are_alists)
{
    static th_resp r;
    ck_assert_int_eq(th_upload(mock.port, "/x.txt", "", "hello", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":401,\"message\":\"Guest user is disabled, login please\","
                             "\"data\":null}");
    ck_assert_int_eq(th_upload(mock.port, "/x.txt", "Authorization: \r\n", "hello", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":401,\"message\":\"Guest user is disabled, login please\","
                             "\"data\":null}");
    /* The raw header is compared: "Bearer" is not stripped, a prefix or longer value fails. */
    static const char *const wrong[] = {"Authorization: Bearer T0k\r\n", "Authorization: T0\r\n",
                                        "Authorization: T0kk\r\n", "Authorization: t0k\r\n"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        ck_assert_int_eq(th_upload(mock.port, "/x.txt", wrong[i], "hello", &r), 200);
        ck_assert_str_eq(r.body,
                         "{\"code\":401,\"message\":\"token is invalidated\",\"data\":null}");
    }
    ck_assert(!th_exists(th_path(env.root, "x.txt")));
    /* Control: the right token stores. */
    ck_assert_int_eq(put_auth("/x.txt", "", "hello", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored("x.txt"), "hello");
}
END_TEST

START_TEST(guest_access_without_token)
{
    static th_resp r;
    th_mock guest;
    ck_assert_int_eq(th_mock_start(&guest, env.root, NULL), 0);
    ck_assert_int_eq(th_upload(guest.port, "/g.txt", "Authorization: anything\r\n", "gg", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored("g.txt"), "gg");
    ck_assert_int_eq(th_mock_stop(&guest), 0);
}
END_TEST

/* Go's url.PathUnescape error, quoted with strconv.Quote, then JSON-escaped. */
static const struct {
    const char *path, *json;
} bad_escapes[] = {
    {"/%zz", "{\"code\":400,\"message\":\"invalid URL escape \\\"%zz\\\"\",\"data\":null}"},
    {"/a%zzbc", "{\"code\":400,\"message\":\"invalid URL escape \\\"%zz\\\"\",\"data\":null}"},
    {"/a%2", "{\"code\":400,\"message\":\"invalid URL escape \\\"%2\\\"\",\"data\":null}"},
    {"/a%", "{\"code\":400,\"message\":\"invalid URL escape \\\"%\\\"\",\"data\":null}"},
    {"/%2g/x", "{\"code\":400,\"message\":\"invalid URL escape \\\"%2g\\\"\",\"data\":null}"},
    {"/%41%", "{\"code\":400,\"message\":\"invalid URL escape \\\"%\\\"\",\"data\":null}"},
    {"/%\"x", "{\"code\":400,\"message\":\"invalid URL escape \\\"%\\\\\\\"x\\\"\",\"data\":null}"},
    {"/%\xc3\xa9", "{\"code\":400,\"message\":\"invalid URL escape \\\"%\xc3\xa9\\\"\","
                   "\"data\":null}"},
    {"/%\xe2\x82\xac", "{\"code\":400,\"message\":\"invalid URL escape \\\"%\\\\xe2\\\\x82\\\"\","
                       "\"data\":null}"},
};

START_TEST(bad_escape_message_quotes_the_escape_like_go)
{
    static th_resp r;
    ck_assert_int_eq(put_auth(bad_escapes[_i].path, "", "x", &r), 200);
    ck_assert_str_eq(r.body, bad_escapes[_i].json);
}
END_TEST

START_TEST(decoded_nul_is_refused)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/nul%00.txt", "", "x", &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
    ck_assert_ptr_nonnull(strstr(r.body, "NUL"));
    ck_assert(!th_exists(th_path(env.root, "nul")));
}
END_TEST

/* File-Path after decoding and FixAndCleanPath: where the body lands. */
static const struct {
    const char *file_path, *lands;
} cleaned[] = {
    {"%2Fenc%2Fa%20b.txt", "enc/a b.txt"}, /* %2F is a '/' once decoded */
    {"/plus+sign.txt", "plus+sign.txt"},   /* PathUnescape keeps '+' */
    {"back\\slash\\f.txt", "back/slash/f.txt"},
    {"//dbl///slash//g.txt", "dbl/slash/g.txt"},
    {"./dot/./h.txt", "dot/h.txt"},
    {"/trail/i/", "trail/i"},
    {"no-lead.txt", "no-lead.txt"},
    {"/a..b", "a..b"},
    {"/...", "..."},
    {"/%C3%A9t%C3%A9.txt", "\xc3\xa9t\xc3\xa9.txt"},
};

START_TEST(file_path_is_decoded_and_cleaned)
{
    static th_resp r;
    ck_assert_int_eq(put_auth(cleaned[_i].file_path, "", "body", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored(cleaned[_i].lands), "body");
}
END_TEST

/* errs.RelativePath: OpenList's internal/errs/errors.go:13 since bba4fb22, AList's errors.go. */
#define RELATIVE "{\"code\":403,\"message\":\"using relative path is not allowed\",\"data\":null}"
#define RELATIVE_ALIST                                                                             \
    "{\"code\":403,\"message\":\"access using relative path is not allowed\",\"data\":null}"

/* OpenList's rule and text, the default profile. */
START_TEST(openlist_relative_path_rule)
{
    static th_resp r;
    static const char *const refused[] = {"/a/../b",  "/x/..",    "..",          "../y",
                                          "a\\..\\b", "%2e%2e/z", "/q/%2E%2E/r", "/a..b/../c"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(put_auth(refused[i], "", "x", &r), 200);
        ck_assert_msg(strcmp(r.body, RELATIVE) == 0, "%s: %s", refused[i], r.body);
    }
    /* Control: OpenList lets "/a/../..b" through, as it still holds ".." once cleaned. */
    ck_assert_int_eq(put_auth("/a/../..b", "", "odd", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored("..b"), "odd");
}
END_TEST

START_TEST(alist_relative_path_rule)
{
    static th_resp r;
    th_mock al;
    ck_assert_int_eq(th_mock_start(&al, env.root, "--profile", "alist", NULL), 0);
    static const char *const refused[] = {"/a/../b", "/x/..", "..", "../y", "%2e%2e/z"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_int_eq(th_upload(al.port, refused[i], "", "x", &r), 200);
        ck_assert_msg(strcmp(r.body, RELATIVE_ALIST) == 0, "%s: %s", refused[i], r.body);
    }
    /* AList only sees '/'-delimited ".." segments: backslashes pass and Clean resolves them. */
    ck_assert_int_eq(th_upload(al.port, "a\\..\\b", "", "bs", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored("b"), "bs");
    ck_assert_int_eq(th_mock_stop(&al), 0);
}
END_TEST

START_TEST(missing_or_root_file_path_is_refused)
{
    static th_resp r;
    ck_assert_int_eq(th_put(mock.port, "/api/fs/put", "Authorization: T0k\r\n", "x", 1, 0, &r),
                     200);
    ck_assert_str_eq(r.body,
                     "{\"code\":400,\"message\":\"missing File-Path header\",\"data\":null}");
    ck_assert_int_eq(put_auth("/", "", "x", &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
}
END_TEST

START_TEST(overwrite_false_keeps_the_existing_file)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/o.txt", "", "first", &r), 200);
    ck_assert_int_eq(put_auth("/o.txt", "Overwrite: false\r\n", "second", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":403,\"message\":\"file exists\",\"data\":null}");
    ck_assert_str_eq(stored("o.txt"), "first");
    /* A directory exists too. */
    ck_assert_int_eq(mkdir(th_path(env.root, "d"), 0755), 0);
    ck_assert_int_eq(put_auth("/d", "Overwrite: false\r\n", "x", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":403,\"message\":\"file exists\",\"data\":null}");
    /* Only the exact "false" disables overwriting. */
    ck_assert_int_eq(put_auth("/o.txt", "Overwrite: False\r\n", "third", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored("o.txt"), "third");
    ck_assert_int_eq(put_auth("/o.txt", "", "fourth", &r), 200);
    ck_assert_str_eq(stored("o.txt"), "fourth");
    /* And with nothing there, Overwrite: false stores. */
    ck_assert_int_eq(put_auth("/new.txt", "Overwrite: false\r\n", "n", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
}
END_TEST

static struct timespec mtime_of(const char *rel)
{
    struct stat st;
    ck_assert_int_eq(stat(th_path(env.root, rel), &st), 0);
    return st.st_mtim;
}

START_TEST(last_modified_milliseconds_become_mtime)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/m.txt", "Last-Modified: 1600000000123\r\n", "m", &r), 200);
    struct timespec t = mtime_of("m.txt");
    ck_assert_int_eq(t.tv_sec, 1600000000);
    ck_assert_int_eq(t.tv_nsec, 123000000);
    /* Negative milliseconds are before 1970 (floor division). */
    ck_assert_int_eq(put_auth("/neg.txt", "Last-Modified: -1500\r\n", "m", &r), 200);
    t = mtime_of("neg.txt");
    ck_assert_int_eq(t.tv_sec, -2);
    ck_assert_int_eq(t.tv_nsec, 500000000);
    /* Unparsable (an HTTP date, a float) is ignored: the time is now. */
    static const char *const junk[] = {"Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
                                       "Last-Modified: 1600000000.5\r\n"};
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(put_auth("/now.txt", junk[i], "m", &r), 200);
        ck_assert_str_eq(r.body, TH_SUCCESS);
        ck_assert_int_ge(mtime_of("now.txt").tv_sec, time(NULL) - 60);
    }
}
END_TEST

START_TEST(as_task_answers_a_task_snapshot)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/a/b.txt", "As-Task: true\r\n", "12345", &r), 200);
    const char *pre = "{\"code\":200,\"message\":\"success\",\"data\":{\"task\":{\"id\":\"";
    ck_assert_msg(strncmp(r.body, pre, strlen(pre)) == 0, "%s", r.body);
    const char *id = r.body + strlen(pre);
    ck_assert_uint_eq(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_-"),
                      21);
    ck_assert_str_eq(id + 21,
                     "\",\"name\":\"upload b.txt to [/](/a)\",\"creator\":\"admin\","
                     "\"creator_role\":2,\"state\":0,\"status\":\"uploading\",\"progress\":0,"
                     "\"start_time\":null,\"end_time\":null,\"total_bytes\":5,\"error\":\"\"}}}");
    ck_assert_str_eq(stored("a/b.txt"), "12345");
    /* A file at the root, and Go's HTML escaping in the name. */
    ck_assert_int_eq(put_auth("/%3Cx%3E%26.txt", "As-Task: true\r\n", "1", &r), 200);
    ck_assert_ptr_nonnull(
        strstr(r.body, "\"name\":\"upload \\u003cx\\u003e\\u0026.txt to [/](/)\""));
    /* Exact match only: "True" is a plain upload. */
    ck_assert_int_eq(put_auth("/c.txt", "As-Task: True\r\n", "1", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
}
END_TEST

/* The task's fields after its 21-character id, for an As-Task upload of body to /t.txt. */
static const char *task_tail(int port, const char *extra, const char *body, size_t chunk)
{
    static th_resp r;
    char h[512];
    snprintf(h, sizeof h, "File-Path: /t.txt\r\nAs-Task: true\r\n%s", extra);
    ck_assert_int_eq(th_put(port, "/api/fs/put", h, body, strlen(body), chunk, &r), 200);
    const char *pre = "{\"code\":200,\"message\":\"success\",\"data\":{\"task\":{\"id\":\"";
    ck_assert_msg(strncmp(r.body, pre, strlen(pre)) == 0 && strlen(r.body) > strlen(pre) + 21, "%s",
                  r.body);
    return r.body + strlen(pre) + 21;
}

/*
 * TaskInfo.CreatorRole is User.Role, one int in both: OpenList server/handles/task.go:23, 47 and
 * internal/model/user.go:17-21; AList v3.45.0 server/handles/task.go:21, 42-46 and
 * internal/model/user.go:16-20, 32, its default users admin ADMIN (2) and guest GUEST (1)
 * (internal/bootstrap/data/user.go:32, 55). Later AList turned it into a list of role ids.
 */
START_TEST(as_task_creator_role_is_the_users_int_role)
{
    static const struct {
        const char *profile, *token, *creator;
        int role;
    } cases[] = {
        {"alist", "T0k", "admin", 2},
        {"alist", NULL, "guest", 1},
        {"openlist", "T0k", "admin", 2},
        {"openlist", NULL, "guest", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Without a token the argument list ends at the profile, and the guest uploads. */
        th_mock m;
        ck_assert_int_eq(th_mock_start(&m, env.root, "--profile", cases[i].profile,
                                       cases[i].token != NULL ? "--token" : NULL, cases[i].token,
                                       NULL),
                         0);
        char auth[64] = "", want[256];
        if (cases[i].token != NULL)
            snprintf(auth, sizeof auth, "Authorization: %s\r\n", cases[i].token);
        snprintf(want, sizeof want,
                 "\",\"name\":\"upload t.txt to [/](/)\",\"creator\":\"%s\",\"creator_role\":%d,",
                 cases[i].creator, cases[i].role);
        const char *tail = task_tail(m.port, auth, "12345", 0);
        ck_assert_msg(strncmp(tail, want, strlen(want)) == 0, "%zu: %s", i, tail);
        ck_assert_int_eq(th_mock_stop(&m), 0);
    }
}
END_TEST

/*
 * OpenList's chunked body of unknown size: putAsTask caches it and FileStream.GetSize() then
 * returns the counted size when above 0, the declared -1 otherwise (internal/fs/put.go:72-90,
 * internal/stream/stream.go:37-42, 113-138).
 */
START_TEST(openlist_as_task_counts_a_chunked_body_of_unknown_size)
{
    static const struct {
        const char *extra, *body, *total;
    } cases[] = {
        {"", "123456789", "\"total_bytes\":9,"},
        {"", "", "\"total_bytes\":-1,"},
        {"X-File-Size: -5\r\n", "abc", "\"total_bytes\":3,"},
        /* A declared size stands as it is. */
        {"X-File-Size: 4\r\n", "abcd", "\"total_bytes\":4,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char h[256];
        snprintf(h, sizeof h, "Authorization: T0k\r\n%s", cases[i].extra);
        const char *tail = task_tail(mock.port, h, cases[i].body, 2);
        ck_assert_msg(strstr(tail, cases[i].total) != NULL, "%zu: %s", i, tail);
    }
}
END_TEST

/*
 * Control bytes as json-iterator writes them: every one but \n, \r and \t as \u00XX, so \b and \f
 * too (v1.1.12 stream_str.go:254-270), which gin uses in both releases (-tags=jsoniter, OpenList
 * build.sh:137, AList v3.45.0 build.sh:91, 127, 141; ConfigCompatibleWithStandardLibrary, gin
 * codec/json/jsoniter.go:22 and internal/json/jsoniter.go:12).
 */
START_TEST(control_bytes_are_escaped_as_jsoniter_writes_them)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/b%08f%0Cn%0At%09r%0Du%01.txt", "As-Task: true\r\n", "1", &r), 200);
    ck_assert_msg(strstr(r.body, "\"name\":\"upload b\\u0008f\\u000cn\\nt\\tr\\ru\\u0001.txt to "
                                 "[/](/)\"") != NULL,
                  "%s", r.body);
    /* Control: a backslash and a 'b' are an escaped backslash and a 'b', not a \b. */
    ck_assert_int_eq(put_auth("/h.txt", "X-File-Md5: \\b\\f\r\n", "1", &r), 200);
    th_msg lm;
    th_journal_msg(mock.port, &lm);
    ck_assert_msg(strstr(lm.body, "\"x_file_md5\":\"\\\\b\\\\f\"") != NULL, "%s", lm.body);
    th_msg_free(&lm);
}
END_TEST

START_TEST(digest_headers_are_recorded)
{
    static th_resp r;
    ck_assert_int_eq(put_auth("/h.txt",
                              "X-File-Md5: abc\r\nX-File-Sha1: def\r\nX-File-Sha256: 012\r\n"
                              "Content-Type: text/x-test\r\n",
                              "whatever", &r),
                     200);
    /* Without --verify-hash AList does not check them, and neither do we. */
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(th_journal_last(mock.port, "x_file_md5"), "abc");
    ck_assert_str_eq(th_journal_last(mock.port, "x_file_sha1"), "def");
    ck_assert_str_eq(th_journal_last(mock.port, "x_file_sha256"), "012");
    ck_assert_str_eq(th_journal_last(mock.port, "content_type"), "text/x-test");
}
END_TEST

START_TEST(verify_hash_rejects_a_mismatch_and_stores_nothing)
{
    static th_resp r;
    th_mock v;
    ck_assert_int_eq(th_mock_start(&v, env.root, "--verify-hash", NULL), 0);
    /* "hello": md5 5d41..., sha1 aaf4..., sha256 2cf2... */
    static const char *const good =
        "X-File-Md5: 5D41402ABC4B2A76B9719D911017C592\r\n"
        "X-File-Sha1: aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\r\n"
        "X-File-Sha256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\r\n";
    ck_assert_int_eq(th_upload(v.port, "/ok.txt", good, "hello", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert_str_eq(stored("ok.txt"), "hello");
    static const char *const bad[][2] = {
        {"X-File-Md5: 00\r\n", "md5 mismatch: X-File-Md5 says 00, the body's md5 is "
                               "5d41402abc4b2a76b9719d911017c592"},
        {"X-File-Sha1: 11\r\n", "sha1 mismatch: X-File-Sha1 says 11, the body's sha1 is "
                                "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"},
        {"X-File-Sha256: 22\r\n",
         "sha256 mismatch: X-File-Sha256 says 22, the body's sha256 is "
         "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
    };
    for (size_t i = 0; i < 3; i++) {
        char want[512];
        snprintf(want, sizeof want, "{\"code\":400,\"message\":\"%s\",\"data\":null}", bad[i][1]);
        ck_assert_int_eq(th_upload(v.port, "/bad.txt", bad[i][0], "hello", &r), 200);
        ck_assert_str_eq(r.body, want);
        ck_assert(!th_exists(th_path(env.root, "bad.txt")));
    }
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    ck_assert_int_eq(th_mock_stop(&v), 0);
}
END_TEST

START_TEST(ping_answers_pong_to_any_method)
{
    static th_resp r;
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 5; i++) {
        char req[256];
        int n = snprintf(req, sizeof req,
                         "%s /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", methods[i]);
        ck_assert_int_eq(th_raw(mock.port, req, (size_t)n, &r), 200);
        ck_assert_str_eq(r.body, "pong");
        ck_assert_ptr_nonnull(strstr(r.raw, "Content-Type: text/plain; charset=utf-8\r\n"));
    }
}
END_TEST

START_TEST(unknown_routes_get_a_json_404)
{
    static th_resp r;
    static const char req[] = "GET /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(th_raw(mock.port, req, sizeof req - 1, &r), 404);
    ck_assert_str_eq(r.body, "{\"code\":404,\"message\":\"no route for GET /api/fs/put\","
                             "\"data\":null}");
    ck_assert_int_eq(th_put(mock.port, "/api/fs/puts", "", "abc", 3, 0, &r), 404);
    ck_assert_str_eq(r.body, "{\"code\":404,\"message\":\"no route for PUT /api/fs/puts\","
                             "\"data\":null}");
}
END_TEST

/* A multipart body with a "file" part whose content itself looks like framing. */
#define PART_DATA "--XyZ\r\nnot a boundary\r\n\r\n\x00\x01\xff binary"
static size_t form_body(char *out, const char *field, int with_filename)
{
    int n = snprintf(out, 4096,
                     "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n"
                     "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"%s\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n",
                     field, with_filename ? "; filename=\"f.bin\"" : "");
    memcpy(out + n, PART_DATA, sizeof PART_DATA - 1);
    n += (int)sizeof PART_DATA - 1;
    n += snprintf(out + n, 4096 - (size_t)n, "\r\n--XyZ--\r\n");
    return (size_t)n;
}

START_TEST(form_upload_stores_the_file_part)
{
    static th_resp r;
    char body[4096];
    size_t n = form_body(body, "file", 1);
    const char *h = "Authorization: T0k\r\nFile-Path: /form/out.bin\r\n"
                    "Content-Type: multipart/form-data; boundary=XyZ\r\n";
    ck_assert_int_eq(th_put(mock.port, "/api/fs/form", h, body, n, 0, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    FILE *f = fopen(th_path(env.root, "form/out.bin"), "rb");
    ck_assert_ptr_nonnull(f);
    char got[128];
    size_t k = fread(got, 1, sizeof got, f);
    fclose(f);
    ck_assert_uint_eq(k, sizeof PART_DATA - 1);
    ck_assert(memcmp(got, PART_DATA, k) == 0);
    /* Chunked framing works as well. */
    ck_assert_int_eq(th_put(mock.port, "/api/fs/form", h, body, n, 7, &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
}
END_TEST

START_TEST(form_errors_are_gos)
{
    static th_resp r;
    char body[4096];
    size_t n = form_body(body, "other", 1);
    const char *h = "Authorization: T0k\r\nFile-Path: /form/no.bin\r\n"
                    "Content-Type: multipart/form-data; boundary=XyZ\r\n";
    ck_assert_int_eq(th_put(mock.port, "/api/fs/form", h, body, n, 0, &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":500,\"message\":\"http: no such file\",\"data\":null}");
    /* A "file" field without a filename is a value, not a file, for Go. */
    n = form_body(body, "file", 0);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/form", h, body, n, 0, &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":500,\"message\":\"http: no such file\",\"data\":null}");
    ck_assert_int_eq(th_put(mock.port, "/api/fs/form",
                            "Authorization: T0k\r\nFile-Path: /form/no.bin\r\n"
                            "Content-Type: application/octet-stream\r\n",
                            "abc", 3, 0, &r),
                     200);
    ck_assert_str_eq(r.body, "{\"code\":500,\"message\":\"request Content-Type isn't "
                             "multipart/form-data\",\"data\":null}");
    ck_assert(!th_exists(th_path(env.root, "form/no.bin")));
}
END_TEST

#define FORM_HEADERS "Authorization: T0k\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
#define FILE_PART(name)                                                                            \
    "Content-Disposition: form-data; name=\"file\"; filename=\"" name "\"\r\n\r\n"

/* PUTs a form body to /api/fs/form as File-Path fp (chunk as th_put); returns the JSON body. */
static const char *form_put(const char *fp, const char *body, size_t len, size_t chunk)
{
    static th_resp r;
    char h[512];
    snprintf(h, sizeof h, "%sFile-Path: %s\r\n", FORM_HEADERS, fp);
    ck_assert_int_eq(th_put(mock.port, "/api/fs/form", h, body, len, chunk, &r), 200);
    return r.body;
}

/* Size of a stored file, -1 if there is none. */
static long stored_size(const char *rel)
{
    struct stat sb;
    return stat(th_path(env.root, rel), &sb) == 0 ? (long)sb.st_size : -1;
}

/*
 * Where a form body stops before its closing boundary decides Go's error (mime/multipart under
 * FormFile, which FsForm answers with code 500): inside a part's content the part reader meets
 * io.ErrUnexpectedEOF, within a boundary line NextPart wraps io.EOF. MHD's post processor holds
 * back the bytes that could start a boundary, so a cut-off part used to be stored short.
 */
static const struct {
    const char *tail; /* what follows the file part's 100,008 content bytes */
    const char *message;
} cut_offs[] = {
    {"", "unexpected EOF"},
    {"\r\n--Xy", "unexpected EOF"},
    {"\r\n--XyZ-", "unexpected EOF"},
    {"\r\n--XyZ", "multipart: NextPart: EOF"},
    {"\r\n--XyZ\r", "multipart: NextPart: EOF"},
};

START_TEST(form_body_cut_off_before_its_closing_boundary_stores_nothing)
{
    size_t data_len = 100008, cap = data_len + 256;
    char *body = malloc(cap);
    ck_assert_ptr_nonnull(body);
    int n = snprintf(body, cap, "--XyZ\r\n" FILE_PART("f.bin"));
    memset(body + n, 'q', data_len);
    size_t len = (size_t)n + data_len;
    len += (size_t)snprintf(body + len, cap - len, "%s", cut_offs[_i].tail);
    char want[128];
    snprintf(want, sizeof want, "{\"code\":500,\"message\":\"%s\",\"data\":null}",
             cut_offs[_i].message);
    /* With a correct Content-Length, and chunked in pieces that end anywhere. */
    ck_assert_str_eq(form_put("/cut.bin", body, len, 0), want);
    ck_assert_str_eq(form_put("/cut.bin", body, len, 4093), want);
    ck_assert_int_eq(stored_size("cut.bin"), -1);
    ck_assert_str_eq(th_journal_last(mock.port, "stored"), "false");
    ck_assert_int_eq(th_count_prefix(env.root, TH_TMP_PREFIX), 0);
    /* Control: the same body with its closing boundary (even without the final CRLF, which Go
     * accepts) is stored whole. */
    len = (size_t)n + data_len;
    len += (size_t)snprintf(body + len, cap - len, "\r\n--XyZ--");
    ck_assert_str_eq(form_put("/cut.bin", body, len, 4093), TH_SUCCESS);
    ck_assert_int_eq(stored_size("cut.bin"), (long)data_len);
    free(body);
}
END_TEST

START_TEST(form_body_without_any_part_is_nextparts_eof)
{
    static const char preamble[] = "no boundary here\r\n";
    static const char *const want =
        "{\"code\":500,\"message\":\"multipart: NextPart: EOF\",\"data\":null}";
    ck_assert_str_eq(form_put("/none.bin", "", 0, 0), want);
    ck_assert_str_eq(form_put("/none.bin", preamble, sizeof preamble - 1, 0), want);
    ck_assert_str_eq(form_put("/none.bin", "--XyZ", 5, 0), want);
    ck_assert_int_eq(stored_size("none.bin"), -1);
}
END_TEST

START_TEST(form_body_cut_in_a_later_parts_headers_keeps_the_file_like_go)
{
    /* Go's header reader returns io.EOF inside a cut-off header block, which ReadForm takes for
     * the end of the form: the complete file part before it is stored. */
    static const char body[] = "--XyZ\r\n" FILE_PART("f.bin") "whole\r\n--XyZ\r\n"
                                                              "Content-Disposition: form-data; na";
    ck_assert_str_eq(form_put("/hdr.bin", body, sizeof body - 1, 0), TH_SUCCESS);
    ck_assert_str_eq(stored("hdr.bin"), "whole");
    static const char body2[] = "--XyZ\r\n" FILE_PART("f.bin") "whole\r\n--XyZ\r\n";
    ck_assert_str_eq(form_put("/hdr2.bin", body2, sizeof body2 - 1, 0), TH_SUCCESS);
    ck_assert_str_eq(stored("hdr2.bin"), "whole");
    /* Control: cut inside that later part's content, it is Go's unexpected EOF again. */
    static const char body3[] =
        "--XyZ\r\n" FILE_PART("f.bin") "whole\r\n--XyZ\r\n"
                                       "Content-Disposition: form-data; name=\"note\"\r\n\r\nabc";
    ck_assert_str_eq(form_put("/hdr3.bin", body3, sizeof body3 - 1, 0),
                     "{\"code\":500,\"message\":\"unexpected EOF\",\"data\":null}");
    ck_assert_int_eq(stored_size("hdr3.bin"), -1);
}
END_TEST

/* Chunk sizes that make MHD's post processor see a part's start with and without its data. */
static const size_t form_chunks[] = {0, 1, 2, 5, 64};

START_TEST(first_file_part_wins_even_when_empty)
{
    /* Go's FormFile answers the first "file" part that has a filename: here an empty one. */
    static const char body[] = "--XyZ\r\n" FILE_PART("empty.bin") "\r\n--XyZ\r\n" FILE_PART(
        "second.bin") "not this\r\n--XyZ--\r\n";
    size_t chunk = form_chunks[_i];
    ck_assert_str_eq(form_put("/first.bin", body, sizeof body - 1, chunk), TH_SUCCESS);
    ck_assert_int_eq(stored_size("first.bin"), 0);
    /* A value field in between changes nothing. */
    static const char body2[] =
        "--XyZ\r\n" FILE_PART("empty.bin") "\r\n--XyZ\r\nContent-Disposition: form-data; "
                                           "name=\"note\"\r\n\r\nhi\r\n--XyZ\r\n" FILE_PART(
                                               "second.bin") "not this\r\n--XyZ--\r\n";
    ck_assert_str_eq(form_put("/first2.bin", body2, sizeof body2 - 1, chunk), TH_SUCCESS);
    ck_assert_int_eq(stored_size("first2.bin"), 0);
    /* Control: a first part with content is stored whole however the body is cut, and a later
     * "file" part does not add to it. */
    static const char body3[] = "--XyZ\r\n" FILE_PART("a.bin") "first\r\n--XyZ\r\n" FILE_PART(
        "b.bin") "second\r\n--XyZ--\r\n";
    ck_assert_str_eq(form_put("/first3.bin", body3, sizeof body3 - 1, chunk), TH_SUCCESS);
    ck_assert_str_eq(stored("first3.bin"), "first");
    /* filename="" makes a value, not a file, for Go's ReadForm: the next part is the file. */
    static const char body4[] = "--XyZ\r\n" FILE_PART("") "a value\r\n--XyZ\r\n" FILE_PART(
        "b.bin") "the file\r\n--XyZ--\r\n";
    ck_assert_str_eq(form_put("/first4.bin", body4, sizeof body4 - 1, chunk), TH_SUCCESS);
    ck_assert_str_eq(stored("first4.bin"), "the file");
}
END_TEST

/* root as a path relative to this process's working directory ("../../tmp/..."). */
static const char *relative_to_cwd(const char *abs)
{
    static char rel[8192];
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    size_t w = 0;
    for (const char *c = cwd; *c != '\0'; c++)
        if (*c == '/' && c[1] != '\0')
            w += (size_t)snprintf(rel + w, sizeof rel - w, "../");
    snprintf(rel + w, sizeof rel - w, "%s", abs + 1);
    return rel;
}

/*
 * op.Put's MakeDir when a file /f stands where a directory should be. Directly under it both
 * profiles find the file: "file exists" (OpenList internal/op/fs.go:318, 647; AList
 * v3.45.0 internal/op/fs.go:357, 551). Deeper, OpenList passes on the local driver's stat error,
 * with the path on disk under the storage root made absolute (op/fs.go:190, 321; drivers/local/
 * driver.go:64-70, 198-204), and AList v3.45.0 ignores its local driver's stat error (op/fs.go:
 * 176-181) and lists each parent in turn until List finds /f to be no folder (op/fs.go:126, 130,
 * 227, 350; internal/errs/object.go:11).
 */
START_TEST(parent_that_is_a_file_fails_like_each_profiles_op_put)
{
    static const struct {
        const char *path, *dir, *al_levels;
    } deeper[] = {
        {"/f/g/h.txt", "/f/g", ""},
        {"/f/g/k/h.txt", "/f/g/k", "failed get dir: failed get parent list: "},
    };
    static th_resp r;
    ck_assert_int_eq(put_auth("/f", "", "file", &r), 200);
    /* OpenList's Local.Init makes a relative root absolute with filepath.Abs. */
    th_mock ol, al;
    ck_assert_int_eq(th_mock_start(&ol, relative_to_cwd(env.root), NULL), 0);
    ck_assert_int_eq(th_mock_start(&al, env.root, "--profile", "alist", NULL), 0);
    const char *exists =
        "{\"code\":500,\"message\":\"failed to make dir [/f]: file exists\",\"data\":null}";
    ck_assert_int_eq(th_upload(ol.port, "/f/h.txt", "", "x", &r), 200);
    ck_assert_str_eq(r.body, exists);
    ck_assert_int_eq(th_upload(al.port, "/f/h.txt", "", "x", &r), 200);
    ck_assert_str_eq(r.body, exists);
    for (size_t i = 0; i < sizeof deeper / sizeof deeper[0]; i++) {
        char want[2048];
        snprintf(want, sizeof want,
                 "{\"code\":500,\"message\":\"failed to make dir [%s]: failed to check if dir "
                 "exists: failed to get obj: stat %s%s: not a directory\",\"data\":null}",
                 deeper[i].dir, env.root, deeper[i].dir);
        ck_assert_int_eq(th_upload(ol.port, deeper[i].path, "", "x", &r), 200);
        ck_assert_str_eq(r.body, want);
        snprintf(want, sizeof want,
                 "{\"code\":500,\"message\":\"failed to make dir [%s]: failed to check if dir "
                 "exists: failed get parent list: %snot a folder\",\"data\":null}",
                 deeper[i].dir, deeper[i].al_levels);
        ck_assert_int_eq(th_upload(al.port, deeper[i].path, "", "x", &r), 200);
        ck_assert_str_eq(r.body, want);
    }
    ck_assert_str_eq(stored("f"), "file");
    ck_assert_int_eq(th_mock_stop(&ol), 0);
    ck_assert_int_eq(th_mock_stop(&al), 0);
}
END_TEST

/* Runs streamput-mock with argv and returns its exit status; output in r. */
static int run_mock(th_run *r, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {TH_BIN_DIR "/streamput-mock", (char *)a1, (char *)a2, (char *)a3, NULL};
    return th_run_argv(r, argv, NULL, 10000);
}

START_TEST(command_line_help_and_errors)
{
    static th_run r;
    ck_assert_int_eq(run_mock(&r, "--help", NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--allow-fault-header"));
    ck_assert_int_eq(run_mock(&r, "--bogus", NULL, NULL), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown option '--bogus'"));
    ck_assert_int_eq(run_mock(&r, "--listen", "127.0.0.1:0", NULL), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--root DIR is required"));
    ck_assert_int_eq(run_mock(&r, "--root", env.root, "--profile"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "needs a value"));
    char *argv[] = {
        TH_BIN_DIR "/streamput-mock", "--root", env.root, "--profile", "nextcloud", NULL};
    ck_assert_int_eq(th_run_argv(&r, argv, NULL, 10000), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--profile must be alist or openlist"));
    char *argv2[] = {
        TH_BIN_DIR "/streamput-mock", "--root", env.root, "--fault", "explode=1", NULL};
    ck_assert_int_eq(th_run_argv(&r, argv2, NULL, 10000), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown fault 'explode'"));
    char *argv3[] = {TH_BIN_DIR "/streamput-mock", "--root", env.root, "--max-body", "lots", NULL};
    ck_assert_int_eq(th_run_argv(&r, argv3, NULL, 10000), 2);
    char *argv4[] = {TH_BIN_DIR "/streamput-mock", "--root", env.root, "--listen", "nohost", NULL};
    ck_assert_int_eq(th_run_argv(&r, argv4, NULL, 10000), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_api");
    TCase *t = tcase_create("api");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, success_answer_is_byte_exact_gin_json);
    tcase_add_test(t, auth_messages_are_alists);
    tcase_add_test(t, guest_access_without_token);
    tcase_add_loop_test(t, bad_escape_message_quotes_the_escape_like_go, 0,
                        sizeof bad_escapes / sizeof bad_escapes[0]);
    tcase_add_test(t, decoded_nul_is_refused);
    tcase_add_loop_test(t, file_path_is_decoded_and_cleaned, 0, sizeof cleaned / sizeof cleaned[0]);
    tcase_add_test(t, openlist_relative_path_rule);
    tcase_add_test(t, alist_relative_path_rule);
    tcase_add_test(t, missing_or_root_file_path_is_refused);
    tcase_add_test(t, overwrite_false_keeps_the_existing_file);
    tcase_add_test(t, last_modified_milliseconds_become_mtime);
    tcase_add_test(t, as_task_answers_a_task_snapshot);
    tcase_add_test(t, as_task_creator_role_is_the_users_int_role);
    tcase_add_test(t, openlist_as_task_counts_a_chunked_body_of_unknown_size);
    tcase_add_test(t, control_bytes_are_escaped_as_jsoniter_writes_them);
    tcase_add_test(t, digest_headers_are_recorded);
    tcase_add_test(t, verify_hash_rejects_a_mismatch_and_stores_nothing);
    tcase_add_test(t, ping_answers_pong_to_any_method);
    tcase_add_test(t, unknown_routes_get_a_json_404);
    tcase_add_test(t, form_upload_stores_the_file_part);
    tcase_add_test(t, form_errors_are_gos);
    tcase_add_loop_test(t, form_body_cut_off_before_its_closing_boundary_stores_nothing, 0,
                        sizeof cut_offs / sizeof cut_offs[0]);
    tcase_add_test(t, form_body_without_any_part_is_nextparts_eof);
    tcase_add_test(t, form_body_cut_in_a_later_parts_headers_keeps_the_file_like_go);
    tcase_add_loop_test(t, first_file_part_wins_even_when_empty, 0,
                        sizeof form_chunks / sizeof form_chunks[0]);
    tcase_add_test(t, parent_that_is_a_file_fails_like_each_profiles_op_put);
    tcase_add_test(t, command_line_help_and_errors);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
