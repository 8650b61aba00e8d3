/*
 * streamput-mock, diagnostics: the request journal (GET/DELETE /_mock/requests), the access log
 * in both formats, and the multipart diagnosis with its warning and --strict.
 */
#include "test_mock_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUCCESS "{\"code\":200,\"message\":\"success\",\"data\":null}"

static tm_env env;
static th_mock mock;
static char log_buf[65536];

static void setup(void)
{
    log_buf[0] = '\0';
    tm_env_up(&env, &mock, NULL, NULL);
}

static void teardown(void)
{
    tm_env_down(&env, &mock);
}

static cJSON *field(cJSON *e, const char *k)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    ck_assert_msg(v != NULL, "journal entry has no '%s'", k);
    return v;
}

static const char *str(cJSON *e, const char *k)
{
    cJSON *v = field(e, k);
    ck_assert_msg(cJSON_IsString(v), "'%s' is not a string", k);
    return v->valuestring;
}

static double num(cJSON *e, const char *k)
{
    cJSON *v = field(e, k);
    ck_assert_msg(cJSON_IsNumber(v), "'%s' is not a number", k);
    return v->valuedouble;
}

START_TEST(journal_records_what_the_client_sent_and_got)
{
    static tm_resp r;
    ck_assert_int_eq(tm_upload(mock.port, "/j/a%20b.txt",
                               "Content-Type: text/plain\r\nX-File-Md5: abc\r\n", "hello", &r),
                     200);
    ck_assert_int_eq(
        tm_put(mock.port, "/api/fs/put", "File-Path: /j/c.bin\r\n", "chunky", 6, 4, &r), 200);
    ck_assert_int_eq(tm_upload(mock.port, "/%zz", "", "x", &r), 200);
    cJSON *a = tm_journal(mock.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);

    cJSON *e = cJSON_GetArrayItem(a, 0);
    /* Every field the issue lists, in this order. */
    static const char *const keys[] = {"method",
                                       "path",
                                       "file_path",
                                       "content_length",
                                       "transfer_encoding",
                                       "content_type",
                                       "bytes_received",
                                       "multipart_suspected",
                                       "code",
                                       "message",
                                       "duration_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        field(e, keys[i]);
    ck_assert_str_eq(str(e, "method"), "PUT");
    ck_assert_str_eq(str(e, "path"), "/api/fs/put");
    ck_assert_str_eq(str(e, "file_path"), "/j/a%20b.txt");
    ck_assert_str_eq(str(e, "stored_path"), "/j/a b.txt");
    ck_assert(num(e, "content_length") == 5);
    ck_assert(cJSON_IsNull(field(e, "transfer_encoding")));
    ck_assert_str_eq(str(e, "content_type"), "text/plain");
    ck_assert_str_eq(str(e, "x_file_md5"), "abc");
    ck_assert(num(e, "bytes_received") == 5);
    ck_assert(cJSON_IsFalse(field(e, "multipart_suspected")));
    ck_assert(num(e, "http_status") == 200);
    ck_assert(num(e, "code") == 200);
    ck_assert_str_eq(str(e, "message"), "success");
    ck_assert(cJSON_IsTrue(field(e, "stored")));
    ck_assert(num(e, "duration_ms") >= 0);

    e = cJSON_GetArrayItem(a, 1);
    ck_assert(cJSON_IsNull(field(e, "content_length")));
    ck_assert_str_eq(str(e, "transfer_encoding"), "chunked");
    ck_assert(num(e, "bytes_received") == 6);

    e = cJSON_GetArrayItem(a, 2);
    ck_assert(num(e, "code") == 400);
    ck_assert_str_eq(str(e, "message"), "invalid URL escape \"%zz\"");
    ck_assert(cJSON_IsFalse(field(e, "stored")));
    cJSON_Delete(a);
}
END_TEST

START_TEST(journal_is_a_ring_oldest_first_and_can_be_cleared)
{
    static tm_resp r;
    th_mock small;
    ck_assert_int_eq(th_mock_start(&small, env.root, "--journal", "3", NULL), 0);
    for (int i = 1; i <= 5; i++) {
        char fp[16];
        snprintf(fp, sizeof fp, "/r%d", i);
        ck_assert_int_eq(tm_upload(small.port, fp, "", "x", &r), 200);
    }
    cJSON *a = tm_journal(small.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "file_path"), "/r3");
    ck_assert_str_eq(str(cJSON_GetArrayItem(a, 2), "file_path"), "/r5");
    cJSON_Delete(a);
    /* Reading the journal is not journaled. */
    a = tm_journal(small.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 3);
    cJSON_Delete(a);

    static const char del[] =
        "DELETE /_mock/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ck_assert_int_eq(tm_raw(small.port, del, sizeof del - 1, &r), 200);
    ck_assert_str_eq(r.body, SUCCESS);
    a = tm_journal(small.port);
    ck_assert_int_eq(cJSON_GetArraySize(a), 0);
    cJSON_Delete(a);
    ck_assert_int_eq(tm_upload(small.port, "/after", "", "x", &r), 200);
    ck_assert_str_eq(tm_last_field(small.port, "file_path"), "/after");
    ck_assert_int_eq(th_mock_stop(&small), 0);
}
END_TEST

START_TEST(journal_explains_an_aborted_upload)
{
    int fd = th_connect(mock.port);
    static const char head[] = "PUT /api/fs/put HTTP/1.1\r\nHost: x\r\nFile-Path: /gone.bin\r\n"
                               "Content-Length: 100000\r\n\r\n0123456789";
    ck_assert_int_eq(th_send_all(fd, head, sizeof head - 1), 0);
    tm_sleep_ms(200);
    close(fd);
    /* The entry appears once the mock notices the close. */
    const char *msg = "";
    for (int i = 0; i < 100; i++) {
        msg = tm_last_field(mock.port, "message");
        if (strstr(msg, "client closed") != NULL)
            break;
        tm_sleep_ms(50);
    }
    ck_assert_str_eq(msg, "client closed the connection after 10 body bytes; nothing stored");
    ck_assert_str_eq(tm_last_field(mock.port, "code"), "(null)");
    ck_assert_str_eq(tm_last_field(mock.port, "stored"), "false");
}
END_TEST

START_TEST(text_access_log_has_one_line_per_request)
{
    static tm_resp r;
    ck_assert_int_eq(tm_upload(mock.port, "/log.txt", "", "x", &r), 200);
    ck_assert(tm_log_wait(&mock,
                          "PUT /api/fs/put file_path=\"/log.txt\" bytes=1 status=200 "
                          "code=200",
                          log_buf, sizeof log_buf, 5000));
}
END_TEST

START_TEST(a_decoded_newline_cannot_forge_a_log_line)
{
    static tm_resp r;
    /* The multipart warning names the decoded path, newline and all. */
    ck_assert_int_eq(tm_upload(mock.port, "/a%0Afake%20line.txt",
                               "Content-Type: multipart/form-data; boundary=b\r\n", "x", &r),
                     200);
    ck_assert(tm_log_wait(&mock, "multipart framing", log_buf, sizeof log_buf, 5000));
    ck_assert_ptr_nonnull(strstr(log_buf, "File-Path /a?fake line.txt: "));
    ck_assert_ptr_null(strstr(log_buf, "\nfake line"));
    /* The stored name does hold the newline; only the log is flattened. */
    ck_assert(th_exists(th_path(env.root, "a\nfake line.txt")));
}
END_TEST

START_TEST(json_access_log_lines_parse)
{
    static tm_resp r;
    th_mock js;
    char buf[16384] = "";
    ck_assert_int_eq(th_mock_start(&js, env.root, "--log-format", "json", NULL), 0);
    ck_assert_int_eq(tm_upload(js.port, "/log.json", "", "x", &r), 200);
    ck_assert(tm_log_wait(&js, "\n", buf, sizeof buf, 5000));
    char *nl = strchr(buf, '\n');
    *nl = '\0';
    cJSON *e = cJSON_Parse(buf);
    ck_assert_msg(e != NULL, "not JSON: %s", buf);
    ck_assert_str_eq(str(e, "method"), "PUT");
    ck_assert_str_eq(str(e, "file_path"), "/log.json");
    ck_assert(num(e, "code") == 200);
    cJSON_Delete(e);
    ck_assert_int_eq(th_mock_stop(&js), 0);
}
END_TEST

/* A multipart/form-data body as a browser would build it. */
static const char multipart_body[] =
    "------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "payload\r\n"
    "--------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n";

START_TEST(multipart_body_is_diagnosed_and_stored_as_sent)
{
    static tm_resp r;
    /* Sent chunked 3 bytes at a time: the diagnosis must not need the first piece to be whole. */
    ck_assert_int_eq(tm_put(mock.port, "/api/fs/put",
                            "File-Path: /mp.txt\r\nContent-Type: application/octet-stream\r\n",
                            multipart_body, sizeof multipart_body - 1, 3, &r),
                     200);
    ck_assert_str_eq(r.body, SUCCESS);
    ck_assert_str_eq(tm_last_field(mock.port, "multipart_suspected"), "true");
    ck_assert(tm_log_wait(&mock, "the multipart framing will be stored as part of the file",
                          log_buf, sizeof log_buf, 5000));
    /* Stored as sent, framing and all: that is what the warning is about. */
    FILE *f = fopen(th_path(env.root, "mp.txt"), "rb");
    ck_assert_ptr_nonnull(f);
    char got[512];
    size_t n = fread(got, 1, sizeof got, f);
    fclose(f);
    ck_assert_uint_eq(n, sizeof multipart_body - 1);

    /* A multipart Content-Type alone is enough. */
    ck_assert_int_eq(tm_upload(mock.port, "/mp2.txt",
                               "Content-Type: multipart/form-data; boundary=x\r\n", "raw bytes",
                               &r),
                     200);
    ck_assert_str_eq(tm_last_field(mock.port, "multipart_suspected"), "true");
}
END_TEST

/* Negative controls: bodies that merely start with dashes are not multipart. */
static const char *const not_multipart[] = {
    "--just dashes\r\nhello\r\n",
    "--boundary\r\nContent-Type: text/plain\r\n\r\n",
    "-- \r\n",
    "plain text",
    "--",
};

START_TEST(plain_bodies_are_not_suspected)
{
    static tm_resp r;
    ck_assert_int_eq(tm_upload(mock.port, "/plain.txt", "", not_multipart[_i], &r), 200);
    ck_assert_str_eq(r.body, SUCCESS);
    ck_assert_str_eq(tm_last_field(mock.port, "multipart_suspected"), "false");
}
END_TEST

START_TEST(strict_refuses_multipart_and_stores_nothing)
{
    static tm_resp r;
    th_mock st;
    ck_assert_int_eq(th_mock_start(&st, env.root, "--strict", NULL), 0);
    ck_assert_int_eq(tm_put(st.port, "/api/fs/put", "File-Path: /s.txt\r\n", multipart_body,
                            sizeof multipart_body - 1, 0, &r),
                     200);
    ck_assert_msg(
        strncmp(r.body, "{\"code\":400,\"message\":\"multipart body on /api/fs/put", 51) == 0, "%s",
        r.body);
    ck_assert(!th_exists(th_path(env.root, "s.txt")));
    ck_assert_int_eq(tm_upload(st.port, "/s2.txt", "Content-Type: multipart/mixed\r\n", "x", &r),
                     200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"code\":400"));
    ck_assert(!th_exists(th_path(env.root, "s2.txt")));
    /* Control: --strict lets a plain body through. */
    ck_assert_int_eq(tm_upload(st.port, "/s3.txt", "", "--just dashes\r\n", &r), 200);
    ck_assert_str_eq(r.body, SUCCESS);
    ck_assert_int_eq(th_mock_stop(&st), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mock_journal");
    TCase *t = tcase_create("journal");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, journal_records_what_the_client_sent_and_got);
    tcase_add_test(t, journal_is_a_ring_oldest_first_and_can_be_cleared);
    tcase_add_test(t, journal_explains_an_aborted_upload);
    tcase_add_test(t, text_access_log_has_one_line_per_request);
    tcase_add_test(t, a_decoded_newline_cannot_forge_a_log_line);
    tcase_add_test(t, json_access_log_lines_parse);
    tcase_add_test(t, multipart_body_is_diagnosed_and_stored_as_sent);
    tcase_add_loop_test(t, plain_bodies_are_not_suspected, 0,
                        sizeof not_multipart / sizeof not_multipart[0]);
    tcase_add_test(t, strict_refuses_multipart_and_stores_nothing);
    suite_add_tcase(s, t);
    return th_run_suite(s);
}
