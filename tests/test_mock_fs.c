/*
 * streamput-mock, OpenList's fs routes on its Local storage: /api/fs/get, list, mkdir, remove
 * and GET/HEAD /d and /p. Bodies are compared byte for byte with what OpenList 0b1e9d09 sends
 * (the file:line after each expectation is where its bytes come from), with TZ=UTC and files
 * whose mtimes are set. Only "created" cannot be a literal: OpenList reports the birth time
 * (statx), which no call can set, so the test reads it with statx and writes it in Go's form.
 *
 *   ctest --test-dir build -R test_mock_fs     (about half a minute: one 2 GiB download)
 */
#include "th.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The token whose HMAC signs the notes computed: sign("/hello.txt") below. */
#define TOKEN "openlist-test-token"
#define AUTH  "Authorization: " TOKEN "\r\n"
#define JSON  "Content-Type: application/json\r\n"
#define HOST  "Host: 127.0.0.1:5244\r\n"

/* pkg/sign/hmac.go:17-26 with the key TOKEN: HMAC-SHA256 of "/hello.txt:0", base64url. */
#define HELLO_SIGN "rJqdKlkcaFDSqxRruuLD1ElyqgSF4wLjUQuR_JMeBdM=:0"

/* The answers without data (server/common/common.go:79-105). */
#define ERR(code, msg) "{\"code\":" #code ",\"message\":\"" msg "\",\"data\":null}"

static th_env env;
static th_mock mock;

/* Sets the mtime (and atime) of root/rel, not following a link. */
static void set_mtime(const char *root, const char *rel, time_t sec, long nsec)
{
    struct timespec ts[2] = {{.tv_sec = sec, .tv_nsec = nsec}, {.tv_sec = sec, .tv_nsec = nsec}};
    ck_assert_int_eq(utimensat(AT_FDCWD, th_path(root, rel), ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* 2024-05-01T10:00:00Z and the two hours after it. */
#define T10 1714557600
#define T11 (T10 + 3600)
#define T12 (T10 + 7200)

/*
 * The root of every test: hello.txt (13 bytes, 12:00:00.123456789) and the empty docs/ (11:00),
 * the root itself at 10:00, set last.
 */
static void setup(void)
{
    setenv("TZ", "UTC", 1);
    th_env_up(&env, &mock, "--token", TOKEN);
    ck_assert_int_eq(th_write_pattern(th_path(env.root, "hello.txt"), "Hello, world!", 13, 13), 0);
    ck_assert_int_eq(mkdir(th_path(env.root, "docs"), 0755), 0);
    set_mtime(env.root, "hello.txt", T12, 123456789);
    set_mtime(env.root, "docs", T11, 0);
    set_mtime(env.root, ".", T10, 0);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/* time.Time.MarshalJSON in UTC (RFC 3339, the fraction's trailing zeros dropped), unquoted. */
static const char *go_time(long long sec, unsigned nsec, char *out, size_t outsz)
{
    struct tm tm;
    time_t t = (time_t)sec;
    char base[32], frac[16] = "";
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
    if (nsec > 0) {
        int n = snprintf(frac, sizeof frac, ".%09u", nsec);
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
    }
    snprintf(out, outsz, "%s%sZ", base, frac);
    return out;
}

/* What OpenList says as "created" for root/rel: its birth time, else its mtime. */
static const char *created(const char *root, const char *rel)
{
    static char out[4][64];
    static int k;
    struct statx sx;
    ck_assert_int_eq(statx(AT_FDCWD, th_path(root, rel), 0, STATX_BASIC_STATS | STATX_BTIME, &sx),
                     0);
    struct statx_timestamp t = (sx.stx_mask & STATX_BTIME) ? sx.stx_btime : sx.stx_mtime;
    k = (k + 1) % 4;
    return go_time(t.tv_sec, t.tv_nsec, out[k], sizeof out[k]);
}

/* POST route with a JSON body and extra headers (the token, the Host of the notes' samples). */
static int post(int port, const char *route, const char *headers, const char *json, th_resp *r)
{
    char h[1024];
    snprintf(h, sizeof h, JSON HOST "%s", headers);
    return th_request(port, "POST", route, h, json, r);
}

/* post to the fixture's mock as the admin. */
static int api(const char *route, const char *json, th_resp *r)
{
    return post(mock.port, route, AUTH, json, r);
}

/* 1 if the response head has the header line "line" (Name: value) exactly. */
static int has(const th_resp *r, const char *line)
{
    char l[512];
    snprintf(l, sizeof l, "\r\n%s\r\n", line);
    const char *end = strstr(r->raw, "\r\n\r\n");
    const char *at = strstr(r->raw, l);
    return at != NULL && end != NULL && at <= end;
}

/* Asserts that r->body is want with its %s filled. */
#define ASSERT_BODY(r, fmt, ...)                                                                   \
    do {                                                                                           \
        static char want_[16384];                                                                  \
        snprintf(want_, sizeof want_, fmt, __VA_ARGS__);                                           \
        ck_assert_str_eq((r)->body, want_);                                                        \
    } while (0)

/* ---- fs/get ---- */

/* ObjResp then FsGetResp's fields (fsread.go:35-47, 255-262), as the notes' sample (§9). */
#define HELLO_OBJ                                                                                  \
    "{\"name\":\"hello.txt\",\"size\":13,\"is_dir\":false,\"modified\":"                           \
    "\"2024-05-01T12:00:00.123456789Z\",\"created\":\"%s\",\"sign\":\"" HELLO_SIGN "\","           \
    "\"thumb\":\"\",\"type\":4,\"hashinfo\":\"null\",\"hash_info\":null"

START_TEST(get_a_file_is_openlists_bytes)
{
    static th_resp r;
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/hello.txt\"}", &r), 200);
    /* raw_url: GetApiUrl + "/p" + EncodePath + "?sign=" (fsread.go:320-328); provider Local
     * (fsread.go:309-312); related null (fsread.go:229). */
    ASSERT_BODY(&r,
                "{\"code\":200,\"message\":\"success\",\"data\":" HELLO_OBJ
                ",\"raw_url\":\"http://127.0.0.1:5244/p/hello.txt?sign=" HELLO_SIGN "\","
                "\"readme\":\"\",\"header\":\"\",\"provider\":\"Local\",\"related\":null}}",
                created(env.root, "hello.txt"));
    ck_assert(has(&r, "Content-Type: application/json; charset=utf-8"));
    /* Short enough for Go to send it with its length (net/http's bufferBeforeChunkingSize). */
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu", strlen(r.body));
    ck_assert(has(&r, cl));
    /* The same through GET and the form fields (gin's Any, ShouldBind's form binder). */
    ck_assert_int_eq(
        th_request(mock.port, "GET", "/api/fs/get?path=%2Fhello.txt", AUTH HOST, NULL, &r), 200);
    ASSERT_BODY(&r,
                "{\"code\":200,\"message\":\"success\",\"data\":" HELLO_OBJ
                ",\"raw_url\":\"http://127.0.0.1:5244/p/hello.txt?sign=" HELLO_SIGN "\","
                "\"readme\":\"\",\"header\":\"\",\"provider\":\"Local\",\"related\":null}}",
                created(env.root, "hello.txt"));
}
END_TEST

START_TEST(get_escapes_the_raw_url_and_follows_the_forwarded_host)
{
    static th_resp r;
    /* url.PathEscape keeps $&+:=@ and escapes ; , and the rest (pkg/utils/path.go:58-79);
     * gin's JSON writes & as \u0026. Sign of "/x y;z,$&+:=@é.txt" with TOKEN (hmac.go:17-26). */
    const char *name = "x y;z,$&+:=@\xc3\xa9.txt";
    ck_assert_int_eq(th_write_pattern(th_path(env.root, name), "12345", 5, 5), 0);
    set_mtime(env.root, name, T12, 0);
    ck_assert_int_eq(post(mock.port, "/api/fs/get",
                          AUTH "X-Forwarded-Proto: https\r\nX-Forwarded-Host: files.example\r\n",
                          "{\"path\":\"/x y;z,$&+:=@\xc3\xa9.txt\"}", &r),
                     200);
    ASSERT_BODY(&r,
                "{\"code\":200,\"message\":\"success\",\"data\":{\"name\":\"x y;z,$\\u0026+:=@"
                "\xc3\xa9.txt\",\"size\":5,\"is_dir\":false,\"modified\":\"2024-05-01T12:00:00Z\","
                "\"created\":\"%s\",\"sign\":\"p0Mc1uTNZcKOvVNzQ_Neybb3pOMYJrfpxCOzfjIErT4=:0\","
                "\"thumb\":\"\",\"type\":4,\"hashinfo\":\"null\",\"hash_info\":null,"
                "\"raw_url\":\"https://files.example/p/x%%20y%%3Bz%%2C$\\u0026+:=@%%C3%%A9.txt"
                "?sign=p0Mc1uTNZcKOvVNzQ_Neybb3pOMYJrfpxCOzfjIErT4=:0\",\"readme\":\"\","
                "\"header\":\"\",\"provider\":\"Local\",\"related\":null}}",
                created(env.root, name));
}
END_TEST

START_TEST(get_a_directory_and_the_root)
{
    static th_resp r;
    /* The storage root is op.Get's own object "root", size 0 (internal/op/fs.go:153-160); the
     * mock gives it the root directory's time, as modified and created. */
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/\"}", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":200,\"message\":\"success\",\"data\":{\"name\":\"root\","
                             "\"size\":0,\"is_dir\":true,\"modified\":\"2024-05-01T10:00:00Z\","
                             "\"created\":\"2024-05-01T10:00:00Z\",\"sign\":\"\",\"thumb\":\"\","
                             "\"type\":0,\"hashinfo\":\"null\",\"hash_info\":null,\"raw_url\":\"\","
                             "\"readme\":\"\",\"header\":\"\",\"provider\":\"Local\","
                             "\"related\":null}}");
    /* A directory: its inode's size (directory_size is off, drivers/local/driver.go:207-215), no
     * sign, no raw_url, the type from its name (fsread.go:369). */
    struct stat st;
    ck_assert_int_eq(stat(th_path(env.root, "docs"), &st), 0);
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"docs/\"}", &r), 200);
    ASSERT_BODY(&r,
                "{\"code\":200,\"message\":\"success\",\"data\":{\"name\":\"docs\",\"size\":%lld,"
                "\"is_dir\":true,\"modified\":\"2024-05-01T11:00:00Z\",\"created\":\"%s\","
                "\"sign\":\"\",\"thumb\":\"\",\"type\":0,\"hashinfo\":\"null\",\"hash_info\":null,"
                "\"raw_url\":\"\",\"readme\":\"\",\"header\":\"\",\"provider\":\"Local\","
                "\"related\":null}}",
                (long long)st.st_size, created(env.root, "docs"));
    ck_assert_int_eq(mkdir(th_path(env.root, "docs/pics.jpg"), 0755), 0);
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/docs/pics.jpg\"}", &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"is_dir\":true,"));
    ck_assert_ptr_nonnull(strstr(r.body, ",\"type\":5,")); /* image, by its name */
}
END_TEST

/* A request to a JSON route and the exact answer. */
typedef struct call_case {
    const char *route, *json, *want;
} call_case;

static const call_case read_errors[] = {
    /* op.Get wraps errs.ObjectNotFound (internal/op/fs.go:189-190; errs/object.go:10). */
    {"/api/fs/get", "{\"path\":\"/nope\"}", ERR(500, "failed to get obj: object not found")},
    /* errs.RelativePath with code 403 (fsread.go:285-288; errs/errors.go:13). */
    {"/api/fs/get", "{\"path\":\"/docs/../hello.txt\"}",
     ERR(403, "using relative path is not allowed")},
    {"/api/fs/list", "{\"path\":\"..\"}", ERR(403, "using relative path is not allowed")},
    /*
     * ShouldBind's errors, code 400 (fsread.go:265-268): io.EOF, and json-iterator's, which
     * OpenList's -tags=jsoniter builds use (json-iterator v1.1.12 iter.go:200-226, iter_str.go:29
     * ReadString, iter_int.go readUint64; an embedded struct's field is named "PageReq: Page").
     * readUint64 reports the byte it refused as 0xff, which gin writes as U+FFFD.
     */
    {"/api/fs/get", "", ERR(400, "EOF")},
    {"/api/fs/get", "{\"path\":1}",
     ERR(400, "handles.FsGetReq.Path: ReadString: expects \\\" or n, but found 1, error found in "
              "#9 byte of ...|{\\\"path\\\":1}|..., bigger context ...|{\\\"path\\\":1}|...")},
    {"/api/fs/list", "{\"path\":\"/\",\"page\":\"2\"}",
     ERR(400, "handles.ListReq.PageReq: Page: readUint64: unexpected character: \\ufffd, error "
              "found in #10 byte of ...|\\\",\\\"page\\\":\\\"2\\\"}|..., bigger context "
              "...|{\\\"path\\\":\\\"/\\\",\\\"page\\\":\\\"2\\\"}|...")},
    /* Shares (handles/sharing.go:24-30, 320-325): the mock has none. */
    {"/api/fs/get", "{\"path\":\"/@s\"}", ERR(400, "invalid share id")},
    {"/api/fs/list", "{\"path\":\"/@s/\"}", ERR(400, "invalid share id")},
    {"/api/fs/get", "{\"path\":\"/@sabc/x\"}", ERR(500, "the share does not exist")},
    /* fs.List's errors (internal/op/fs.go:52-59, fs/list.go:36-38; errs/object.go:12). */
    {"/api/fs/list", "{\"path\":\"/hello.txt\"}", ERR(500, "failed get objs: not a folder")},
    {"/api/fs/list", "{\"path\":\"/nope\"}",
     ERR(500, "failed get objs: failed get dir: failed to get obj: object not found")},
};

START_TEST(read_errors_are_openlists)
{
    static th_resp r;
    const call_case *c = &read_errors[_i];
    ck_assert_int_eq(api(c->route, c->json, &r), 200);
    ck_assert_msg(strcmp(r.body, c->want) == 0, "%s %s: %s", c->route, c->json, r.body);
}
END_TEST

START_TEST(form_fields_take_strconvs_errors)
{
    static th_resp r;
    /* gin's form binder returns strconv's error as is (binding/form_mapping.go:390-417). */
    ck_assert_int_eq(th_request(mock.port, "GET", "/api/fs/list?path=/&page=x", AUTH, NULL, &r),
                     200);
    ck_assert_str_eq(r.body, ERR(400, "strconv.ParseInt: parsing \\\"x\\\": invalid syntax"));
    ck_assert_int_eq(
        th_request(mock.port, "GET", "/api/fs/list?path=/&Refresh=maybe", AUTH, NULL, &r), 200);
    ck_assert_str_eq(r.body, ERR(400, "strconv.ParseBool: parsing \\\"maybe\\\": invalid syntax"));
    /* A path through a file: the driver's os.Stat error, naming the host path (driver.go:204). */
    char want[8192];
    snprintf(want, sizeof want, ERR(500, "failed to get obj: stat %s/hello.txt/x: not a directory"),
             env.root);
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/hello.txt/x\"}", &r), 200);
    ck_assert_str_eq(r.body, want);
}
END_TEST

/* ---- fs/list ---- */

START_TEST(list_is_openlists_bytes)
{
    static th_resp r;
    /* FsListResp (fsread.go:49-58) and the notes' sample (§9): a directory's size 0 and type 1,
     * files signed, write true, provider "unknown" (fsread.go:110). */
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/\"}", &r), 200);
    ASSERT_BODY(&r,
                "{\"code\":200,\"message\":\"success\",\"data\":{\"content\":[{\"name\":\"docs\","
                "\"size\":0,\"is_dir\":true,\"modified\":\"2024-05-01T11:00:00Z\","
                "\"created\":\"%s\",\"sign\":\"\",\"thumb\":\"\",\"type\":1,\"hashinfo\":\"null\","
                "\"hash_info\":null}," HELLO_OBJ "}],\"total\":2,\"readme\":\"\",\"header\":\"\","
                "\"write\":true,\"write_content_bypass\":false,\"provider\":\"unknown\"}}",
                created(env.root, "docs"), created(env.root, "hello.txt"));
    /* An empty directory's content is a nil slice: null. */
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/docs\"}", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":200,\"message\":\"success\",\"data\":{\"content\":null,"
                             "\"total\":0,\"readme\":\"\",\"header\":\"\",\"write\":true,"
                             "\"write_content_bypass\":false,\"provider\":\"unknown\"}}");
}
END_TEST

/* The names of a listing's content (or related), joined by ',', and its total. */
static const char *names_of(const char *body, const char *key, long *total)
{
    static char out[16384];
    cJSON *j = cJSON_Parse(body);
    ck_assert_msg(j != NULL, "not JSON: %s", body);
    cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(data, "total");
    if (total != NULL)
        *total = cJSON_IsNumber(t) ? (long)t->valuedouble : -1;
    cJSON *list = cJSON_GetObjectItemCaseSensitive(data, key);
    size_t w = 0;
    out[0] = '\0';
    if (cJSON_IsNull(list))
        snprintf(out, sizeof out, "null");
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type");
        w += (size_t)snprintf(out + w, sizeof out - w, "%s%s:%d", w > 0 ? "," : "",
                              cJSON_GetStringValue(n), (int)ty->valuedouble);
    }
    cJSON_Delete(j);
    return out;
}

START_TEST(list_pages_as_pagination_does)
{
    static th_resp r;
    ck_assert_int_eq(mkdir(th_path(env.root, "p"), 0755), 0);
    static const char *const files[] = {"p/e", "p/d", "p/c", "p/b", "p/a"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(th_write_pattern(th_path(env.root, files[i]), "x", 1, 1), 0);
    /* pagination (fsread.go:214-226) after PageReq.Validate (internal/model/req.go:13-20). */
    static const struct {
        const char *json, *names;
    } pages[] = {
        {"{\"path\":\"/p\",\"page\":1,\"per_page\":2}", "a:0,b:0"},
        {"{\"path\":\"/p\",\"page\":2,\"per_page\":2}", "c:0,d:0"},
        {"{\"path\":\"/p\",\"page\":3,\"per_page\":2}", "e:0"},
        {"{\"path\":\"/p\",\"page\":4,\"per_page\":2}", "null"}, /* past the end: nil */
        {"{\"path\":\"/p\",\"page\":0,\"per_page\":3}", "a:0,b:0,c:0"},
        {"{\"path\":\"/p\",\"per_page\":-1}", "a:0,b:0,c:0,d:0,e:0"},
        {"{\"path\":\"/p\",\"page\":2}", "null"}, /* (2-1)*MaxInt is past the end */
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        long total = 0;
        ck_assert_int_eq(api("/api/fs/list", pages[i].json, &r), 200);
        ck_assert_msg(strcmp(names_of(r.body, "content", &total), pages[i].names) == 0, "%s: %s",
                      pages[i].json, r.body);
        ck_assert_int_eq(total, 5);
    }
    /* The form fields of a GET. */
    ck_assert_int_eq(
        th_request(mock.port, "GET", "/api/fs/list?path=/p&page=2&per_page=%202", AUTH, NULL, &r),
        200);
    ck_assert_str_eq(names_of(r.body, "content", NULL), "c:0,d:0");
    /* page 3 without per_page: (3-1)*MaxInt wraps to -2, the slice panics, gin's recovery
     * answers a bare 500 (internal/bootstrap/run.go:106). */
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/p\",\"page\":3}", &r), 500);
    ck_assert_str_eq(r.body, "");
}
END_TEST

START_TEST(list_order_types_and_related_are_openlists)
{
    static th_resp r;
    static const char *const files[] = {"B.md",   "a.txt",     "a.srt",   "a.txt.bak",
                                        "ab.txt", "b.mp3",     ".bashrc", "Makefile",
                                        "x.JPG",  "song.FLAC", "a.webm",  "c.strm"};
    ck_assert_int_eq(mkdir(th_path(env.root, "mix"), 0755), 0);
    ck_assert_int_eq(mkdir(th_path(env.root, "mix/abc"), 0755), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "mix/%s", files[i]);
        ck_assert_int_eq(th_write_pattern(th_path(env.root, rel), "x", 1, 1), 0);
    }
    /* Byte-wise by name, directories among the files (drivers/local/util.go:101-113); types
     * from the lower-cased extension in the default lists (pkg/utils/file.go:142-164,
     * bootstrap/data/setting.go:128-131). */
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/mix\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "content", NULL),
                     ".bashrc:0,B.md:4,Makefile:0,a.srt:4,a.txt:4,a.txt.bak:0,a.webm:2,ab.txt:4,"
                     "abc:1,b.mp3:3,c.strm:4,song.FLAC:3,x.JPG:5");
    /* related: every other name with the name's stem (fsread.go:381-393). */
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/mix/a.txt\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "related", NULL),
                     "a.srt:4,a.txt.bak:0,a.webm:2,ab.txt:4,abc:1");
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/mix/Makefile\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "related", NULL), "null");
    /* A dotfile's stem is "": everything else is related. */
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/mix/.bashrc\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "related", NULL),
                     "B.md:4,Makefile:0,a.srt:4,a.txt:4,a.txt.bak:0,a.webm:2,ab.txt:4,abc:1,"
                     "b.mp3:3,c.strm:4,song.FLAC:3,x.JPG:5");
}
END_TEST

START_TEST(a_long_listing_is_chunked_as_go_frames_it)
{
    static th_msg m;
    ck_assert_int_eq(mkdir(th_path(env.root, "many"), 0755), 0);
    for (int i = 0; i < 300; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/file-%03d.txt", i);
        ck_assert_int_eq(th_write_pattern(th_path(env.root, rel), "x", 1, 1), 0);
    }
    static const char req[] =
        "POST /api/fs/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" AUTH JSON
        "Content-Length: 16\r\n\r\n{\"path\":\"/many\"}";
    /* Go's net/http chunks what a handler writes past 2048 bytes (bufferBeforeChunkingSize). */
    ck_assert_int_eq(th_msg_request(mock.port, req, sizeof req - 1, &m, 20000), 200);
    ck_assert_ptr_nonnull(strstr(m.raw, "\r\nTransfer-Encoding: chunked\r\n"));
    long total = 0;
    const char *names = names_of(m.body, "content", &total);
    ck_assert_int_eq(total, 300);
    ck_assert(strncmp(names, "file-000.txt:4,file-001.txt:4,", 30) == 0);
    ck_assert_ptr_nonnull(strstr(names, ",file-299.txt:4"));
    ck_assert(m.body_len > 2048);
    th_msg_free(&m);
}
END_TEST

/* ---- the guest ---- */

START_TEST(a_disabled_guest_is_refused_after_binding)
{
    static th_resp r;
    /* Auth(true) lets the guest reach FsGetSplit, which binds first (fsread.go:264-281). */
    ck_assert_int_eq(post(mock.port, "/api/fs/get", "", "", &r), 200);
    ck_assert_str_eq(r.body, ERR(400, "EOF"));
    ck_assert_int_eq(post(mock.port, "/api/fs/get", "", "{\"path\":\"/@sx\"}", &r), 200);
    ck_assert_str_eq(r.body, ERR(500, "the share does not exist"));
    static const char *const routes[] = {"/api/fs/get", "/api/fs/list", "/api/fs/mkdir"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(post(mock.port, routes[i], "", "{\"path\":\"/\"}", &r), 200);
        /* fsread.go:73-76, 276-279; mkdir by Auth(false) (middlewares/auth.go:39-42). */
        ck_assert_str_eq(r.body, ERR(401, "Guest user is disabled, login please"));
        ck_assert_int_eq(
            post(mock.port, routes[i], "Authorization: " TOKEN "x\r\n", "{\"path\":\"/\"}", &r),
            200);
        ck_assert_str_eq(r.body, ERR(401, "token is invalidated"));
    }
    ck_assert_int_eq(post(mock.port, "/api/fs/remove", "", "{\"dir\":\"/\",\"names\":[\"x\"]}", &r),
                     200);
    ck_assert_str_eq(r.body, ERR(401, "Guest user is disabled, login please"));
    ck_assert(th_exists(th_path(env.root, "docs")));
}
END_TEST

START_TEST(the_open_mock_lets_the_guest_read_and_write)
{
    static th_resp r;
    th_mock open;
    ck_assert_int_eq(th_mock_start(&open, env.root, NULL), 0);
    ck_assert_int_eq(post(open.port, "/api/fs/mkdir", "", "{\"path\":\"/g/h\"}", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "g/h")));
    ck_assert_int_eq(post(open.port, "/api/fs/get", "", "{\"path\":\"/hello.txt\"}", &r), 200);
    /* Without --token the sign key is made at start: another sign than TOKEN's. */
    const char *s = strstr(r.body, "\"sign\":\"");
    ck_assert_ptr_nonnull(s);
    char sign[128];
    ck_assert_int_eq(sscanf(s, "\"sign\":\"%127[^\"]\"", sign), 1);
    ck_assert_uint_eq(strlen(sign), 46); /* 44 base64url characters, ":0" */
    ck_assert_str_ne(sign, HELLO_SIGN);
    char target[256];
    snprintf(target, sizeof target, "/d/hello.txt?sign=%s", sign);
    ck_assert_int_eq(th_request(open.port, "GET", target, "", NULL, &r), 200);
    ck_assert_str_eq(r.body, "Hello, world!");
    ck_assert_int_eq(th_mock_stop(&open), 0);
}
END_TEST

/* ---- mkdir and remove ---- */

static const call_case mkdirs[] = {
    /* op.MakeDir (internal/op/fs.go:305-370): parents made, an existing directory is success. */
    {"/api/fs/mkdir", "{\"path\":\"/n1/n2/n3\"}", TH_SUCCESS},
    {"/api/fs/mkdir", "{\"path\":\"n1/n2\"}", TH_SUCCESS},
    {"/api/fs/mkdir", "{\"path\":\"/\"}", TH_SUCCESS},
    {"/api/fs/mkdir", "{\"path\":\"/hello.txt\"}", ERR(500, "file exists")},
    {"/api/fs/mkdir", "{\"path\":\"/n1/../x\"}", ERR(403, "using relative path is not allowed")},
    {"/api/fs/mkdir", "{\"path\":\"/n1/" TH_TMP_PREFIX "x\"}",
     ERR(403, "path uses the reserved name prefix " TH_TMP_PREFIX
              " (streamput-mock's temp files carry it); choose another name")},
};

START_TEST(mkdir_is_op_makedir)
{
    static th_resp r;
    for (size_t i = 0; i < sizeof mkdirs / sizeof mkdirs[0]; i++) {
        ck_assert_int_eq(api(mkdirs[i].route, mkdirs[i].json, &r), 200);
        ck_assert_msg(strcmp(r.body, mkdirs[i].want) == 0, "%s: %s", mkdirs[i].json, r.body);
    }
    struct stat st;
    ck_assert_int_eq(stat(th_path(env.root, "n1/n2/n3"), &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert(!th_exists(th_path(env.root, "x")));
    ck_assert(!th_exists(th_path(env.root, "n1/" TH_TMP_PREFIX "x")));
    /* A component that is a file: "failed to check if dir exists" (fs.go:320-322). */
    char want[8192];
    snprintf(want, sizeof want,
             ERR(500, "failed to check if dir exists: failed to get obj: stat "
                      "%s/hello.txt/a/b: not a directory"),
             env.root);
    ck_assert_int_eq(api("/api/fs/mkdir", "{\"path\":\"/hello.txt/a/b\"}", &r), 200);
    ck_assert_str_eq(r.body, want);
    /* Only POST is routed (server/router.go:205). */
    ck_assert_int_eq(th_request(mock.port, "GET", "/api/fs/mkdir?path=/q", AUTH, NULL, &r), 404);
}
END_TEST

/* Writes root/rel (its directory made), one byte. */
static void plant(const char *root, const char *rel)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", th_path(root, rel));
    *strrchr(dir, '/') = '\0';
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(th_write_pattern(th_path(root, rel), "x", 1, 1), 0);
}

START_TEST(remove_is_fsremove)
{
    static th_resp r;
    plant(env.root, "t/a.txt");
    plant(env.root, "t/sub/deep/b.txt");
    plant(env.root, "t/c.txt");
    plant(env.root, "u/keep.txt");
    /* FsRemove's checks in order (fsmanage.go:343-395). */
    ck_assert_int_eq(api("/api/fs/remove", "{\"dir\":\"/t\",\"names\":[]}", &r), 200);
    ck_assert_str_eq(r.body, ERR(400, "Empty file names"));
    ck_assert_int_eq(api("/api/fs/remove", "{\"dir\":\"/t\"}", &r), 200);
    ck_assert_str_eq(r.body, ERR(400, "Empty file names"));
    ck_assert_int_eq(api("/api/fs/remove", "{\"dir\":\"/t/..\",\"names\":[\"x\"]}", &r), 200);
    ck_assert_str_eq(r.body, ERR(403, "using relative path is not allowed"));
    /* A missing name is success (op.Remove, internal/op/fs.go:582-588); a name that climbs out
     * of dir is skipped (fsmanage.go:372-382); a directory goes with all it holds. */
    ck_assert_int_eq(api("/api/fs/remove",
                         "{\"dir\":\"/t\",\"names\":[\"a.txt\",\"sub\",\"missing\",\"../u\"]}", &r),
                     200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(!th_exists(th_path(env.root, "t/a.txt")));
    ck_assert(!th_exists(th_path(env.root, "t/sub")));
    ck_assert(th_exists(th_path(env.root, "t/c.txt")));
    ck_assert(th_exists(th_path(env.root, "u/keep.txt")));
    /* The first failure ends it; what went before stays removed. */
    char want[8192];
    snprintf(want, sizeof want,
             ERR(500, "failed to get object: failed to get obj: stat %s/hello.txt/x: not a "
                      "directory"),
             env.root);
    ck_assert_int_eq(
        api("/api/fs/remove", "{\"dir\":\"/\",\"names\":[\"t/c.txt\",\"hello.txt/x\",\"u\"]}", &r),
        200);
    ck_assert_str_eq(r.body, want);
    ck_assert(!th_exists(th_path(env.root, "t/c.txt")));
    ck_assert(th_exists(th_path(env.root, "u/keep.txt")));
    /* "" names dir itself; at the root that is refused (internal/op/fs.go:579-581). */
    ck_assert_int_eq(api("/api/fs/remove", "{\"dir\":\"/u\",\"names\":[\"\"]}", &r), 200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(!th_exists(th_path(env.root, "u")));
    ck_assert_int_eq(api("/api/fs/remove", "{\"dir\":\"/\",\"names\":[\".\"]}", &r), 200);
    ck_assert_str_eq(r.body, ERR(500, "delete root folder is not allowed"));
    ck_assert(th_exists(th_path(env.root, "hello.txt")));
}
END_TEST

/* ---- confinement ---- */

/* The sign of path under TOKEN, computed by the test (pkg/sign/hmac.go:17-26); static. */
static const char *sign_for(const char *path)
{
    static char out[128];
    unsigned char mac[32];
    unsigned int n = 0;
    char data[4096];
    snprintf(data, sizeof data, "%s:0", path);
    HMAC(EVP_sha256(), TOKEN, (int)strlen(TOKEN), (const unsigned char *)data, strlen(data), mac,
         &n);
    int k = EVP_EncodeBlock((unsigned char *)out, mac, (int)n);
    for (int i = 0; i < k; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    snprintf(out + k, sizeof out - (size_t)k, ":0");
    return out;
}

/* A GET of /d/PATH with its sign, and extra header lines. */
static int download(int port, const char *path, const char *headers, th_resp *r)
{
    char target[8192];
    snprintf(target, sizeof target, "/d%s?sign=%s", path, sign_for(path));
    return th_request(port, "GET", target, headers, NULL, r);
}

/* The body's <p>...</p> of ErrorPage into a static buffer. */
static const char *page_msg(const th_resp *r)
{
    static char out[1024];
    const char *p = strstr(r->body, "<p>"), *e = p != NULL ? strstr(p, "</p>") : NULL;
    snprintf(out, sizeof out, "%.*s", e != NULL ? (int)(e - p - 3) : 0, p != NULL ? p + 3 : "");
    return out;
}

START_TEST(every_route_stays_beneath_the_root)
{
    static th_resp r;
    th_jail j;
    th_jail_init(&j);
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, j.root, "--token", TOKEN, NULL), 0);
    ck_assert_int_eq(symlink("../outside", th_path(j.root, "rel")), 0);
    ck_assert_int_eq(symlink(j.outside, th_path(j.root, "abs")), 0);
    ck_assert_int_eq(mkdir(th_path(j.root, "in"), 0755), 0);
    ck_assert_int_eq(symlink("../../outside", th_path(j.root, "in/up")), 0);
    static const char *const ways[] = {"/rel", "/abs", "/in/up"};
    for (size_t i = 0; i < 3; i++) {
        char json[256], p[64];
        snprintf(p, sizeof p, "%s/victim.txt", ways[i]);
        /* Every way out is errs.PermissionDenied, as uploads refuse it. */
        snprintf(json, sizeof json, "{\"path\":\"%s\"}", p);
        ck_assert_int_eq(post(m.port, "/api/fs/get", AUTH, json, &r), 200);
        ck_assert_msg(strcmp(r.body, ERR(403, "permission denied")) == 0, "%s: %s", p, r.body);
        snprintf(json, sizeof json, "{\"path\":\"%s\"}", ways[i]);
        ck_assert_int_eq(post(m.port, "/api/fs/list", AUTH, json, &r), 200);
        ck_assert_str_eq(r.body, ERR(403, "permission denied"));
        snprintf(json, sizeof json, "{\"path\":\"%s/new\"}", ways[i]);
        ck_assert_int_eq(post(m.port, "/api/fs/mkdir", AUTH, json, &r), 200);
        ck_assert_str_eq(r.body, ERR(403, "permission denied"));
        snprintf(json, sizeof json, "{\"dir\":\"%s\",\"names\":[\"victim.txt\"]}", ways[i]);
        ck_assert_int_eq(post(m.port, "/api/fs/remove", AUTH, json, &r), 200);
        ck_assert_str_eq(r.body, ERR(403, "permission denied"));
        ck_assert_int_eq(download(m.port, p, "", &r), 403);
        ck_assert_str_eq(page_msg(&r), "permission denied");
    }
    /* ".." never leaves the root: refused on the API, cleaned away on /d (PathParse). */
    ck_assert_int_eq(post(m.port, "/api/fs/get", AUTH, "{\"path\":\"/../outside/victim.txt\"}", &r),
                     200);
    ck_assert_str_eq(r.body, ERR(403, "using relative path is not allowed"));
    char target[256];
    snprintf(target, sizeof target, "/d/../outside/victim.txt?sign=%s",
             sign_for("/outside/victim.txt"));
    ck_assert_int_eq(th_request(m.port, "GET", target, "", NULL, &r), 500);
    ck_assert_str_eq(page_msg(&r),
                     "failed link: failed to get file: failed to get obj: object not found");
    /* The sign is of the cleaned path, so one of the raw path does not fit. */
    snprintf(target, sizeof target, "/d/../outside/victim.txt?sign=%s",
             sign_for("/../outside/victim.txt"));
    ck_assert_int_eq(th_request(m.port, "GET", target, "", NULL, &r), 401);
    ck_assert_str_eq(page_msg(&r), "sign invalid");
    /* A listing shows the links by their own lstat (a link out is no directory here); removing
     * one removes the link alone. */
    ck_assert_int_eq(post(m.port, "/api/fs/list", AUTH, "{\"path\":\"/\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "content", NULL), "abs:0,in:1,rel:0");
    ck_assert_int_eq(
        post(m.port, "/api/fs/remove", AUTH, "{\"dir\":\"/\",\"names\":[\"rel\",\"in\"]}", &r),
        200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(!th_exists(th_path(j.root, "rel")));
    ck_assert(!th_exists(th_path(j.root, "in")));
    th_jail_assert_intact(&j);
    ck_assert_int_eq(th_mock_stop(&m), 0);
    th_jail_free(&j);
}
END_TEST

START_TEST(links_inside_the_root_are_followed)
{
    static th_resp r;
    ck_assert_int_eq(symlink("hello.txt", th_path(env.root, "link.txt")), 0);
    ck_assert_int_eq(symlink("docs", th_path(env.root, "dlink")), 0);
    /* Readdir's lstat: a link's own size (9 = strlen("hello.txt")), a link to a directory is one
     * (drivers/local/util.go:29-45). os.Stat in get follows it. */
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "content", NULL), "dlink:1,docs:1,hello.txt:4,link.txt:4");
    ck_assert_ptr_nonnull(strstr(r.body, "{\"name\":\"link.txt\",\"size\":9,"));
    ck_assert_int_eq(api("/api/fs/get", "{\"path\":\"/link.txt\"}", &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "{\"name\":\"link.txt\",\"size\":13,\"is_dir\":false,"
                                         "\"modified\":\"2024-05-01T12:00:00.123456789Z\""));
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/dlink\"}", &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"content\":null"));
    ck_assert_int_eq(download(mock.port, "/link.txt", "", &r), 200);
    ck_assert_str_eq(r.body, "Hello, world!");
    ck_assert(has(&r, "Content-Disposition: attachment; filename=\"link.txt\"; "
                      "filename*=utf-8''link.txt"));
}
END_TEST

START_TEST(the_temp_prefix_names_nothing)
{
    static th_resp r;
    plant(env.root, "live/" TH_TMP_PREFIX "0123456789abcdef");
    plant(env.root, "live/other.txt");
    /* Never listed, got, downloaded or removed: the mock's own files do not exist here. */
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/live\"}", &r), 200);
    ck_assert_str_eq(names_of(r.body, "content", NULL), "other.txt:4");
    ck_assert_int_eq(
        api("/api/fs/get", "{\"path\":\"/live/" TH_TMP_PREFIX "0123456789abcdef\"}", &r), 200);
    ck_assert_str_eq(r.body, ERR(500, "failed to get obj: object not found"));
    ck_assert_int_eq(api("/api/fs/list", "{\"path\":\"/live/" TH_TMP_PREFIX "x\"}", &r), 200);
    ck_assert_str_eq(
        r.body, ERR(500, "failed get objs: failed get dir: failed to get obj: object not found"));
    ck_assert_int_eq(download(mock.port, "/live/" TH_TMP_PREFIX "0123456789abcdef", "", &r), 500);
    ck_assert_str_eq(page_msg(&r),
                     "failed link: failed to get file: failed to get obj: object not found");
    ck_assert_int_eq(api("/api/fs/remove",
                         "{\"dir\":\"/live\",\"names\":[\"" TH_TMP_PREFIX "0123456789abcdef\"]}",
                         &r),
                     200);
    ck_assert_str_eq(r.body, TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "live/" TH_TMP_PREFIX "0123456789abcdef")));
    /* Its directory is emptied of everything else but stays, and says why. */
    ck_assert_int_eq(api("/api/fs/remove", "{\"dir\":\"/\",\"names\":[\"live\"]}", &r), 200);
    ck_assert_str_eq(r.body,
                     ERR(500, "remove [/live]: it holds an upload in progress (a " TH_TMP_PREFIX
                              " file), which the mock never removes"));
    ck_assert(!th_exists(th_path(env.root, "live/other.txt")));
    ck_assert(th_exists(th_path(env.root, "live/" TH_TMP_PREFIX "0123456789abcdef")));
}
END_TEST

/* ---- /d and /p ---- */

/* attachHeader's headers for hello.txt (server/common/proxy.go:74-102, pkg/utils/http.go:10-43):
 * Etag is "<mtime hex>-<size hex>": 0x66322ec0 = T12, 0xd = 13. */
static void assert_hello_headers(const th_resp *r)
{
    ck_assert(has(r, "Content-Disposition: attachment; filename=\"hello.txt\"; "
                     "filename*=utf-8''hello.txt"));
    ck_assert(has(r, "Etag: \"66322ec0-d\""));
    ck_assert(has(r, "Last-Modified: Wed, 01 May 2024 12:00:00 GMT"));
}

/* A Range request for hello.txt and its 206 with exact bytes (pkg/http_range/range.go). */
static const struct {
    const char *range, *content_range, *body;
} ranges[] = {
    {"bytes=0-0", "bytes 0-0/13", "H"},          /* the first byte */
    {"bytes=12-12", "bytes 12-12/13", "!"},      /* the last */
    {"bytes=-3", "bytes 10-12/13", "ld!"},       /* a suffix */
    {"bytes=7-", "bytes 7-12/13", "world!"},     /* open-ended */
    {"bytes=5-99", "bytes 5-12/13", ", world!"}, /* the end clamped */
    {"bytes= 1-2 ,", "bytes 1-2/13", "el"},      /* blanks and empty parts are skipped */
};

START_TEST(d_and_p_serve_whole_files_and_single_ranges)
{
    static th_resp r;
    const char *const heads[] = {"/d", "/p"};
    for (int k = 0; k < 2; k++) {
        char target[128];
        snprintf(target, sizeof target, "%s/hello.txt?sign=" HELLO_SIGN, heads[k]);
        ck_assert_int_eq(th_request(mock.port, "GET", target, "", NULL, &r), 200);
        ck_assert_str_eq(r.body, "Hello, world!");
        assert_hello_headers(&r);
        /* Go's mime.TypeByExtension(".txt") (pkg/utils/file.go:166-180). */
        ck_assert(has(&r, "Content-Type: text/plain; charset=utf-8"));
        ck_assert(has(&r, "Accept-Ranges: bytes"));
        ck_assert(has(&r, "Content-Length: 13"));
        /* HEAD: the same head, no body (internal/net/serve.go:193). */
        ck_assert_int_eq(th_request(mock.port, "HEAD", target, "", NULL, &r), 200);
        ck_assert_str_eq(r.body, "");
        ck_assert(has(&r, "Content-Length: 13"));
    }
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        char h[64], cr[64];
        snprintf(h, sizeof h, "Range: %s\r\n", ranges[i].range);
        ck_assert_int_eq(download(mock.port, "/hello.txt", h, &r), 206);
        ck_assert_msg(strcmp(r.body, ranges[i].body) == 0, "%s: %s", ranges[i].range, r.body);
        snprintf(cr, sizeof cr, "Content-Range: %s", ranges[i].content_range);
        ck_assert_msg(has(&r, cr), "%s: %s", ranges[i].range, r.raw);
        assert_hello_headers(&r);
        ck_assert(has(&r, "Accept-Ranges: bytes"));
    }
    /* Ranges that add up to more than the file are ignored: 200 (serve.go:105-109). */
    ck_assert_int_eq(download(mock.port, "/hello.txt", "Range: bytes=0-,0-\r\n", &r), 200);
    ck_assert_str_eq(r.body, "Hello, world!");
    /* An empty file ignores a Range that overlaps nothing (serve.go:89-97). */
    ck_assert_int_eq(th_write_pattern(th_path(env.root, "empty.txt"), "", 0, 0), 0);
    ck_assert_int_eq(download(mock.port, "/empty.txt", "Range: bytes=0-\r\n", &r), 200);
    ck_assert(has(&r, "Content-Length: 0"));
}
END_TEST

START_TEST(bad_ranges_are_416_with_gos_bodies)
{
    static th_resp r;
    /* ErrNoOverlap: a Content-Range of "bytes *" and the size, and http.Error's body
     * (serve.go:89-102, range.go:27); http.Error sets text/plain and nosniff. */
    ck_assert_int_eq(download(mock.port, "/hello.txt", "Range: bytes=13-\r\n", &r), 416);
    ck_assert_str_eq(r.body, "invalid range: failed to overlap\n");
    ck_assert(has(&r, "Content-Range: bytes */13"));
    ck_assert(has(&r, "Content-Type: text/plain; charset=utf-8"));
    ck_assert(has(&r, "X-Content-Type-Options: nosniff"));
    assert_hello_headers(&r);
    /* ErrInvalid: no Content-Range (range.go:30). */
    static const char *const invalid[] = {"Range: items=0-1\r\n", "Range: bytes=x-1\r\n",
                                          "Range: bytes=5-2\r\n", "Range: bytes=-\r\n",
                                          "Range: bytes=1\r\n"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        ck_assert_int_eq(download(mock.port, "/hello.txt", invalid[i], &r), 416);
        ck_assert_msg(strcmp(r.body, "invalid range\n") == 0, "%s: %s", invalid[i], r.body);
        ck_assert(strstr(r.raw, "Content-Range") == NULL);
    }
}
END_TEST

START_TEST(several_ranges_are_one_multipart_answer)
{
    static th_resp r;
    ck_assert_int_eq(download(mock.port, "/hello.txt", "Range: bytes=0-1, 7-11\r\n", &r), 206);
    /* multipart.Writer: a random boundary of 60 hex digits (serve.go:151-184). */
    const char *ct = strstr(r.raw, "\r\nContent-Type: multipart/byteranges; boundary=");
    ck_assert_ptr_nonnull(ct);
    char b[128];
    ck_assert_int_eq(sscanf(ct, "\r\nContent-Type: multipart/byteranges; boundary=%127[0-9a-f]", b),
                     1);
    ck_assert_uint_eq(strlen(b), 60);
    /* Each part's head as Range.MimeHeader and CreatePart write it (range.go, mime/multipart). */
    ASSERT_BODY(&r,
                "--%s\r\nContent-Range: bytes 0-1/13\r\nContent-Type: text/plain; charset=utf-8"
                "\r\n\r\nHe\r\n--%s\r\nContent-Range: bytes 7-11/13\r\nContent-Type: text/plain; "
                "charset=utf-8\r\n\r\nworld\r\n--%s--\r\n",
                b, b, b);
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu", strlen(r.body));
    ck_assert(has(&r, cl));
}
END_TEST

START_TEST(preconditions_are_servehttps)
{
    static th_resp r;
    /* writeNotModified drops the type, and the date because there is an Etag (util.go:225-239). */
    static const char *const not_modified[] = {
        "If-Modified-Since: Wed, 01 May 2024 12:00:00 GMT\r\n",
        "If-Modified-Since: Thu, 02 May 2024 00:00:00 GMT\r\n",
        "If-None-Match: \"66322ec0-d\"\r\n",
        "If-None-Match: \"x\", W/\"66322ec0-d\"\r\n",
        "If-None-Match: *\r\n",
    };
    for (size_t i = 0; i < sizeof not_modified / sizeof not_modified[0]; i++) {
        ck_assert_int_eq(download(mock.port, "/hello.txt", not_modified[i], &r), 304);
        ck_assert(has(&r, "Etag: \"66322ec0-d\""));
        ck_assert(strstr(r.raw, "Last-Modified") == NULL && strstr(r.raw, "Content-Type") == NULL);
    }
    /* Modified since then, or another tag: the file. */
    ck_assert_int_eq(download(mock.port, "/hello.txt",
                              "If-Modified-Since: Wed, 01 May 2024 11:59:59 GMT\r\n", &r),
                     200);
    ck_assert_int_eq(download(mock.port, "/hello.txt", "If-None-Match: \"66322ec0-e\"\r\n", &r),
                     200);
    /* If-Match and If-Unmodified-Since that fail: a bare 412 (util.go:243-253). */
    ck_assert_int_eq(download(mock.port, "/hello.txt", "If-Match: \"nope\"\r\n", &r), 412);
    ck_assert_str_eq(r.body, "");
    ck_assert_int_eq(download(mock.port, "/hello.txt",
                              "If-Unmodified-Since: Wed, 01 May 2024 11:00:00 GMT\r\n", &r),
                     412);
    ck_assert_int_eq(download(mock.port, "/hello.txt", "If-Match: \"66322ec0-d\"\r\n", &r), 200);
    /* If-Range: a tag or the date that does not match makes the Range be ignored. */
    ck_assert_int_eq(
        download(mock.port, "/hello.txt", "Range: bytes=0-0\r\nIf-Range: \"66322ec0-d\"\r\n", &r),
        206);
    ck_assert_int_eq(
        download(mock.port, "/hello.txt", "Range: bytes=0-0\r\nIf-Range: \"other\"\r\n", &r), 200);
    ck_assert_int_eq(download(mock.port, "/hello.txt",
                              "Range: bytes=0-0\r\nIf-Range: Wed, 01 May 2024 12:00:00 GMT\r\n",
                              &r),
                     206);
    ck_assert_int_eq(download(mock.port, "/hello.txt",
                              "Range: bytes=0-0\r\nIf-Range: Wed, 01 May 2024 12:00:01 GMT\r\n",
                              &r),
                     200);
}
END_TEST

/* ErrorPage's HTML (server/common/common.go:47-77), tabs as in the source. */
#define PAGE(codes, msg)                                                                           \
    "<!DOCTYPE html>\n<html lang=\"en\">\n\t<head>\n\t\t<meta charset=\"utf-8\" />\n\t\t<meta "    \
    "name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\t\t<meta "             \
    "name=\"color-scheme\" content=\"dark light\" />\n\t\t<meta name=\"robots\" "                  \
    "content=\"noindex\" />\n\t\t<title>" codes "</title>\n\t</head>\n\t<body>\n\t\t<h1>" codes    \
    "</h1>\n\t\t<hr>\n\t\t<p>" msg "</p>\n\t</body>\n</html>"

/* A sign and the page it leads to (pkg/sign/hmac.go:28-48, texts pkg/sign/sign.go:10-15). */
static const struct {
    const char *query, *msg;
} bad_signs[] = {
    {"", "expire missing"}, /* no sign at all */
    {"?sign=", "expire missing"},
    {"?sign=" HELLO_SIGN "x", "expire invalid"}, /* ":0x" */
    {"?sign=abc", "expire invalid"},             /* no ':': all of it */
    {"?sign=anything:1", "sign expired"},        /* checked before the HMAC */
    {"?sign=rJqdKlkcaFDSqxRruuLD1ElyqgSF4wLjUQuR_JMeBdM:0", "sign invalid"}, /* no padding */
    {"?sign=rJqdKlkcaFDSqxRruuLD1ElyqgSF4wLjUQuR_JMeBdM=:00", "sign invalid"},
    {"?sign=" HELLO_SIGN "&sign=x", NULL}, /* the first one counts */
};

START_TEST(signs_are_checked_as_openlist_checks_them)
{
    static th_resp r;
    for (size_t i = 0; i < sizeof bad_signs / sizeof bad_signs[0]; i++) {
        char target[256];
        snprintf(target, sizeof target, "/d/hello.txt%s", bad_signs[i].query);
        int want = bad_signs[i].msg != NULL ? 401 : 200;
        ck_assert_msg(th_request(mock.port, "GET", target, "", NULL, &r) == want, "%s: %d", target,
                      r.status);
        if (bad_signs[i].msg != NULL)
            ck_assert_msg(strcmp(page_msg(&r), bad_signs[i].msg) == 0, "%s: %s", target, r.body);
    }
    /* The whole page, byte for byte, with its real status and type (middlewares/down.go:37-41). */
    ck_assert_int_eq(th_request(mock.port, "GET", "/p/hello.txt", "", NULL, &r), 401);
    ck_assert_str_eq(r.body, PAGE("401 Unauthorized", "expire missing"));
    ck_assert(has(&r, "Content-Type: text/html; charset=utf-8"));
    /* A sign for another path is invalid; a trailing '/' is trimmed (down.go:35-36); a sign
     * that expires in 2100 (HMAC of "/hello.txt:4102444800" under TOKEN) is good until then. */
    ck_assert_int_eq(download(mock.port, "/docs", "", &r), 500);
    ck_assert_int_eq(th_request(mock.port, "GET", "/d/docs?sign=" HELLO_SIGN, "", NULL, &r), 401);
    ck_assert_str_eq(page_msg(&r), "sign invalid");
    ck_assert_int_eq(
        th_request(mock.port, "GET", "/d/hello.txt?sign=" HELLO_SIGN "/", "", NULL, &r), 200);
    ck_assert_int_eq(th_request(mock.port, "GET",
                                "/d/hello.txt?sign=o2xFwhYoArtyuoel8OYEnADN8MQnDhEzmNIO3mY7ZZ0=:"
                                "4102444800",
                                "", NULL, &r),
                     200);
    ck_assert_str_eq(r.body, "Hello, world!");
    /* The Authorization header counts for nothing here (server/router.go:49-52). */
    ck_assert_int_eq(th_request(mock.port, "GET", "/d/hello.txt", AUTH, NULL, &r), 401);
}
END_TEST

START_TEST(no_sign_turns_the_signs_off)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--token", TOKEN, "--no-sign", NULL), 0);
    ck_assert_int_eq(th_request(m.port, "GET", "/d/hello.txt", "", NULL, &r), 200);
    ck_assert_str_eq(r.body, "Hello, world!");
    ck_assert_int_eq(th_request(m.port, "GET", "/p/hello.txt?sign=junk", "", NULL, &r), 200);
    /* sign_all off: no sign in get or list, a raw_url without ?sign= (fsread.go:322). */
    ck_assert_int_eq(post(m.port, "/api/fs/get", AUTH, "{\"path\":\"/hello.txt\"}", &r), 200);
    ASSERT_BODY(&r,
                "{\"code\":200,\"message\":\"success\",\"data\":{\"name\":\"hello.txt\","
                "\"size\":13,\"is_dir\":false,\"modified\":\"2024-05-01T12:00:00.123456789Z\","
                "\"created\":\"%s\",\"sign\":\"\",\"thumb\":\"\",\"type\":4,\"hashinfo\":\"null\","
                "\"hash_info\":null,\"raw_url\":\"http://127.0.0.1:5244/p/hello.txt\","
                "\"readme\":\"\",\"header\":\"\",\"provider\":\"Local\",\"related\":null}}",
                created(env.root, "hello.txt"));
    ck_assert_int_eq(post(m.port, "/api/fs/list", AUTH, "{\"path\":\"/\"}", &r), 200);
    ck_assert(strstr(r.body, "\"sign\":\"rJ") == NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"hello.txt\",\"size\":13,\"is_dir\":false,"));
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

START_TEST(download_errors_are_pages_and_journaled)
{
    static th_resp r;
    char want[8192];
    /* fs.Link's errors through ErrorPage 500 (internal/fs/link.go:18-21, op/fs.go:252-258). */
    ck_assert_int_eq(download(mock.port, "/nope", "", &r), 500);
    ck_assert_str_eq(r.body, PAGE("500 Internal Server Error",
                                  "failed link: failed to get file: failed to get obj: object "
                                  "not found"));
    ck_assert_int_eq(download(mock.port, "/docs", "", &r), 500);
    ck_assert_str_eq(page_msg(&r), "failed link: not a file");
    ck_assert_int_eq(download(mock.port, "/", "", &r), 500);
    ck_assert_str_eq(page_msg(&r), "failed link: not a file");
    snprintf(want, sizeof want,
             "failed link: failed to get file: failed to get obj: stat %s/hello.txt/x: not a "
             "directory",
             env.root);
    ck_assert_int_eq(download(mock.port, "/hello.txt/x", "", &r), 500);
    ck_assert_str_eq(page_msg(&r), want);
    /* Only GET and HEAD are routed. */
    ck_assert_int_eq(th_request(mock.port, "POST", "/d/hello.txt?sign=" HELLO_SIGN, "", "", &r),
                     404);
    /* The journal keeps each download's status and size. */
    ck_assert_int_eq(download(mock.port, "/hello.txt", "Range: bytes=0-0\r\n", &r), 206);
    th_mock_drain_log(&mock);
    ck_assert_str_eq(th_journal_last(mock.port, "http_status"), "206");
    ck_assert_str_eq(th_journal_last(mock.port, "message"), "1 bytes (bytes 0-0/13)");
    ck_assert_str_eq(th_journal_last(mock.port, "path"), "/d/hello.txt");
}
END_TEST

/* ---- memory ---- */

#define BIG       (2ull << 30)
#define SLACK_KIB (1024 * TH_HWM_FACTOR)

/* Downloads /big.bin with the extra headers, counting the body; returns the status. */
static int big_download(const char *headers, th_msg *m)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /d/big.bin?sign=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
                     sign_for("/big.bin"), headers);
    int fd = th_connect(mock.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, req, (size_t)n), 0);
    th_msg_read_counted(fd, m, 120000);
    close(fd);
    return m->status;
}

START_TEST(a_2_gib_download_keeps_the_mock_flat)
{
    int fd = open(th_path(env.root, "big.bin"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)BIG), 0); /* sparse: no disk, all zeros */
    ck_assert_int_eq(pwrite(fd, "end", 3, (off_t)BIG - 3), 3);
    close(fd);
    static th_resp r;
    ck_assert_int_eq(download(mock.port, "/hello.txt", "", &r), 200);
    long base = th_vmhwm_kib(mock.pid);
    ck_assert_int_gt(base, 0);
    th_msg m;
    ck_assert_int_eq(big_download("", &m), 200);
    ck_assert(m.complete);
    ck_assert_uint_eq(m.body_count, BIG);
    ck_assert_uint_eq(m.body_nonzero, 3);
    th_msg_free(&m);
    long whole = th_vmhwm_kib(mock.pid);
    /* Two ranges of 256 MiB: the multipart reader pread()s them through MHD's buffer. */
    ck_assert_int_eq(big_download("Range: bytes=0-268435455,-268435456\r\n", &m), 206);
    ck_assert_uint_gt(m.body_count, 512ull << 20);
    /* Everything but the two ranges' zeros is nonzero: "end" and the parts' heads. */
    ck_assert_uint_eq(m.body_nonzero, m.body_count - (512ull << 20) + 3);
    th_msg_free(&m);
    long peak = th_vmhwm_kib(mock.pid);
    fprintf(stderr,
            "mock VmHWM: before %ld KiB, after 2 GiB %ld KiB, after 512 MiB in parts %ld "
            "KiB (+%ld)\n",
            base, whole, peak, peak - base);
    ck_assert_msg(peak <= base + SLACK_KIB, "VmHWM grew from %ld to %ld KiB", base, peak);
    /* A client that leaves mid-body: the journal says the answer was cut short. */
    fd = th_connect(mock.port);
    char req[256];
    int rn = snprintf(req, sizeof req, "GET /d/big.bin?sign=%s HTTP/1.1\r\nHost: x\r\n\r\n",
                      sign_for("/big.bin"));
    ck_assert_int_eq(th_send_all(fd, req, (size_t)rn), 0);
    char head[4096];
    size_t hl;
    ck_assert_int_gt(th_read_head(fd, head, sizeof head, &hl, 5000), 0);
    close(fd);
    const char *msg = "";
    for (int i = 0; i < 100; i++, th_sleep_ms(50))
        if (strstr(msg = th_journal_last(mock.port, "message"), "cut short") != NULL)
            break;
    ck_assert_str_eq(msg, "2147483648 bytes; cut short: the connection ended before the whole "
                          "answer was sent");
}
END_TEST

int main(void)
{
    th_asan_no_quarantine();
    Suite *s = suite_create("mock_fs");
    TCase *t = tcase_create("fs");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, get_a_file_is_openlists_bytes);
    tcase_add_test(t, get_escapes_the_raw_url_and_follows_the_forwarded_host);
    tcase_add_test(t, get_a_directory_and_the_root);
    tcase_add_loop_test(t, read_errors_are_openlists, 0,
                        (int)(sizeof read_errors / sizeof read_errors[0]));
    tcase_add_test(t, form_fields_take_strconvs_errors);
    tcase_add_test(t, list_is_openlists_bytes);
    tcase_add_test(t, list_pages_as_pagination_does);
    tcase_add_test(t, list_order_types_and_related_are_openlists);
    tcase_add_test(t, a_long_listing_is_chunked_as_go_frames_it);
    tcase_add_test(t, a_disabled_guest_is_refused_after_binding);
    tcase_add_test(t, the_open_mock_lets_the_guest_read_and_write);
    tcase_add_test(t, mkdir_is_op_makedir);
    tcase_add_test(t, remove_is_fsremove);
    tcase_add_test(t, every_route_stays_beneath_the_root);
    tcase_add_test(t, links_inside_the_root_are_followed);
    tcase_add_test(t, the_temp_prefix_names_nothing);
    tcase_add_test(t, d_and_p_serve_whole_files_and_single_ranges);
    tcase_add_test(t, bad_ranges_are_416_with_gos_bodies);
    tcase_add_test(t, several_ranges_are_one_multipart_answer);
    tcase_add_test(t, preconditions_are_servehttps);
    tcase_add_test(t, signs_are_checked_as_openlist_checks_them);
    tcase_add_test(t, no_sign_turns_the_signs_off);
    tcase_add_test(t, download_errors_are_pages_and_journaled);
    tcase_add_test(t, a_2_gib_download_keeps_the_mock_flat);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
