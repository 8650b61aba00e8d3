/* Unit tests for the helpers shared by client and mock: sizes, percent-encoding, write loops. */
#include "sp_common.h"

#include "th.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(size_accepts_plain_and_binary_suffixes)
{
    static const struct {
        const char *in;
        uint64_t want;
    } ok[] = {
        {"0", 0},
        {"1", 1},
        {"1024", 1024},
        {"64K", 65536},
        {"64k", 65536},
        {"1M", 1048576},
        {"1MiB", 1048576},
        {"1mb", 1048576},
        {"2G", 2ull << 30},
        {"1T", 1ull << 40},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        ck_assert_msg(sp__parse_size(ok[i].in, &v) == 0, "rejected '%s'", ok[i].in);
        ck_assert_msg(v == ok[i].want, "'%s' gave %llu", ok[i].in, (unsigned long long)v);
    }
}
END_TEST

START_TEST(size_rejects_signs_garbage_and_overflow)
{
    static const char *bad[] = {"",
                                "-1",
                                "+1",
                                " 1",
                                "1 ",
                                "abc",
                                "1X",
                                "1.5M",
                                "K",
                                "1KK",
                                "1Mi",
                                "0x10",
                                "18446744073709551616",
                                "16777216T",
                                "99999999999999999999K"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        ck_assert_msg(sp__parse_size(bad[i], &v) == -1, "accepted '%s'", bad[i]);
        ck_assert_msg(v == 7, "'%s' wrote the output on failure", bad[i]);
    }
    ck_assert_int_eq(sp__parse_size(NULL, NULL), -1);
}
END_TEST

START_TEST(uint_respects_its_maximum)
{
    uint64_t v;
    ck_assert_int_eq(sp__parse_uint("65535", 65535, &v), 0);
    ck_assert_uint_eq(v, 65535);
    ck_assert_int_eq(sp__parse_uint("65536", 65535, &v), -1);
    ck_assert_int_eq(sp__parse_uint("1k", 65535, &v), -1);
    ck_assert_int_eq(sp__parse_uint("", 65535, &v), -1);
}
END_TEST

/* Encodes into an exactly-sized buffer and checks the result and the reported length. */
static void check_encode(const char *in, const char *want)
{
    char out[256];
    size_t n = sp__pct_encode(in, out, sizeof out);
    ck_assert_msg(strcmp(out, want) == 0, "'%s' -> '%s', want '%s'", in, out, want);
    ck_assert_uint_eq(n, strlen(want));
}

START_TEST(encode_escapes_like_encodeURIComponent_but_keeps_slash)
{
    check_encode("/a b/c.txt", "/a%20b/c.txt");
    check_encode("a+b", "a%2Bb");
    check_encode("100%", "100%25");
    check_encode("caf\xc3\xa9", "caf%C3%A9");
    check_encode("/dir/sub/", "/dir/sub/");
    check_encode("AZaz09-_.!~*'()", "AZaz09-_.!~*'()");
    check_encode("?#&=:;,@$[]\"<>\\^`{|}",
                 "%3F%23%26%3D%3A%3B%2C%40%24%5B%5D%22%3C%3E%5C%5E%60%7B%7C%7D");
    check_encode("\t\r\n\x7f\xff", "%09%0D%0A%7F%FF");
    check_encode("", "");
}
END_TEST

START_TEST(encode_never_ends_in_half_an_escape)
{
    char out[6];
    size_t n = sp__pct_encode("ab cd", out, sizeof out); /* "ab%20cd" needs 7 + NUL */
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(out, "ab%20");
    n = sp__pct_encode("abc d", out, 5); /* "abc" fits, "%20" would not */
    ck_assert_str_eq(out, "abc");
    ck_assert_uint_eq(sp__pct_encode("x y", NULL, 0), 5);
}
END_TEST

START_TEST(decode_is_go_path_unescape)
{
    char out[64];
    const char *bad = NULL;
    ck_assert_int_eq(sp__pct_decode("/a%20b/c+d%2Fe", out, &bad), 10);
    ck_assert_str_eq(out, "/a b/c+d/e");
    ck_assert_int_eq(sp__pct_decode("%c3%A9", out, &bad), 2);
    ck_assert_str_eq(out, "\xc3\xa9");

    static const struct {
        const char *in;
        size_t at;
    } bads[] = {{"%zz", 0}, {"ab%2", 2}, {"%", 0}, {"a%g0", 1}, {"ok%41%4", 5}};
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        bad = NULL;
        ck_assert_int_eq(sp__pct_decode(bads[i].in, out, &bad), -1);
        ck_assert_ptr_eq(bad, bads[i].in + bads[i].at);
    }
}
END_TEST

START_TEST(decode_inverts_encode_for_every_byte)
{
    char in[256], enc[1024], dec[256];
    for (int i = 1; i < 256; i++)
        in[i - 1] = (char)i;
    in[255] = '\0';
    ck_assert_uint_lt(sp__pct_encode(in, enc, sizeof enc), sizeof enc);
    ck_assert_int_eq(sp__pct_decode(enc, dec, NULL), 255);
    ck_assert_int_eq(memcmp(in, dec, 256), 0);
}
END_TEST

static volatile sig_atomic_t ticks;

/* Disarms itself after 20 ticks: under valgrind a steady timer can starve the write forever. */
static void on_tick(int sig)
{
    (void)sig;
    if (++ticks >= 20) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    }
}

/*
 * A blocking write returns short (or fails with EINTR) only when a signal interrupts it: a timer
 * without SA_RESTART fires every 2 ms while a slow reader drains a 4 MiB write through a pipe.
 */
START_TEST(write_all_survives_signals_and_short_writes)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    size_t len = 4 << 20;
    char *buf = malloc(len);
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(i * 31 + (i >> 12));
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        char *got = malloc(len);
        size_t n = 0;
        for (;;) {
            ssize_t r = read(p[0], got + n, 4096 < len - n ? 4096 : len - n);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
            if (n % (256 * 1024) == 0)
                usleep(1000);
        }
        int same = n == len && memcmp(got, buf, len) == 0;
        free(got);
        free(buf);
        _exit(same ? 0 : 1);
    }
    close(p[0]);
    struct sigaction sa = {.sa_handler = on_tick}; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int rc = sp__write_all(p[1], buf, len);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    ck_assert_int_eq(rc, 0);
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader saw different bytes");
    ck_assert_msg(ticks > 0, "the timer never interrupted the write");
    free(buf);
}
END_TEST

START_TEST(printable_escapes_controls_and_marks_truncation)
{
    char out[32];
    ck_assert_str_eq(sp__printable("a\r\nb\x7f\x01\xc3\xa9", out, sizeof out),
                     "a\\x0d\\x0ab\\x7f\\x01\xc3\xa9");
    ck_assert_str_eq(sp__printable("0123456789abcdefghijklmnopqrstuvwxyz", out, sizeof out),
                     "0123456789abcdefghijklmnopqr...");
    ck_assert_str_eq(sp__printable("0123456789abcdefghijklmnopq\n", out, sizeof out),
                     "0123456789abcdefghijklmnopq...");
    ck_assert_uint_lt(strlen(out), sizeof out);
    ck_assert_str_eq(sp__printable("", out, 8), "");
}
END_TEST

/* Checks one sp__printable() result in a buffer large enough for any of these inputs. */
static void check_printable(const char *in, const char *want)
{
    char out[128];
    sp__printable(in, out, sizeof out);
    ck_assert_msg(strcmp(out, want) == 0, "got '%s', want '%s'", out, want);
}

START_TEST(printable_escapes_c1_controls_raw_and_as_utf8)
{
    /* CSI is 0x9b on an 8-bit terminal and U+009B (C2 9B) on a UTF-8 one: both start "ESC [". */
    check_printable("ok \xc2\x9b"
                    "31m",
                    "ok \\xc2\\x9b31m");
    check_printable("ok \x9b"
                    "31m",
                    "ok \\x9b31m");
    check_printable("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
    check_printable("\x80\x9f", "\\x80\\x9f");
    check_printable("\xc2\xa0|\xc2\xbf", "\xc2\xa0|\xc2\xbf"); /* U+00A0 and U+00BF are text */
}
END_TEST

START_TEST(printable_keeps_well_formed_utf8)
{
    static const char *kept[] = {
        "caf\xc3\xa9",                          /* U+00E9 */
        "\xdf\xbf",                             /* U+07FF, the last two-byte character */
        "\xe0\xa0\x80",                         /* U+0800, the first three-byte one */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", /* CJK */
        "\xed\x9f\xbf\xee\x80\x80",             /* U+D7FF and U+E000, around the surrogates */
        "\xef\xbf\xbd",                         /* U+FFFD */
        "\xf0\x90\x80\x80",                     /* U+10000 */
        "\xf0\x9f\x98\x80 ok",                  /* an emoji */
        "\xf4\x8f\xbf\xbf",                     /* U+10FFFF, the last code point */
    };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        check_printable(kept[i], kept[i]);
}
END_TEST

START_TEST(printable_escapes_every_byte_that_is_not_utf8)
{
    check_printable("\xc0\xaf", "\\xc0\\xaf");                   /* overlong '/' */
    check_printable("\xc1\xbf", "\\xc1\\xbf");                   /* overlong U+007F */
    check_printable("\xe0\x80\xaf", "\\xe0\\x80\\xaf");          /* overlong, three bytes */
    check_printable("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");          /* overlong U+07FF */
    check_printable("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"); /* overlong, four bytes */
    check_printable("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"); /* overlong U+FFFF */
    check_printable("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate U+D800 */
    check_printable("\xed\xbf\xbf", "\\xed\\xbf\\xbf");          /* surrogate U+DFFF */
    check_printable("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* U+110000 */
    check_printable("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
    check_printable("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
    check_printable("a\xfe\xff", "a\\xfe\\xff");
    check_printable("\xe2\x82", "\\xe2\\x82");          /* input ends mid-character */
    check_printable("\xf0\x9f\x98", "\\xf0\\x9f\\x98"); /* likewise, four-byte form */
    check_printable("\xe2\x82"
                    "A",
                    "\\xe2\\x82A");                   /* cut short by ASCII */
    check_printable("\xc3\xc3\xa9", "\\xc3\xc3\xa9"); /* a lead byte, then a whole character */
    check_printable("\xa9", "\\xa9");                 /* a lone continuation byte */
}
END_TEST

/*
 * With outsz 16 there is room for 12 bytes before "...": inputs that end exactly there are kept
 * whole, and a character or escape that would cross it is left out whole.
 */
START_TEST(printable_cuts_between_characters_at_the_buffer_boundary)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"0123456789ab", "0123456789ab"},
        {"0123456789abc", "0123456789ab..."},
        {"0123456789\xc3\xa9", "0123456789\xc3\xa9"},
        {"01234567890\xc3\xa9", "01234567890..."},
        {"012345678\xe6\x97\xa5", "012345678\xe6\x97\xa5"},
        {"0123456789\xe6\x97\xa5", "0123456789..."},
        {"01234567\xf0\x9f\x98\x80", "01234567\xf0\x9f\x98\x80"},
        {"012345678\xf0\x9f\x98\x80", "012345678..."},
        {"01234567\n", "01234567\\x0a"},
        {"012345678\n", "012345678..."},
        {"0123\xc2\x9b", "0123\\xc2\\x9b"},
        {"01234\xc2\x9b", "01234..."},
        {"0123\xe2\x82", "0123\\xe2\\x82"},
        {"01234\xe2\x82", "01234\\xe2..."},
    };
    char out[16];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sp__printable(cases[i].in, out, sizeof out);
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "case %zu: got '%s', want '%s'", i, out,
                      cases[i].want);
    }
}
END_TEST

/*
 * For every cut: the copy fits, is the uncut copy's prefix (plus "..." when cut), and is a fixed
 * point: escaping it again changes nothing, so it holds no control byte and no broken UTF-8.
 */
START_TEST(printable_copies_are_prefixes_and_fixed_points_for_every_size)
{
    static const char *inputs[] = {
        "plain ascii text that is long enough to be cut",
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xc2\x9b[31m \x9b \x1b[0m\r\n",
        "\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80\xe2\x82\xff\xc3\xa9\xc3",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char full[512], again[512];
        sp__printable(inputs[i], full, sizeof full);
        ck_assert_str_eq(sp__printable(full, again, sizeof again), full);
        for (size_t sz = 8; sz <= strlen(full) + 4; sz++) {
            char out[512];
            sp__printable(inputs[i], out, sz);
            size_t n = strlen(out);
            ck_assert_uint_lt(n, sz);
            size_t kept =
                n >= 3 && strcmp(out + n - 3, "...") == 0 && strcmp(out, full) != 0 ? n - 3 : n;
            ck_assert_msg(strncmp(out, full, kept) == 0,
                          "input %zu size %zu: '%s' is not a "
                          "prefix of '%s'",
                          i, sz, out, full);
            ck_assert_msg(kept == n || full[kept] != '\0', "input %zu size %zu: cut for nothing", i,
                          sz);
            ck_assert_str_eq(sp__printable(out, again, sizeof again), out);
        }
    }
}
END_TEST

START_TEST(write_all_reports_errors)
{
    int fd = open("/dev/full", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    errno = 0;
    ck_assert_int_eq(sp__write_all(fd, "x", 1), -1);
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *t = tcase_create("size");
    tcase_add_test(t, size_accepts_plain_and_binary_suffixes);
    tcase_add_test(t, size_rejects_signs_garbage_and_overflow);
    tcase_add_test(t, uint_respects_its_maximum);
    suite_add_tcase(s, t);
    t = tcase_create("percent");
    tcase_add_test(t, encode_escapes_like_encodeURIComponent_but_keeps_slash);
    tcase_add_test(t, encode_never_ends_in_half_an_escape);
    tcase_add_test(t, decode_is_go_path_unescape);
    tcase_add_test(t, decode_inverts_encode_for_every_byte);
    tcase_add_test(t, printable_escapes_controls_and_marks_truncation);
    tcase_add_test(t, printable_escapes_c1_controls_raw_and_as_utf8);
    tcase_add_test(t, printable_keeps_well_formed_utf8);
    tcase_add_test(t, printable_escapes_every_byte_that_is_not_utf8);
    tcase_add_test(t, printable_cuts_between_characters_at_the_buffer_boundary);
    tcase_add_test(t, printable_copies_are_prefixes_and_fixed_points_for_every_size);
    suite_add_tcase(s, t);
    t = tcase_create("io");
    tcase_add_test(t, write_all_survives_signals_and_short_writes);
    tcase_add_test(t, write_all_reports_errors);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
