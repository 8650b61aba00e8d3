/*
 * Fuzzes the login request body as /api/auth/login and /api/auth/login/hash read it: gin's JSON
 * binding of handles.LoginReq (mock_gj_decode), the bound strings as the route takes them, and
 * the user and password checks (mock_user_login). Properties: a body built here from a user
 * name, a password and an OTP code (any bytes, NUL and invalid UTF-8 included, escaped as
 * encoding/json escapes them) binds to exactly those bytes; a login succeeds exactly when the
 * name is a user's, byte for byte, and the password is that user's (plain) or the password's
 * static hash is, in lower-case hex, SHA-256(password + salt) computed here (hash route); and
 * "password is empty" comes only for an empty hash. Byte 0: bit 0 the body is built (else raw),
 * bit 1 the hash route, bit 2 the admin's password is the one in the body; built fields are
 * split by 0xff bytes.
 */
#include "gojson.h"
#include "users.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char salt[] = "-https://github.com/alist-org/alist";

/* SHA-256(pw + salt) in lower-case hex, computed apart from mock_static_hash. */
static void ref_hash(const char *pw, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    char *buf = malloc(n + sizeof salt);
    if (buf == NULL)
        abort();
    memcpy(buf, pw, n);
    memcpy(buf + n, salt, sizeof salt - 1);
    if (EVP_Digest(buf, n + sizeof salt - 1, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        abort();
    free(buf);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A JSON string of s[0 .. n) as encoding/json writes one: '"', '\\' and controls escaped. */
static size_t quote(const uint8_t *s, size_t n, char *out)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            out[o++] = '\\';
            out[o++] = (char)s[i];
        } else if (s[i] < 0x20) {
            o += (size_t)snprintf(out + o, 7, "\\u%04x", s[i]);
        } else {
            out[o++] = (char)s[i];
        }
    }
    out[o++] = '"';
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 2048)
        return 0;
    int built = data[0] & 1, hashed = (data[0] & 2) != 0, theirs = (data[0] & 4) != 0;
    data++;
    size--;
    /* The body's fields: name, password, otp, split by 0xff. */
    const uint8_t *f[3] = {data, data, data};
    size_t fn[3] = {0, 0, 0};
    for (size_t k = 0, at = 0; k < 3; k++) {
        f[k] = data + at;
        while (at < size && data[at] != 0xff)
            at++, fn[k]++;
        if (at < size)
            at++;
    }

    static const char *const keys[3] = {"username", "password", "otp_code"};
    char *body = malloc(size * 6 + 64);
    size_t bn = 0;
    if (body == NULL)
        abort();
    if (built) {
        body[bn++] = '{';
        for (int k = 0; k < 3; k++) {
            bn += (size_t)snprintf(body + bn, 16, "%s\"%s\":", k > 0 ? "," : "", keys[k]);
            bn += quote(f[k], fn[k], body + bn);
        }
        body[bn++] = '}';
    } else {
        memcpy(body, data, size);
        bn = size;
    }

    /* The users: the admin with the body's password or another, the guest, one without. */
    mock_user users[3] = {{.name = "admin", .has_password = 1},
                          {.name = "guest", .has_password = 1},
                          {.name = "al\xc3\xa9", .has_password = 0}};
    const char *admin_pw = theirs && fn[1] < 256 ? (const char *)f[1] : "correct horse";
    size_t admin_n = theirs && fn[1] < 256 ? fn[1] : strlen(admin_pw);
    char pwbuf[256];
    memcpy(pwbuf, admin_pw, admin_n);
    pwbuf[admin_n] = '\0';
    admin_n = strlen(pwbuf); /* a user's password is a C string, as --user gives it */
    if (mock_static_hash(pwbuf, admin_n, users[0].static_hash) < 0 ||
        mock_static_hash("guest", 5, users[1].static_hash) < 0)
        abort();
    char want_hash[65];
    ref_hash(pwbuf, admin_n, want_hash);
    if (strcmp(want_hash, users[0].static_hash) != 0)
        abort(); /* the static hash is not SHA-256(password + salt) */
    mock_config cfg = {.users = users, .nusers = 3};

    mock_gj_doc doc;
    memset(&doc, 0, sizeof doc);
    int rc = mock_gj_decode(&mock_gj_login_req, body, bn, 0, &doc);
    if (built && rc != MOCK_GJ_OK && !(rc == MOCK_GJ_EGO && fn[0] == 0))
        abort(); /* a well-formed body refused, other than for the required name */
    if (rc == MOCK_GJ_OK) {
        const mock_gj_str *name = &doc.v[0].s, *pw = &doc.v[1].s;
        if (name->n == 0)
            abort(); /* binding:"required" let an empty name through */
        if (built)
            for (int k = 0; k < 3; k++)
                if (doc.v[k].s.n != fn[k] || (fn[k] > 0 && memcmp(doc.v[k].s.p, f[k], fn[k]) != 0))
                    abort(); /* bound other bytes than the body holds */
        /* The route's view: each string a C string with its length beside it (api.c). */
        char *ns = strndup(name->p, name->n), *ps = strndup(pw->p != NULL ? pw->p : "", pw->n);
        if (ns == NULL || ps == NULL)
            abort();
        char h[65];
        const char *hash = ps;
        size_t hash_n = pw->n;
        if (!hashed) {
            if (mock_static_hash(ps, strlen(ps), h) < 0)
                abort();
            hash = h;
            hash_n = strlen(ps) == pw->n ? 64 : 65;
        }
        const mock_user *u;
        mock_login_verdict v = mock_user_login(&cfg, ns, name->n, hash, hash_n, &u);

        const mock_user *want_u = NULL;
        for (int i = 0; i < 3; i++)
            if (strlen(users[i].name) == name->n && memcmp(users[i].name, name->p, name->n) == 0)
                want_u = &users[i];
        mock_login_verdict want = MOCK_LOGIN_NO_USER;
        if (want_u != NULL) {
            char ref[65] = "";
            if (want_u->has_password)
                ref_hash(want_u == &users[0] ? pwbuf : "guest", want_u == &users[0] ? admin_n : 5,
                         ref);
            int ok;
            if (hashed) {
                ok = want_u->has_password && pw->n == 64 && memcmp(pw->p, ref, 64) == 0;
                want = pw->n == 0 ? MOCK_LOGIN_EMPTY : ok ? MOCK_LOGIN_OK : MOCK_LOGIN_WRONG;
            } else {
                const char *real = want_u == &users[0] ? pwbuf : "guest";
                ok = want_u->has_password && strlen(real) == pw->n &&
                     memcmp(real, pw->p != NULL ? pw->p : "", pw->n) == 0;
                want = ok ? MOCK_LOGIN_OK : MOCK_LOGIN_WRONG;
            }
        }
        if (v != want || u != want_u)
            abort(); /* logged in, or refused, otherwise than Go would */
        free(ns);
        free(ps);
    }
    mock_gj_done(&doc);
    free(body);
    return 0;
}
