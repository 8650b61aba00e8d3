/*
 * streamput-mock's users and logins, as OpenList answers them: POST /api/auth/login and
 * /api/auth/login/hash, GET /api/auth/logout and /api/me byte for byte, the tokens (HS256 JWTs,
 * an allow-list that logout and a restart empty, expiry), 2FA codes, the per-client lockout, the
 * static --token, AList v3.45.0's differences and the journal's "user". The one-time-password
 * and token functions are also checked alone, against RFC 6238's vectors and golang-jwt's bytes.
 *
 * Upstream line numbers are OpenList at 0b1e9d09 (OL), AList at v3.45.0 (AL).
 */
#include "th.h"

#include "jwt.h"
#include "totp.h"
#include "users.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bob's 2FA secret, "Hello!\xde\xad\xbe\xef" in base32. */
#define BOB_OTP "JBSWY3DPEHPK3PXP"

static th_env env;
static th_mock mock;

static void setup(void)
{
    th_env_init(&env);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--user", "alice:s3cret", "--user",
                                   "admin:adm1n", "--user", "bob:b0b", "--otp-secret",
                                   "bob:" BOB_OTP, NULL),
                     0);
}

static void teardown(void)
{
    th_env_down(&env, &mock);
}

/* ---- requests ---- */

/* One request with extra header lines and a body (NULL: none, not even a Content-Length). */
static int call(int port, const char *method, const char *path, const char *headers,
                const char *body, th_resp *r)
{
    char req[8192], cl[64] = "";
    if (body != NULL)
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(body));
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s\r\n%s", method,
                     path, headers, cl, body != NULL ? body : "");
    ck_assert(n > 0 && (size_t)n < sizeof req);
    return th_raw(port, req, (size_t)n, r);
}

/* POST path with a JSON body and extra headers; asserts HTTP 200, as every /api answer is. */
static const char *post_json(int port, const char *path, const char *headers, const char *json,
                             th_resp *r)
{
    char h[1024];
    snprintf(h, sizeof h, "Content-Type: application/json\r\n%s", headers);
    ck_assert_int_eq(call(port, "POST", path, h, json, r), 200);
    return r->body;
}

/* POST /api/auth/login {"username":user,"password":pw[,"otp_code":otp]} from client key xff. */
static const char *login(int port, const char *user, const char *pw, const char *otp,
                         const char *xff, th_resp *r)
{
    char body[512], h[256] = "";
    if (otp != NULL)
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\",\"otp_code\":\"%s\"}",
                 user, pw, otp);
    else
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    if (xff != NULL)
        snprintf(h, sizeof h, "X-Forwarded-For: %s\r\n", xff);
    return post_json(port, "/api/auth/login", h, body, r);
}

/* The token of a successful login's answer, into a static buffer; fails the test otherwise. */
static const char *token_of(const th_resp *r)
{
    static char tok[2048];
    cJSON *j = cJSON_Parse(r->body);
    const char *t = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"), "token"));
    ck_assert_msg(t != NULL, "no token in %s", r->body);
    snprintf(tok, sizeof tok, "%s", t);
    cJSON_Delete(j);
    return tok;
}

/* Logs in as user and returns the token (static buffer). */
static const char *login_token(int port, const char *user, const char *pw)
{
    static th_resp r;
    login(port, user, pw, NULL, NULL, &r);
    return token_of(&r);
}

/* GET path with Authorization: tok (NULL: no header). Returns the body. */
static const char *get_as(int port, const char *path, const char *tok, th_resp *r)
{
    char h[2200] = "";
    if (tok != NULL)
        snprintf(h, sizeof h, "Authorization: %s\r\n", tok);
    ck_assert_int_eq(call(port, "GET", path, h, NULL, r), 200);
    return r->body;
}

/* Uploads body to file_path with Authorization: tok. Returns the answer's body. */
static const char *upload_as(int port, const char *file_path, const char *tok, const char *body,
                             th_resp *r)
{
    char h[2200];
    snprintf(h, sizeof h, "Authorization: %s\r\n", tok);
    ck_assert_int_eq(th_upload(port, file_path, h, body, r), 200);
    return r->body;
}

/* The JWT's claims segment, decoded, into a static buffer. */
static const char *claims_of(const char *tok)
{
    static char out[1024];
    const char *a = strchr(tok, '.'), *b = a != NULL ? strchr(a + 1, '.') : NULL;
    ck_assert_ptr_nonnull(b);
    char seg[1400];
    size_t n = (size_t)(b - a - 1);
    ck_assert_uint_lt(n + 4, sizeof seg);
    for (size_t i = 0; i < n; i++)
        seg[i] = a[1 + i] == '-' ? '+' : a[1 + i] == '_' ? '/' : a[1 + i];
    while (n % 4 != 0)
        seg[n++] = '=';
    int len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)seg, (int)n);
    ck_assert_int_ge(len, 0);
    /* EVP_DecodeBlock counts the padding's zero bytes too. */
    while (len > 0 && out[len - 1] == '\0')
        len--;
    out[len] = '\0';
    return out;
}

/* A claim of the token as a number. */
static long long claim(const char *tok, const char *name)
{
    cJSON *j = cJSON_Parse(claims_of(tok));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    ck_assert_msg(cJSON_IsNumber(v), "no %s in %s", name, claims_of(tok));
    long long x = (long long)v->valuedouble;
    cJSON_Delete(j);
    return x;
}

/* Bob's code for the 30-second step of Unix time t, computed by the tests' own TOTP. */
static void otp_at(int64_t t, char out[7])
{
    th_totp((const unsigned char *)"Hello!\xde\xad\xbe\xef", 10, t, out);
}

/* The journal's entries once there are at least n of them (they land when a request is done). */
static cJSON *journal_of(int port, int n)
{
    for (int waited = 0;; waited += 20) {
        cJSON *a = th_journal(port);
        if (cJSON_GetArraySize(a) >= n || waited > 3000)
            return a;
        cJSON_Delete(a);
        th_sleep_ms(20);
    }
}

/* Entry i's "user": the name, "(null)" for JSON null. */
static const char *user_of(cJSON *a, int i)
{
    static char out[128];
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, i), "user");
    ck_assert_msg(u != NULL, "entry %d has no user", i);
    snprintf(out, sizeof out, "%s", cJSON_IsNull(u) ? "(null)" : cJSON_GetStringValue(u));
    return out;
}

/* ---- the answers, byte for byte ---- */

/* handles/auth.go:80 SuccessResp(c, gin.H{"token": token}). */
#define TOKEN_PREFIX "{\"code\":200,\"message\":\"success\",\"data\":{\"token\":\""
/* OL handles/auth.go:55, :61; model.InvalidUsernameOrPassword, internal/model/user.go:26. */
#define INVALID "{\"code\":401,\"message\":\"Invalid username or password\",\"data\":null}"
/* OL handles/auth.go:69; model.Invalid2FACode, internal/model/user.go:27. */
#define BAD_2FA "{\"code\":402,\"message\":\"Invalid 2FA code\",\"data\":null}"
/* OL handles/auth.go:48; model.TooManyAttempts, internal/model/user.go:28. */
#define TOO_MANY                                                                                   \
    "{\"code\":429,\"message\":\"Too many unsuccessful sign-in attempts have been made using an "  \
    "incorrect username or password, Try again later.\",\"data\":null}"
/* OL server/middlewares/auth.go:40. */
#define GUEST_OFF                                                                                  \
    "{\"code\":401,\"message\":\"Guest user is disabled, login please\",\"data\":null}"
/* OL server/common/auth.go:46 and :53, through middlewares/auth.go:51. */
#define INVALIDATED "{\"code\":401,\"message\":\"token is invalidated\",\"data\":null}"
#define EXPIRED     "{\"code\":401,\"message\":\"token is expired\",\"data\":null}"
/* OL handles/auth.go:183-190, SuccessResp(c) with no data. */
#define LOGGED_OUT TH_SUCCESS
/*
 * OL handles/auth.go:84-101 over model.User (internal/model/user.go:40-72): password emptied,
 * the admin's 0x71FF (internal/bootstrap/data/user.go:37), allow_ldap's gorm default true.
 * Rendered with json-iterator v1.1.12 (OL go.mod:56) from the same struct.
 */
#define ME_ADMIN                                                                                   \
    "{\"code\":200,\"message\":\"success\",\"data\":{\"id\":1,\"username\":\"admin\","             \
    "\"password\":\"\",\"base_path\":\"/\",\"role\":2,\"disabled\":false,\"permission\":29183,"    \
    "\"sso_id\":\"\",\"allow_ldap\":true,\"otp\":false}}"
#define ME_ALICE                                                                                   \
    "{\"code\":200,\"message\":\"success\",\"data\":{\"id\":3,\"username\":\"alice\","             \
    "\"password\":\"\",\"base_path\":\"/\",\"role\":0,\"disabled\":false,\"permission\":136,"      \
    "\"sso_id\":\"\",\"allow_ldap\":true,\"otp\":false}}"
#define ME_BOB                                                                                     \
    "{\"code\":200,\"message\":\"success\",\"data\":{\"id\":4,\"username\":\"bob\","               \
    "\"password\":\"\",\"base_path\":\"/\",\"role\":0,\"disabled\":false,\"permission\":136,"      \
    "\"sso_id\":\"\",\"allow_ldap\":true,\"otp\":true}}"

/* ---- unit: one-time passwords and tokens ---- */

/* RFC 6238 appendix B, SHA1, the 20-byte ASCII secret, 8 digits. */
static const struct {
    uint64_t t;
    const char *code;
} rfc6238[] = {
    {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
};

START_TEST(totp_matches_rfc6238_sha1_vectors)
{
    char out[10];
    const unsigned char *key = (const unsigned char *)"12345678901234567890";
    ck_assert_int_eq(mock_totp_code(key, 20, rfc6238[_i].t, 30, 8, out), 0);
    ck_assert_str_eq(out, rfc6238[_i].code);
}
END_TEST

/*
 * Six-digit codes for the base32 secret BOB_OTP at the same times, from pquerna/otp's
 * totp.GenerateCode (hotp/hotp.go:76-145; Debian's golang-github-pquerna-otp-dev, whose code
 * path is v1.5.0's), with the secret decoded as hotp.go:83-95 decodes it.
 */
START_TEST(totp_six_digits_match_pquerna_otp)
{
    static const char *const want[] = {"996554", "071271", "358462", "742275", "890699", "752434"};
    unsigned char key[MOCK_OTP_KEY_MAX];
    char out[8];
    ck_assert_int_eq(mock_base32_decode(BOB_OTP, key, sizeof key), 10);
    ck_assert_int_eq(memcmp(key, "Hello!\xde\xad\xbe\xef", 10), 0);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_int_eq(mock_totp_code(key, 10, rfc6238[i].t, 30, 6, out), 0);
        ck_assert_str_eq(out, want[i]);
        /* The test's own computation agrees. */
        char mine[7];
        otp_at((int64_t)rfc6238[i].t, mine);
        ck_assert_str_eq(mine, want[i]);
    }
    ck_assert_int_eq(mock_totp_code(key, 10, 59, 30, 0, out), -1);
    ck_assert_int_eq(mock_totp_code(key, 10, 59, 30, 10, out), -1);
}
END_TEST

START_TEST(base32_secrets_decode_like_pquerna)
{
    unsigned char k[MOCK_OTP_KEY_MAX];
    /* Lower case, missing padding and surrounding spaces are accepted (hotp.go:83-90). */
    ck_assert_int_eq(mock_base32_decode(" jbswy3dpehpk3pxp \n", k, sizeof k), 10);
    ck_assert_int_eq(memcmp(k, "Hello!\xde\xad\xbe\xef", 10), 0);
    ck_assert_int_eq(mock_base32_decode("MZXW6===", k, sizeof k), 3);
    ck_assert_int_eq(memcmp(k, "foo", 3), 0);
    ck_assert_int_eq(mock_base32_decode("MZXW6", k, sizeof k), 3);
    /* Not base32: a bad letter, an impossible length, padding in the middle, too long. */
    ck_assert_int_eq(mock_base32_decode("JBSWY3DPEHPK3PX1", k, sizeof k), -1);
    ck_assert_int_eq(mock_base32_decode("MZXW6Y", k, sizeof k), -1);
    ck_assert_int_eq(mock_base32_decode("MZ=XW6==", k, sizeof k), -1);
    ck_assert_int_eq(mock_base32_decode("MZXW6YQ=", k, 3), -1);
}
END_TEST

/* totp.Validate (totp/totp.go:37-50, :101-120; hotp.go:149-166): now, +30 s and -30 s. */
START_TEST(totp_validate_allows_one_step_of_skew)
{
    const unsigned char *key = (const unsigned char *)"Hello!\xde\xad\xbe\xef";
    char c[7];
    const uint64_t now = 1700000015; /* mid-step */
    otp_at((int64_t)now, c);
    ck_assert_int_eq(mock_totp_validate(key, 10, c, now), 1);
    ck_assert_int_eq(mock_totp_validate(key, 10, c, now + 30), 1);
    ck_assert_int_eq(mock_totp_validate(key, 10, c, now - 30), 1);
    ck_assert_int_eq(mock_totp_validate(key, 10, c, now + 60), 0);
    ck_assert_int_eq(mock_totp_validate(key, 10, c, now - 60), 0);
    char spaced[16];
    snprintf(spaced, sizeof spaced, " %s\t", c);
    ck_assert_int_eq(mock_totp_validate(key, 10, spaced, now), 1);
    char five[6];
    memcpy(five, c, 5);
    five[5] = '\0';
    ck_assert_int_eq(mock_totp_validate(key, 10, five, now), 0);
    ck_assert_int_eq(mock_totp_validate(key, 10, "", now), 0);
}
END_TEST

/*
 * golang-jwt v4.5.2's SignedString of OpenList's UserClaims (server/common/auth.go:23-39) with
 * the key "0123456789abcdef" at time.Unix(1700000000, 250000000): 48 hours, the HTML-escaped
 * name encoding/json writes, and 0.0005 hours, whose exp is cut to the second.
 */
START_TEST(jwt_is_golang_jwts_bytes)
{
    static const struct {
        const char *name;
        int64_t pwd_ts, exp;
        const char *tok;
    } v[] = {
        {"admin", 0, 1700172800,
         "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFkbWluIiwicHdkX3RzIjowLCJleHAiOjE3"
         "MDAxNzI4MDAsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwfQ.1je7JohRKeNPItppwS8oxYqtFkwqyz"
         "DUJZ-f6H0TvaE"},
        {"al<i>ce", 1699999999, 1700172800,
         "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImFsXHUwMDNjaVx1MDAzZWNlIiwicHdkX3Rz"
         "IjoxNjk5OTk5OTk5LCJleHAiOjE3MDAxNzI4MDAsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwfQ.jM"
         "x_C6LOfcNCmszM0GABnniaHaH0dhAqJmoatI_J2c0"},
        {"bob", 1, 1700000002,
         "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VybmFtZSI6ImJvYiIsInB3ZF90cyI6MSwiZXhwIjoxNzAw"
         "MDAwMDAyLCJuYmYiOjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMH0."
         "BO77Icbp1WqWT59JKHVb3y2rqkiihNRIy9"
         "eXAx_q72s"},
    };
    char out[MOCK_JWT_MAX];
    const unsigned char *key = (const unsigned char *)"0123456789abcdef";
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        long n =
            mock_jwt_sign(key, 16, v[i].name, v[i].pwd_ts, 1700000000, v[i].exp, out, sizeof out);
        ck_assert_int_eq(n, (long)strlen(v[i].tok));
        ck_assert_str_eq(out, v[i].tok);
    }
    /* Control: a buffer one byte short is refused, not overrun. */
    ck_assert_int_eq(
        mock_jwt_sign(key, 16, "bob", 1, 1700000000, 1700000002, out, strlen(v[2].tok)), -1);
}
END_TEST

/* model.StaticHash (internal/model/user.go:235-237); the vector is sha256sum's. */
START_TEST(static_hash_is_openlists)
{
    char h[65];
    ck_assert_int_eq(mock_static_hash("admin", 5, h), 0);
    ck_assert_str_eq(h, "6fcb57cd10b2c11d765dcf16148d99130afd895082af83725ee8bb181b1d2b0f");
}
END_TEST

/* ---- login, the token, /api/me ---- */

START_TEST(login_gives_a_token_that_uploads_and_names_the_user)
{
    static th_resp r;
    time_t before = time(NULL);
    login(mock.port, "alice", "s3cret", NULL, NULL, &r);
    time_t after = time(NULL);
    ck_assert_msg(strncmp(r.body, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0, "%s", r.body);
    ck_assert_ptr_nonnull(strstr(r.raw, "\r\nContent-Type: application/json; charset=utf-8\r\n"));
    const char *tok = token_of(&r);
    /* golang-jwt's header for HS256 (token.go:51-60), then UserClaims in field order. */
    ck_assert(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
    char body_end[2100];
    snprintf(body_end, sizeof body_end, "%s\"}}", tok);
    ck_assert_str_eq(r.body + strlen(TOKEN_PREFIX), body_end);
    long long iat = claim(tok, "iat"), pwd_ts = claim(tok, "pwd_ts");
    ck_assert(iat >= (long long)before && iat <= (long long)after);
    ck_assert(pwd_ts > 0 && pwd_ts <= iat); /* SetPassword stamps a created user */
    char want[256];
    snprintf(want, sizeof want,
             "{\"username\":\"alice\",\"pwd_ts\":%lld,\"exp\":%lld,\"nbf\":%lld,\"iat\":%lld}",
             pwd_ts, iat + 48 * 3600, iat, iat);
    ck_assert_str_eq(claims_of(tok), want);

    ck_assert_str_eq(upload_as(mock.port, "/by-alice.txt", tok, "hi", &r), TH_SUCCESS);
    ck_assert_str_eq(get_as(mock.port, "/api/me", tok, &r), ME_ALICE);

    cJSON *a = journal_of(mock.port, 3);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);
    ck_assert_str_eq(user_of(a, 0), "(null)"); /* login itself runs before any token */
    ck_assert_str_eq(user_of(a, 1), "alice");
    ck_assert_str_eq(user_of(a, 2), "alice");
    cJSON_Delete(a);
}
END_TEST

START_TEST(admin_login_is_openlists_admin)
{
    static th_resp r;
    const char *tok = login_token(mock.port, "admin", "adm1n");
    /* The bootstrap admin's password is set without SetPassword (bootstrap/data/user.go:28-38). */
    ck_assert_int_eq(claim(tok, "pwd_ts"), 0);
    ck_assert_str_eq(get_as(mock.port, "/api/me", tok, &r), ME_ADMIN);
}
END_TEST

/* /login/hash takes the static hash (OL handles/auth.go:33-41); the comparison is exact. */
START_TEST(login_hash_takes_the_static_hash)
{
    static th_resp r;
    char hash[65], body[256];
    ck_assert_int_eq(mock_static_hash("s3cret", 6, hash), 0);
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", hash);
    post_json(mock.port, "/api/auth/login/hash", "", body, &r);
    ck_assert_msg(strncmp(r.body, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0, "%s", r.body);
    /* The plain password is not a hash, an upper-case hash is not this one, "" is empty. */
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login/hash", "",
                               "{\"username\":\"alice\",\"password\":\"s3cret\"}", &r),
                     INVALID);
    for (char *p = hash; *p != '\0'; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\"}", hash);
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login/hash", "", body, &r), INVALID);
    ck_assert_str_eq(
        post_json(mock.port, "/api/auth/login/hash", "", "{\"username\":\"alice\"}", &r), INVALID);
}
END_TEST

/* A NUL (\u0000) belongs to a Go string: a name or password holding one is no user's, even
 * where the bytes before it are. */
START_TEST(a_nul_in_the_name_or_password_is_kept)
{
    static th_resp r;
    char hash[65], body[256];
    ck_assert_int_eq(mock_static_hash("s3cret", 6, hash), 0);
    snprintf(body, sizeof body, "{\"username\":\"alice\",\"password\":\"%s\\u0000zz\"}", hash);
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login/hash", "", body, &r), INVALID);
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login", "",
                               "{\"username\":\"alice\",\"password\":\"s3cret\\u0000zz\"}", &r),
                     INVALID);
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login", "",
                               "{\"username\":\"alice\\u0000zz\",\"password\":\"s3cret\"}", &r),
                     INVALID);
    /* The control: without the NUL and what follows, the same login goes through. */
    post_json(mock.port, "/api/auth/login", "", "{\"username\":\"alice\",\"password\":\"s3cret\"}",
              &r);
    ck_assert_msg(strncmp(r.body, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0, "%s", r.body);
}
END_TEST

START_TEST(wrong_password_and_unknown_user_are_one_401)
{
    static th_resp r;
    ck_assert_str_eq(login(mock.port, "alice", "wrong", NULL, NULL, &r), INVALID);
    ck_assert_str_eq(login(mock.port, "carol", "s3cret", NULL, NULL, &r), INVALID);
    /* Names are exact, as the database lookup is. */
    ck_assert_str_eq(login(mock.port, "Alice", "s3cret", NULL, NULL, &r), INVALID);
    /* The admin has no password unless --user admin gives one: here a wrong one. */
    ck_assert_str_eq(login(mock.port, "admin", "s3cret", NULL, NULL, &r), INVALID);
}
END_TEST

/* ShouldBind before anything (OL handles/auth.go:25-27): ErrorResp(err, 400), nothing counted. */
START_TEST(bad_bodies_are_gins_400)
{
    static th_resp r;
    /*
     * A query login first: without Content-Type: application/json gin binds the form, whose
     * keys are the Go field names. Its success clears any count before the bind errors.
     */
    ck_assert_int_eq(
        call(mock.port, "POST", "/api/auth/login?Username=alice&Password=s3cret", "", "", &r), 200);
    ck_assert_msg(strncmp(r.body, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0, "%s", r.body);
    /* io.EOF from the decoder on an empty body. */
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login", "", "", &r),
                     "{\"code\":400,\"message\":\"EOF\",\"data\":null}");
    /* The validator's text for binding:"required" (handles/auth.go:17). */
    static const char required[] =
        "{\"code\":400,\"message\":\"Key: 'LoginReq.Username' Error:Field validation for "
        "'Username' failed on the 'required' tag\",\"data\":null}";
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login", "", "{}", &r), required);
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login/hash", "", "{\"username\":\"\"}", &r),
                     required);
    /* The form binder does not read a JSON body. */
    ck_assert_int_eq(call(mock.port, "POST", "/api/auth/login", "",
                          "{\"username\":\"alice\",\"password\":\"s3cret\"}", &r),
                     200);
    ck_assert_str_eq(r.body, required);
    /* Four bind errors counted nothing: five wrong passwords still answer 401, not 429. */
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(login(mock.port, "alice", "nope", NULL, NULL, &r), INVALID);
    ck_assert_str_eq(login(mock.port, "alice", "nope", NULL, NULL, &r), TOO_MANY);
}
END_TEST

START_TEST(second_factor_is_checked_after_the_password)
{
    static th_resp r;
    char now_code[7], c[7], wrong[7] = "000000";
    int64_t now = (int64_t)time(NULL);
    /* A code no step the mock accepts now gives (now, 30 s later or earlier). */
    for (;;) {
        int taken = 0;
        for (int k = -2; k <= 2; k++) {
            otp_at(now + 30 * k, c);
            taken |= strcmp(c, wrong) == 0;
        }
        if (!taken)
            break;
        wrong[5]++;
    }
    ck_assert_str_eq(login(mock.port, "bob", "b0b", NULL, "10.0.0.1", &r), BAD_2FA);
    ck_assert_str_eq(login(mock.port, "bob", "b0b", "", "10.0.0.1", &r), BAD_2FA);
    ck_assert_str_eq(login(mock.port, "bob", "b0b", wrong, "10.0.0.1", &r), BAD_2FA);
    /* A wrong password with the right code is still the password's 401. */
    otp_at((int64_t)time(NULL), now_code);
    ck_assert_str_eq(login(mock.port, "bob", "bad", now_code, "10.0.0.2", &r), INVALID);
    /* Surrounding spaces are trimmed (hotp.go:150). */
    char spaced[16];
    otp_at((int64_t)time(NULL), now_code);
    snprintf(spaced, sizeof spaced, " %s ", now_code);
    login(mock.port, "bob", "b0b", spaced, "10.0.0.1", &r);
    const char *tok = token_of(&r);
    ck_assert_str_eq(get_as(mock.port, "/api/me", tok, &r), ME_BOB);
}
END_TEST

/* ---- the lockout ---- */

START_TEST(lockout_counts_per_forwarded_client)
{
    static th_resp r;
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(login(mock.port, "alice", "bad", NULL, "198.51.100.7", &r), INVALID);
    /* The 6th try is refused even with the right password, and so is the next. */
    ck_assert_str_eq(login(mock.port, "alice", "s3cret", NULL, "198.51.100.7", &r), TOO_MANY);
    ck_assert_str_eq(login(mock.port, "alice", "s3cret", NULL, "198.51.100.7", &r), TOO_MANY);
    /* gin's ClientIP: the leftmost of X-Forwarded-For when every item is an address. */
    ck_assert_str_eq(login(mock.port, "alice", "s3cret", NULL, " 198.51.100.7 , 10.1.1.1", &r),
                     TOO_MANY);
    /* Another key is not locked: another address, or one that does not parse (then the peer). */
    login(mock.port, "alice", "s3cret", NULL, "198.51.100.8", &r);
    token_of(&r);
    login(mock.port, "alice", "s3cret", NULL, "198.51.100.7, junk", &r);
    token_of(&r);
    /* X-Real-IP is the next header asked. */
    ck_assert_str_eq(post_json(mock.port, "/api/auth/login", "X-Real-IP: 198.51.100.7\r\n",
                               "{\"username\":\"alice\",\"password\":\"s3cret\"}", &r),
                     TOO_MANY);
    /* 2FA failures count as well. */
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(login(mock.port, "bob", "b0b", "123", "203.0.113.9", &r), BAD_2FA);
    ck_assert_str_eq(login(mock.port, "bob", "b0b", "123", "203.0.113.9", &r), TOO_MANY);
}
END_TEST

START_TEST(a_successful_login_resets_the_count)
{
    static th_resp r;
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(login(mock.port, "alice", "bad", NULL, "192.0.2.1", &r), INVALID);
    login(mock.port, "alice", "s3cret", NULL, "192.0.2.1", &r);
    token_of(&r);
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(login(mock.port, "alice", "bad", NULL, "192.0.2.1", &r), INVALID);
    ck_assert_str_eq(login(mock.port, "alice", "bad", NULL, "192.0.2.1", &r), TOO_MANY);
}
END_TEST

/*
 * LoginCache.Expire on each refused try (OL handles/auth.go:49; go-cache cache.go:197-203):
 * with --login-lock 2 the lock ends 2 s after the last refused try, not after the first.
 */
START_TEST(the_lock_slides_and_then_expires)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--user", "alice:s3cret", "--login-lock", "2", NULL), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(login(m.port, "alice", "bad", NULL, NULL, &r), INVALID);
    ck_assert_str_eq(login(m.port, "alice", "s3cret", NULL, NULL, &r), TOO_MANY);
    th_sleep_ms(1300);
    ck_assert_str_eq(login(m.port, "alice", "s3cret", NULL, NULL, &r), TOO_MANY);
    th_sleep_ms(1300); /* 2.6 s after the first refusal, 1.3 s after the last */
    ck_assert_str_eq(login(m.port, "alice", "s3cret", NULL, NULL, &r), TOO_MANY);
    th_sleep_ms(2300);
    login(m.port, "alice", "s3cret", NULL, NULL, &r);
    token_of(&r);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* ---- the token's life ---- */

START_TEST(logout_invalidates_the_token)
{
    static th_resp r;
    const char *t = login_token(mock.port, "alice", "s3cret");
    char tok[2048];
    snprintf(tok, sizeof tok, "%s", t);
    ck_assert_str_eq(get_as(mock.port, "/api/auth/logout", tok, &r), LOGGED_OUT);
    ck_assert_str_eq(get_as(mock.port, "/api/me", tok, &r), INVALIDATED);
    ck_assert_str_eq(upload_as(mock.port, "/after-logout.txt", tok, "x", &r), INVALIDATED);
    ck_assert(!th_exists(th_path(env.root, "after-logout.txt")));
    /* Logout sits behind Auth(false) (OL router.go:84): a second one is refused. */
    ck_assert_str_eq(get_as(mock.port, "/api/auth/logout", tok, &r), INVALIDATED);
    ck_assert_str_eq(get_as(mock.port, "/api/auth/logout", NULL, &r), GUEST_OFF);
    /* A token it never issued, a "Bearer" prefix, a changed byte: not in the allow-list. */
    const char *fresh = login_token(mock.port, "alice", "s3cret");
    char bearer[2100], flipped[2048];
    snprintf(bearer, sizeof bearer, "Bearer %s", fresh);
    snprintf(flipped, sizeof flipped, "%s", fresh);
    flipped[strlen(flipped) - 1] ^= 1;
    ck_assert_str_eq(get_as(mock.port, "/api/me", bearer, &r), INVALIDATED);
    ck_assert_str_eq(get_as(mock.port, "/api/me", flipped, &r), INVALIDATED);
    ck_assert_str_eq(get_as(mock.port, "/api/me", "eyJhbGciOiJub25lIn0.e30.", &r), INVALIDATED);
    ck_assert_str_eq(get_as(mock.port, "/api/me", fresh, &r), ME_ALICE);
}
END_TEST

START_TEST(a_restart_invalidates_every_token)
{
    static th_resp r;
    char tok[2048];
    snprintf(tok, sizeof tok, "%s", login_token(mock.port, "alice", "s3cret"));
    ck_assert_str_eq(get_as(mock.port, "/api/me", tok, &r), ME_ALICE);
    ck_assert_int_eq(th_mock_stop(&mock), 0);
    ck_assert_int_eq(th_mock_start(&mock, env.root, "--user", "alice:s3cret", "--user",
                                   "admin:adm1n", "--user", "bob:b0b", NULL),
                     0);
    ck_assert_str_eq(get_as(mock.port, "/api/me", tok, &r), INVALIDATED);
    ck_assert_str_eq(upload_as(mock.port, "/after-restart.txt", tok, "x", &r), INVALIDATED);
}
END_TEST

/* ParseToken: in the list but past exp (OL server/common/auth.go:52-53). */
START_TEST(an_expired_token_is_refused)
{
    static th_resp r;
    th_mock m;
    /* 0.0005 hours is 1.8 s. */
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--user", "alice:s3cret", "--token-expires", "0.0005", NULL),
        0);
    char tok[2048];
    snprintf(tok, sizeof tok, "%s", login_token(m.port, "alice", "s3cret"));
    long long iat = claim(tok, "iat"), exp = claim(tok, "exp");
    ck_assert(exp - iat >= 1 && exp - iat <= 2);
    /* exp is at least 0.8 s off: the token works now. */
    ck_assert_str_eq(get_as(m.port, "/api/me", tok, &r), ME_ALICE);
    while ((long long)time(NULL) < exp)
        th_sleep_ms(100);
    ck_assert_str_eq(get_as(m.port, "/api/me", tok, &r), EXPIRED);
    ck_assert_str_eq(upload_as(m.port, "/late.txt", tok, "x", &r), EXPIRED);
    ck_assert(!th_exists(th_path(env.root, "late.txt")));
    ck_assert_int_eq(th_mock_stop(&m), 0);
    /* 0 hours: expired as soon as issued, as TOKEN_EXPIRES_IN=0 gives. */
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--user", "alice:s3cret", "--token-expires", "0", NULL), 0);
    ck_assert_str_eq(get_as(m.port, "/api/me", login_token(m.port, "alice", "s3cret"), &r),
                     EXPIRED);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* ---- the static token, the guest, the profile ---- */

START_TEST(static_token_is_the_admin_everywhere)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--token", "T0k", "--user", "alice:s3cret", NULL),
                     0);
    ck_assert_str_eq(upload_as(m.port, "/static.txt", "T0k", "st", &r), TH_SUCCESS);
    ck_assert(th_exists(th_path(env.root, "static.txt")));
    ck_assert_str_eq(get_as(m.port, "/api/me", "T0k", &r), ME_ADMIN);
    /* Logging out with it changes nothing (InvalidateToken of a token not in the list). */
    ck_assert_str_eq(get_as(m.port, "/api/auth/logout", "T0k", &r), LOGGED_OUT);
    ck_assert_str_eq(get_as(m.port, "/api/me", "T0k", &r), ME_ADMIN);
    /* The guest is disabled; users log in next to the token. */
    ck_assert_str_eq(get_as(m.port, "/api/me", NULL, &r), GUEST_OFF);
    ck_assert_str_eq(get_as(m.port, "/api/me", "", &r), GUEST_OFF);
    ck_assert_str_eq(get_as(m.port, "/api/me", "T0kk", &r), INVALIDATED);
    ck_assert_str_eq(get_as(m.port, "/api/me", login_token(m.port, "alice", "s3cret"), &r),
                     ME_ALICE);
    /* Without --user admin the admin has no password to log in with. */
    ck_assert_str_eq(login(m.port, "admin", "T0k", NULL, NULL, &r), INVALID);
    cJSON *a = journal_of(m.port, 10);
    ck_assert_int_eq(cJSON_GetArraySize(a), 10);
    ck_assert_str_eq(user_of(a, 0), "admin");
    ck_assert_str_eq(user_of(a, 4), "(null)"); /* refused */
    cJSON_Delete(a);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/*
 * The guest user exists with the password "guest" (bootstrap/data/user.go:54-63): its token is
 * accepted, then refused as a disabled user (middlewares/auth.go:67-71).
 */
START_TEST(the_disabled_guest_can_log_in_but_not_use_it)
{
    static th_resp r;
    const char *tok = login_token(mock.port, "guest", "guest");
    ck_assert_str_eq(
        get_as(mock.port, "/api/me", tok, &r),
        "{\"code\":401,\"message\":\"Current user is disabled, replace please\",\"data\":null}");
    ck_assert_str_eq(get_as(mock.port, "/api/me", NULL, &r), GUEST_OFF);
}
END_TEST

START_TEST(the_open_mock_has_a_guest_who_may_write)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, NULL), 0);
    /* The open mock's guest is enabled, with the admin's bits. */
    ck_assert_str_eq(
        get_as(m.port, "/api/me", NULL, &r),
        "{\"code\":200,\"message\":\"success\",\"data\":{\"id\":2,\"username\":\"guest\","
        "\"password\":\"\",\"base_path\":\"/\",\"role\":1,\"disabled\":false,\"permission\":29183,"
        "\"sso_id\":\"\",\"allow_ldap\":true,\"otp\":false}}");
    ck_assert_str_eq(upload_as(m.port, "/open.txt", "whatever", "o", &r), TH_SUCCESS);
    cJSON *a = journal_of(m.port, 2);
    ck_assert_str_eq(user_of(a, 0), "guest");
    ck_assert_str_eq(user_of(a, 1), "guest");
    cJSON_Delete(a);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* AList v3.45.0 (AL): handles/auth.go:50-88, model/user.go:24-53, bootstrap/data/user.go:36. */
START_TEST(alist_profile_tells_which_was_wrong)
{
    static th_resp r;
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--profile", "alist", "--user", "admin:adm1n",
                                   "--user", "bob:b0b", "--otp-secret", "bob:" BOB_OTP, NULL),
                     0);
    /* AL auth.go:60-65: ErrorResp(err, 400) of db.GetUserByName's wrapped gorm error. */
    ck_assert_str_eq(login(m.port, "carol", "x", NULL, NULL, &r),
                     "{\"code\":400,\"message\":\"failed find user: record not found\","
                     "\"data\":null}");
    /* AL auth.go:67-71 with errs.WrongPassword / errs.EmptyPassword (errs/user.go:7-8). */
    ck_assert_str_eq(login(m.port, "admin", "x", NULL, NULL, &r),
                     "{\"code\":400,\"message\":\"password is incorrect\",\"data\":null}");
    ck_assert_str_eq(post_json(m.port, "/api/auth/login/hash", "", "{\"username\":\"admin\"}", &r),
                     "{\"code\":400,\"message\":\"password is empty\",\"data\":null}");
    /* AL auth.go:75: the same 402. */
    ck_assert_str_eq(login(m.port, "bob", "b0b", "x", NULL, &r), BAD_2FA);
    /* AL auth.go:55: the same text after five failures. */
    ck_assert_str_eq(login(m.port, "admin", "x", NULL, NULL, &r),
                     "{\"code\":400,\"message\":\"password is incorrect\",\"data\":null}");
    ck_assert_str_eq(login(m.port, "admin", "adm1n", NULL, NULL, &r), TOO_MANY);
    /* No allow_ldap in AList's User, and its admin has 0x30FF. */
    login(m.port, "admin", "adm1n", NULL, "192.0.2.50", &r);
    ck_assert_str_eq(get_as(m.port, "/api/me", token_of(&r), &r),
                     "{\"code\":200,\"message\":\"success\",\"data\":{\"id\":1,\"username\":"
                     "\"admin\",\"password\":\"\",\"base_path\":\"/\",\"role\":2,\"disabled\":"
                     "false,\"permission\":12543,\"sso_id\":\"\",\"otp\":false}}");
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* ---- the command line ---- */

START_TEST(passwords_do_not_stay_in_the_command_line)
{
    char path[64], cmd[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)mock.pid);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    cmd[n] = '\0';
    ck_assert_msg(strstr(cmd, "s3cret") == NULL && strstr(cmd, "adm1n") == NULL &&
                      strstr(cmd, BOB_OTP) == NULL,
                  "%s", cmd);
    /* Control: the names are still there, and the passwords' places are. */
    ck_assert_ptr_nonnull(strstr(cmd, "--user alice:****** "));
    ck_assert_ptr_nonnull(strstr(cmd, "--otp-secret bob:****************"));
}
END_TEST

/* Writes text to the scratch file name and returns its path (th_path's buffer). */
static const char *scratch_file(const char *name, const char *text)
{
    const char *path = th_path(env.dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

START_TEST(users_file_gives_users)
{
    static th_resp r;
    char file[512];
    snprintf(file, sizeof file, "%s",
             scratch_file("users", "# name:password\n\ncarol:pa:ss\r\ndave:d4ve\n"));
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--users-file", file, NULL), 0);
    /* The password runs to the line's end, ':' included; ids follow the file. */
    const char *tok = login_token(m.port, "carol", "pa:ss");
    ck_assert_str_eq(
        get_as(m.port, "/api/me", tok, &r),
        "{\"code\":200,\"message\":\"success\",\"data\":{\"id\":3,\"username\":"
        "\"carol\",\"password\":\"\",\"base_path\":\"/\",\"role\":0,\"disabled\":"
        "false,\"permission\":136,\"sso_id\":\"\",\"allow_ldap\":true,\"otp\":false}}");
    ck_assert_str_eq(login(m.port, "dave", "d4ve\\r", NULL, NULL, &r), INVALID);
    login(m.port, "dave", "d4ve", NULL, NULL, &r);
    token_of(&r);
    ck_assert_str_eq(get_as(m.port, "/api/me", NULL, &r), GUEST_OFF);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* Runs streamput-mock --root ROOT with up to four more arguments; exit status, output in r. */
static int run_mock(th_run *r, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {TH_BIN_DIR "/streamput-mock",
                    "--root",
                    env.root,
                    (char *)a1,
                    (char *)a2,
                    (char *)a3,
                    (char *)a4,
                    NULL};
    return th_run_argv(r, argv, NULL, 10000);
}

START_TEST(bad_user_options_exit_2_without_the_password)
{
    static th_run r;
    static const struct {
        const char *a1, *a2, *a3, *a4, *says;
    } bad[] = {
        {"--user", "alice", NULL, NULL, "--user needs NAME:PASSWORD"},
        {"--user", "alice:", NULL, NULL, "--user alice needs a password"},
        {"--user", ":pw9", NULL, NULL, "a user name of 1 to 64 bytes"},
        {"--user", "guest:pw9", NULL, NULL, "guest is OpenList's guest user"},
        {"--user", "alice:pw9", "--user", "alice:pw9", "--user alice is given twice"},
        {"--otp-secret", "alice:NOT-BASE32", "--user", "alice:pw9", "needs a base32 secret"},
        {"--otp-secret", "alice:" BOB_OTP, NULL, NULL, "no --user alice gives it a password"},
        {"--users-file", "/nonexistent/users", NULL, NULL, "--users-file /nonexistent/users"},
        {"--token-expires", "1e3", NULL, NULL, "--token-expires needs a number of hours"},
        {"--token-expires", "-1", NULL, NULL, "--token-expires needs a number of hours"},
        {"--login-lock", "0", NULL, NULL, "--login-lock must be at least 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(run_mock(&r, bad[i].a1, bad[i].a2, bad[i].a3, bad[i].a4), 2);
        ck_assert_msg(strstr(r.err, bad[i].says) != NULL, "%s: %s", bad[i].a2, r.err);
        ck_assert_msg(strstr(r.err, "pw9") == NULL, "the password is in: %s", r.err);
    }
    /* A users-file line in error is named by its number, never quoted. */
    char file[512];
    snprintf(file, sizeof file, "%s", scratch_file("bad-users", "ok:pw9\nsecretpw9\n"));
    ck_assert_int_eq(run_mock(&r, "--users-file", file, NULL, NULL), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "line 2: --user needs NAME:PASSWORD"));
    ck_assert_ptr_null(strstr(r.err, "pw9"));
    ck_assert_int_eq(run_mock(&r, "--help", NULL, NULL, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--users-file FILE"));
    ck_assert_ptr_nonnull(strstr(r.out, "permission 136"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_auth");
    TCase *u = tcase_create("unit");
    tcase_add_loop_test(u, totp_matches_rfc6238_sha1_vectors, 0,
                        sizeof rfc6238 / sizeof rfc6238[0]);
    tcase_add_test(u, totp_six_digits_match_pquerna_otp);
    tcase_add_test(u, base32_secrets_decode_like_pquerna);
    tcase_add_test(u, totp_validate_allows_one_step_of_skew);
    tcase_add_test(u, jwt_is_golang_jwts_bytes);
    tcase_add_test(u, static_hash_is_openlists);
    suite_add_tcase(s, u);
    TCase *t = tcase_create("auth");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, login_gives_a_token_that_uploads_and_names_the_user);
    tcase_add_test(t, admin_login_is_openlists_admin);
    tcase_add_test(t, login_hash_takes_the_static_hash);
    tcase_add_test(t, a_nul_in_the_name_or_password_is_kept);
    tcase_add_test(t, wrong_password_and_unknown_user_are_one_401);
    tcase_add_test(t, bad_bodies_are_gins_400);
    tcase_add_test(t, second_factor_is_checked_after_the_password);
    tcase_add_test(t, lockout_counts_per_forwarded_client);
    tcase_add_test(t, a_successful_login_resets_the_count);
    tcase_add_test(t, the_lock_slides_and_then_expires);
    tcase_add_test(t, logout_invalidates_the_token);
    tcase_add_test(t, a_restart_invalidates_every_token);
    tcase_add_test(t, an_expired_token_is_refused);
    tcase_add_test(t, static_token_is_the_admin_everywhere);
    tcase_add_test(t, the_disabled_guest_can_log_in_but_not_use_it);
    tcase_add_test(t, the_open_mock_has_a_guest_who_may_write);
    tcase_add_test(t, alist_profile_tells_which_was_wrong);
    tcase_add_test(t, passwords_do_not_stay_in_the_command_line);
    tcase_add_test(t, users_file_gives_users);
    tcase_add_test(t, bad_user_options_exit_2_without_the_password);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
