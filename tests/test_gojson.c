/*
 * Unit tests for gojson: gin's ShouldBind on a JSON body as OpenList builds it (gin v1.12.0's
 * codec/json under -tags=jsoniter, json-iterator/go v1.1.12). Each expected text is jsoniter's,
 * from the file:line its group names (json-iterator/go v1.1.12), with Go 1.26's strconv and
 * math/big texts where jsoniter hands those on, and go-playground/validator v10.30.1's for
 * binding:"required". The same bodies were run through jsoniter v1.1.12 itself to confirm them.
 */
#include "gojson.h"

#include "th.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const mock_gj_struct *s;
    size_t head_len;
    const char *body;
    size_t len;
    const char *want;
    size_t wantlen;
} refusal;

/* Bodies and texts may hold NUL, so their lengths come from the literals. */
#define E(s, h, body, want)                                                                        \
    {                                                                                              \
        s, h, body, sizeof body - 1, want, sizeof want - 1                                         \
    }

static const refusal refusals[] = {
    /* Decoder.Decode returns io.EOF when the first Read has nothing (adapter.go:65-68) */
    E(&mock_gj_login_req, 0, "", "EOF"),
    /* readObjectStart: not an object, or the end of input read as byte 0 (iter_object.go:234);
       iter.go:224 formats every ReportError */
    E(&mock_gj_login_req, 0, "   \012",
      "readObjectStart: expect { or n, but found \000, error found in #0 byte of ...|   \012|..., "
      "bigger context ...|   \012|..."),
    E(&mock_gj_login_req, 0, "[1]",
      "readObjectStart: expect { or n, but found [, error found in #1 byte of ...|[1]|..., bigger "
      "context ...|[1]|..."),
    E(&mock_gj_mkdir_req, 0, "\"x\"",
      "readObjectStart: expect { or n, but found \", error found in #1 byte of ...|\"x\"|..., "
      "bigger context ...|\"x\"|..."),
    E(&mock_gj_fs_get_req, 0, "1",
      "readObjectStart: expect { or n, but found 1, error found in #1 byte of ...|1|..., bigger "
      "context ...|1|..."),
    /* skipThreeBytes after 'n' (iter_skip.go:119-127) */
    E(&mock_gj_login_req, 0, "nul",
      "skipThreeBytes: expect ull, error found in #3 byte of ...|nul|..., bigger context "
      "...|nul|..."),
    E(&mock_gj_login_req, 0, "nulx",
      "skipThreeBytes: expect ull, error found in #4 byte of ...|nulx|..., bigger context "
      "...|nulx|..."),
    /* readFieldHash: the key's quote, its end, its colon (iter_object.go:53, 80, 92); the struct's
       name wraps what happens inside it (reflect_struct_decoder.go:664) */
    E(&mock_gj_login_req, 0, "{username:1}",
      "handles.LoginReq.readFieldHash: expect \", but found u, error found in #2 byte of "
      "...|{username:1}|..., bigger context ...|{username:1}|..."),
    E(&mock_gj_login_req, 0, "{\"user",
      "handles.LoginReq.readFieldHash: incomplete field name, error found in #2 byte of "
      "...|{\"user|..., bigger context ...|{\"user|..."),
    E(&mock_gj_login_req, 0, "{\"username\"",
      "handles.LoginReq.readFieldHash: expect :, but found \000, error found in #10 byte of "
      "...|\"username\"|..., bigger context ...|{\"username\"|..."),
    E(&mock_gj_login_req, 0, "{\"username\" 1}",
      "handles.LoginReq.readFieldHash: expect :, but found 1, error found in #10 byte of "
      "...|sername\" 1}|..., bigger context ...|{\"username\" 1}|..."),
    E(&mock_gj_login_req, 0, "{\"pass\\word\"}",
      "handles.LoginReq.readEscapedChar: invalid escape char after \\, error found in #8 byte of "
      "...|{\"pass\\word\"}|..., bigger context ...|{\"pass\\word\"}|..."),
    /* isObjectEnd (iter.go:177) */
    E(&mock_gj_mkdir_req, 0, "{\"path\":\"a\"",
      "handles.MkdirOrLinkReq.isObjectEnd: object ended prematurely, unexpected char \000, error "
      "found in #10 byte of ...|\"path\":\"a\"|..., bigger context ...|{\"path\":\"a\"|..."),
    E(&mock_gj_mkdir_req, 0, "{\"path\":\"a\" \"b\"}",
      "handles.MkdirOrLinkReq.isObjectEnd: object ended prematurely, unexpected char \", error "
      "found in #10 byte of ...|ath\":\"a\" \"b\"}|..., bigger context ...|{\"path\":\"a\" "
      "\"b\"}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":1e3}",
      "handles.ListReq.isObjectEnd: object ended prematurely, unexpected char e, error found in "
      "#10 byte of ...|{\"page\":1e3}|..., bigger context ...|{\"page\":1e3}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":01}",
      "handles.ListReq.isObjectEnd: object ended prematurely, unexpected char 1, error found in "
      "#10 byte of ...|{\"page\":01}|..., bigger context ...|{\"page\":01}|..."),
    /* ReadString and its slow path (iter_str.go:21, 31, 50, 107, 159); structFieldDecoder wraps
       with the field's name (reflect_struct_decoder.go:1056) */
    E(&mock_gj_login_req, 0, "{\"username\":1}",
      "handles.LoginReq.Username: ReadString: expects \" or n, but found 1, error found in #10 "
      "byte of ...|sername\":1}|..., bigger context ...|{\"username\":1}|..."),
    E(&mock_gj_login_req, 0, "{\"username\":\"a\001\"}",
      "handles.LoginReq.Username: ReadString: invalid control character found: 1, error found in "
      "#10 byte of ...|sername\":\"a\001\"}|..., bigger context ...|{\"username\":\"a\001\"}|..."),
    E(&mock_gj_login_req, 0, "{\"username\":\"ab",
      "handles.LoginReq.Username: readStringSlowPath: unexpected end of input, error found in #10 "
      "byte of ...|rname\":\"ab|..., bigger context ...|{\"username\":\"ab|..."),
    E(&mock_gj_login_req, 0, "{\"username\":\"a\\x\"}",
      "handles.LoginReq.Username: readEscapedChar: invalid escape char after \\, error found in "
      "#10 byte of ...|name\":\"a\\x\"}|..., bigger context ...|{\"username\":\"a\\x\"}|..."),
    E(&mock_gj_login_req, 0, "{\"username\":\"\\u12G4\"}",
      "handles.LoginReq.Username: readU4: expects 0~9 or a~f, but found G, error found in #10 byte "
      "of ...|me\":\"\\u12G4\"}|..., bigger context ...|{\"username\":\"\\u12G4\"}|..."),
    E(&mock_gj_fs_get_req, 0, "{\"path\":{\"a\":1}}",
      "handles.FsGetReq.Path: ReadString: expects \" or n, but found {, error found in #9 byte of "
      "...|{\"path\":{\"a\":1}}|..., bigger context ...|{\"path\":{\"a\":1}}|..."),
    /* decoding goes on after an error, and every field decoded afterwards wraps it again
       (reflect_struct_decoder.go:1052-1057) */
    E(&mock_gj_login_req, 0, "{\"username\":1,\"password\":\"x\",\"otp_code\":\"y\"}",
      "handles.LoginReq.OtpCode: Password: Username: ReadString: expects \" or n, but found 1, "
      "error found in #10 byte of ...|sername\":1,\"password|..., bigger context "
      "...|{\"username\":1,\"password\":\"x\",\"otp_code\":\"y\"}|..."),
    /* int: readUint64 writes byte(invalidCharForNumber) = 0xff, not the character
       (iter_int.go:251); overflow (iter_int.go:226, 233, 327); a fraction (iter_int.go:344); the
       embedded PageReq adds its own structFieldDecoder (reflect_extension.go:355) */
    E(&mock_gj_list_req, 0, "{\"page\":\"1\"}",
      "handles.ListReq.PageReq: Page: readUint64: unexpected character: \377, error found in #9 "
      "byte of ...|{\"page\":\"1\"}|..., bigger context ...|{\"page\":\"1\"}|..."),
    E(&mock_gj_list_req, 0, "{\"per_page\":true}",
      "handles.ListReq.PageReq: PerPage: readUint64: unexpected character: \377, error found in "
      "#10 byte of ...|er_page\":true}|..., bigger context ...|{\"per_page\":true}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":1.5}",
      "handles.ListReq.PageReq: Page: assertInteger: can not decode float as int, error found in "
      "#9 byte of ...|{\"page\":1.5}|..., bigger context ...|{\"page\":1.5}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":9223372036854775808}",
      "handles.ListReq.PageReq: Page: ReadInt64: overflow: 9223372036854775808, error found in #10 "
      "byte of ...|6854775808}|..., bigger context ...|{\"page\":9223372036854775808}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":-9223372036854775809}",
      "handles.ListReq.PageReq: Page: ReadInt64: overflow: 9223372036854775809, error found in #10 "
      "byte of ...|6854775809}|..., bigger context ...|{\"page\":-9223372036854775809}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":18446744073709551616}",
      "handles.ListReq.PageReq: Page: readUint64: overflow, error found in #10 byte of "
      "...|\":184467440737095516|..., bigger context ...|{\"page\":18446744073709551616}|..."),
    E(&mock_gj_list_req, 0, "{\"page\":-}",
      "handles.ListReq.PageReq: Page: readUint64: unexpected character: \377, error found in #10 "
      "byte of ...|{\"page\":-}|..., bigger context ...|{\"page\":-}|..."),
    /* bool: ReadBool and skipThreeBytes/skipFourBytes (iter_skip.go:28, 100, 119) */
    E(&mock_gj_list_req, 0, "{\"refresh\":1}",
      "handles.ListReq.Refresh: ReadBool: expect t or f, but found 1, error found in #10 byte of "
      "...|refresh\":1}|..., bigger context ...|{\"refresh\":1}|..."),
    E(&mock_gj_list_req, 0, "{\"refresh\":tru}",
      "handles.ListReq.Refresh: skipThreeBytes: expect rue, error found in #10 byte of "
      "...|resh\":tru}|..., bigger context ...|{\"refresh\":tru}|..."),
    E(&mock_gj_list_req, 0, "{\"refresh\":fals}",
      "handles.ListReq.Refresh: skipFourBytes: expect alse, error found in #10 byte of "
      "...|esh\":fals}|..., bigger context ...|{\"refresh\":fals}|..."),
    /* []string: sliceDecoder (reflect_slice.go:62, 75, 96) */
    E(&mock_gj_remove_req, 0, "{\"names\":\"a\"}",
      "handles.RemoveReq.Names: []string: decode slice: expect [ or n, but found \", error found "
      "in #10 byte of ...|{\"names\":\"a\"}|..., bigger context ...|{\"names\":\"a\"}|..."),
    E(&mock_gj_remove_req, 0, "{\"names\":[\"a\" \"b\"]}",
      "handles.RemoveReq.Names: []string: decode slice: expect ], but found \", error found in #10 "
      "byte of ...|es\":[\"a\" \"b\"]}|..., bigger context ...|{\"names\":[\"a\" \"b\"]}|..."),
    E(&mock_gj_remove_req, 0, "{\"names\":[\"a\",1]}",
      "handles.RemoveReq.Names: []string: ReadString: expects \" or n, but found 1, error found in "
      "#10 byte of ...|es\":[\"a\",1]}|..., bigger context ...|{\"names\":[\"a\",1]}|..."),
    /* Skip of an unknown key's value (iter_skip.go:93; iter_skip_strict.go:32, 42, 77;
       iter_array.go:50; iter_object.go:124, 144, 153, 161; iter.go:338) */
    E(&mock_gj_login_req, 0, "{\"x\":}",
      "handles.LoginReq.Skip: do not know how to skip: 125, error found in #6 byte of "
      "...|{\"x\":}|..., bigger context ...|{\"x\":}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":1.2.3}",
      "handles.LoginReq.validateNumber: more than one dot found in number, error found in #6 byte "
      "of ...|{\"x\":1.2.3}|..., bigger context ...|{\"x\":1.2.3}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":1.}",
      "handles.LoginReq.validateNumber: missing digit after dot, error found in #6 byte of "
      "...|{\"x\":1.}|..., bigger context ...|{\"x\":1.}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":\"a\011b\"}",
      "handles.LoginReq.trySkipString: invalid control character found: 9, error found in #6 byte "
      "of ...|{\"x\":\"a\011b\"}|..., bigger context ...|{\"x\":\"a\011b\"}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":[1,2}",
      "handles.LoginReq.ReadArrayCB: expect ] in the end, but found }, error found in #10 byte of "
      "...|{\"x\":[1,2}|..., bigger context ...|{\"x\":[1,2}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":{\"a\":1]}",
      "handles.LoginReq.ReadObjectCB: object not ended with }, error found in #10 byte of "
      "...|x\":{\"a\":1]}|..., bigger context ...|{\"x\":{\"a\":1]}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":{1:2}}",
      "handles.LoginReq.ReadObjectCB: expect \" after {, but found 1, error found in #7 byte of "
      "...|{\"x\":{1:2}}|..., bigger context ...|{\"x\":{1:2}}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":{\"a\" 1}}",
      "handles.LoginReq.ReadObject: expect : after object field, but found 1, error found in #10 "
      "byte of ...|\"x\":{\"a\" 1}}|..., bigger context ...|{\"x\":{\"a\" 1}}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":nul}",
      "handles.LoginReq.skipThreeBytes: expect ull, error found in #9 byte of ...|{\"x\":nul}|..., "
      "bigger context ...|{\"x\":nul}|..."),
    /* numbers skipped: ReadFloat32 for a leading 0, ReadFloat64 then ReadBigFloat otherwise
       (iter_skip_strict.go:10-21; iter_float.go:47, 92-104, 183, 229-241, 306-311); strconv's
       NumError and math/big's texts */
    E(&mock_gj_login_req, 0, "{\"x\":0.1e99}",
      "handles.LoginReq.strconv.ParseFloat: parsing \"0.1e99\": value out of range"),
    E(&mock_gj_login_req, 0, "{\"x\":01}",
      "handles.LoginReq.readFloat32: leading zero is invalid, error found in #5 byte of "
      "...|{\"x\":01}|..., bigger context ...|{\"x\":01}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":-}",
      "handles.LoginReq.readNumberAsString: invalid number, error found in #6 byte of "
      "...|{\"x\":-}|..., bigger context ...|{\"x\":-}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":1e400}",
      "handles.LoginReq.readNumberAsString: invalid number, error found in #10 byte of "
      "...|{\"x\":1e400}|..., bigger context ...|{\"x\":1e400}|..."),
    E(&mock_gj_login_req, 0, "{\"x\":1e99999999999999999999",
      "handles.LoginReq.strconv.ParseInt: parsing \"99999999999999999999\": value out of range"),
    E(&mock_gj_login_req, 0, "{\"x\":1e2147483647", "handles.LoginReq.exponent overflow"),
    E(&mock_gj_login_req, 0, "{\"x\":1e-", "handles.LoginReq.number has no digits"),
    /* a sign alone: math/big's scan reads no digit at all */
    E(&mock_gj_login_req, 0, "{\"x\":--", "handles.LoginReq.number has no digits"),
    E(&mock_gj_login_req, 0, "{\"x\":1+2", "handles.LoginReq.expected end of string, found '+'"),
    /* the error quotes the 512-byte Read it fell in (config.go:366), cut where net/http's 4 KiB
       bufio.Reader refills */
    /* gin's validator after a clean decode: binding:"required" (validator errors.go:13, 42-51) */
    E(&mock_gj_login_req, 0, "{}",
      "Key: 'LoginReq.Username' Error:Field validation for 'Username' failed on the 'required' "
      "tag"),
    E(&mock_gj_login_req, 0, "{\"username\":\"\",\"password\":\"x\"}",
      "Key: 'LoginReq.Username' Error:Field validation for 'Username' failed on the 'required' "
      "tag"),
    E(&mock_gj_login_req, 0, "{\"username\":null}",
      "Key: 'LoginReq.Username' Error:Field validation for 'Username' failed on the 'required' "
      "tag"),
    E(&mock_gj_login_req, 0, "null",
      "Key: 'LoginReq.Username' Error:Field validation for 'Username' failed on the 'required' "
      "tag"),
};

/* Decodes and checks the refusal text byte for byte. */
static void check_refusal(const mock_gj_struct *s, size_t head_len, const char *body, size_t len,
                          const char *want, size_t wantlen)
{
    mock_gj_doc d;
    int rc = mock_gj_decode(s, body, len, head_len, &d);
    ck_assert_msg(rc == MOCK_GJ_EGO, "%s: %.*s gave %d", s->go_type, (int)(len < 80 ? len : 80),
                  body, rc);
    ck_assert_msg(d.errlen == wantlen && memcmp(d.err, want, wantlen) == 0,
                  "%.*s\n got: %.*s\nwant: %s", (int)(len < 80 ? len : 80), body, (int)d.errlen,
                  d.err, want);
    ck_assert_int_eq(d.err[d.errlen], '\0');
    mock_gj_done(&d);
}

START_TEST(refusals_are_jsoniters_texts_byte_for_byte)
{
    ck_assert_uint_ge(sizeof refusals / sizeof refusals[0], 40);
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal *r = &refusals[i];
        check_refusal(r->s, r->head_len, r->body, r->len, r->want, r->wantlen);
    }
}
END_TEST

/* The body {"x":"aaa...a","page":"1"} with n a's: a refusal at the end of a long body. */
static char *padded(size_t n, size_t *len)
{
    static const char pre[] = "{\"x\":\"", post[] = "\",\"page\":\"1\"}";
    char *b = malloc(sizeof pre + n + sizeof post);
    ck_assert_ptr_nonnull(b);
    memcpy(b, pre, sizeof pre - 1);
    memset(b + sizeof pre - 1, 'a', n);
    memcpy(b + sizeof pre - 1 + n, post, sizeof post);
    *len = sizeof pre - 1 + n + sizeof post - 1;
    return b;
}

START_TEST(the_context_is_the_512_byte_read_cut_at_bufio_refills)
{
    /* config.go:366 NewDecoder: Parse(cfg, reader, 512). With the body on its own, the Read
     * that holds the error starts at byte 512; after 3700 bytes of headers the first Read is
     * the 396 bytes left of net/http's 4 KiB bufio buffer, and the second starts at 396. */
    size_t len;
    char *b = padded(512, &len);
    static const char w0[] = "handles.ListReq.PageReq: Page: readUint64: unexpected character: "
                             "\377, error found in #10 byte of ...|\",\"page\":\"1\"}|..., bigger "
                             "context ...|aaaaaa\",\"page\":\"1\"}|...";
    static const char w3700[] = "handles.ListReq.PageReq: Page: readUint64: unexpected "
                                "character: \377, error found in #10 byte of ...|\",\"page\":"
                                "\"1\"}|..., bigger context ...|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                "aaaaaaaa\",\"page\":\"1\"}|...";
    check_refusal(&mock_gj_list_req, 0, b, len, w0, sizeof w0 - 1);
    check_refusal(&mock_gj_list_req, 3700, b, len, w3700, sizeof w3700 - 1);
    free(b);
}
END_TEST

START_TEST(nesting_past_10000_levels_is_refused_without_recursion)
{
    /* iter.go:331-338: maxDepth 10000, the struct itself being the first level. The skipper
     * keeps its levels in a bit stack, so this runs on a 256 KiB thread stack too. */
    size_t n = 10000, len = 5 + n;
    char *b = malloc(len);
    ck_assert_ptr_nonnull(b);
    memcpy(b, "{\"x\":", 5);
    memset(b + 5, '[', n);
    static const char want[] = "handles.LoginReq.incrementDepth: exceeded max depth, error found "
                               "in #10 byte of ...|[[[[[[[[[[|..., bigger context ...|[[[[[[[[[["
                               "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[|...";
    check_refusal(&mock_gj_login_req, 0, b, len, want, sizeof want - 1);
    /* One level less is within the limit: the refusal is then the end of input where a value
     * should be (iter_skip.go:93, found byte 0). */
    static const char want2[] = "handles.LoginReq.Skip: do not know how to skip: 0, error found "
                                "in #10 byte of ...|[[[[[[[[[[|..., bigger context ...|[[[[[[[[["
                                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[|...";
    check_refusal(&mock_gj_login_req, 0, b, len - 1, want2, sizeof want2 - 1);
    free(b);
}
END_TEST

static mock_gj_doc decode_ok(const mock_gj_struct *s, const char *body, size_t len)
{
    mock_gj_doc d;
    int rc = mock_gj_decode(s, body, len, 0, &d);
    ck_assert_msg(rc == MOCK_GJ_OK, "%s gave %d: %.*s", body, rc, (int)d.errlen,
                  d.err != NULL ? d.err : "");
    return d;
}

#define DECODE_OK(s, lit) decode_ok(s, lit, sizeof lit - 1)

static void ck_str(mock_gj_str got, const char *want, size_t n)
{
    ck_assert_msg(got.n == n && memcmp(got.p, want, n) == 0, "got %.*s (%zu), want %s (%zu)",
                  (int)got.n, got.p, got.n, want, n);
}

#define CK_STR(got, lit) ck_str(got, lit, sizeof lit - 1)

/* MkdirOrLinkReq's one field after a clean decode of body. */
static void ck_path(const char *body, const char *want)
{
    mock_gj_doc d = decode_ok(&mock_gj_mkdir_req, body, strlen(body));
    ck_str(d.v[MOCK_GJ_MKDIR_PATH].s, want, strlen(want));
    mock_gj_done(&d);
}

START_TEST(keys_fold_case_the_last_one_wins_and_the_rest_is_skipped)
{
    /* reflect_struct_decoder.go:36-42 and iter_object.go:49-93: keys match by a case-folded
     * hash, escapes included; unknown keys are skipped; the Decoder reads one value. */
    mock_gj_doc d = DECODE_OK(&mock_gj_login_req,
                              "{\"username\":\"admin\",\"password\":\"p\\u0041ss\",\"OTP_code\":"
                              "\"1\",\"unknown\":[1,{\"a\":null},\"\\\"\",-.5,0.25,1e5],"
                              "\"username\":\"root\"} trailing");
    CK_STR(d.v[MOCK_GJ_LOGIN_USERNAME].s, "root");
    CK_STR(d.v[MOCK_GJ_LOGIN_PASSWORD].s, "pAss");
    CK_STR(d.v[MOCK_GJ_LOGIN_OTP_CODE].s, "1");
    mock_gj_done(&d);
    ck_path("{\"pa\\u0074h\":\"x\"}", "x");
    ck_path("{\"PATH\":\"a\",\"path\":\"b\"}", "b");
    ck_path("null", "");
}
END_TEST

START_TEST(strings_keep_raw_bytes_and_decode_escapes_as_jsoniter_does)
{
    /* iter_str.go: no UTF-8 check, so invalid bytes stay; a lone or reversed surrogate is
     * U+FFFD (appendRune); after a backslash the slow path takes control bytes as they are. */
    mock_gj_doc d = DECODE_OK(&mock_gj_fs_get_req,
                              "{\"path\":\"\377\376 a\",\"password\":\"\\ud83d\\ude00|\\ud800|"
                              "\\ud800\\u0041|\\ud800\\n|\\udc00\\ud800|\\u00e9\\/\"}");
    CK_STR(d.v[MOCK_GJ_GET_PATH].s, "\377\376 a");
    CK_STR(d.v[MOCK_GJ_GET_PASSWORD].s, "\360\237\230\200|\357\277\275|\357\277\275A|"
                                        "\357\277\275\n|\357\277\275\357\277\275|\303\251/");
    mock_gj_done(&d);
    ck_path("{\"path\":\"\\n\001\"}", "\n\001");
}
END_TEST

START_TEST(null_empties_a_string_but_leaves_an_int)
{
    /* reflect_native.go:208 stringCodec reads null as ""; :275 int64Codec skips it. */
    mock_gj_doc d = DECODE_OK(&mock_gj_list_req, "{\"page\":-9223372036854775808,\"per_page\":"
                                                 "null,\"refresh\":true,\"path\":\"/a\",\"path\":"
                                                 "null,\"PassWord\":\"p\"}");
    ck_assert(d.v[MOCK_GJ_LIST_PAGE].i == INT64_MIN);
    ck_assert(d.v[MOCK_GJ_LIST_PER_PAGE].i == 0);
    CK_STR(d.v[MOCK_GJ_LIST_PATH].s, "");
    CK_STR(d.v[MOCK_GJ_LIST_PASSWORD].s, "p");
    ck_assert_int_eq(d.v[MOCK_GJ_LIST_REFRESH].b, 1);
    mock_gj_done(&d);
    d = DECODE_OK(&mock_gj_list_req, "{\"page\":5,\"page\":null,\"per_page\":9223372036854775807}");
    ck_assert(d.v[MOCK_GJ_LIST_PAGE].i == 5);
    ck_assert(d.v[MOCK_GJ_LIST_PER_PAGE].i == INT64_MAX);
    ck_assert_int_eq(d.v[MOCK_GJ_LIST_REFRESH].b, 0);
    mock_gj_done(&d);
}
END_TEST

START_TEST(string_lists_tell_nil_from_empty)
{
    /* reflect_slice.go:66-99: null is a nil slice, [] an empty one, null elements "". */
    mock_gj_doc d = DECODE_OK(&mock_gj_remove_req, "{\"names\":null}");
    ck_assert_int_eq(d.v[MOCK_GJ_REMOVE_NAMES].nil, 1);
    mock_gj_done(&d);
    d = DECODE_OK(&mock_gj_remove_req, "{}");
    ck_assert_int_eq(d.v[MOCK_GJ_REMOVE_NAMES].nil, 1);
    mock_gj_done(&d);
    d = DECODE_OK(&mock_gj_remove_req, "{\"names\":[]}");
    ck_assert_int_eq(d.v[MOCK_GJ_REMOVE_NAMES].nil, 0);
    ck_assert_uint_eq(d.v[MOCK_GJ_REMOVE_NAMES].count, 0);
    mock_gj_done(&d);
    d = DECODE_OK(&mock_gj_remove_req, "{\"dir\":\"/d\",\"names\":[\"a\",\"\",null,\"b\\n\"]}");
    CK_STR(d.v[MOCK_GJ_REMOVE_DIR].s, "/d");
    const mock_gj_value *v = &d.v[MOCK_GJ_REMOVE_NAMES];
    ck_assert_int_eq(v->nil, 0);
    ck_assert_uint_eq(v->count, 4);
    CK_STR(v->list[0], "a");
    CK_STR(v->list[1], "");
    CK_STR(v->list[2], "");
    CK_STR(v->list[3], "b\n");
    mock_gj_done(&d);
    d = DECODE_OK(&mock_gj_remove_req, "{\"names\":[\"x\",\"y\"],\"names\":[\"z\"]}");
    ck_assert_uint_eq(d.v[MOCK_GJ_REMOVE_NAMES].count, 1);
    CK_STR(d.v[MOCK_GJ_REMOVE_NAMES].list[0], "z");
    mock_gj_done(&d);
}
END_TEST

START_TEST(descriptions_outside_the_hashed_decoders_are_refused)
{
    static const mock_gj_field upper[] = {{"Path", "Path", MOCK_GJ_STRING, 0}};
    static const mock_gj_field twice[] = {{"path", "Path", MOCK_GJ_STRING, 0},
                                          {"path", "Other", MOCK_GJ_STRING, 0}};
    static const mock_gj_field many[11] = {{"a", "A", MOCK_GJ_INT, 0}};
    const mock_gj_struct bad[] = {
        {"t.Upper", upper, 1}, {"t.Twice", twice, 2}, {"t.Many", many, 11}, {"t.None", upper, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mock_gj_doc d;
        ck_assert_int_eq(mock_gj_decode(&bad[i], "{}", 2, 0, &d), MOCK_GJ_EUNSUPPORTED);
        ck_assert_ptr_null(d.err);
        mock_gj_done(&d);
    }
    mock_gj_doc zero;
    memset(&zero, 0, sizeof zero);
    mock_gj_done(&zero);
    mock_gj_done(NULL);
}
END_TEST

START_TEST(quote_writes_the_message_as_gin_renders_it)
{
    /* jsoniter stream_str.go:241-308 WriteStringWithHTMLEscaped. */
    static const char in[] = "found \000, \"<&>\" \\ \n\r\t\b\f \377 \342\200\250 \303\251 \177";
    static const char want[] =
        "\"found \\u0000, \\\"\\u003c\\u0026\\u003e\\\" \\\\ \\n\\r\\t\\u0008"
        "\\u000c \\ufffd \\u2028 \303\251 \177\"";
    char out[128];
    size_t n = mock_gj_quote(in, sizeof in - 1, out, sizeof out);
    ck_assert_uint_eq(n, sizeof want - 1);
    ck_assert_str_eq(out, want);
    /* Too small: cut, NUL-terminated, and the length it needs still told. */
    char small[8];
    ck_assert_uint_eq(mock_gj_quote(in, sizeof in - 1, small, sizeof small), sizeof want - 1);
    ck_assert_str_eq(small, "\"found ");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gojson");
    TCase *t = tcase_create("refusals");
    tcase_add_test(t, refusals_are_jsoniters_texts_byte_for_byte);
    tcase_add_test(t, the_context_is_the_512_byte_read_cut_at_bufio_refills);
    tcase_add_test(t, nesting_past_10000_levels_is_refused_without_recursion);
    suite_add_tcase(s, t);
    t = tcase_create("values");
    tcase_add_test(t, keys_fold_case_the_last_one_wins_and_the_rest_is_skipped);
    tcase_add_test(t, strings_keep_raw_bytes_and_decode_escapes_as_jsoniter_does);
    tcase_add_test(t, null_empties_a_string_but_leaves_an_int);
    tcase_add_test(t, string_lists_tell_nil_from_empty);
    tcase_add_test(t, descriptions_outside_the_hashed_decoders_are_refused);
    tcase_add_test(t, quote_writes_the_message_as_gin_renders_it);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
