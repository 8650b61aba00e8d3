/*
 * Answers in AList's envelope, byte-identical to gin's (respond.c), and everything else that
 * speaks to the connection directly: its headers, an answer written past MHD, a reset.
 */
#ifndef MOCK_RESPOND_H
#define MOCK_RESPOND_H

#include <stddef.h>

#include <microhttpd.h>

typedef struct cJSON cJSON;

/*
 * A request's answer as the journal records it. code 0 means "no error yet": the first error
 * wins, as AList stops at its first failed check. The request owns it; the route that decides
 * the answer (an upload, a plain route) fills it.
 */
typedef struct mock_answer {
    int code;
    char msg[512];
    unsigned http_status; /* 0 until a response is queued */
} mock_answer;

/* Renders v compactly with Go's escaping. Returns a malloc'd string (caller frees), or NULL. */
char *mock_json_go(const cJSON *v);

/* As mock_json_go; escape_c1 also writes U+0080-U+009F as \u00XX (for terminal-safe logs). */
char *mock_json_go_ex(const cJSON *v, int escape_c1);

/*
 * Rewrites raw, cJSON's compact output, with Go's escaping into out (outsz bytes, at most six
 * per byte of raw are needed). Returns the length written, or -1 if out is too small.
 */
long mock_json_go_into(const char *raw, char *out, size_t outsz, int escape_c1);

/*
 * Queues {"code":code,"message":msg,"data":data} with HTTP status; data (taken over, may be NULL
 * for null). close_after adds "Connection: close" (used when the body was not read).
 */
enum MHD_Result mock_respond(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                             cJSON *data, int close_after);

/*
 * Writes {"code":code,"message":msg,"data":data} (data taken over, NULL: null) with HTTP status
 * and "Connection: close" straight
 * to the connection's socket (through its TLS session on HTTPS) and half-closes it. This is for an
 * answer in the middle of a body: MHD 0.9.75 (and 1.0) refuse MHD_queue_response() until the whole
 * body has been read, and a limit that waits for a 200 MB body is no limit. The caller must then
 * return MHD_NO so that MHD closes the connection without writing anything more. Returns 0, or -1
 * if it could not be sent.
 */
int mock_respond_now(struct MHD_Connection *c, unsigned status, int code, const char *msg,
                     cJSON *data);

/*
 * Go's rstAvoidanceDelay: after an answer that leaves body bytes unread, net/http half-closes
 * and waits this long before it closes, so the client can read the answer before the reset
 * that closing over unread data causes. Nothing is read meanwhile, so a client that keeps
 * sending only fills the socket buffers. Callers of mock_respond_now sleep it (mock_sleep_ms).
 */
#define MOCK_RST_AVOIDANCE_MS 500

/* A request header (case-insensitive name, first value, as Go's Header.Get), or NULL. */
const char *mock_header(struct MHD_Connection *c, const char *name);

/* Queues body (malloc'd, taken over) as is with the given Content-Type. */
enum MHD_Result mock_respond_raw(struct MHD_Connection *c, unsigned status, char *body,
                                 const char *type);

/*
 * For the content readers of streamed answers, which render one piece at a time and hand it out
 * across calls: copies what is left of piece[*off .. len) into buf, at most room bytes, and
 * advances *off. Returns the number of bytes copied.
 */
size_t mock_hand_out(char *buf, size_t room, const char *piece, size_t len, size_t *off);

/* Resets the connection (RST) at once; the caller then returns MHD_NO. */
void mock_respond_reset(struct MHD_Connection *c);

#endif
