/*
 * Unit tests for libstreamput's internals (linked from streamput_internal) and the CLI's helpers:
 * URL parsing, header validation, request building, chunk framing, response parsing split at
 * every byte boundary, digests, error strings and exit-code mapping.
 */
#include "exchange.h"
#include "internal.h"
#include "tool.h"

#include "th.h"

#include <check.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sp_client *c;

static void setup(void)
{
    c = sp_client_new();
    ck_assert_ptr_nonnull(c);
}

static void teardown(void)
{
    sp_client_free(c);
    c = NULL;
}

/* ---- URLs ---- */

START_TEST(url_parses_host_port_target)
{
    static const struct {
        const char *url, *host, *port, *hostport, *target;
    } ok[] = {
        {"http://h/p", "h", "80", "h", "/p"},
        {"http://h:8080", "h", "8080", "h:8080", "/"},
        {"HTTP://Example.COM:1/a/b?x=1&y=%20#frag", "Example.COM", "1", "Example.COM:1",
         "/a/b?x=1&y=%20"},
        {"http://[::1]:9/x?y=1", "::1", "9", "[::1]:9", "/x?y=1"},
        {"http://[::1]/", "::1", "80", "[::1]", "/"},
        {"http://h?q", "h", "80", "h", "/?q"},
        {"http://127.0.0.1:65535/api/fs/put", "127.0.0.1", "65535", "127.0.0.1:65535",
         "/api/fs/put"},
#ifdef SP_HAVE_TLS
        {"https://h/p", "h", "443", "h", "/p"},
        {"HTTPS://[::1]:8443/x", "::1", "8443", "[::1]:8443", "/x"},
#endif
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        sp_url u;
        ck_assert_msg(sp__url_parse(c, ok[i].url, &u) == SP_OK, "%s: %s", ok[i].url, sp_errmsg(c));
        ck_assert_str_eq(u.host, ok[i].host);
        ck_assert_str_eq(u.port, ok[i].port);
        ck_assert_str_eq(u.hostport, ok[i].hostport);
        ck_assert_str_eq(u.target, ok[i].target);
    }
}
END_TEST

START_TEST(url_rejects_what_it_cannot_send)
{
    static const struct {
        const char *url;
        int err;
        const char *says;
    } bad[] = {
#ifndef SP_HAVE_TLS
        {"https://h/", SP_EUNSUPPORTED, "built without TLS"},
#endif
        {"ftp://h/", SP_EURL, "must start with http://"},
        {"h/p", SP_EURL, "must start with http://"},
        {"", SP_EURL, "empty"},
        {"http://", SP_EURL, "no host"},
        {"http://:80/", SP_EURL, "no host"},
        {"http://h:0/", SP_EURL, "invalid port"},
        {"http://h:65536/", SP_EURL, "invalid port"},
        {"http://h:8x/", SP_EURL, "invalid port"},
        {"http://h:/", SP_EURL, "invalid port"},
        {"http://[::1/", SP_EURL, "unterminated"},
        {"http://[zz]/", SP_EURL, "invalid IPv6"},
        {"http://[cafe]/", SP_EURL, "invalid IPv6"}, /* hex letters, but no address */
        {"http://[::1::2]/", SP_EURL, "invalid IPv6"},
        {"http://[1.2.3.4]/", SP_EURL, "invalid IPv6"},
        {"http://[::1]x/", SP_EURL, "junk after"},
        {"http://user:pw@h/", SP_EURL, "credentials"},
        {"http://h/a b", SP_EURL, "space or control"},
        {"http://h/a\r\nX: y", SP_EURL, "space or control"},
        {"http://h\\x/", SP_EURL, "invalid character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sp_url u;
        int rc = sp__url_parse(c, bad[i].url, &u);
        ck_assert_msg(rc == bad[i].err, "'%s' gave %d, want %d", bad[i].url, rc, bad[i].err);
        ck_assert_msg(strstr(sp_errmsg(c), bad[i].says) != NULL, "'%s': detail '%s'", bad[i].url,
                      sp_errmsg(c));
    }
}
END_TEST

/* ---- Headers and the request head ---- */

START_TEST(header_validation_blocks_injection)
{
    static const char *ok[] = {"X-A: b", "X-A:", "X-A:\tb c", "x_y.z!#$%&'*+^`|~: v"};
    static const char *bad[] = {": v",
                                "X A: b",
                                "X-A b",
                                "X-A: b\r\nE: 1",
                                "X-A: \n",
                                "X-A: \x01",
                                "X(A): b",
                                "Content-Length: 5",
                                "transfer-encoding: chunked"};
    const char *why;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ck_assert_msg(sp__header_valid(ok[i], &why) == 0, "rejected '%s': %s", ok[i], why);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sp__header_valid(bad[i], &why) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(sp_add_header(c, "Bad\r\nHeader: x"), SP_EHEADER);
    ck_assert_int_eq(sp_set_token(c, "tok\r\nX: y"), SP_EINVAL);
}
END_TEST

static int build(const sp_body_info *b, char *out, size_t outsz)
{
    sp_url u;
    ck_assert_int_eq(sp__url_parse(c, "http://h:81/api/fs/put", &u), SP_OK);
    return sp__build_request(c, &u, b, out, outsz);
}

START_TEST(request_has_the_alist_headers)
{
    char head[4096];
    sp_body_info b = {.size = 5, .mtime_ms = 1700000000123, .expect = 0};
    memcpy(b.sha256, "abc", 4);
    sp_set_remote_path(c, "/dir/a b+c.txt");
    sp_set_token(c, "secret");
    sp_set_overwrite(c, 0);
    sp_set_as_task(c, 1);
    ck_assert_int_gt(build(&b, head, sizeof head), 0);
    ck_assert_str_eq(head, "PUT /api/fs/put HTTP/1.1\r\n"
                           "Host: h:81\r\n"
                           "User-Agent: streamput/" SP_VERSION "\r\n"
                           "Accept: */*\r\n"
                           "Content-Type: application/octet-stream\r\n"
                           "Content-Length: 5\r\n"
                           "File-Path: /dir/a%20b%2Bc.txt\r\n"
                           "Authorization: secret\r\n"
                           "Overwrite: false\r\n"
                           "As-Task: true\r\n"
                           "Last-Modified: 1700000000123\r\n"
                           "X-File-Sha256: abc\r\n"
                           "\r\n");
}
END_TEST

START_TEST(request_user_headers_replace_and_remove_defaults)
{
    char head[4096];
    sp_body_info b = {.size = SP_SIZE_UNKNOWN, .mtime_ms = -1, .expect = 1};
    ck_assert_int_eq(sp_add_header(c, "User-Agent: mine/1"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "Accept:"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "X-Extra:  v"), SP_OK);
    ck_assert_int_gt(build(&b, head, sizeof head), 0);
    ck_assert_ptr_null(strstr(head, "streamput/"));
    ck_assert_ptr_null(strstr(head, "Accept"));
    ck_assert_ptr_nonnull(strstr(head, "\r\nUser-Agent: mine/1\r\n"));
    ck_assert_ptr_nonnull(strstr(head, "\r\nX-Extra: v\r\n"));
    ck_assert_ptr_nonnull(strstr(head, "\r\nTransfer-Encoding: chunked\r\n"));
    ck_assert_ptr_nonnull(strstr(head, "\r\nExpect: 100-continue\r\n"));
    ck_assert_ptr_null(strstr(head, "Content-Length"));
    ck_assert_str_eq(sp__user_header_value(c, "x-extra"), "v");
    ck_assert_str_eq(sp__user_header_value(c, "Accept"), "");
    ck_assert_ptr_null(sp__user_header_value(c, "Expect"));
}
END_TEST

START_TEST(request_that_does_not_fit_fails_cleanly)
{
    char head[64];
    sp_body_info b = {.size = 1, .mtime_ms = -1};
    ck_assert_int_eq(build(&b, head, sizeof head), -1);
}
END_TEST

/* The login route sits where the upload route's /api/ begins, whatever the site's prefix. */
START_TEST(url_login_route_keeps_the_site_path)
{
    static const struct {
        const char *url;
        int site;
        const char *target; /* NULL: refused */
    } cases[] = {
        {"http://h/api/fs/put", 0, "/api/auth/login/hash"},
        {"http://h/api/fs/form?x=1#f", 0, "/api/auth/login/hash"},
        {"http://h/alist/api/fs/put", 0, "/alist/api/auth/login/hash"},
        {"http://h/a/b/api/fs/form", 1, "/a/b/api/auth/login/hash"},
        {"http://h/api/fs/list", 0, NULL},
        {"http://h/upload/x", 0, NULL},
        {"http://h", 0, NULL},
        {"http://h", 1, "/api/auth/login/hash"},
        {"http://h/", 1, "/api/auth/login/hash"},
        {"http://h/alist/", 1, "/alist/api/auth/login/hash"},
        {"http://h/alist/api/auth/login/hash", 1, "/alist/api/auth/login/hash"},
        {"http://h/api/fs/list", 1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sp_url u, lu;
        ck_assert_int_eq(sp__url_parse(c, cases[i].url, &u), SP_OK);
        int rc = sp__url_login(c, &u, cases[i].site, &lu);
        if (cases[i].target == NULL) {
            ck_assert_msg(rc == SP_EURL, "%s: accepted as %s", cases[i].url, lu.target);
            continue;
        }
        ck_assert_msg(rc == SP_OK, "%s: %s", cases[i].url, sp_errmsg(c));
        ck_assert_str_eq(lu.target, cases[i].target);
        ck_assert_str_eq(lu.hostport, u.hostport);
        ck_assert_int_eq(lu.alist_api, 1);
    }
}
END_TEST

/* The multipart routes sit beside the upload route, under the same site path. */
START_TEST(url_multipart_routes_sit_beside_the_upload_route)
{
    sp_url u, r;
    ck_assert_int_eq(sp__url_parse(c, "https://h:8/alist/api/fs/put?x=1", &u), SP_OK);
    ck_assert_int_eq(sp__url_route(c, &u, "/api/fs/multipart/status", "path=/a%2Bb&size=3", &r),
                     SP_OK);
    ck_assert_str_eq(r.target, "/alist/api/fs/multipart/status?path=/a%2Bb&size=3");
    ck_assert_int_eq(r.tls, 1);
    ck_assert_int_eq(r.alist_api, 1);
    ck_assert_int_eq(sp__url_route(c, &u, "/api/fs/multipart/init", NULL, &r), SP_OK);
    ck_assert_str_eq(r.target, "/alist/api/fs/multipart/init");
    ck_assert_int_eq(sp__url_parse(c, "http://h/upload", &u), SP_OK);
    ck_assert_int_eq(sp__url_route(c, &u, "/api/fs/multipart/init", NULL, &r), SP_EURL);
}
END_TEST

/* Asserts that head holds every line of has and none of lacks (both NULL-terminated). */
static void assert_head(const char *head, const char *const *has, const char *const *lacks)
{
    for (; *has != NULL; has++)
        ck_assert_msg(strstr(head, *has) != NULL, "no '%s' in: %s", *has, head);
    for (; *lacks != NULL; lacks++)
        ck_assert_msg(strstr(head, *lacks) == NULL, "'%s' in: %s", *lacks, head);
}

/*
 * The multipart requests: a GET without a body has no Content-Length; the requests that carry no
 * file send the Authorization, a caller's Authorization and its other headers, but none of those
 * that describe the file.
 */
START_TEST(request_heads_of_the_multipart_routes)
{
    char head[4096];
    sp_url u;
    sp_body_info none = {.size = 0, .mtime_ms = 1700000000123};
    ck_assert_int_eq(sp__url_parse(c, "http://h/api/fs/multipart/status?path=/a&size=1", &u),
                     SP_OK);
    sp_set_remote_path(c, "/a");
    sp_set_token(c, "secret");
    sp_set_overwrite(c, 0);
    ck_assert_int_eq(sp_add_header(c, "X-Proxy: p"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "Content-Type: text/plain"), SP_OK);
    ck_assert_int_gt(sp__build_head(c, &u, "GET", &none, 0, NULL, head, sizeof head), 0);
    ck_assert_str_eq(head, "GET /api/fs/multipart/status?path=/a&size=1 HTTP/1.1\r\n"
                           "Host: h\r\n"
                           "User-Agent: streamput/" SP_VERSION "\r\n"
                           "Accept: */*\r\n"
                           "Authorization: secret\r\n"
                           "X-Proxy: p\r\n"
                           "\r\n");
    sp_body_info chunk = {.size = 7, .mtime_ms = -1};
    ck_assert_int_eq(sp_set_token(c, NULL), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "Authorization: mine"), SP_OK);
    static const char *const chunk_has[] = {"\r\nContent-Length: 7\r\nX-Upload-Id: u\r\n",
                                            "\r\nAuthorization: mine\r\n", NULL};
    static const char *const chunk_lacks[] = {"File-Path", "Overwrite", "Content-Type", NULL};
    ck_assert_int_gt(
        sp__build_head(c, &u, "PUT", &chunk, 0, "X-Upload-Id: u\r\n", head, sizeof head), 0);
    assert_head(head, chunk_has, chunk_lacks);
    /* The init describes the file as a PUT does, without a body. */
    static const char *const init_has[] = {
        "\r\nContent-Type: text/plain\r\n", "\r\nContent-Length: 0\r\nFile-Path: /a\r\n",
        "\r\nOverwrite: false\r\n",         "\r\nLast-Modified: 1700000000123\r\n",
        "\r\nX-File-Size: 9\r\n",           NULL};
    static const char *const init_lacks[] = {"Expect", NULL};
    ck_assert_int_gt(
        sp__build_head(c, &u, "POST", &none, 1, "X-File-Size: 9\r\n", head, sizeof head), 0);
    assert_head(head, init_has, init_lacks);
}
END_TEST

/*
 * The login request: POST with JSON that OpenList's LoginReq binds (server/handles/auth.go:16-20),
 * the password as its static hash (internal/model/user.go:235-237; this vector is the hash of
 * "admin"), the caller's headers but those of the upload's body and file.
 */
START_TEST(login_request_is_the_json_openlist_binds)
{
    char req[2048];
    sp_url u;
    ck_assert_int_eq(sp__url_parse(c, "http://h:81/al/api/auth/login/hash", &u), SP_OK);
    ck_assert_int_eq(sp_set_login(c, "ad\"min", "admin"), SP_OK);
    ck_assert_int_eq(sp_set_otp(c, "123456"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "X-Proxy-Key: k"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "Content-Type: text/plain"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "File-Path: /x"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "X-File-Md5: 00"), SP_OK);
    int n = sp__build_login(c, &u, req, sp__login_size(c, &u));
    ck_assert_int_gt(n, 0);
    req[n] = '\0';
    static const char json[] =
        "{\"username\":\"ad\\\"min\",\"password\":"
        "\"6fcb57cd10b2c11d765dcf16148d99130afd895082af83725ee8bb181b1d2b0f\",\"otp_code\":"
        "\"123456\"}";
    char want[1024];
    snprintf(want, sizeof want,
             "POST /al/api/auth/login/hash HTTP/1.1\r\n"
             "Host: h:81\r\n"
             "User-Agent: streamput/" SP_VERSION "\r\n"
             "Accept: */*\r\n"
             "Content-Type: application/json\r\n"
             "Content-Length: %zu\r\n"
             "X-Proxy-Key: k\r\n"
             "\r\n%s",
             sizeof json - 1, json);
    ck_assert_str_eq(req, want);
    ck_assert_int_eq(sp__build_login(c, &u, req, 100), -1);
    /* Forgetting the login wipes its hash. */
    ck_assert_int_eq(sp_set_login(c, NULL, NULL), SP_OK);
    ck_assert_str_eq(c->login_hash, "");
    ck_assert_int_eq(sp_set_login(c, "u", NULL), SP_EINVAL);
}
END_TEST

START_TEST(chunk_head_is_lowercase_hex_with_crlf)
{
    static const struct {
        size_t n;
        const char *want;
    } cases[] = {{0, "0\r\n"},
                 {1, "1\r\n"},
                 {255, "ff\r\n"},
                 {4096, "1000\r\n"},
                 {(size_t)1 << 30, "40000000\r\n"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[SP_CHUNK_HEAD + 1];
        char *end = buf + SP_CHUNK_HEAD;
        char *start = sp__chunk_head(end, cases[i].n);
        ck_assert_int_ge(start - buf, 0);
        ck_assert_int_eq((int)(end - start), (int)strlen(cases[i].want));
        ck_assert_int_eq(memcmp(start, cases[i].want, strlen(cases[i].want)), 0);
    }
}
END_TEST

/* ---- Connections: where the peer is, and the engine auto picks for it ---- */

/* Whether the numeric address text is judged local; AF_INET6 if it holds a colon. */
static int local_text(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, text, &a6->sin6_addr), 1);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, text, &a4->sin_addr), 1);
    }
    return sp__addr_is_local((const struct sockaddr *)&ss);
}

START_TEST(loopback_and_own_addresses_are_local)
{
    static const char *local[] = {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        ck_assert_msg(local_text(local[i]) == 1, "%s not local", local[i]);
    /* Documentation ranges (RFC 5737, RFC 3849): never this host's. */
    static const char *remote[] = {"192.0.2.1", "198.51.100.7", "2001:db8::1", "::ffff:192.0.2.1"};
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        ck_assert_msg(local_text(remote[i]) == 0, "%s taken as local", remote[i]);
    /* Each of this host's own addresses counts, not only loopback. */
    struct ifaddrs *list;
    ck_assert_int_eq(getifaddrs(&list), 0);
    for (const struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
        if (i->ifa_addr != NULL &&
            (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
            ck_assert_msg(sp__addr_is_local(i->ifa_addr) == 1, "own address on %s not local",
                          i->ifa_name);
    freeifaddrs(list);
}
END_TEST

START_TEST(auto_engine_is_sendfile_only_toward_another_host)
{
    const uint64_t n = 1000, unknown = SP_SIZE_UNKNOWN;
    /* auto: sendfile to another host, rw to this one, rw where sendfile cannot run. */
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_AUTO, 1, n, 1, 0), SP_ENGINE_SENDFILE);
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_AUTO, 1, n, 1, 1), SP_ENGINE_RW);
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_AUTO, 1, n, 0, 0), SP_ENGINE_RW);
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_AUTO, 0, n, 1, 0), SP_ENGINE_RW);
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_AUTO, 1, unknown, 1, 0), SP_ENGINE_RW);
    /* Asked for explicitly, an engine is used wherever the peer is. */
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_SENDFILE, 1, n, 1, 1), SP_ENGINE_SENDFILE);
    ck_assert_int_eq(sp__body_engine(SP_ENGINE_RW, 1, n, 1, 0), SP_ENGINE_RW);
}
END_TEST

/* ---- Responses, fed in every split ---- */

typedef struct resp_case {
    const char *name;
    const char *wire;
    size_t len; /* 0 = strlen */
    int eof;    /* the peer closes after the bytes */
    int want_rc;
    int want_status;
    long want_code; /* -1 = no JSON code */
    const char *want_message;
} resp_case;

/* Feeds wire in the given pieces and returns the verdict, with res filled; api: the URL's path
 * is an AList API route. */
static int run_resp(const resp_case *t, int api, const size_t *cuts, size_t ncuts, sp_result *res)
{
    sp_resp r;
    size_t len = t->len != 0 ? t->len : strlen(t->wire);
    sp__resp_init(&r, c);
    r.want_envelope = api;
    memset(res, 0, sizeof *res);
    size_t at = 0;
    int rc = SP_OK;
    for (size_t i = 0; i <= ncuts && rc == SP_OK && !r.done; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end == at)
            continue; /* a zero-length feed means end of stream to http-parser */
        rc = sp__resp_feed(&r, t->wire + at, end - at);
        at = end;
    }
    if (rc == SP_OK && !r.done && t->eof)
        rc = sp__resp_eof(&r);
    if (rc == SP_OK && !r.done)
        return 99; /* still waiting for bytes */
    if (rc != SP_OK)
        return rc;
    return sp__resp_finish(&r, res, 0, 0);
}

/* Checks t fed whole and in every split; detail (if not NULL) is what sp_errmsg() must say. */
static void check_resp_api(const resp_case *t, int api, const char *detail)
{
    size_t len = t->len != 0 ? t->len : strlen(t->wire);
    sp_result res;
    /* Whole, then split once at every boundary, then one byte at a time. */
    for (size_t cut = 0; cut <= len + 1; cut++) {
        size_t cuts[1] = {cut};
        int rc;
        if (cut <= len) {
            rc = run_resp(t, api, cut == 0 ? NULL : cuts, cut == 0 ? 0 : 1, &res);
        } else {
            size_t *all = malloc(len * sizeof *all);
            for (size_t i = 0; i < len; i++)
                all[i] = i + 1;
            rc = run_resp(t, api, all, len, &res);
            free(all);
        }
        ck_assert_msg(rc == t->want_rc, "%s split at %zu: rc %d (%s), want %d", t->name, cut, rc,
                      sp_errmsg(c), t->want_rc);
        if (detail != NULL)
            ck_assert_msg(strcmp(sp_errmsg(c), detail) == 0, "%s split at %zu: '%s'", t->name, cut,
                          sp_errmsg(c));
        if (t->want_status != 0) {
            ck_assert_int_eq(res.http_status, t->want_status);
            ck_assert_int_eq(res.has_code, t->want_code >= 0);
            if (t->want_code >= 0)
                ck_assert_int_eq(res.code, t->want_code);
            ck_assert_str_eq(res.message, t->want_message);
        }
    }
}

/* As check_resp_api() for a plain PUT endpoint. */
static void check_resp(const resp_case *t)
{
    check_resp_api(t, 0, NULL);
}

START_TEST(response_content_length_json_success)
{
    resp_case t = {"cl-ok",
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                   "44\r\n\r\n" TH_SUCCESS,
                   0,
                   0,
                   SP_OK,
                   200,
                   200,
                   "success"};
    check_resp(&t);
}
END_TEST

START_TEST(response_chunked_api_error)
{
    resp_case t = {"chunked-401",
                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "1c\r\n{\"code\":401,\"message\":\"token\r\n"
                   "17\r\n is invalidated\",\"d\":1}\r\n0\r\n\r\n",
                   0,
                   0,
                   SP_EAPI,
                   200,
                   401,
                   "token is invalidated"};
    check_resp(&t);
}
END_TEST

START_TEST(response_close_delimited_needs_eof)
{
    resp_case t = {"close", "HTTP/1.0 200 OK\r\n\r\n" TH_SUCCESS, 0, 1, SP_OK, 200, 200, "success"};
    check_resp(&t);
    resp_case open = {"close-no-eof", "HTTP/1.0 200 OK\r\n\r\n" TH_SUCCESS, 0, 0, 99, 0, 0, NULL};
    check_resp(&open);
}
END_TEST

START_TEST(response_after_100_continue)
{
    resp_case t = {"continue",
                   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
                   0,
                   0,
                   SP_OK,
                   201,
                   -1,
                   "Created"};
    check_resp(&t);
}
END_TEST

START_TEST(response_http_error_keeps_json_message)
{
    resp_case t = {"404",
                   "HTTP/1.1 404 Not Found\r\nContent-Length: 45\r\n\r\n"
                   "{\"code\":404,\"message\":\"no route\",\"data\":null}",
                   0,
                   0,
                   SP_EHTTP,
                   404,
                   404,
                   "no route"};
    check_resp(&t);
    resp_case plain = {
        "500-text", "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", 0, 0, SP_EHTTP, 503, -1,
        "Busy"};
    check_resp(&plain);
}
END_TEST

START_TEST(response_non_json_2xx_is_success)
{
    resp_case t = {"text", "HTTP/1.1 204 No Content\r\n\r\n", 0, 0, SP_OK, 204, -1, "No Content"};
    check_resp(&t);
    resp_case arr = {
        "array", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]", 0, 0, SP_OK, 200, -1, "OK"};
    check_resp(&arr);
}
END_TEST

/*
 * On an AList API route a 2xx must be the JSON envelope: AList answers a route it does not know
 * (a mistyped /api/fs/puut) with HTTP 200 and its web page, which must not pass for success.
 * The same answers on a plain PUT endpoint's path are a success, as before.
 */
START_TEST(response_api_route_needs_the_json_envelope)
{
    static const char html[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"
                               "f\r\n<!DOCTYPE html>\r\n5\r\n<html\r\n0\r\n\r\n";
    static const struct {
        resp_case r;
        const char *detail;
    } api[] = {
        {{"html", html, 0, 0, SP_EPROTO, 200, -1, "OK"},
         "server answered HTTP 200 with text/html; charset=utf-8, not AList's JSON envelope: "
         "\"<!DOCTYPE html><html\" (AList answers a path it does not know with its web page: "
         "check the URL)"},
        {{"empty-201", "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 0, 0, SP_EPROTO, 201,
          -1, "Created"},
         "server answered HTTP 201 with an empty body, not AList's JSON envelope"},
        {{"typed-empty", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
          0, 0, SP_EPROTO, 200, -1, "OK"},
         "server answered HTTP 200 with text/plain and an empty body, not AList's JSON envelope"},
        {{"no-code", "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}", 0, 0, SP_EPROTO,
          200, -1, "OK"},
         "server answered HTTP 200, not AList's JSON envelope: \"{\"ok\":true}\""},
        {{"string-code", "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"code\":\"200\"}", 0, 0,
          SP_EPROTO, 200, -1, "OK"},
         NULL},
        {{"control-bytes", "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\x1b[2J\xc2\x9b", 0, 0,
          SP_EPROTO, 200, -1, "OK"},
         "server answered HTTP 200, not AList's JSON envelope: \"\\x1b[2J\\xc2\\x9b\""},
        {{"nul-byte", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab\0", 41, 0, SP_EPROTO, 200, -1,
          "OK"},
         "server answered HTTP 200, not AList's JSON envelope: \"ab...\""},
        {{"envelope", "HTTP/1.1 200 OK\r\nContent-Length: 44\r\n\r\n" TH_SUCCESS, 0, 0, SP_OK, 200,
          200, "success"},
         NULL},
        {{"404-html",
          "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\n<p/>", 0,
          0, SP_EHTTP, 404, -1, "Not Found"},
         "server answered HTTP 404: Not Found"},
    };
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++)
        check_resp_api(&api[i].r, 1, api[i].detail);
    /* The negative control: a plain PUT endpoint (nginx, WebDAV) is not held to the envelope. */
    resp_case plain = {"html-plain", html, 0, 0, SP_OK, 200, -1, "OK"};
    check_resp(&plain);
    resp_case created = {"empty-201-plain",
                         "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
                         0,
                         0,
                         SP_OK,
                         201,
                         -1,
                         "Created"};
    check_resp(&created);
}
END_TEST

START_TEST(url_knows_alist_api_routes)
{
    static const struct {
        const char *url;
        int api;
    } cases[] = {
        {"http://h/api/fs/put", 1},
        {"http://h/api/fs/puut", 1},
        {"http://h/api/", 1},
        {"http://h/alist/api/fs/put", 1}, /* AList under a site_url path */
        {"http://h/api/fs/put?x=1", 1},
        {"http://h/dav/x", 0},
        {"http://h/", 0},
        {"http://h", 0},
        {"http://h/api", 0},
        {"http://h/apix/fs/put", 0},
        {"http://h/upload?to=/api/fs/", 0}, /* only the path counts */
        {"http://h/dav/api/x", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sp_url u;
        ck_assert_int_eq(sp__url_parse(c, cases[i].url, &u), SP_OK);
        ck_assert_msg(u.alist_api == cases[i].api, "%s: alist_api %d", cases[i].url, u.alist_api);
    }
}
END_TEST

/*
 * interim_bytes marks where the final answer begins, whatever the pieces: the transfer tells
 * "no answer yet" (a 100 Continue is not one) from "the answer has begun" by it.
 */
START_TEST(response_interim_bytes_mark_where_the_answer_begins)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    static const char proc[] = "HTTP/1.1 102 Processing\r\n\r\n";
    static const char fin[] = "HTTP/1.1 200 OK\r\nContent-Length: 44\r\n\r\n" TH_SUCCESS;
    char wire[512];
    snprintf(wire, sizeof wire, "%s%s%s", cont, proc, fin);
    size_t len = strlen(wire), interim = strlen(cont) + strlen(proc);
    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t step = 1; step <= len; step = step == 1 ? len : len + 1) {
            sp_resp r;
            sp__resp_init(&r, c);
            /* Feed the first cut bytes in pieces of step, then stop: as if more were to come. */
            for (size_t at = 0; at < cut; at += step)
                ck_assert_int_eq(sp__resp_feed(&r, wire + at, at + step < cut ? step : cut - at),
                                 SP_OK);
            uint64_t want = cut < strlen(cont) ? 0 : cut < interim ? strlen(cont) : interim;
            ck_assert_msg(r.interim_bytes == want,
                          "cut %zu step %zu: interim_bytes %llu, want %llu", cut, step,
                          (unsigned long long)r.interim_bytes, (unsigned long long)want);
            ck_assert_uint_eq(r.bytes, cut);
            ck_assert_int_eq(r.done, cut == len);
        }
    }
}
END_TEST

/*
 * Whether a connection can carry the upload after the login's answer: HTTP/1.1 keep-alive,
 * framed by length or chunks, and no byte of the stream read past the answer, wherever the
 * reads were cut.
 */
START_TEST(response_tells_when_the_connection_can_go_on)
{
    static const struct {
        const char *wire;
        int keep_alive;
        size_t excess;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", 1, 8},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 1, 0},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0, 0},
        {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 0},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nx", 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].wire);
        for (size_t cut = 1; cut <= len; cut++) {
            sp_resp r;
            sp__resp_init(&r, c);
            ck_assert_int_eq(sp__resp_feed(&r, cases[i].wire, cut), SP_OK);
            if (!r.done && cut < len)
                ck_assert_int_eq(sp__resp_feed(&r, cases[i].wire + cut, len - cut), SP_OK);
            ck_assert_msg(r.done, "case %zu cut %zu: not done", i, cut);
            ck_assert_int_eq(r.keep_alive, cases[i].keep_alive);
            /* What came in the read that ended the answer, past its end. */
            size_t end = len - cases[i].excess;
            size_t past = cut >= end ? cut - end : cases[i].excess;
            ck_assert_msg(r.excess == past, "case %zu cut %zu: excess %zu", i, cut, r.excess);
        }
    }
}
END_TEST

START_TEST(response_garbage_truncation_and_silence)
{
    resp_case garbage = {"garbage", "HELLO THERE\r\n\r\n", 0, 1, SP_EPROTO, 0, 0, NULL};
    check_resp(&garbage);
    resp_case cut = {"truncated", "HTTP/1.1 200 OK\r\nContent-Length: 44\r\n\r\n{\"code\":2",
                     0,           1,
                     SP_EPROTO,   0,
                     0,           NULL};
    check_resp(&cut);
    resp_case silent = {"silent", "", 0, 1, SP_ERECV, 0, 0, NULL};
    check_resp(&silent);
    resp_case only_continue = {
        "only-continue", "HTTP/1.1 100 Continue\r\n\r\n", 0, 1, SP_ERECV, 0, 0, NULL};
    check_resp(&only_continue);
    resp_case cut_after_continue = {"cut-after-continue",
                                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Le",
                                    0,
                                    1,
                                    SP_EPROTO,
                                    0,
                                    0,
                                    NULL};
    check_resp(&cut_after_continue);
}
END_TEST

START_TEST(response_headers_are_bounded)
{
    size_t n = SP_MAX_RESPONSE_HEADERS + 1024;
    char *wire = malloc(n + 64);
    int k = snprintf(wire, n + 64, "HTTP/1.1 200 OK\r\nX: ");
    memset(wire + k, 'a', n);
    memcpy(wire + k + n, "\r\n\r\n", 5);
    sp_resp r;
    sp__resp_init(&r, c);
    ck_assert_int_eq(sp__resp_feed(&r, wire, strlen(wire)), SP_EPROTO);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "headers exceed 64 KiB"));
    free(wire);
}
END_TEST

START_TEST(response_body_is_bounded)
{
    sp_resp r;
    sp__resp_init(&r, c);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n";
    ck_assert_int_eq(sp__resp_feed(&r, head, strlen(head)), SP_OK);
    static char block[65536];
    memset(block, 'x', sizeof block);
    int rc = SP_OK;
    for (int i = 0; i < 40 && rc == SP_OK; i++)
        rc = sp__resp_feed(&r, block, sizeof block);
    ck_assert_int_eq(rc, SP_EPROTO);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "body exceeds 1024 KiB"));
    ck_assert_uint_le(c->resp_cap, 2 * SP_MAX_RESPONSE_BODY);
}
END_TEST

START_TEST(response_endless_interim_responses_are_refused)
{
    static const char one[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char wire[2048];
    size_t len = 0;
    for (int i = 0; i < SP_MAX_INTERIM + 2; i++, len += sizeof one - 1)
        memcpy(wire + len, one, sizeof one - 1);
    wire[len] = '\0';
    sp_resp r;
    sp__resp_init(&r, c);
    ck_assert_int_eq(sp__resp_feed(&r, wire, strlen(wire)), SP_EPROTO);
}
END_TEST

/* ---- Digests, errors, CLI helpers ---- */

START_TEST(digests_match_known_vectors_at_any_chunk_size)
{
    char path[] = "/tmp/sp-hash-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "abc", 3), 3);
    for (size_t chunk = 1; chunk <= 4; chunk++) {
        sp_body_info b = {0};
        sp_set_chunk_size(c, chunk);
        sp_set_hashes(c, SP_HASH_MD5 | SP_HASH_SHA1 | SP_HASH_SHA256);
        ck_assert_int_eq(sp__hash_file(c, fd, 0, 3, &b), SP_OK);
        ck_assert_str_eq(b.md5, "900150983cd24fb0d6963f7d28e17f72");
        ck_assert_str_eq(b.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        ck_assert_str_eq(b.sha256,
                         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
    sp_body_info b = {0};
    ck_assert_int_eq(sp__hash_file(c, fd, 0, 4, &b), SP_EFILE); /* the file is shorter */
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(options_reject_bad_values)
{
    ck_assert_int_eq(sp_set_chunk_size(c, 0), SP_EINVAL);
    ck_assert_int_eq(sp_set_chunk_size(c, ((size_t)1 << 30) + 1), SP_EINVAL);
    ck_assert_int_eq(sp_set_chunk_size(c, 1), SP_OK);
    ck_assert_int_eq(sp_set_engine(c, (sp_engine)7), SP_EINVAL);
    ck_assert_int_eq(sp_set_hashes(c, 8), SP_EINVAL);
    ck_assert_ptr_nonnull(strstr(sp_errmsg(c), "unknown bits"));
    sp_client_free(NULL);
}
END_TEST

START_TEST(error_strings_are_distinct_and_stable)
{
    static const int codes[] = {SP_OK,       SP_EINVAL,       SP_ENOMEM,    SP_EFILE,
                                SP_EURL,     SP_EUNSUPPORTED, SP_ERESOLVE,  SP_ECONNECT,
                                SP_ETIMEOUT, SP_ESEND,        SP_ERECV,     SP_EPROTO,
                                SP_EHTTP,    SP_EAPI,         SP_ECANCELED, SP_EHEADER};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(codes[i], -(int)i); /* never renumbered */
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(sp_strerror(codes[i]), sp_strerror(codes[j]));
    }
    ck_assert_str_eq(sp_strerror(-999), "unknown error");
    ck_assert_str_eq(sp_err_name(SP_ETIMEOUT), "ETIMEOUT");
    ck_assert_str_eq(sp_err_name(5), "UNKNOWN");
}
END_TEST

START_TEST(exit_codes_follow_the_documented_table)
{
    static const struct {
        int err, code;
    } map[] = {{SP_OK, 0},         {SP_ENOMEM, 1},       {SP_EINVAL, 2},
               {SP_EURL, 2},       {SP_EUNSUPPORTED, 2}, {SP_EHEADER, 2},
               {SP_EFILE, 3},      {SP_ERESOLVE, 4},     {SP_ECONNECT, 4},
               {SP_ETIMEOUT, 5},   {SP_EHTTP, 6},        {SP_EAPI, 7},
               {SP_EPROTO, 8},     {SP_ESEND, 9},        {SP_ERECV, 9},
               {SP_ECANCELED, 10}, {SP_ETLS, 11},        {SP_ELOGIN, 7},
               {SP_ESESSION, 12},  {SP_EINCOMPLETE, 13}, {-1000, 1}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        ck_assert_msg(tool_exit_code(map[i].err) == map[i].code, "%s -> %d, want %d",
                      sp_err_name(map[i].err), tool_exit_code(map[i].err), map[i].code);
}
END_TEST

START_TEST(durations_and_hash_lists_parse)
{
    uint64_t ms;
    ck_assert_int_eq(tool_parse_duration("10", &ms), 0);
    ck_assert_uint_eq(ms, 10000);
    ck_assert_int_eq(tool_parse_duration("1.5", &ms), 0);
    ck_assert_uint_eq(ms, 1500);
    ck_assert_int_eq(tool_parse_duration("250ms", &ms), 0);
    ck_assert_uint_eq(ms, 250);
    ck_assert_int_eq(tool_parse_duration("2m", &ms), 0);
    ck_assert_uint_eq(ms, 120000);
    ck_assert_int_eq(tool_parse_duration(".5", &ms), 0);
    ck_assert_uint_eq(ms, 500);
    static const char *bad[] = {"",     "-1",  "1h",  "abc", "1e400", "nan",  " 1",
                                "0x10", "1e3", "inf", ".",   "1..2",  "1.5.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(tool_parse_duration(bad[i], &ms) == -1, "accepted '%s'", bad[i]);

    unsigned mask;
    ck_assert_int_eq(tool_parse_hashes("md5,sha256", &mask), 0);
    ck_assert_uint_eq(mask, SP_HASH_MD5 | SP_HASH_SHA256);
    ck_assert_int_eq(tool_parse_hashes("sha1", &mask), 0);
    ck_assert_uint_eq(mask, SP_HASH_SHA1);
    ck_assert_int_eq(tool_parse_hashes("md5,", &mask), -1);
    ck_assert_int_eq(tool_parse_hashes("crc32", &mask), -1);

    char out[32];
    tool_format_bytes(512, out, sizeof out);
    ck_assert_str_eq(out, "512 B");
    tool_format_bytes(3ull << 30, out, sizeof out);
    ck_assert_str_eq(out, "3.0 GiB");
}
END_TEST

/* A copy for another thread has the options and the login's token in memory of its own, and no
 * connection, buffer or failure of the original. */
START_TEST(dup_copies_options_and_token_but_no_connection)
{
    ck_assert_int_eq(sp_set_token(c, "tok"), SP_OK);
    ck_assert_int_eq(sp_add_header(c, "X-A: 1"), SP_OK);
    ck_assert_int_eq(sp_set_remote_path(c, "/a b"), SP_OK);
    ck_assert_int_eq(sp_set_login(c, "alice", "pw"), SP_OK);
    c->login_token = strdup("jwt");
    ck_assert_int_eq(sp_set_chunk_size(c, 0), SP_EINVAL); /* a failure the copy must not carry */
    sp_client *d = sp_client_dup(c);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->token, "tok");
    ck_assert_ptr_ne(d->token, c->token);
    ck_assert_uint_eq(d->nheaders, 1);
    ck_assert_str_eq(d->headers[0], "X-A: 1");
    ck_assert_ptr_ne(d->headers[0], c->headers[0]);
    ck_assert_str_eq(d->remote_path, "/a%20b");
    ck_assert_str_eq(d->login_user, "alice");
    ck_assert_str_eq(d->login_token, "jwt");
    ck_assert_ptr_ne(d->login_token, c->login_token);
    ck_assert_mem_eq(d->login_hash, c->login_hash, sizeof c->login_hash);
    ck_assert_int_eq(sp_last_error(d), SP_OK);
    ck_assert_ptr_null(d->idle);
    ck_assert_ptr_null(d->body_buf);
    ck_assert_int_eq(sp_set_token(c, "other"), SP_OK); /* the copy stands alone */
    ck_assert_str_eq(d->token, "tok");
    sp_client_free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_unit");
    struct {
        const char *name;
        const TTest *tests[16];
    } groups[] = {
        {"url",
         {url_parses_host_port_target, url_rejects_what_it_cannot_send, url_knows_alist_api_routes,
          url_login_route_keeps_the_site_path, url_multipart_routes_sit_beside_the_upload_route}},
        {"request",
         {header_validation_blocks_injection, request_has_the_alist_headers,
          request_user_headers_replace_and_remove_defaults, request_that_does_not_fit_fails_cleanly,
          chunk_head_is_lowercase_hex_with_crlf, login_request_is_the_json_openlist_binds,
          request_heads_of_the_multipart_routes}},
        {"conn",
         {loopback_and_own_addresses_are_local, auto_engine_is_sendfile_only_toward_another_host}},
        {"response",
         {response_content_length_json_success, response_chunked_api_error,
          response_close_delimited_needs_eof, response_after_100_continue,
          response_http_error_keeps_json_message, response_non_json_2xx_is_success,
          response_garbage_truncation_and_silence, response_headers_are_bounded,
          response_body_is_bounded, response_endless_interim_responses_are_refused,
          response_api_route_needs_the_json_envelope,
          response_interim_bytes_mark_where_the_answer_begins,
          response_tells_when_the_connection_can_go_on}},
        {"misc",
         {digests_match_known_vectors_at_any_chunk_size, options_reject_bad_values,
          error_strings_are_distinct_and_stable, exit_codes_follow_the_documented_table,
          durations_and_hash_lists_parse, dup_copies_options_and_token_but_no_connection}},
    };
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        TCase *t = tcase_create(groups[g].name);
        tcase_add_checked_fixture(t, setup, teardown);
        for (size_t i = 0; i < 16 && groups[g].tests[i] != NULL; i++)
            tcase_add_test(t, groups[g].tests[i]);
        suite_add_tcase(s, t);
    }
    return th_run_suite(s);
}
