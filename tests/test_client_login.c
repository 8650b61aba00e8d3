/*
 * Logging in with -u (and sp_set_login/sp_login), against scripted servers that answer with
 * OpenList's exact bytes: each password source (file, environment, a prompt on a pty with echo
 * off), the login request and its hash, refusals (401, 402 and --otp, 429, AList's 400), the
 * login and upload sharing one connection when they can, a refused token replaced by one fresh
 * login, and no secret in -v output, messages, or the running client's /proc files. Then the
 * same end to end against streamput-mock's users (--user, --otp-secret, --token-expires).
 *
 * OpenList sources cited: OL = OpenListTeam/OpenList 0b1e9d09; AL = AList v3.45.0.
 */
#include "th.h"
#include "streamput.h"

#include <check.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* OL server/handles/auth.go:43-82 through common.go:79-122: every answer is HTTP 200, the
 * envelope's code says what happened. */
#define OL_BAD_LOGIN "{\"code\":401,\"message\":\"Invalid username or password\",\"data\":null}"
#define OL_BAD_OTP   "{\"code\":402,\"message\":\"Invalid 2FA code\",\"data\":null}"
/* OL internal/model/user.go:28, sent by handles/auth.go:47-50. */
#define OL_LOCKED                                                                                  \
    "{\"code\":429,\"message\":\"Too many unsuccessful sign-in attempts have been made using an "  \
    "incorrect username or password, Try again later.\",\"data\":null}"
/* AL server/handles/auth.go:69-72 with internal/errs/user.go:8. */
#define AL_BAD_PASSWORD "{\"code\":400,\"message\":\"password is incorrect\",\"data\":null}"
/* OL server/common/auth.go:45-47 and :52-53, through middlewares/auth.go:49-54. */
#define OL_EXPIRED     "{\"code\":401,\"message\":\"token is expired\",\"data\":null}"
#define OL_INVALIDATED "{\"code\":401,\"message\":\"token is invalidated\",\"data\":null}"

/* How the scripted OpenList answers, request after request, over every connection. */
typedef struct plan {
    const char *login[4]; /* the envelope for the nth login; NULL: success with token "tok<n>" */
    const char *put[4];   /* the envelope for the nth upload; NULL: success */
    const char *token;    /* the token of a successful login instead of "tok<n>" */
    int early;            /* the first `early` uploads expecting 100-continue are answered unread */
    int close_login;      /* the login's answer ends the connection */
    const char *junk;     /* bytes sent right after the login's answer */
    int hold_ms;          /* the wait before a login's answer */
} plan;

static char *dir;
static char *src;     /* 3000 bytes: small enough for no Expect */
static char *pwfile;  /* "secret\n", mode 0600 */
static char base[96]; /* "http://127.0.0.1:PORT" of the current server */
static char put_url[160];

static void setup(void)
{
    dir = th_tmpdir();
    ck_assert_ptr_nonnull(dir);
    src = strdup(th_path(dir, "src.bin"));
    ck_assert_int_eq(th_write_random(src, 3000, 1), 0);
    pwfile = strdup(th_path(dir, "pw"));
    ck_assert_int_eq(th_write_pattern(pwfile, "secret\n", 7, 7), 0);
    ck_assert_int_eq(chmod(pwfile, 0600), 0);
    unsetenv("STREAMPUT_PASSWORD");
    unsetenv("STREAMPUT_TOKEN");
}

static void teardown(void)
{
    free(src);
    free(pwfile);
    th_rmtree(dir);
}

/* AList's static hash (OL internal/model/user.go:24, :235-237), computed here in one shot. */
static const char *static_hash(const char *password)
{
    static char hex[65];
    char in[256];
    unsigned char d[32];
    unsigned n = 0;
    int len = snprintf(in, sizeof in, "%s-https://github.com/alist-org/alist", password);
    ck_assert(EVP_Digest(in, (size_t)len, d, &n, EVP_sha256(), NULL) == 1 && n == 32);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return hex;
}

/*
 * gin's JSON answer (render/json.go): HTTP 200, its Content-Type, a Content-Length; then junk,
 * if not NULL, in the same write, so that the client reads it with the answer.
 */
static void answer(int fd, const char *body, int close_it, const char *junk)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: %zu\r\n%s\r\n%s%s",
                     strlen(body), close_it ? "Connection: close\r\n" : "", body,
                     junk != NULL ? junk : "");
    ck_assert_int_lt(n, (int)sizeof msg);
    th_send_all(fd, msg, (size_t)n);
}

/*
 * The scripted OpenList: serves the requests of one connection in turn, and reports each as
 * "CONN:login auth=A body=JSON" or "CONN:put auth=A bytes=N complete=C".
 */
static void ol(int fd, int nth, void *arg)
{
    const plan *pl = arg;
    static int logins, puts; /* across connections: the server is one process */
    for (;;) {
        th_req q;
        int flags = TH_REQ_CONTINUE | (puts < pl->early ? TH_REQ_EARLY : 0);
        if (th_req_read(fd, &q, flags, 10000) <= 0)
            return;
        char auth[512];
        if (th_req_header(&q, "Authorization", auth, sizeof auth) == NULL)
            snprintf(auth, sizeof auth, "-");
        if (strstr(q.target, "/api/auth/login/hash") != NULL) {
            char ct[128] = "";
            th_req_header(&q, "Content-Type", ct, sizeof ct);
            th_script_report("%d:login %s auth=%s type=%s body=%s\n", nth, q.target, auth, ct,
                             q.body);
            if (pl->hold_ms > 0)
                poll(NULL, 0, pl->hold_ms);
            char ok[256];
            const char *says = logins < 4 ? pl->login[logins] : NULL;
            logins++;
            if (says == NULL) {
                char tok[64];
                snprintf(tok, sizeof tok, "tok%d", logins);
                /* OL handles/auth.go:80 with common.go:107-122. */
                snprintf(ok, sizeof ok,
                         "{\"code\":200,\"message\":\"success\",\"data\":{"
                         "\"token\":\"%s\"}}",
                         pl->token != NULL ? pl->token : tok);
                says = ok;
            }
            answer(fd, says, pl->close_login, pl->junk);
            if (pl->close_login)
                return;
            continue;
        }
        /* An upload whose body waits for a 100 that never comes is answered before it. */
        int unread = !q.complete;
        th_script_report("%d:put %s auth=%s bytes=%zu complete=%d\n", nth, q.target, auth,
                         q.body_len, q.complete);
        const char *says = puts < 4 ? pl->put[puts] : NULL;
        puts++;
        answer(fd, says != NULL ? says : TH_SUCCESS, unread, NULL);
        if (unread)
            return;
    }
}

/* Starts the scripted OpenList for up to conns connections, and the URLs toward it. */
static void start(th_script *s, const plan *pl, int conns)
{
    ck_assert_int_eq(th_script_start(s, ol, (void *)pl, conns), 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", s->port);
    snprintf(put_url, sizeof put_url, "%s/api/fs/put", base);
}

/* Stops it (it ends by itself once its connections are served) and returns its report. */
static const char *stop(th_script *s)
{
    static char out[8192];
    return th_script_stop(s, out, sizeof out, 3000);
}

/* How many times needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/*
 * Runs the scripted OpenList with pl for conns connections while the client, silent, uploads src
 * as alice with the password file, to put_url or (if path is not NULL) base + path, with one
 * more option and its value (both may be NULL). Returns the server's report.
 */
static const char *upload_as_alice(const plan *pl, int conns, th_run *r, const char *path,
                                   const char *opt, const char *val)
{
    th_script s;
    char u[192];
    start(&s, pl, conns);
    snprintf(u, sizeof u, "%s%s", path != NULL ? base : put_url, path != NULL ? path : "");
    th_client(r, "-s", "-u", "alice", "--password-file", pwfile, src, u, opt, val, NULL);
    return stop(&s);
}

/* The first line of what a run printed (the token of "streamput login"), into a static buffer. */
static const char *first_line(const char *out)
{
    static char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(out, "\n"), out);
    return line;
}

/* The login's JSON exactly as OL server/handles/auth.go:16-20 (LoginReq) names its fields. */
static const char *login_json(const char *user, const char *password, const char *otp)
{
    static char json[512];
    snprintf(json, sizeof json, "{\"username\":\"%s\",\"password\":\"%s\",\"otp_code\":\"%s\"}",
             user, static_hash(password), otp);
    return json;
}

START_TEST(password_file_logs_in_and_uploads_on_the_same_connection)
{
    plan pl = {.token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.x.y"};
    th_run r;
    const char *rep = upload_as_alice(&pl, 1, &r, NULL, NULL, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_str_eq(r.err, ""); /* mode 0600: no warning */
    char want[1024];
    snprintf(want, sizeof want,
             "0:login /api/auth/login/hash auth=- type=application/json body=%s\n"
             "0:put /api/fs/put auth=%s bytes=3000 complete=1\n",
             login_json("alice", "secret", ""), pl.token);
    ck_assert_str_eq(rep, want);
    ck_assert_ptr_null(strstr(rep, "\"secret\"")); /* the hash went out, never the password */
}
END_TEST

/* OL's own vector: sha256("admin-https://github.com/alist-org/alist"). */
START_TEST(password_is_sent_as_alists_static_hash)
{
    th_script s;
    plan pl = {0};
    start(&s, &pl, 1);
    const char *f = th_path(dir, "admin-pw");
    ck_assert_int_eq(th_write_pattern(f, "admin\r\nsecond line\n", 19, 19), 0);
    chmod(f, 0600);
    th_run r;
    th_client(&r, "-s", "-u", "admin", "--password-file", f, src, put_url, NULL);
    const char *rep = stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(rep, "\"password\":\"6fcb57cd10b2c11d765dcf16148d99130afd895082af83725ee8"
                              "bb181b1d2b0f\"") != NULL,
                  "%s", rep);
}
END_TEST

START_TEST(password_file_readable_by_others_gets_a_warning)
{
    th_script s;
    plan pl = {0};
    start(&s, &pl, 1);
    ck_assert_int_eq(chmod(pwfile, 0644), 0);
    th_run r;
    th_client(&r, "--no-progress", "-u", "alice", "--password-file", pwfile, src, put_url, NULL);
    stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "can be read by other users (mode 0644); chmod 600 it") != NULL,
                  "%s", r.err);
    th_client(&r, "--no-progress", "-u", "alice", "--password-file", th_path(dir, "none"), src,
              put_url, NULL);
    ck_assert_int_eq(r.status, 3);
    ck_assert_ptr_nonnull(strstr(r.err, "--password-file"));
}
END_TEST

/*
 * $STREAMPUT_PASSWORD is taken and wiped: while the client waits for the login's answer, neither
 * its environment nor its command line in /proc shows the password. A variable set beside it
 * shows that the environment is read at all.
 */
START_TEST(env_password_is_used_and_gone_from_proc)
{
    th_script s;
    plan pl = {.hold_ms = 1500};
    start(&s, &pl, 1);
    setenv("STREAMPUT_PASSWORD", "hunter2-env", 1);
    setenv("STREAMPUT_CANARY", "visible-canary", 1);
    th_proc p;
    ck_assert_int_eq(th_proc_client(&p, 0, "-s", "-u", "alice", src, put_url, NULL), 0);
    poll(NULL, 0, 700); /* well inside the login's 1.5 s */
    char env[65536], cmd[4096];
    long ne = th_proc_file(p.pid, "environ", env, sizeof env);
    long nc = th_proc_file(p.pid, "cmdline", cmd, sizeof cmd);
    th_run r;
    th_proc_wait(&p, &r, 20000);
    const char *rep = stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_gt(ne, 0);
    ck_assert_int_gt(nc, 0);
    ck_assert_ptr_nonnull(memmem(env, (size_t)ne, "visible-canary", 14));
    ck_assert_ptr_null(memmem(env, (size_t)ne, "hunter2", 7));
    ck_assert_ptr_nonnull(memmem(cmd, (size_t)nc, "alice", 5));
    ck_assert_ptr_null(memmem(cmd, (size_t)nc, "hunter2", 7));
    ck_assert_ptr_nonnull(strstr(rep, login_json("alice", "hunter2-env", "")));
}
END_TEST

/* The prompt on the controlling terminal: echo off while it waits, back on after. */
START_TEST(prompt_reads_the_password_with_echo_off)
{
    th_script s;
    plan pl = {0};
    start(&s, &pl, 1);
    th_proc p;
    ck_assert_int_eq(th_proc_client(&p, 1, "-s", "-u", "alice", src, put_url, NULL), 0);
    char screen[4096];
    size_t len = 0;
    ck_assert_msg(th_proc_pty_wait(&p, "Password for alice: ", screen, sizeof screen, &len, 10000),
                  "no prompt: '%s'", screen);
    struct termios t;
    ck_assert_int_eq(tcgetattr(p.tty, &t), 0);
    ck_assert_int_eq(t.c_lflag & ECHO, 0);
    ck_assert_int_ne(t.c_lflag & ICANON, 0);
    ck_assert_int_ne(t.c_lflag & ISIG, 0); /* Ctrl-C still interrupts */
    ck_assert_int_eq(write(p.pty, "typed-pw\n", 9), 9);
    th_proc_pty_wait(&p, "\n", screen, sizeof screen, &len, 5000);
    ck_assert_int_eq(tcgetattr(p.tty, &t), 0);
    int echo_after = (t.c_lflag & ECHO) != 0;
    th_run r;
    th_proc_wait(&p, &r, 20000);
    const char *rep = stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(echo_after, 1);
    ck_assert_msg(strstr(screen, "typed-pw") == NULL, "echoed: '%s'", screen);
    ck_assert_ptr_nonnull(strstr(rep, login_json("alice", "typed-pw", "")));
}
END_TEST

START_TEST(prompt_gives_the_terminal_back_on_sigint)
{
    th_proc p;
    ck_assert_int_eq(
        th_proc_client(&p, 1, "-u", "alice", src, "http://127.0.0.1:9/api/fs/put", NULL), 0);
    char screen[4096];
    size_t len = 0;
    ck_assert(th_proc_pty_wait(&p, "Password for alice: ", screen, sizeof screen, &len, 10000));
    struct termios t;
    ck_assert_int_eq(tcgetattr(p.tty, &t), 0);
    ck_assert_int_eq(t.c_lflag & ECHO, 0);
    ck_assert_int_eq(kill(p.pid, SIGINT), 0);
    for (int i = 0; i < 500 && th_alive(p.pid); i++)
        poll(NULL, 0, 10);
    ck_assert_int_eq(tcgetattr(p.tty, &t), 0); /* before th_proc_wait closes the pty */
    th_run r;
    th_proc_wait(&p, &r, 10000);
    ck_assert_int_eq(r.status, 128 + SIGINT);
    ck_assert_int_ne(t.c_lflag & ECHO, 0);
}
END_TEST

/* Without a terminal and without a password source there is nothing to ask: a usage error. */
START_TEST(no_password_source_without_a_terminal_is_a_usage_error)
{
    th_proc p;
    ck_assert_int_eq(
        th_proc_client(&p, 0, "-u", "alice", src, "http://127.0.0.1:9/api/fs/put", NULL), 0);
    th_run r;
    th_proc_wait(&p, &r, 10000);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "--password-file FILE or set STREAMPUT_PASSWORD") != NULL, "%s",
                  r.err);
}
END_TEST

START_TEST(password_on_the_command_line_is_refused)
{
    th_run r;
    th_client(&r, "-u", "alice:hunter2", src, "http://127.0.0.1:9/api/fs/put", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "can be read by every user of this host") != NULL, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "--password-file FILE or STREAMPUT_PASSWORD"));
    ck_assert_ptr_null(strstr(r.err, "hunter2"));
}
END_TEST

START_TEST(login_options_that_contradict_are_usage_errors)
{
    static const char *const u = "http://127.0.0.1:9/api/fs/put";
    th_run r;
    th_client(&r, "-u", "alice", "--password-file", pwfile, "-t", "tok", src, u, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "-u and --token (or -H 'Authorization: ...') exclude"));
    th_client(&r, "-u", "alice", "--password-file", pwfile, "-H", "authorization: x", src, u, NULL);
    ck_assert_int_eq(r.status, 2);
    th_client(&r, "--otp", "123456", src, u, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "--password-file and --otp go with -u NAME"));
    th_client(&r, "login", "http://127.0.0.1:9", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "login needs -u NAME"));
    /* A URL that is not AList's upload route leaves nowhere to find the login. */
    th_client(&r, "-u", "alice", "--password-file", pwfile, src, "http://127.0.0.1:9/upload/x",
              NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "is not AList's .../api/fs/put or .../api/fs/form") != NULL, "%s",
                  r.err);
}
END_TEST

/* A refused login is exit 7 with the server's words, and no upload is tried. */
static void refused_login(const char *answer_body, const char *says, const char *extra,
                          const char *value)
{
    plan pl = {.login = {answer_body}};
    th_run r;
    const char *rep = upload_as_alice(&pl, 1, &r, NULL, extra, value);
    ck_assert_msg(r.status == 7, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, says) != NULL, "want '%s' in: %s", says, r.err);
    ck_assert_int_eq(count(rep, ":login"), 1);
    ck_assert_int_eq(count(rep, ":put"), 0);
    ck_assert_ptr_null(strstr(r.err, "secret"));
    ck_assert_ptr_null(strstr(r.err, static_hash("secret")));
}

START_TEST(wrong_password_exits_7_with_the_servers_message)
{
    refused_login(OL_BAD_LOGIN, "streamput: login failed: code 401: Invalid username or password\n",
                  NULL, NULL);
    /* AList v3.45 says it with code 400. */
    refused_login(AL_BAD_PASSWORD, "streamput: login failed: code 400: password is incorrect\n",
                  NULL, NULL);
}
END_TEST

START_TEST(lockout_says_how_long_it_lasts)
{
    refused_login(OL_LOCKED,
                  "login failed: code 429: Too many unsuccessful sign-in attempts have been made "
                  "using an incorrect username or password, Try again later. (the server locks "
                  "sign-in from this address for about 5 minutes from the last attempt",
                  NULL, NULL);
}
END_TEST

START_TEST(two_factor_refusal_suggests_otp_and_otp_is_sent)
{
    refused_login(OL_BAD_OTP,
                  "login failed: code 402: Invalid 2FA code\n"
                  "streamput: the account has two-factor authentication: give the "
                  "current code with --otp CODE\n",
                  NULL, NULL);
    refused_login(OL_BAD_OTP, "the --otp code was refused: codes change every 30 seconds", "--otp",
                  "999999");
    plan pl = {0};
    th_run r;
    const char *rep = upload_as_alice(&pl, 1, &r, NULL, "--otp", "123456");
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(rep, login_json("alice", "secret", "123456")) != NULL, "%s", rep);
}
END_TEST

/* Where the login's answer ends the connection, or bytes follow it, the upload gets its own. */
START_TEST(upload_takes_a_new_connection_when_the_login_cannot_be_followed)
{
    static const plan plans[] = {{.close_login = 1}, {.junk = "HTTP/1.1 200 OK\r\n\r\n"}};
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        th_run r;
        const char *rep = upload_as_alice(&plans[i], 2, &r, NULL, NULL, NULL);
        ck_assert_msg(r.status == 0, "plan %zu: exit %d: %s", i, r.status, r.err);
        ck_assert_msg(strstr(rep, "0:login") != NULL && strstr(rep, "1:put") != NULL &&
                          strstr(rep, "0:put") == NULL,
                      "plan %zu: %s", i, rep);
        ck_assert_ptr_nonnull(strstr(rep, "1:put /api/fs/put auth=tok1 bytes=3000 complete=1"));
    }
}
END_TEST

/* AList under a site path (site_url): the login is found under the same prefix. */
START_TEST(login_keeps_the_site_path)
{
    plan pl = {0};
    th_run r;
    const char *rep = upload_as_alice(&pl, 1, &r, "/alist/api/fs/form?x=1", NULL, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(rep, "0:login /alist/api/auth/login/hash ") != NULL, "%s", rep);
    ck_assert_ptr_nonnull(strstr(rep, "0:put /alist/api/fs/form?x=1 auth=tok1"));
}
END_TEST

/* A token that expires mid-run: one fresh login, the upload once more, on a new connection. */
START_TEST(refused_token_logs_in_again_once)
{
    plan pl = {.put = {OL_EXPIRED}};
    th_run r;
    const char *rep = upload_as_alice(&pl, 2, &r, NULL, NULL, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(rep, "0:put /api/fs/put auth=tok1 bytes=3000") != NULL &&
                      strstr(rep, "1:login") != NULL &&
                      strstr(rep, "1:put /api/fs/put auth=tok2 bytes=3000 complete=1") != NULL,
                  "%s", rep);
    ck_assert_int_eq(count(rep, ":login"), 2);
}
END_TEST

START_TEST(second_refused_token_fails)
{
    plan pl = {.put = {OL_INVALIDATED, OL_INVALIDATED}};
    th_run r;
    const char *rep = upload_as_alice(&pl, 2, &r, NULL, NULL, NULL);
    ck_assert_int_eq(r.status, 7);
    ck_assert_msg(strstr(r.err, "server answered code 401: token is invalidated (the token of a "
                                "fresh login was refused too)") != NULL,
                  "%s", r.err);
    ck_assert_int_eq(count(rep, ":login"), 2);
    ck_assert_int_eq(count(rep, ":put"), 2);
}
END_TEST

/* A static token is the caller's: a refusal is final, no login is tried. */
START_TEST(static_token_refused_is_not_replaced)
{
    th_script s;
    plan pl = {.put = {OL_EXPIRED}};
    start(&s, &pl, 1);
    th_run r;
    th_client(&r, "-s", "-t", "static-tok", src, put_url, NULL);
    const char *rep = stop(&s);
    ck_assert_int_eq(r.status, 7);
    ck_assert_ptr_nonnull(strstr(r.err, "server answered code 401: token is expired"));
    ck_assert_int_eq(count(rep, ":login"), 0);
    ck_assert_ptr_nonnull(strstr(rep, "auth=static-tok"));
}
END_TEST

/*
 * Standard input can be sent again only if none of it went out: a token refused once the body
 * was taken fails with a message; one refused at the head (Expect: 100-continue unanswered) is
 * replaced and the stream sent whole.
 */
START_TEST(stream_is_sent_again_only_if_it_had_not_begun)
{
    char *argv[] = {TH_BIN_DIR "/streamput",
                    "-s",
                    "-u",
                    "alice",
                    "--password-file",
                    pwfile,
                    "-p",
                    "/in.bin",
                    "-",
                    put_url,
                    NULL};
    const char *fifo = th_path(dir, "fifo");
    th_script s;
    plan late = {.put = {OL_EXPIRED}};
    start(&s, &late, 1);
    th_run r;
    th_run_piped(&r, argv, src, fifo, 20000);
    const char *rep = stop(&s);
    ck_assert_int_eq(r.status, 7);
    ck_assert_msg(strstr(r.err, "token is expired (not sent again after a fresh login: the input "
                                "is a stream that had begun to go out") != NULL,
                  "%s", r.err);
    ck_assert_int_eq(count(rep, ":login"), 1);

    plan early = {.put = {OL_EXPIRED}, .early = 1};
    start(&s, &early, 2);
    th_run_piped(&r, argv, src, fifo, 20000);
    rep = stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_msg(strstr(rep, "0:put /api/fs/put auth=tok1 bytes=0 complete=0") != NULL &&
                      strstr(rep, "1:put /api/fs/put auth=tok2 bytes=3000 complete=1") != NULL,
                  "%s", rep);
}
END_TEST

START_TEST(verbose_output_shows_no_secret)
{
    th_script s;
    plan pl = {.token = "tok-SECRET-4f2a"};
    start(&s, &pl, 1);
    th_run r;
    th_client(&r, "-v", "--no-progress", "-u", "alice", "--password-file", pwfile, src, put_url,
              NULL);
    stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "> POST /api/auth/login/hash HTTP/1.1\n"));
    ck_assert_ptr_nonnull(strstr(r.err, "> Content-Type: application/json\n"));
    ck_assert_ptr_nonnull(strstr(r.err, "> Authorization: <redacted>\n"));
    ck_assert_ptr_nonnull(strstr(r.err, "* Re-using the login's connection"));
    ck_assert_ptr_null(strstr(r.err, "secret"));
    ck_assert_ptr_null(strstr(r.err, static_hash("secret")));
    ck_assert_ptr_null(strstr(r.err, "SECRET"));
    ck_assert_ptr_null(strstr(r.err, "otp_code"));
}
END_TEST

/* "streamput login" prints the token alone, for STREAMPUT_TOKEN=$(streamput login ...). */
START_TEST(login_subcommand_prints_the_token_alone)
{
    static const char *const paths[] = {"", "/", "/api/fs/put", "/api/auth/login/hash"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        th_script s;
        plan pl = {0};
        start(&s, &pl, 1);
        char u[192];
        snprintf(u, sizeof u, "%s%s", base, paths[i]);
        th_run r;
        th_client(&r, "login", u, "-u", "alice", "--password-file", pwfile, NULL);
        const char *rep = stop(&s);
        ck_assert_msg(r.status == 0, "%s: exit %d: %s", u, r.status, r.err);
        ck_assert_str_eq(r.out, "tok1\n");
        ck_assert_str_eq(r.err, "");
        ck_assert_msg(strstr(rep, "0:login /api/auth/login/hash auth=-") != NULL, "%s", rep);
    }
    th_script s;
    plan pl = {0};
    start(&s, &pl, 1);
    th_run r;
    th_client(&r, "login", base, "-u", "alice", "--password-file", pwfile, "--otp", "000111", NULL);
    const char *rep = stop(&s);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(rep, login_json("alice", "secret", "000111")));
    /* The token it printed, from the environment, is the upload's Authorization. */
    plan up = {0};
    start(&s, &up, 1);
    setenv("STREAMPUT_TOKEN", first_line(r.out), 1);
    th_client(&r, "-s", src, put_url, NULL);
    rep = stop(&s);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(rep, "0:put /api/fs/put auth=tok1"));
    ck_assert_int_eq(count(rep, ":login"), 0);
    /* A site path that cannot be told from an API route is refused before any request. */
    th_client(&r, "login", "http://127.0.0.1:9/api/fs/list", "-u", "alice", "--password-file",
              pwfile, NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "cannot tell the site from the path /api/fs/list"));
}
END_TEST

/* The library: sp_login keeps the token for the uploads that follow; a refusal is SP_ELOGIN. */
START_TEST(library_login_keeps_the_token_for_uploads)
{
    th_script s;
    plan pl = {.login = {OL_BAD_LOGIN}};
    start(&s, &pl, 4);
    sp_client *c = sp_client_new();
    ck_assert_int_eq(sp_login(c, base), SP_EINVAL); /* no login set */
    ck_assert_int_eq(sp_set_login(c, "alice", "wrong"), SP_OK);
    ck_assert_int_eq(sp_login(c, base), SP_ELOGIN);
    long code = 0;
    const char *msg = NULL, *tok = NULL;
    sp_getinfo(c, SP_INFO_API_CODE, &code);
    sp_getinfo(c, SP_INFO_MESSAGE, &msg);
    ck_assert_int_eq(code, 401);
    ck_assert_str_eq(msg, "Invalid username or password");
    ck_assert_str_eq(sp_errmsg(c), "login failed: code 401: Invalid username or password");
    ck_assert_int_eq(sp_set_login(c, "alice", "secret"), SP_OK);
    ck_assert_msg(sp_login(c, base) == SP_OK, "%s", sp_errmsg(c));
    sp_getinfo(c, SP_INFO_TOKEN, &tok);
    ck_assert_str_eq(tok, "tok2");
    size_t blen = 9;
    sp_response_body(c, &blen);
    ck_assert_uint_eq(blen, 0); /* the answer held the token */
    ck_assert_int_eq(sp_put_file(c, src, put_url), SP_OK);
    ck_assert_int_eq(sp_put_file(c, src, put_url), SP_OK);
    /* Forgetting the login forgets its token. */
    ck_assert_int_eq(sp_set_login(c, NULL, NULL), SP_OK);
    sp_getinfo(c, SP_INFO_TOKEN, &tok);
    ck_assert_str_eq(tok, "");
    sp_client_free(c);
    const char *rep = stop(&s);
    ck_assert_int_eq(count(rep, ":login"), 2);
    ck_assert_int_eq(count(rep, "auth=tok2 bytes=3000"), 2);
}
END_TEST

/* ---- End to end: streamput-mock's logins, as OpenList's (and AList's with --profile). ---- */

/* Bob's 2FA secret: "Hello!\xde\xad\xbe\xef" in base32. */
#define BOB_OTP "JBSWY3DPEHPK3PXP"

static th_env env;
static char *bad; /* "wrong\n", mode 0600 */

static void mock_setup(void)
{
    setup();
    th_env_init(&env);
    bad = strdup(th_path(dir, "bad"));
    ck_assert_int_eq(th_write_pattern(bad, "wrong\n", 6, 6), 0);
    ck_assert_int_eq(chmod(bad, 0600), 0);
}

static void mock_teardown(void)
{
    free(bad);
    th_env_free(&env);
    teardown();
}

/* Journal entries for path (NULL: any), and how many of them user (NULL: any) made. */
static int journal_count(int port, const char *path, const char *user)
{
    cJSON *all = th_journal(port);
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, all)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "user");
        n += (path == NULL || (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0)) &&
             (user == NULL || (cJSON_IsString(u) && strcmp(u->valuestring, user) == 0));
    }
    cJSON_Delete(all);
    return n;
}

/* The client uploads src to the mock as user with the password file pw, File-Path fp. */
static void mock_upload(th_run *r, const th_mock *m, const char *user, const char *pw,
                        const char *fp, const char *opt, const char *val)
{
    char u[192];
    snprintf(u, sizeof u, "%s/api/fs/put", m->url);
    th_client(r, "-v", "--no-progress", "-u", user, "--password-file", pw, "-p", fp, src, u, opt,
              val, NULL);
}

START_TEST(mock_login_uploads_on_one_connection_as_the_user)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--user", "alice:secret", NULL), 0);
    th_run r;
    mock_upload(&r, &m, "alice", pwfile, "/a.bin", NULL, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "* Re-using the login's connection"));
    ck_assert_ptr_null(strstr(r.err, "secret"));
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "a.bin")), 1);
    ck_assert(th_journal_wait(&m, "/a.bin", 5000));
    ck_assert_int_eq(journal_count(m.port, "/api/auth/login/hash", NULL), 1);
    ck_assert_int_eq(journal_count(m.port, "/api/fs/put", "alice"), 1);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

START_TEST(mock_refusals_are_exit_7_with_each_profiles_text)
{
    static const struct {
        const char *profile, *says;
    } cases[] = {
        {"openlist", "streamput: login failed: code 401: Invalid username or password\n"},
        {"alist", "streamput: login failed: code 400: password is incorrect\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_mock m;
        ck_assert_int_eq(th_mock_start(&m, env.root, "--profile", cases[i].profile, "--user",
                                       "alice:secret", NULL),
                         0);
        th_run r;
        mock_upload(&r, &m, "alice", bad, "/no.bin", NULL, NULL);
        ck_assert_int_eq(r.status, 7);
        ck_assert_msg(strstr(r.err, cases[i].says) != NULL, "%s: %s", cases[i].profile, r.err);
        ck_assert_int_eq(journal_count(m.port, "/api/fs/put", NULL), 0);
        ck_assert_int_eq(th_mock_stop(&m), 0);
    }
    ck_assert(!th_exists(th_path(env.root, "no.bin")));
}
END_TEST

START_TEST(mock_two_factor_needs_the_current_code)
{
    th_mock m;
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--user", "bob:secret", "--otp-secret", "bob:" BOB_OTP, NULL),
        0);
    th_run r;
    mock_upload(&r, &m, "bob", pwfile, "/b.bin", NULL, NULL);
    ck_assert_int_eq(r.status, 7);
    ck_assert_msg(strstr(r.err, "code 402: Invalid 2FA code\nstreamput: the account has "
                                "two-factor authentication") != NULL,
                  "%s", r.err);
    char code[7];
    th_totp((const unsigned char *)"Hello!\xde\xad\xbe\xef", 10, (int64_t)time(NULL), code);
    mock_upload(&r, &m, "bob", pwfile, "/b.bin", "--otp", code);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_null(strstr(r.err, code)); /* -v does not show the body */
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "b.bin")), 1);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* OpenList's lock: after 5 failures the 6th try is refused even with the right password. */
START_TEST(mock_lockout_is_explained)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--user", "alice:secret", NULL), 0);
    th_run r;
    for (int i = 0; i < 5; i++) {
        mock_upload(&r, &m, "alice", bad, "/l.bin", NULL, NULL);
        ck_assert_int_eq(r.status, 7);
        ck_assert_ptr_nonnull(strstr(r.err, "code 401"));
    }
    mock_upload(&r, &m, "alice", pwfile, "/l.bin", NULL, NULL);
    ck_assert_int_eq(r.status, 7);
    ck_assert_msg(strstr(r.err, "login failed: code 429: Too many unsuccessful sign-in attempts") !=
                          NULL &&
                      strstr(r.err, "about 5 minutes from the last attempt") != NULL,
                  "%s", r.err);
    ck_assert_int_eq(journal_count(m.port, "/api/auth/login/hash", NULL), 6);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/*
 * A token that expires while a handle goes on: the next upload is refused (401 token is
 * expired), logs in once more and is stored. The same token given as a static one is final.
 */
START_TEST(mock_expired_token_is_replaced_by_one_login)
{
    th_mock m;
    /* 0.0005 hours: 1.8 s. */
    ck_assert_int_eq(
        th_mock_start(&m, env.root, "--user", "alice:secret", "--token-expires", "0.0005", NULL),
        0);
    char u[192];
    snprintf(u, sizeof u, "%s/api/fs/put", m.url);
    th_run r;
    th_client(&r, "login", m.url, "-u", "alice", "--password-file", pwfile, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    char token[1024];
    snprintf(token, sizeof token, "%s", first_line(r.out));
    ck_assert_int_gt(strlen(token), 20);

    sp_client *c = sp_client_new();
    ck_assert_int_eq(sp_set_login(c, "alice", "secret"), SP_OK);
    ck_assert_int_eq(sp_set_remote_path(c, "/e1.bin"), SP_OK);
    ck_assert_msg(sp_put_file(c, src, u) == SP_OK, "%s", sp_errmsg(c));
    th_sleep_ms(2500);
    ck_assert_int_eq(sp_set_remote_path(c, "/e2.bin"), SP_OK);
    ck_assert_msg(sp_put_file(c, src, u) == SP_OK, "%s", sp_errmsg(c));
    long attempts = 0;
    sp_getinfo(c, SP_INFO_ATTEMPTS, &attempts);
    ck_assert_int_eq(attempts, 2);
    sp_client_free(c);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "e2.bin")), 1);
    /* The CLI's login, then the library's first and its one fresh login. */
    ck_assert_int_eq(journal_count(m.port, "/api/auth/login/hash", NULL), 3);

    setenv("STREAMPUT_TOKEN", token, 1);
    th_client(&r, "-s", "-p", "/e3.bin", src, u, NULL);
    ck_assert_int_eq(r.status, 7);
    ck_assert_ptr_nonnull(strstr(r.err, "server answered code 401: token is expired"));
    ck_assert_int_eq(journal_count(m.port, "/api/auth/login/hash", NULL), 3);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

/* The printed token, from the environment, is what the next upload authenticates with. */
START_TEST(mock_login_subcommand_token_uploads)
{
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--user", "alice:secret", NULL), 0);
    th_run r;
    th_client(&r, "login", m.url, "-u", "alice", "--password-file", pwfile, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(count(r.out, "\n"), 1);
    setenv("STREAMPUT_TOKEN", first_line(r.out), 1);
    char u[192];
    snprintf(u, sizeof u, "%s/api/fs/put", m.url);
    th_client(&r, "-s", "-p", "/t.bin", src, u, NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "t.bin")), 1);
    ck_assert_int_eq(journal_count(m.port, "/api/fs/put", "alice"), 1);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST

#ifdef TH_HAVE_TLS
/* Over https:// the login and the upload share the TLS session's connection too. */
START_TEST(mock_login_over_tls_shares_the_connection)
{
    const char *cert = th_path(dir, "cert.pem");
    th_mock m;
    ck_assert_int_eq(th_mock_start(&m, env.root, "--tls-self-signed", "--tls-cert-out", cert,
                                   "--user", "alice:secret", NULL),
                     0);
    th_run r;
    mock_upload(&r, &m, "alice", pwfile, "/s.bin", "--cacert", cert);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "* Re-using the login's connection"));
    ck_assert_int_eq(count(r.err, "* Connected to"), 1);
    ck_assert_int_eq(th_files_equal(src, th_path(env.root, "s.bin")), 1);
    ck_assert_int_eq(th_mock_stop(&m), 0);
}
END_TEST
#endif

int main(void)
{
    Suite *s = suite_create("client_login");
    TCase *t = tcase_create("login");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, password_file_logs_in_and_uploads_on_the_same_connection);
    tcase_add_test(t, password_is_sent_as_alists_static_hash);
    tcase_add_test(t, password_file_readable_by_others_gets_a_warning);
    tcase_add_test(t, env_password_is_used_and_gone_from_proc);
    tcase_add_test(t, prompt_reads_the_password_with_echo_off);
    tcase_add_test(t, prompt_gives_the_terminal_back_on_sigint);
    tcase_add_test(t, no_password_source_without_a_terminal_is_a_usage_error);
    tcase_add_test(t, password_on_the_command_line_is_refused);
    tcase_add_test(t, login_options_that_contradict_are_usage_errors);
    tcase_add_test(t, wrong_password_exits_7_with_the_servers_message);
    tcase_add_test(t, lockout_says_how_long_it_lasts);
    tcase_add_test(t, two_factor_refusal_suggests_otp_and_otp_is_sent);
    tcase_add_test(t, upload_takes_a_new_connection_when_the_login_cannot_be_followed);
    tcase_add_test(t, login_keeps_the_site_path);
    tcase_add_test(t, refused_token_logs_in_again_once);
    tcase_add_test(t, second_refused_token_fails);
    tcase_add_test(t, static_token_refused_is_not_replaced);
    tcase_add_test(t, stream_is_sent_again_only_if_it_had_not_begun);
    tcase_add_test(t, verbose_output_shows_no_secret);
    tcase_add_test(t, login_subcommand_prints_the_token_alone);
    tcase_add_test(t, library_login_keeps_the_token_for_uploads);
    suite_add_tcase(s, t);
    TCase *e = tcase_create("mock");
    tcase_add_checked_fixture(e, mock_setup, mock_teardown);
    tcase_set_timeout(e, 60);
    tcase_add_test(e, mock_login_uploads_on_one_connection_as_the_user);
    tcase_add_test(e, mock_refusals_are_exit_7_with_each_profiles_text);
    tcase_add_test(e, mock_two_factor_needs_the_current_code);
    tcase_add_test(e, mock_lockout_is_explained);
    tcase_add_test(e, mock_expired_token_is_replaced_by_one_login);
    tcase_add_test(e, mock_login_subcommand_token_uploads);
#ifdef TH_HAVE_TLS
    tcase_add_test(e, mock_login_over_tls_shares_the_connection);
#endif
    suite_add_tcase(s, e);
    return th_run_suite(s);
}
