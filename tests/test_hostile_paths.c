/*
 * streamput-mock against hostile File-Paths, in both --profile alist and openlist: ".." in every
 * spelling (percent-encoded, backslashes, mixed), NUL bytes, bad escapes, look-alikes, paths past
 * NAME_MAX and PATH_MAX, and symlinks or hard links planted in the root that lead out of it.
 * Each gets AList's exact answer or a clean refusal, and nothing is ever written outside --root:
 * the whole scratch tree outside the root is listed before and after, and every ancestor of the
 * root is checked for the escape file's unique name. A negative control shows both checks fire.
 *
 *   ctest --test-dir build -R test_hostile_paths      (a few seconds; no long form)
 */
#include "th.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* errs.RelativePath in each profile (OpenList shortened AList's text). */
#define REL "{\"code\":403,\"message\":\"using relative path is not allowed\",\"data\":null}"
#define REL_AL                                                                                     \
    "{\"code\":403,\"message\":\"access using relative path is not allowed\",\"data\":null}"
#define NUL                                                                                        \
    "{\"code\":400,\"message\":\"invalid File-Path: %00 decodes to a NUL byte\",\"data\":null}"
#define DENIED "{\"code\":403,\"message\":\"permission denied\",\"data\":null}"
#define RESERVED                                                                                   \
    "{\"code\":403,\"message\":\"File-Path uses the reserved name prefix " TH_TMP_PREFIX " "       \
    "(streamput-mock's temp files carry it); choose another name\",\"data\":null}"

static th_jail jail; /* everything the test may touch: the root and its sibling outside */
static char *scratch, *root, *outside, *before; /* jail's parts, by their old names */
static char esc[64];                            /* the unique name every escape attempt aims for */
static th_mock ol, al;                          /* --profile openlist and alist on the same root */

static void setup(void)
{
    th_jail_init(&jail);
    scratch = jail.dir;
    root = jail.root;
    outside = jail.outside;
    before = jail.before;
    snprintf(esc, sizeof esc, "escape-%d-%ld.txt", (int)getpid(), (long)th_now_ms());
    ck_assert_int_eq(th_mock_start(&ol, root, NULL), 0);
    ck_assert_int_eq(th_mock_start(&al, root, "--profile", "alist", NULL), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(th_mock_stop(&ol), 0);
    ck_assert_int_eq(th_mock_stop(&al), 0);
    th_jail_free(&jail);
}

/* The first ancestor of the root, up to "/", that holds a file named esc; NULL if none. */
static const char *escaped_to(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", root);
    for (char *slash; (slash = strrchr(dir, '/')) != NULL;) {
        *slash = '\0';
        const char *d = dir[0] != '\0' ? dir : "/";
        if (th_exists(th_path(d, esc)))
            return d;
        if (dir[0] == '\0')
            break;
    }
    return NULL;
}

/* Nothing appeared outside the root: not in the scratch tree, not in any ancestor of it. */
static void assert_nothing_escaped(void)
{
    th_assert_listing(before, scratch, root);
    const char *d = escaped_to();
    ck_assert_msg(d == NULL, "%s/%s was written", d, esc);
}

/* A PUT of body to the raw File-Path fp, however long, with extra header lines. */
static int upload(int port, const char *fp, const char *headers, const char *body, th_resp *r)
{
    size_t cap = strlen(fp) + strlen(headers) + strlen(body) + 256;
    char *req = malloc(cap);
    ck_assert_ptr_nonnull(req);
    int n = snprintf(req, cap,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "File-Path: %s\r\n%sContent-Length: %zu\r\n\r\n%s",
                     fp, headers, strlen(body), body);
    int status = th_raw(port, req, (size_t)n, r);
    free(req);
    return status;
}

/* fmt with every '@' replaced by the escape name, into a static buffer. */
static const char *with_esc(const char *fmt)
{
    static char out[4096];
    size_t w = 0;
    for (const char *p = fmt; *p != '\0' && w + sizeof esc < sizeof out; p++) {
        if (*p == '@')
            w += (size_t)snprintf(out + w, sizeof out - w, "%s", esc);
        else
            out[w++] = *p;
    }
    out[w] = '\0';
    return out;
}

/*
 * Uploads body to the raw File-Path fp and checks the answer: want is either the exact JSON of a
 * refusal, or "=REL" for a success that must land at root/REL (removed again afterwards, so that
 * no later case can pass on an earlier case's file).
 */
static void expect_path(const th_mock *m, const char *fp, const char *want, const char *body)
{
    static th_resp r;
    ck_assert_int_eq(upload(m->port, fp, "", body, &r), 200);
    if (want[0] != '=') {
        ck_assert_msg(strcmp(r.body, want) == 0, "File-Path %s (port %d): %s", fp, m->port, r.body);
        return;
    }
    ck_assert_msg(strcmp(r.body, TH_SUCCESS) == 0, "File-Path %s: %s", fp, r.body);
    char at[4096];
    snprintf(at, sizeof at, "%s", th_path(root, want + 1));
    /* A regular file of its own: not a link the body was written through. */
    struct stat st;
    ck_assert_msg(lstat(at, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1,
                  "File-Path %s: %s is not a new regular file", fp, want + 1);
    char got[256] = "";
    FILE *f = fopen(at, "rb");
    ck_assert_msg(f != NULL, "File-Path %s: nothing at %s", fp, want + 1);
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = '\0';
    ck_assert_str_eq(got, body);
    ck_assert_int_eq(unlink(at), 0);
}

/* One File-Path spelling and what each profile must answer (see expect_path; '@' = esc). */
typedef struct spelling {
    const char *fp;
    const char *openlist;
    const char *alist;
} spelling;

static const spelling spellings[] = {
    /* Plain "..": refused by both. */
    {"..", REL, REL_AL},
    {"../@", REL, REL_AL},
    {"/../@", REL, REL_AL},
    {"./../@", REL, REL_AL},
    {"a/./../../@", REL, REL_AL},
    {"/a/b/../../../@", REL, REL_AL},
    {"/../../../../../../../../../../../../../../../../@", REL, REL_AL},
    {"///..//@", REL, REL_AL},
    {"/x/..", REL, REL_AL},
    /* Percent-encoded dots and slashes, decoded once before the check. */
    {"%2e%2e/@", REL, REL_AL},
    {"%2E%2E%2F@", REL, REL_AL},
    {"..%2f@", REL, REL_AL},
    {"..%2F..%2F..%2F@", REL, REL_AL},
    {"%2e%2e%2f@", REL, REL_AL},
    {"/x/..%2f", REL, REL_AL},
    /* Backslashes: OpenList sees the "..", AList only '/'-delimited ones, and then turns '\' into
     * '/' and cleans, so the ".." is absorbed at the root: stored inside, as real AList does. */
    {"..\\@", REL, "=@"},
    {"\\..\\@", REL, "=@"},
    {"a\\..\\..\\@", REL, "=@"},
    {"..\\..\\..\\..\\@", REL, "=@"},
    {"%5c..%5c@", REL, "=@"},
    {"%2e%2e%5c@", REL, "=@"},
    {"/a/..%5c..%5c@", REL, "=@"},
    /* NUL bytes are refused rather than truncated. */
    {"@%00.txt", NUL, NUL},
    {"/..%00/@", NUL, NUL},
    {"%00/../@", NUL, NUL},
    {"/ok/@%00", NUL, NUL},
    /* Malformed escapes: url.PathUnescape's error. */
    {"%zz/../@", "{\"code\":400,\"message\":\"invalid URL escape \\\"%zz\\\"\",\"data\":null}",
     "{\"code\":400,\"message\":\"invalid URL escape \\\"%zz\\\"\",\"data\":null}"},
    {"..%2", "{\"code\":400,\"message\":\"invalid URL escape \\\"%2\\\"\",\"data\":null}",
     "{\"code\":400,\"message\":\"invalid URL escape \\\"%2\\\"\",\"data\":null}"},
    /* Look-alikes are ordinary names and land where they say, inside the root. */
    {"....//@", "=..../@", "=..../@"},
    {"/.../@", "=.../@", "=.../@"},
    {"/a..b/@", "=a..b/@", "=a..b/@"},
    {"%252e%252e%252f@", "=%2e%2e%2f@", "=%2e%2e%2f@"},
    {"%EF%BC%8E%EF%BC%8E/@", "=\xef\xbc\x8e\xef\xbc\x8e/@", "=\xef\xbc\x8e\xef\xbc\x8e/@"},
    {"%c0%ae%c0%ae/@", "=\xc0\xae\xc0\xae/@", "=\xc0\xae\xc0\xae/@"},
};

START_TEST(every_dotdot_spelling_is_refused_or_stays_inside)
{
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char fp[4096], body[64];
        snprintf(fp, sizeof fp, "%s", with_esc(spellings[i].fp));
        snprintf(body, sizeof body, "openlist case %zu", i);
        expect_path(&ol, fp, with_esc(spellings[i].openlist), body);
        snprintf(body, sizeof body, "alist case %zu", i);
        expect_path(&al, fp, with_esc(spellings[i].alist), body);
    }
    th_assert_no_temps(root);
    assert_nothing_escaped();
}
END_TEST

/* "/" + n copies of c. */
static const char *long_name(char c, size_t n)
{
    static char out[1 << 17];
    ck_assert_uint_lt(n + 1, sizeof out);
    out[0] = '/';
    memset(out + 1, c, n);
    out[n + 1] = '\0';
    return out;
}

/* 1 if body is a code-500 "failed to put [...]: <reason>" answer (the path may be shortened). */
static int put_failed(const char *body)
{
    static const char head[] = "{\"code\":500,\"message\":\"failed to put [/";
    return strncmp(body, head, sizeof head - 1) == 0 && strstr(body, "\"data\":null}") != NULL;
}

START_TEST(overlong_paths_are_refused_cleanly)
{
    static th_resp r;
    const th_mock *mocks[] = {&ol, &al};
    for (int k = 0; k < 2; k++) {
        int port = mocks[k]->port;
        /* Control: a component of exactly NAME_MAX bytes is an ordinary name. */
        char want[NAME_MAX + 3];
        snprintf(want, sizeof want, "=%s", long_name('n', NAME_MAX) + 1);
        expect_path(mocks[k], long_name('n', NAME_MAX), want, "max name");
        /* NAME_MAX + 1, a path past PATH_MAX made of short components, one of 100 KB. */
        static char deep[PATH_MAX + 512];
        size_t w = 0;
        while (w < PATH_MAX + 100)
            w += (size_t)snprintf(deep + w, sizeof deep - w, "/d");
        for (int i = 0; i < 3; i++) {
            const char *fp = i == 0   ? long_name('a', NAME_MAX + 1)
                             : i == 1 ? deep
                                      : long_name('b', 100000);
            ck_assert_int_eq(upload(port, fp, "", "too long", &r), 200);
            ck_assert_msg(put_failed(r.body), "path of %zu bytes: %.300s", strlen(fp), r.body);
        }
        /* Control: a path just under PATH_MAX, 15 directories of 255 bytes deep, is stored. */
        char under[PATH_MAX];
        w = 0;
        for (int i = 0; i < 15; i++)
            w += (size_t)snprintf(under + w, sizeof under - w, "%s", long_name('u', NAME_MAX));
        snprintf(under + w, sizeof under - w, "/%d.txt", k);
        ck_assert_uint_lt(strlen(under), PATH_MAX - 1);
        ck_assert_int_eq(upload(port, under, "", "deep", &r), 200);
        ck_assert_str_eq(r.body, TH_SUCCESS);
        ck_assert(th_exists(th_path(root, under + 1)));
    }
    /* Nothing of the refused paths was created, not even their first directory. */
    ck_assert(!th_exists(th_path(root, "d")));
    ck_assert(!th_exists(th_path(root, long_name('a', NAME_MAX + 1) + 1)));
    th_assert_no_temps(root);
    assert_nothing_escaped();
}
END_TEST

/* 1 if s ends with suffix. */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Storage errors read as Go writes them: "failed to put [/p]: <errno text, lower case>". */
START_TEST(io_errors_read_as_go_writes_them)
{
    static th_resp r;
    ck_assert_int_eq(mkdir(th_path(root, "isdir"), 0755), 0);
    ck_assert_int_eq(upload(ol.port, "/isdir", "", "x", &r), 200);
    ck_assert_str_eq(r.body, "{\"code\":500,\"message\":\"failed to put [/isdir]: is a directory\","
                             "\"data\":null}");
    ck_assert_int_eq(upload(al.port, long_name('a', NAME_MAX + 1), "", "x", &r), 200);
    ck_assert_msg(put_failed(r.body) && ends_with(r.body, "]: file name too long\",\"data\":null}"),
                  "%s", r.body);
}
END_TEST

/* The reason survives a long File-Path: the message shortens the path, not the reason. */
START_TEST(long_path_errors_keep_their_reason)
{
    static th_resp r;
    for (int i = 0; i < 2; i++) {
        const char *fp = i == 0 ? long_name('a', NAME_MAX + 1) : long_name('b', 5000);
        ck_assert_int_eq(upload(ol.port, fp, "", "x", &r), 200);
        ck_assert_msg(put_failed(r.body) &&
                          ends_with(r.body, "]: file name too long\",\"data\":null}"),
                      "%s", r.body);
        /* The path loses its middle, and the whole message stays well under 512 bytes. */
        ck_assert_msg(strstr(r.body, i == 0 ? "aaa...aaa" : "bbb...bbb") != NULL, "%s", r.body);
        ck_assert_uint_lt(strlen(r.body), 320);
    }
    /* Control: a path of 200 bytes is shown whole (here the parent a file is in the way). */
    char parent[256], want[512];
    snprintf(parent, sizeof parent, "%s", long_name('c', 199));
    ck_assert_int_eq(th_write_pattern(th_path(root, parent + 1), "f", 1, 1), 0);
    char fp[300];
    snprintf(fp, sizeof fp, "%s/x", parent);
    ck_assert_int_eq(upload(ol.port, fp, "", "x", &r), 200);
    snprintf(want, sizeof want,
             "{\"code\":500,\"message\":\"failed to make dir [%s]: file exists\",\"data\":null}",
             parent);
    ck_assert_str_eq(r.body, want);
}
END_TEST

START_TEST(symlinks_leading_out_are_refused_in_both_profiles)
{
    char abs_out[4096];
    snprintf(abs_out, sizeof abs_out, "%s", outside);
    ck_assert_int_eq(symlink("../outside", th_path(root, "rel")), 0);
    ck_assert_int_eq(symlink(abs_out, th_path(root, "abs")), 0);
    ck_assert_int_eq(symlink("rel", th_path(root, "chain")), 0); /* a link to a link */
    ck_assert_int_eq(symlink("/", th_path(root, "slash")), 0);
    ck_assert_int_eq(symlink("/proc/self/root", th_path(root, "magic")), 0);
    ck_assert_int_eq(symlink("../outside/nodir", th_path(root, "gone")), 0); /* dangling */
    ck_assert_int_eq(mkdir(th_path(root, "in"), 0755), 0);
    ck_assert_int_eq(symlink("../../outside", th_path(root, "in/up")), 0);
    static const char *const via[] = {
        "/rel/@",           "/abs/@",       "/chain/@",     "/in/up/@",
        "/rel/new/deep/@",  "/abs/a/b/c/@", "/slash/@",     "/magic/@",
        "/gone/@",          "/gone/sub/@",  "/slash/tmp/@", "/in/../rel/@",
        "/in/up/../jail/@", "/rel/../../@", "/rel%2f@",     "\\rel\\@",
    };
    for (size_t i = 0; i < sizeof via / sizeof via[0]; i++) {
        const char *fp = with_esc(via[i]);
        static th_resp r;
        /* "/in/../rel/@" is refused as a relative path first, the rest by the kernel. */
        int rel = strstr(via[i], "..") != NULL;
        upload(ol.port, fp, "", "evil", &r);
        ck_assert_msg(strcmp(r.body, rel ? REL : DENIED) == 0, "openlist %s: %s", fp, r.body);
        upload(al.port, fp, "", "evil", &r);
        ck_assert_msg(strcmp(r.body, rel ? REL_AL : DENIED) == 0, "alist %s: %s", fp, r.body);
    }
    ck_assert_int_eq(th_count_files(outside, ""), 1); /* victim.txt alone */
    th_assert_no_temps(root);
    assert_nothing_escaped();
}
END_TEST

START_TEST(links_as_the_target_are_replaced_not_followed)
{
    static th_resp r;
    char abs_victim[sizeof jail.outside + 16];
    snprintf(abs_victim, sizeof abs_victim, "%s/victim.txt", outside);
    /* Dangling symlinks out of the root, relative and absolute: the new file replaces the link
     * and the name it pointed to is never created. */
    ck_assert_int_eq(symlink(with_esc("../outside/@"), th_path(root, "dangle_rel")), 0);
    char abs_new[sizeof jail.outside + sizeof esc];
    snprintf(abs_new, sizeof abs_new, "%s/%s", outside, esc);
    ck_assert_int_eq(symlink(abs_new, th_path(root, "dangle_abs")), 0);
    /* Links to an existing file outside: its content must stay "orig". */
    ck_assert_int_eq(symlink(abs_victim, th_path(root, "to_victim")), 0);
    ck_assert_int_eq(link(abs_victim, th_path(root, "hard_victim")), 0);
    static const char *const targets[] = {"/dangle_rel", "/dangle_abs", "/to_victim",
                                          "/hard_victim"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        /* With Overwrite: false a link counts as an existing file, dangling or not. */
        ck_assert_int_eq(upload(ol.port, targets[i], "Overwrite: false\r\n", "new", &r), 200);
        ck_assert_str_eq(r.body, "{\"code\":403,\"message\":\"file exists\",\"data\":null}");
        /* Otherwise the file replaces the link: "=" + the target is where it must be. */
        char want[64];
        snprintf(want, sizeof want, "=%s", targets[i] + 1);
        expect_path(i % 2 ? &al : &ol, targets[i], want, "new");
    }
    ck_assert(!th_exists(abs_new));
    char got[16] = "";
    FILE *f = fopen(abs_victim, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(got, 1, sizeof got - 1, f), 4);
    fclose(f);
    ck_assert_str_eq(got, "orig");
    th_assert_no_temps(root);
    assert_nothing_escaped();
}
END_TEST

/* Negative control: the two checks do see a file written outside the root. */
START_TEST(escape_checks_see_a_file_outside_the_root)
{
    char *pristine = th_listing(scratch, root);
    ck_assert_str_eq(pristine, before);
    /* A file beside the root changes the listing... */
    ck_assert_int_eq(th_write_pattern(th_path(outside, "planted"), "x", 1, 1), 0);
    char *now = th_listing(scratch, root);
    ck_assert_str_ne(now, before);
    ck_assert_ptr_nonnull(strstr(now, "f jail/outside/planted\n"));
    free(now);
    ck_assert_int_eq(unlink(th_path(outside, "planted")), 0);
    /* ...and so does an empty directory or a symlink... */
    ck_assert_int_eq(mkdir(th_path(scratch, "newdir"), 0755), 0);
    now = th_listing(scratch, root);
    ck_assert_str_ne(now, before);
    free(now);
    ck_assert_int_eq(rmdir(th_path(scratch, "newdir")), 0);
    /* ...while a file inside the root does not... */
    ck_assert_int_eq(th_write_pattern(th_path(root, "inside"), "x", 1, 1), 0);
    now = th_listing(scratch, root);
    ck_assert_str_eq(now, before);
    free(now);
    /* ...and the ancestor probe finds the escape name two levels above the root. */
    ck_assert_ptr_null(escaped_to());
    ck_assert_int_eq(th_write_pattern(th_path(scratch, esc), "x", 1, 1), 0);
    ck_assert_str_eq(escaped_to(), scratch);
    ck_assert_int_eq(unlink(th_path(scratch, esc)), 0);
    free(pristine);
}
END_TEST

/* ---- the temp files' names ---- */

/*
 * No route may name a path component with the temp files' prefix, in any spelling: such a file
 * would be taken for a stale temp file and deleted at the next start, and a client could aim at
 * a live upload's temp file. Names that only resemble the prefix are ordinary.
 */
START_TEST(the_temp_prefix_is_reserved_in_every_spelling)
{
    static const char *const refused[] = {
        "/docs/" TH_TMP_PREFIX "notes",
        "/" TH_TMP_PREFIX "0123456789abcdef",
        "/" TH_TMP_PREFIX,
        "/" TH_TMP_PREFIX "dir/a.txt",
        "/docs/%2estreamput-tmp.notes",
        "/docs/%2Estreamput-tmp%2Enotes",
        "//docs/./" TH_TMP_PREFIX "notes",
        "docs\\" TH_TMP_PREFIX "notes",
        "\\" TH_TMP_PREFIX "dir\\a.txt",
        TH_TMP_PREFIX "notes",
    };
    static const char *const allowed[] = {
        "/docs/streamput-tmp.notes", "/docs/.streamput-tmpnotes",  "/docs/x" TH_TMP_PREFIX "notes",
        "/docs/.streamput-tmp",      "/docs/.Streamput-tmp.notes",
    };
    static th_resp r;
    const th_mock *mocks[] = {&ol, &al};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            expect_path(mocks[k], refused[i], RESERVED, "mine");
        /* The form route shares the File-Path check: refused before its body is looked at. */
        ck_assert_int_eq(th_put(mocks[k]->port, "/api/fs/form",
                                "File-Path: /docs/" TH_TMP_PREFIX "notes\r\n", "x", 1, 0, &r),
                         200);
        ck_assert_str_eq(r.body, RESERVED);
        /* Control: look-alikes are stored where they say. */
        for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
            char want[128];
            snprintf(want, sizeof want, "=%s", allowed[i] + 1);
            expect_path(mocks[k], allowed[i], want, "look-alike");
        }
    }
    /* Nothing of the refused paths exists, not even a directory; and no temp file is left. */
    ck_assert_int_eq(th_count_files(root, ""), 0);
    ck_assert(!th_exists(th_path(root, TH_TMP_PREFIX "dir")));
    ck_assert(!th_exists(th_path(root, "docs/" TH_TMP_PREFIX "notes")));
    assert_nothing_escaped();
}
END_TEST

/* Writes the 4-byte file root/rel (its directories must exist). */
static void plant(const char *rel)
{
    ck_assert_int_eq(th_write_pattern(th_path(root, rel), "mine", 4, 4), 0);
}

/*
 * Start-up cleanup removes only what is exactly a temp file's name (the prefix and 16 lower-case
 * hex digits, a regular file): a file the user placed there with a name merely like it, by hand
 * or from before the prefix was reserved, survives a restart.
 */
START_TEST(files_named_like_temp_files_survive_a_restart)
{
    static const char *const kept[] = {
        TH_TMP_PREFIX "notes",
        TH_TMP_PREFIX,
        TH_TMP_PREFIX "0123456789abcde",   /* 15 digits */
        TH_TMP_PREFIX "0123456789abcdef0", /* 17 */
        TH_TMP_PREFIX "0123456789ABCDEF",  /* upper case */
        TH_TMP_PREFIX "0123456789abcdeg",
        TH_TMP_PREFIX "0123456789abcdef.bak",
        "sub/" TH_TMP_PREFIX "notes",
        "sub/" TH_TMP_PREFIX "0123abcd", /* the shape of an older mock's test fixture */
        TH_TMP_PREFIX "fedcba9876543210/inside.txt",
    };
    ck_assert_int_eq(mkdir(th_path(root, "sub"), 0755), 0);
    ck_assert_int_eq(mkdir(th_path(root, TH_TMP_PREFIX "fedcba9876543210"), 0755), 0);
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        plant(kept[i]);
    /* A symlink of the exact shape is not a regular file either. */
    ck_assert_int_eq(symlink("sub", th_path(root, TH_TMP_PREFIX "00000000000000aa")), 0);
    /* Control: a real stale temp file (exact shape, unlocked) beside them is removed. */
    plant("sub/" TH_TMP_PREFIX "0123456789abcdef");
    ck_assert_int_eq(th_mock_stop(&ol), 0);
    ck_assert_int_eq(th_mock_start(&ol, root, NULL), 0);
    static char log[16384];
    log[0] = '\0';
    ck_assert_msg(th_mock_log_wait(&ol, "removed 1 stale temp file(s)", log, sizeof log, 2000),
                  "%s", log);
    ck_assert(!th_exists(th_path(root, "sub/" TH_TMP_PREFIX "0123456789abcdef")));
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        char got[8] = "";
        FILE *f = fopen(th_path(root, kept[i]), "rb");
        ck_assert_msg(f != NULL, "%s was removed", kept[i]);
        ck_assert_uint_eq(fread(got, 1, sizeof got - 1, f), 4);
        fclose(f);
        ck_assert_str_eq(got, "mine");
    }
    ck_assert(th_exists(th_path(root, TH_TMP_PREFIX "00000000000000aa")));
}
END_TEST

/*
 * A second mock started on the same root must leave the first one's live temp files alone (each
 * is locked while it is written): the first upload, half sent when the second mock starts, then
 * completes byte-exact. Stale files of a killed mock are still removed (test_hostile_disk).
 */
START_TEST(a_second_mock_leaves_live_temp_files_alone)
{
    enum { SIZE = 256 * 1024 };
    static char body[SIZE];
    char ref[4096];
    snprintf(ref, sizeof ref, "%s", th_path(scratch, "live.ref"));
    ck_assert_int_eq(th_write_random(ref, SIZE, 11), 0);
    FILE *f = fopen(ref, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(body, 1, SIZE, f), SIZE);
    fclose(f);

    char head[256];
    int n = snprintf(head, sizeof head,
                     "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "File-Path: /live/big.bin\r\nContent-Length: %d\r\n\r\n",
                     SIZE);
    int fd = th_connect(ol.port);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(th_send_all(fd, head, (size_t)n), 0);
    ck_assert_int_eq(th_send_all(fd, body, SIZE / 2), 0);
    int temps = 0;
    for (int64_t end = th_now_ms() + 5000; temps < 1 && th_now_ms() < end; th_sleep_ms(10))
        temps = th_count_files(th_path(root, "live"), TH_TMP_PREFIX); /* -1: no directory yet */
    ck_assert_int_eq(temps, 1); /* control: the upload is under way */
    th_sleep_ms(50);            /* its first half is written, too */

    /* The second mock has finished its start-up cleanup once it listens. */
    th_mock second;
    ck_assert_int_eq(th_mock_start(&second, root, NULL), 0);
    ck_assert_int_eq(th_count_files(th_path(root, "live"), TH_TMP_PREFIX), 1);
    ck_assert_int_eq(th_mock_stop(&second), 0);

    static th_resp r;
    ck_assert_int_eq(th_send_all(fd, body + SIZE / 2, SIZE - SIZE / 2), 0);
    th_recv_resp(fd, &r, 5000);
    close(fd);
    ck_assert_msg(r.status == 200 && strcmp(r.body, TH_SUCCESS) == 0, "%s", r.raw);
    ck_assert_int_eq(th_files_equal(ref, th_path(root, "live/big.bin")), 1);
    ck_assert_int_eq(unlink(ref), 0);
    th_assert_no_temps(root);
    assert_nothing_escaped();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostile_paths");
    TCase *t = tcase_create("paths");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, every_dotdot_spelling_is_refused_or_stays_inside);
    tcase_add_test(t, overlong_paths_are_refused_cleanly);
    tcase_add_test(t, io_errors_read_as_go_writes_them);
    tcase_add_test(t, long_path_errors_keep_their_reason);
    tcase_add_test(t, symlinks_leading_out_are_refused_in_both_profiles);
    tcase_add_test(t, links_as_the_target_are_replaced_not_followed);
    tcase_add_test(t, escape_checks_see_a_file_outside_the_root);
    tcase_add_test(t, the_temp_prefix_is_reserved_in_every_spelling);
    tcase_add_test(t, files_named_like_temp_files_survive_a_restart);
    tcase_add_test(t, a_second_mock_leaves_live_temp_files_alone);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
