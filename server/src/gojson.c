/*
 * json-iterator/go v1.1.12's Decoder, as gin runs it in OpenList (-tags=jsoniter), replayed over
 * a body: Iterator (iter.go), its readers (iter_str.go, iter_int.go, iter_float.go,
 * iter_object.go, iter_array.go, iter_skip.go, iter_skip_strict.go) and the decoders reflection
 * builds for a struct of string, int, bool and []string fields (reflect_struct_decoder.go,
 * reflect_native.go, reflect_slice.go). Each function below is named after the one it follows
 * and keeps its order of reads, because jsoniter's error texts quote the bytes around where it
 * stood and it keeps reading after an error, wrapping the first error with every field name it
 * decodes afterwards.
 */
#include "gojson.h"
#include "gostr.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable byte buffer; a failed allocation sets oom and drops what was appended. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} gj_buf;

static void buf_add(gj_buf *b, const void *d, size_t n)
{
    if (n == 0 || b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_str(gj_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* iter.go: Error is nil, io.EOF or an error that sticks (ReportError never replaces it). */
enum { ST_OK, ST_EOF, ST_ERR };

/* What wraps the first error, innermost first: a field index, or one of these. */
#define WRAP_SLICE 0xf0 /* sliceDecoder: "[]string: " */
#define WRAP_TYPE  0xf1 /* the struct decoder: "handles.LoginReq." */

#define MAX_DEPTH  10000 /* iter.go maxDepth */
#define GO_BUFSIZE 512   /* config.go NewDecoder: Parse(cfg, reader, 512) */
#define BUFIO_SIZE 4096  /* net/http's bufio.Reader on the connection */

typedef struct {
    const mock_gj_struct *s;
    uint64_t hash[MOCK_GJ_MAXFIELDS];
    const unsigned char *body;
    size_t len, head_len;
    size_t pos;               /* body offset the next Read starts at */
    const unsigned char *buf; /* what the last Read returned */
    size_t head, tail;
    long depth;
    int state;
    gj_buf base;  /* the error's own text */
    gj_buf wraps; /* WRAP_* or field indexes */
    gj_buf arena; /* decoded string bytes */
    gj_buf elems; /* list elements: (offset, length) pairs of size_t into arena */
    unsigned char stack[(MAX_DEPTH + 7) / 8]; /* skip's open arrays (0) and objects (1) */
    size_t sp;
    struct {
        size_t off, n; /* STRING: arena; STRINGS: elems index and count */
        int64_t i;
        int b, nil;
    } val[MOCK_GJ_MAXFIELDS];
} gj_it;

/* The size of the Read that starts at body offset pos: 512 bytes at most, cut where the
 * server's bufio.Reader, filled 4 KiB at a time from the request's start, runs dry. */
static size_t read_size(const gj_it *it)
{
    size_t h = it->head_len < BUFIO_SIZE ? it->head_len : 0;
    size_t at = h + it->pos, room = BUFIO_SIZE - at % BUFIO_SIZE, n = GO_BUFSIZE;
    if (n > room)
        n = room;
    if (n > it->len - it->pos)
        n = it->len - it->pos;
    return n;
}

static int load_more(gj_it *it)
{
    if (it->pos >= it->len) {
        if (it->state == ST_OK)
            it->state = ST_EOF;
        return 0;
    }
    size_t n = read_size(it);
    it->buf = it->body + it->pos;
    it->head = 0;
    it->tail = n;
    it->pos += n;
    return 1;
}

static int next_token(gj_it *it)
{
    for (;;) {
        for (size_t i = it->head; i < it->tail; i++) {
            unsigned char c = it->buf[i];
            if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
                continue;
            it->head = i + 1;
            return c;
        }
        if (!load_more(it))
            return 0;
    }
}

static int read_byte(gj_it *it)
{
    if (it->head == it->tail && !load_more(it))
        return 0;
    return it->buf[it->head++];
}

static void unread_byte(gj_it *it)
{
    /* Every caller has just read a byte of this buffer, so head is never 0 here. */
    if (it->state == ST_OK && it->head > 0)
        it->head--;
}

/* iter.go ReportError: the first error sticks; io.EOF gives way. */
static void report(gj_it *it, const char *op, const char *msg, size_t msglen)
{
    if (it->state == ST_ERR)
        return;
    size_t head = it->head, tail = it->tail;
    size_t ps = head > 10 ? head - 10 : 0, pe = head + 10 < tail ? head + 10 : tail;
    size_t cs = head > 50 ? head - 50 : 0, ce = head + 50 < tail ? head + 50 : tail;
    char num[24];
    snprintf(num, sizeof num, "%zu", head - ps);
    gj_buf *b = &it->base;
    b->len = 0;
    buf_str(b, op);
    buf_str(b, ": ");
    buf_add(b, msg, msglen);
    buf_str(b, ", error found in #");
    buf_str(b, num);
    buf_str(b, " byte of ...|");
    buf_add(b, it->buf + ps, pe - ps);
    buf_str(b, "|..., bigger context ...|");
    buf_add(b, it->buf + cs, ce - cs);
    buf_str(b, "|...");
    it->wraps.len = 0;
    it->state = ST_ERR;
}

static void report_s(gj_it *it, const char *op, const char *msg)
{
    report(it, op, msg, strlen(msg));
}

/* A message that ends with the byte found: string([]byte{c}), 0 at the end of input. */
static void report_c(gj_it *it, const char *op, const char *prefix, int c)
{
    char msg[96];
    size_t n = strlen(prefix);
    memcpy(msg, prefix, n);
    msg[n] = (char)c;
    report(it, op, msg, n + 1);
}

static void report_d(gj_it *it, const char *op, const char *prefix, uint64_t d)
{
    char msg[96];
    int n = snprintf(msg, sizeof msg, "%s%" PRIu64, prefix, d);
    report(it, op, msg, (size_t)n);
}

/* iter.Error = err: an error of Go's strconv or math/big, without the iterator's context. */
static void set_error(gj_it *it, const char *a, const char *mid, size_t midlen, const char *z)
{
    it->base.len = 0;
    buf_str(&it->base, a);
    buf_add(&it->base, mid, midlen);
    buf_str(&it->base, z);
    it->wraps.len = 0;
    it->state = ST_ERR;
}

static void wrap(gj_it *it, unsigned char code)
{
    if (it->state == ST_ERR)
        buf_add(&it->wraps, &code, 1);
}

static int increment_depth(gj_it *it)
{
    if (++it->depth <= MAX_DEPTH)
        return 1;
    report_s(it, "incrementDepth", "exceeded max depth");
    return 0;
}

static void decrement_depth(gj_it *it)
{
    if (--it->depth < 0)
        report_s(it, "decrementDepth", "unexpected negative nesting");
}

/* iter_skip.go skipThreeBytes / skipFourBytes: rest is what must follow the byte just read. */
static void skip_bytes(gj_it *it, const char *rest)
{
    size_t n = strlen(rest);
    for (size_t i = 0; i < n; i++) {
        if (read_byte(it) != (unsigned char)rest[i]) {
            char msg[16];
            snprintf(msg, sizeof msg, "expect %s", rest);
            report_s(it, n == 3 ? "skipThreeBytes" : "skipFourBytes", msg);
            return;
        }
    }
}

/* ---- strings (iter_str.go) ---- */

static void append_rune(gj_it *it, uint32_t r)
{
    unsigned char u[4];
    size_t n;
    if (r <= 0x7f) {
        u[0] = (unsigned char)r, n = 1;
    } else if (r <= 0x7ff) {
        u[0] = (unsigned char)(0xc0 | r >> 6), u[1] = (unsigned char)(0x80 | (r & 0x3f)), n = 2;
    } else {
        if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
            r = 0xfffd;
        if (r <= 0xffff) {
            u[0] = (unsigned char)(0xe0 | r >> 12), n = 3;
        } else {
            u[0] = (unsigned char)(0xf0 | r >> 18);
            u[1] = (unsigned char)(0x80 | ((r >> 12) & 0x3f)), n = 4;
        }
        u[n - 2] = (unsigned char)(0x80 | ((r >> 6) & 0x3f));
        u[n - 1] = (unsigned char)(0x80 | (r & 0x3f));
    }
    buf_add(&it->arena, u, n);
}

static uint32_t read_u4(gj_it *it)
{
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        int c = read_byte(it);
        if (it->state != ST_OK)
            return r;
        if (c >= '0' && c <= '9')
            r = r * 16 + (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            r = r * 16 + (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            r = r * 16 + (uint32_t)(c - 'A' + 10);
        else {
            report_c(it, "readU4", "expects 0~9 or a~f, but found ", c);
            return r;
        }
    }
    return r;
}

static int is_surrogate(uint32_t r)
{
    return r >= 0xd800 && r < 0xe000;
}

/* readEscapedChar: the escape after a backslash, appended to the arena. */
static void read_escaped_char(gj_it *it, int c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *e = c != 0 ? strchr(from, c) : NULL;
    if (e != NULL) {
        buf_add(&it->arena, &to[e - from], 1);
        return;
    }
    if (c != 'u') {
        report_s(it, "readEscapedChar", "invalid escape char after \\");
        return;
    }
    uint32_t r = read_u4(it);
    if (!is_surrogate(r)) {
        append_rune(it, r);
        return;
    }
    c = read_byte(it);
    if (it->state != ST_OK)
        return;
    if (c != '\\') {
        unread_byte(it);
        append_rune(it, r);
        return;
    }
    c = read_byte(it);
    if (it->state != ST_OK)
        return;
    if (c != 'u') {
        append_rune(it, r);
        read_escaped_char(it, c); /* c is not 'u': this goes no deeper */
        return;
    }
    uint32_t r2 = read_u4(it);
    if (it->state != ST_OK)
        return;
    if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
        append_rune(it, 0x10000 + ((r - 0xd800) << 10 | (r2 - 0xdc00)));
    } else {
        append_rune(it, r); /* utf16.DecodeRune gave U+FFFD: both, each as it is */
        append_rune(it, r2);
    }
}

/* readStringSlowPath: from head (inside the string) to the closing quote, across Reads. On an
 * error Go returns "": the arena is cut back and *n is 0. */
static void read_string_slow(gj_it *it, size_t *off, size_t *n)
{
    *off = it->arena.len;
    *n = 0;
    while (it->state == ST_OK) {
        int c = read_byte(it);
        if (c == '"') {
            *n = it->arena.len - *off;
            return;
        }
        if (c == '\\') {
            read_escaped_char(it, read_byte(it));
        } else {
            unsigned char b = (unsigned char)c;
            buf_add(&it->arena, &b, 1);
        }
    }
    report_s(it, "readStringSlowPath", "unexpected end of input");
    it->arena.len = *off;
}

/* ReadString: the string (or null, as "") appended to the arena at *off. */
static void read_string(gj_it *it, size_t *off, size_t *n)
{
    *off = it->arena.len;
    *n = 0;
    int c = next_token(it);
    if (c == '"') {
        for (size_t i = it->head; i < it->tail; i++) {
            unsigned char b = it->buf[i];
            if (b == '"') {
                buf_add(&it->arena, it->buf + it->head, i - it->head);
                *n = i - it->head;
                it->head = i + 1;
                return;
            } else if (b == '\\') {
                break;
            } else if (b < ' ') {
                report_d(it, "ReadString", "invalid control character found: ", b);
                return;
            }
        }
        read_string_slow(it, off, n);
    } else if (c == 'n') {
        skip_bytes(it, "ull");
    } else {
        report_c(it, "ReadString", "expects \" or n, but found ", c);
    }
}

static void discard_string(gj_it *it)
{
    size_t off, n;
    read_string(it, &off, &n);
    it->arena.len = off;
}

/* ---- numbers (iter_int.go, iter_float.go) ---- */

static int int_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : -1;
}

static void assert_integer(gj_it *it)
{
    if (it->head < it->tail && it->buf[it->head] == '.')
        report_s(it, "assertInteger", "can not decode float as int");
}

#define UINT64_SAFE_TO_MULTIPLY_10 (UINT64_MAX / 10 - 1)

static uint64_t read_uint64(gj_it *it, int c)
{
    int ind = int_digit(c);
    if (ind == 0) {
        assert_integer(it);
        return 0;
    }
    if (ind < 0) {
        /* Go writes byte(invalidCharForNumber), that is 0xff, not the character. */
        report_c(it, "readUint64", "unexpected character: ", 0xff);
        return 0;
    }
    uint64_t value = (uint64_t)ind;
    if (it->tail - it->head > 10) {
        /* Go's unrolled fast path: up to eight more digits without bounds checks. */
        size_t i = it->head;
        for (int k = 0; k < 7; k++, i++) {
            int d = int_digit(it->buf[i]);
            if (d < 0) {
                it->head = i;
                assert_integer(it);
                return value;
            }
            value = value * 10 + (uint64_t)d;
        }
        it->head = i;
        if (int_digit(it->buf[i]) < 0) {
            assert_integer(it);
            return value;
        }
    }
    for (;;) {
        for (size_t i = it->head; i < it->tail; i++) {
            ind = int_digit(it->buf[i]);
            if (ind < 0) {
                it->head = i;
                assert_integer(it);
                return value;
            }
            uint64_t v2 = (value << 3) + (value << 1) + (uint64_t)ind;
            if (value > UINT64_SAFE_TO_MULTIPLY_10 && v2 < value) {
                report_s(it, "readUint64", "overflow");
                return 0;
            }
            value = v2;
        }
        if (!load_more(it)) {
            assert_integer(it);
            return value;
        }
    }
}

static int64_t read_int64(gj_it *it)
{
    int c = next_token(it);
    if (c == '-') {
        uint64_t val = read_uint64(it, read_byte(it));
        if (val > (uint64_t)INT64_MAX + 1) {
            report_d(it, "ReadInt64", "overflow: ", val);
            return 0;
        }
        return (int64_t)(0 - val);
    }
    uint64_t val = read_uint64(it, c);
    if (val > (uint64_t)INT64_MAX) {
        report_d(it, "ReadInt64", "overflow: ", val);
        return 0;
    }
    return (int64_t)val;
}

static int is_number_char(int c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/* readNumberAsString: the number's characters, which are always one run of the body. */
static mock_gj_str read_number_as_string(gj_it *it)
{
    mock_gj_str str = {(const char *)it->buf + it->head, 0};
    for (;;) {
        for (size_t i = it->head; i < it->tail; i++) {
            if (!is_number_char(it->buf[i])) {
                it->head = i;
                goto done;
            }
            str.n++;
        }
        if (!load_more(it))
            break;
    }
done:
    if (it->state != ST_ERR && str.n == 0)
        report_s(it, "readNumberAsString", "invalid number");
    return str;
}

static const char *validate_float(mock_gj_str s)
{
    if (s.n == 0)
        return "empty number";
    if (s.p[0] == '-')
        return "-- is not valid";
    const char *dot = memchr(s.p, '.', s.n);
    if (dot != NULL) {
        size_t at = (size_t)(dot - s.p);
        if (at == s.n - 1)
            return "dot can not be last character";
        if (int_digit(s.p[at + 1]) < 0)
            return "missing digit after dot";
    }
    return NULL;
}

/* The length of the run of digits at s[i..n). */
static size_t digits_at(mock_gj_str s, size_t i)
{
    size_t k = i;
    while (k < s.n && int_digit(s.p[k]) >= 0)
        k++;
    return k - i;
}

/* strconv.ParseFloat(s, bits) on the characters readNumberAsString collects: its decimal
 * grammar, and "value out of range" when the value rounds past the largest finite float. */
static void parse_float(gj_it *it, mock_gj_str s, int bits)
{
    size_t i = 0, mant;
    if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
        i++;
    mant = digits_at(s, i);
    i += mant;
    if (i < s.n && s.p[i] == '.') {
        size_t frac = digits_at(s, i + 1);
        mant += frac;
        i += 1 + frac;
    }
    int ok = mant > 0;
    if (ok && i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
        i++;
        if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
            i++;
        size_t e = digits_at(s, i);
        ok = e > 0;
        i += e;
    }
    const char *why = NULL;
    if (!ok || i != s.n) {
        why = "invalid syntax";
    } else {
        char *z = malloc(s.n + 1);
        if (z == NULL) {
            it->arena.oom = 1;
            return;
        }
        memcpy(z, s.p, s.n);
        z[s.n] = '\0';
        int inf = bits == 32 ? isinf(strtof(z, NULL)) : isinf(strtod(z, NULL));
        free(z);
        if (inf)
            why = "value out of range";
    }
    if (why != NULL) {
        char tail[32];
        snprintf(tail, sizeof tail, "\": %s", why);
        set_error(it, "strconv.ParseFloat: parsing \"", s.p, s.n, tail);
    }
}

/* readFloat32SlowPath / readFloat64SlowPath. */
static void read_float_slow(gj_it *it, int bits)
{
    mock_gj_str s = read_number_as_string(it);
    if (it->state == ST_ERR)
        return;
    const char *msg = validate_float(s);
    if (msg != NULL) {
        report_s(it, bits == 32 ? "readFloat32SlowPath" : "readFloat64SlowPath", msg);
        return;
    }
    parse_float(it, s, bits);
}

static int float_digit(int c)
{
    enum { INVALID = -1, END = -2, DOT = -3 };
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n')
        return END;
    return c == '.' ? DOT : INVALID;
}

/* readPositiveFloat32 / readPositiveFloat64: the fast path within one Read, which hands the
 * number to the slow path whenever it cannot finish it there. Only where it stops matters. */
static void read_positive_float(gj_it *it, int bits)
{
    const char *op = bits == 32 ? "readFloat32" : "readFloat64";
    size_t i = it->head;
    if (i == it->tail)
        goto slow;
    int c = it->buf[i++];
    int ind = float_digit(c);
    if (ind == -1)
        goto slow;
    if (ind == -2) {
        report_s(it, op, "empty number");
        return;
    }
    if (ind == -3) {
        report_s(it, op, "leading dot is invalid");
        return;
    }
    if (ind == 0) {
        if (i == it->tail)
            goto slow;
        c = it->buf[i];
        if (int_digit(c) >= 0) {
            report_s(it, op, "leading zero is invalid");
            return;
        }
    }
    uint64_t value = (uint64_t)ind;
    for (; i < it->tail; i++) {
        c = it->buf[i];
        ind = float_digit(c);
        if (ind == -1)
            goto slow;
        if (ind == -2) {
            it->head = i;
            return;
        }
        if (ind == -3)
            break;
        if (value > UINT64_SAFE_TO_MULTIPLY_10)
            goto slow;
        value = value * 10 + (uint64_t)ind;
    }
    if (c == '.') {
        i++;
        int places = 0;
        if (i == it->tail)
            goto slow;
        for (; i < it->tail; i++) {
            ind = float_digit(it->buf[i]);
            if (ind == -2) {
                if (places > 0 && places < 7) { /* len(pow10) */
                    it->head = i;
                    return;
                }
                goto slow;
            }
            if (ind < 0)
                goto slow;
            places++;
            if (value > UINT64_SAFE_TO_MULTIPLY_10)
                goto slow;
            value = value * 10 + (uint64_t)ind;
            if (bits == 64 && value > ((uint64_t)1 << 53) - 1) /* maxFloat64 */
                goto slow;
        }
    }
slow:
    read_float_slow(it, bits);
}

/* ReadFloat32 / ReadFloat64 */
static void read_float(gj_it *it, int bits)
{
    if (next_token(it) != '-')
        unread_byte(it);
    read_positive_float(it, bits);
}

/* What math/big's ParseFloat(s, 10, prec, ToZero) says of the characters readNumberAsString
 * collects, following Float.Parse and scan (floatconv.go), nat.scan (natconv.go) and
 * scanExponent (ratconv.go). */
enum { BIG_OK, BIG_EOF, BIG_NO_DIGITS, BIG_EXP_RANGE, BIG_EXP_OVERFLOW, BIG_TRAILING };

/* *at receives where the text's variable part starts: the exponent ParseInt refused, or the
 * byte after the number. */
static int big_parse_float(mock_gj_str s, size_t *at, size_t *atn)
{
    if (s.n == 0)
        return BIG_EOF; /* scanSign's ReadByte */
    size_t i = 0;
    if (s.p[0] == '+' || s.p[0] == '-')
        i++;
    size_t digits = 0, frac = 0, nonzero = 0, top = 0;
    int dot = 0;
    for (; i < s.n; i++) {
        if (s.p[i] == '.' && !dot) {
            dot = 1;
        } else if (int_digit(s.p[i]) >= 0) {
            digits++;
            frac += (size_t)dot;
            if (s.p[i] != '0' && nonzero++ == 0)
                top = i;
        } else {
            break;
        }
    }
    size_t mant_end = i;
    if (digits == 0)
        return BIG_NO_DIGITS;
    int64_t exp = 0;
    if (i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
        size_t sign = ++i;
        if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
            i++;
        size_t ed = digits_at(s, i);
        if (ed == 0)
            return BIG_NO_DIGITS;
        /* strconv.ParseInt(digits, 10, 64), with the '-' kept and a '+' dropped */
        int neg = s.p[sign] == '-';
        uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (size_t k = i; k < i + ed; k++) {
            unsigned d = (unsigned)(s.p[k] - '0');
            if (m > (lim - d) / 10) {
                *at = neg ? sign : i;
                *atn = i + ed - *at;
                return BIG_EXP_RANGE;
            }
            m = m * 10 + d;
        }
        exp = neg ? (int64_t)(0 - m) : (int64_t)m;
        i += ed;
    }
    if (nonzero > 0) {
        /* A zero mantissa is exact; otherwise exp2 = bit length of the mantissa's digits as an
         * integer - fraction digits + exp must fit an int32. The bit length is exact up to 38
         * significant digits; beyond, it comes from the leading 38 and the digit count, which
         * is off only for a mantissa within 1e-37 of a power of two. */
        size_t after = 0, used = 0;
        unsigned __int128 lead = 0;
        for (size_t k = top; k < mant_end; k++) {
            if (s.p[k] == '.')
                continue;
            after++;
            if (used < 38) {
                lead = lead * 10 + (unsigned)(s.p[k] - '0');
                used++;
            }
        }
        double bitlen = 0;
        if (after == used) {
            while (lead != 0)
                lead >>= 1, bitlen++;
        } else {
            long double l2 = log2l((long double)lead) + (long double)(after - used) * log2l(10.0L);
            bitlen = (double)floorl(l2) + 1;
        }
        double exp2 = bitlen - (double)frac + (double)exp;
        if (exp2 < (double)INT32_MIN || exp2 > (double)INT32_MAX)
            return BIG_EXP_OVERFLOW;
    }
    if (i < s.n) {
        *at = i;
        *atn = 1;
        return BIG_TRAILING;
    }
    return BIG_OK;
}

/* ReadBigFloat: where skipNumber goes after ReadFloat64 failed. */
static void read_big_float(gj_it *it)
{
    mock_gj_str s = read_number_as_string(it);
    if (it->state == ST_ERR)
        return;
    size_t at = 0, n = 0;
    switch (big_parse_float(s, &at, &n)) {
    case BIG_OK:
        break;
    case BIG_EOF:
        set_error(it, "EOF", "", 0, "");
        break;
    case BIG_NO_DIGITS:
        set_error(it, "number has no digits", "", 0, "");
        break;
    case BIG_EXP_RANGE:
        set_error(it, "strconv.ParseInt: parsing \"", s.p + at, n, "\": value out of range");
        break;
    case BIG_EXP_OVERFLOW:
        set_error(it, "exponent overflow", "", 0, "");
        break;
    case BIG_TRAILING: /* fmt's %q of a byte, here always printable ASCII */
        set_error(it, "expected end of string, found '", s.p + at, 1, "'");
        break;
    }
}

/* ---- skipping (iter_skip.go, iter_skip_strict.go) ---- */

static int try_skip_number(gj_it *it)
{
    int dot = 0;
    for (size_t i = it->head; i < it->tail; i++) {
        int c = it->buf[i];
        if (int_digit(c) >= 0)
            continue;
        if (c == '.') {
            if (dot) {
                report_s(it, "validateNumber", "more than one dot found in number");
                return 1;
            }
            if (i + 1 == it->tail)
                return 0;
            if (int_digit(it->buf[i + 1]) < 0) {
                report_s(it, "validateNumber", "missing digit after dot");
                return 1;
            }
            dot = 1;
            continue;
        }
        if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (it->head == i)
                return 0;
            it->head = i;
            return 1;
        }
        return 0;
    }
    return 0;
}

static void skip_number(gj_it *it)
{
    if (try_skip_number(it))
        return;
    unread_byte(it);
    if (it->state == ST_ERR)
        return;
    read_float(it, 64);
    if (it->state == ST_ERR) {
        it->state = ST_OK; /* iter.Error = nil */
        read_big_float(it);
    }
}

static int try_skip_string(gj_it *it)
{
    for (size_t i = it->head; i < it->tail; i++) {
        unsigned char c = it->buf[i];
        if (c == '"') {
            it->head = i + 1;
            return 1;
        } else if (c == '\\') {
            return 0;
        } else if (c < ' ') {
            report_d(it, "trySkipString", "invalid control character found: ", c);
            return 1;
        }
    }
    return 0;
}

static void push(gj_it *it, int object)
{
    /* Each open level took a successful incrementDepth, so sp stays below MAX_DEPTH. */
    size_t k = it->sp++;
    if (object)
        it->stack[k / 8] |= (unsigned char)(1u << k % 8);
    else
        it->stack[k / 8] &= (unsigned char)~(1u << k % 8);
}

/* After an object's key: ReadObjectCB's check of the colon. */
static void object_colon(gj_it *it)
{
    int c = next_token(it);
    if (c != ':')
        report_c(it, "ReadObject", "expect : after object field, but found ", c);
}

/*
 * Iterator.Skip. skipArray and skipObject recurse through ReadArrayCB and ReadObjectCB in Go,
 * up to maxDepth levels; here each open level is a bit on it->stack, so 10,000 levels need no
 * C stack (the mock's threads have 256 KiB).
 */
static void skip(gj_it *it)
{
    size_t base = it->sp;
    int c;
value:
    c = next_token(it);
    switch (c) {
    case '"':
        if (!try_skip_string(it)) {
            unread_byte(it);
            discard_string(it);
        }
        break;
    case 'n':
        skip_bytes(it, "ull");
        break;
    case 't':
        skip_bytes(it, "rue");
        break;
    case 'f':
        skip_bytes(it, "alse");
        break;
    case '0':
        unread_byte(it);
        read_float(it, 32);
        break;
    case '-':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        skip_number(it);
        break;
    case '[': /* skipArray: ReadArrayCB */
        unread_byte(it);
        c = next_token(it);
        if (c == '[') {
            if (!increment_depth(it))
                break;
            c = next_token(it);
            if (c != ']') {
                unread_byte(it);
                push(it, 0);
                goto value;
            }
            decrement_depth(it);
        } else if (c == 'n') {
            skip_bytes(it, "ull");
        } else {
            report_c(it, "ReadArrayCB", "expect [ or n, but found ", c);
        }
        break;
    case '{': /* skipObject: ReadObjectCB */
        unread_byte(it);
        c = next_token(it);
        if (c == '{') {
            if (!increment_depth(it))
                break;
            c = next_token(it);
            if (c == '"') {
                unread_byte(it);
                discard_string(it);
                object_colon(it);
                push(it, 1);
                goto value;
            }
            if (c != '}')
                report_c(it, "ReadObjectCB", "expect \" after {, but found ", c);
            decrement_depth(it);
        } else if (c == 'n') {
            skip_bytes(it, "ull");
        } else {
            report_c(it, "ReadObjectCB", "expect { or n, but found ", c);
        }
        break;
    default:
        report_d(it, "Skip", "do not know how to skip: ", (unsigned)c);
        break;
    }
    /* A value is done: go on with the innermost open array or object. */
    while (it->sp > base) {
        size_t k = it->sp - 1;
        int object = it->stack[k / 8] >> k % 8 & 1;
        c = next_token(it);
        if (c == ',') {
            if (object) {
                discard_string(it);
                object_colon(it);
            }
            goto value;
        }
        it->sp--;
        if (object && c != '}')
            report_s(it, "ReadObjectCB", "object not ended with }");
        else if (!object && c != ']')
            report_c(it, "ReadArrayCB", "expect ] in the end, but found ", c);
        decrement_depth(it);
    }
}

/* ---- the struct (reflect_struct_decoder.go, reflect_native.go, reflect_slice.go) ---- */

static int read_nil(gj_it *it)
{
    if (next_token(it) == 'n') {
        skip_bytes(it, "ull");
        return 1;
    }
    unread_byte(it);
    return 0;
}

static int read_bool(gj_it *it)
{
    int c = next_token(it);
    if (c == 't') {
        skip_bytes(it, "rue");
        return 1;
    }
    if (c == 'f') {
        skip_bytes(it, "alse");
        return 0;
    }
    report_c(it, "ReadBool", "expect t or f, but found ", c);
    return 0;
}

static void push_elem(gj_it *it)
{
    size_t e[2];
    read_string(it, &e[0], &e[1]);
    buf_add(&it->elems, e, sizeof e);
}

/* sliceDecoder.doDecode for []string. */
static void read_strings(gj_it *it, int k)
{
    int c = next_token(it);
    if (c == 'n') {
        skip_bytes(it, "ull");
        it->val[k].nil = 1, it->val[k].n = 0;
        return;
    }
    if (c != '[') {
        report_c(it, "decode slice", "expect [ or n, but found ", c);
        return;
    }
    it->val[k].nil = 0, it->val[k].n = 0;
    it->val[k].off = it->elems.len / (2 * sizeof(size_t));
    c = next_token(it);
    if (c == ']')
        return;
    unread_byte(it);
    push_elem(it);
    for (c = next_token(it); c == ','; c = next_token(it))
        push_elem(it);
    it->val[k].n = it->elems.len / (2 * sizeof(size_t)) - it->val[k].off;
    if (c != ']')
        report_c(it, "decode slice", "expect ], but found ", c);
}

/* structFieldDecoder.Decode: the field's decoder, then its name around any error. */
static void decode_field(gj_it *it, int k)
{
    switch (it->s->fields[k].kind) {
    case MOCK_GJ_STRING:
        read_string(it, &it->val[k].off, &it->val[k].n);
        break;
    case MOCK_GJ_INT:
        if (!read_nil(it))
            it->val[k].i = read_int64(it);
        break;
    case MOCK_GJ_BOOL:
        if (!read_nil(it))
            it->val[k].b = read_bool(it);
        break;
    case MOCK_GJ_STRINGS:
        read_strings(it, k);
        wrap(it, WRAP_SLICE);
        break;
    }
    wrap(it, (unsigned char)k);
}

/* readObjectStart: 1 when an object with at least one key follows. */
static int read_object_start(gj_it *it)
{
    int c = next_token(it);
    if (c == '{') {
        if (next_token(it) == '}')
            return 0;
        unread_byte(it);
        return 1;
    }
    if (c == 'n')
        skip_bytes(it, "ull");
    else
        report_c(it, "readObjectStart", "expect { or n, but found ", c);
    return 0;
}

static uint64_t fnv_step(uint64_t h, unsigned char b)
{
    if (b >= 'A' && b <= 'Z')
        b = (unsigned char)(b + 'a' - 'A');
    return (h ^ b) * 0x1000193u;
}

#define FNV_START 0x811c9dc5u

/* readFieldHash: the key's case-folded hash and its colon; 0 on an error. */
static uint64_t read_field_hash(gj_it *it)
{
    uint64_t hash = FNV_START;
    int c = next_token(it);
    if (c != '"') {
        report_c(it, "readFieldHash", "expect \", but found ", c);
        return 0;
    }
    for (;;) {
        for (size_t i = it->head; i < it->tail; i++) {
            unsigned char b = it->buf[i];
            if (b == '\\' || b == '"') {
                if (b == '\\') {
                    size_t off, n;
                    it->head = i;
                    read_string_slow(it, &off, &n);
                    for (size_t j = 0; j < n; j++)
                        hash = fnv_step(hash, (unsigned char)it->arena.p[off + j]);
                    it->arena.len = off;
                } else {
                    it->head = i + 1;
                }
                c = next_token(it);
                if (c != ':') {
                    report_c(it, "readFieldHash", "expect :, but found ", c);
                    return 0;
                }
                return hash;
            }
            hash = fnv_step(hash, b);
        }
        if (!load_more(it)) {
            report_s(it, "readFieldHash", "incomplete field name");
            return 0;
        }
    }
}

/* The hashed struct decoders (oneFieldStructDecoder .. tenFieldsStructDecoder). */
static void decode_struct(gj_it *it)
{
    if (!read_object_start(it) || !increment_depth(it))
        return;
    for (;;) {
        uint64_t h = read_field_hash(it);
        size_t k = 0;
        while (k < it->s->n && it->hash[k] != h)
            k++;
        if (h != 0 && k < it->s->n)
            decode_field(it, (int)k);
        else
            skip(it);
        int c = next_token(it); /* isObjectEnd */
        if (c == ',')
            continue;
        if (c != '}')
            report_c(it, "isObjectEnd", "object ended prematurely, unexpected char ", c);
        break;
    }
    wrap(it, WRAP_TYPE);
    decrement_depth(it);
}

static uint64_t calc_hash(const char *name)
{
    uint64_t h = FNV_START;
    while (*name != '\0')
        h = fnv_step(h, (unsigned char)*name++);
    return h;
}

/* Whether s is what decoderOfStruct turns into a hashed decoder with these names. */
static int supported(const mock_gj_struct *s, uint64_t *hash)
{
    if (s == NULL || s->n == 0 || s->n > MOCK_GJ_MAXFIELDS || s->go_type == NULL)
        return 0;
    for (size_t k = 0; k < s->n; k++) {
        const char *j = s->fields[k].json;
        if (j == NULL || *j == '\0' || s->fields[k].go == NULL)
            return 0;
        for (const char *p = j; *p != '\0'; p++)
            if ((unsigned char)*p >= 0x80 || (*p >= 'A' && *p <= 'Z'))
                return 0;
        hash[k] = calc_hash(j);
        if (hash[k] == 0)
            return 0;
        for (size_t m = 0; m < k; m++)
            if (hash[m] == hash[k])
                return 0;
    }
    return 1;
}

/* Hands a finished error text to the doc, NUL-terminated. */
static int give_error(mock_gj_doc *doc, gj_buf *out)
{
    buf_add(out, "", 1);
    if (out->oom) {
        free(out->p);
        return MOCK_GJ_ENOMEM;
    }
    doc->mem_ = out->p;
    doc->err = out->p;
    doc->errlen = out->len - 1;
    return MOCK_GJ_EGO;
}

/* The wraps around the base text, outermost first: Go prepends each as it happens. */
static int finish_error(gj_it *it, mock_gj_doc *doc)
{
    gj_buf out = {0};
    for (size_t w = it->wraps.len; w-- > 0;) {
        unsigned char code = (unsigned char)it->wraps.p[w];
        if (code == WRAP_TYPE) {
            buf_str(&out, it->s->go_type);
            buf_str(&out, ".");
        } else if (code == WRAP_SLICE) {
            buf_str(&out, "[]string: ");
        } else {
            buf_str(&out, it->s->fields[code].go);
            buf_str(&out, ": ");
        }
    }
    buf_add(&out, it->base.p, it->base.len);
    return give_error(doc, &out);
}

/*
 * gin's validate(obj): go-playground/validator's "required" on each flagged field, in the
 * struct's order, one "Key: 'LoginReq.Username' Error:Field validation for 'Username' failed
 * on the 'required' tag" per line. An embedded struct's field "PageReq: Page" is
 * "ListReq.PageReq.Page" there.
 */
static int validate(gj_it *it, mock_gj_doc *doc)
{
    const mock_gj_struct *s = it->s;
    const char *dot = strrchr(s->go_type, '.');
    const char *type = dot != NULL ? dot + 1 : s->go_type;
    gj_buf out = {0};
    for (size_t k = 0; k < s->n; k++) {
        const mock_gj_field *f = &s->fields[k];
        int has = f->kind == MOCK_GJ_STRING ? it->val[k].n > 0
                  : f->kind == MOCK_GJ_INT  ? it->val[k].i != 0
                  : f->kind == MOCK_GJ_BOOL ? it->val[k].b
                                            : !it->val[k].nil;
        if (!(f->flags & MOCK_GJ_REQUIRED) || has)
            continue;
        const char *name = f->go, *p;
        while ((p = strstr(name, ": ")) != NULL)
            name = p + 2;
        if (out.len > 0)
            buf_str(&out, "\n");
        buf_str(&out, "Key: '");
        buf_str(&out, type);
        buf_str(&out, ".");
        for (const char *g = f->go; *g != '\0'; g++) {
            if (g[0] == ':' && g[1] == ' ') {
                buf_str(&out, ".");
                g++;
            } else {
                buf_add(&out, g, 1);
            }
        }
        buf_str(&out, "' Error:Field validation for '");
        buf_str(&out, name);
        buf_str(&out, "' failed on the 'required' tag");
    }
    if (out.len == 0)
        return MOCK_GJ_OK;
    return give_error(doc, &out);
}

/* Points doc's values into the arena, which the doc takes over. */
static int finish_values(gj_it *it, mock_gj_doc *doc)
{
    size_t total = it->elems.len / (2 * sizeof(size_t));
    mock_gj_str *lists = NULL;
    if (total > 0 && (lists = malloc(total * sizeof *lists)) == NULL)
        return MOCK_GJ_ENOMEM;
    for (size_t k = 0; k < it->s->n; k++) {
        mock_gj_value *v = &doc->v[k];
        switch (it->s->fields[k].kind) {
        case MOCK_GJ_STRING:
            v->s.p = it->arena.p != NULL ? it->arena.p + it->val[k].off : "";
            v->s.n = it->val[k].n;
            break;
        case MOCK_GJ_INT:
            v->i = it->val[k].i;
            break;
        case MOCK_GJ_BOOL:
            v->b = it->val[k].b;
            break;
        case MOCK_GJ_STRINGS:
            v->nil = it->val[k].nil;
            v->count = it->val[k].n;
            v->list = v->count > 0 ? lists + it->val[k].off : NULL;
            break;
        }
    }
    for (size_t e = 0; e < total; e++) {
        size_t pair[2];
        memcpy(pair, it->elems.p + e * sizeof pair, sizeof pair);
        lists[e].p = it->arena.p != NULL ? it->arena.p + pair[0] : "";
        lists[e].n = pair[1];
    }
    doc->mem_ = it->arena.p;
    doc->lists_ = lists;
    it->arena.p = NULL;
    return MOCK_GJ_OK;
}

int mock_gj_decode(const mock_gj_struct *s, const char *body, size_t len, size_t head_len,
                   mock_gj_doc *doc)
{
    memset(doc, 0, sizeof *doc);
    gj_it *it = calloc(1, sizeof *it);
    if (it == NULL)
        return MOCK_GJ_ENOMEM;
    int rc;
    if (!supported(s, it->hash)) {
        rc = MOCK_GJ_EUNSUPPORTED;
        goto out;
    }
    it->s = s;
    it->body = (const unsigned char *)(body != NULL ? body : "");
    it->len = body != NULL ? len : 0;
    it->head_len = head_len;
    it->buf = it->body;
    for (size_t k = 0; k < s->n; k++)
        it->val[k].nil = 1;
    /* Decoder.Decode: nothing at all to read is io.EOF itself, "EOF". */
    if (!load_more(it)) {
        it->base.len = 0;
        buf_str(&it->base, "EOF");
        it->state = ST_ERR;
    } else {
        long depth = it->depth; /* Iterator.ReadVal */
        decode_struct(it);
        if (it->depth != depth)
            report_s(it, "ReadVal", "unexpected mismatched nesting");
    }
    if (it->base.oom || it->wraps.oom || it->arena.oom || it->elems.oom) {
        rc = MOCK_GJ_ENOMEM;
        goto out;
    }
    if (it->state == ST_ERR) {
        rc = finish_error(it, doc);
        goto out;
    }
    rc = validate(it, doc);
    if (rc == MOCK_GJ_OK)
        rc = finish_values(it, doc);
out:
    if (rc != MOCK_GJ_OK && rc != MOCK_GJ_EGO) {
        mock_gj_done(doc);
        memset(doc, 0, sizeof *doc);
    }
    free(it->base.p);
    free(it->wraps.p);
    free(it->arena.p);
    free(it->elems.p);
    free(it);
    return rc;
}

void mock_gj_done(mock_gj_doc *doc)
{
    if (doc == NULL)
        return;
    free(doc->mem_);
    free(doc->lists_);
    doc->mem_ = NULL;
    doc->lists_ = NULL;
    doc->err = NULL;
    doc->errlen = 0;
}

static const mock_gj_field login_fields[] = {
    {"username", "Username", MOCK_GJ_STRING, MOCK_GJ_REQUIRED},
    {"password", "Password", MOCK_GJ_STRING, 0},
    {"otp_code", "OtpCode", MOCK_GJ_STRING, 0},
};
const mock_gj_struct mock_gj_login_req = {"handles.LoginReq", login_fields, 3};

/* Page and PerPage come from the embedded model.PageReq, whose decoder jsoniter wraps in one
 * more structFieldDecoder named after it. */
static const mock_gj_field list_fields[] = {
    {"page", "PageReq: Page", MOCK_GJ_INT, 0}, {"per_page", "PageReq: PerPage", MOCK_GJ_INT, 0},
    {"path", "Path", MOCK_GJ_STRING, 0},       {"password", "Password", MOCK_GJ_STRING, 0},
    {"refresh", "Refresh", MOCK_GJ_BOOL, 0},
};
const mock_gj_struct mock_gj_list_req = {"handles.ListReq", list_fields, 5};

static const mock_gj_field get_fields[] = {
    {"path", "Path", MOCK_GJ_STRING, 0},
    {"password", "Password", MOCK_GJ_STRING, 0},
};
const mock_gj_struct mock_gj_fs_get_req = {"handles.FsGetReq", get_fields, 2};

static const mock_gj_field mkdir_fields[] = {{"path", "Path", MOCK_GJ_STRING, 0}};
const mock_gj_struct mock_gj_mkdir_req = {"handles.MkdirOrLinkReq", mkdir_fields, 1};

static const mock_gj_field remove_fields[] = {
    {"dir", "Dir", MOCK_GJ_STRING, 0},
    {"names", "Names", MOCK_GJ_STRINGS, 0},
};
const mock_gj_struct mock_gj_remove_req = {"handles.RemoveReq", remove_fields, 2};

/* Appends n bytes to out while they fit, counting them all in *w. */
static void put(char *out, size_t outsz, size_t *w, const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++, (*w)++)
        if (*w + 1 < outsz)
            out[*w] = d[i];
}

size_t mock_gj_quote(const char *str, size_t n, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t w = 0;
    put(out, outsz, &w, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        uint32_t r = 0;
        size_t k = c < 0x80 ? 1 : mock_utf8_len(s + i, n - i, &r);
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(out, outsz, &w, esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\', esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            put(out, outsz, &w, esc, 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            put(out, outsz, &w, esc, 6);
        } else if (k == 0) {
            put(out, outsz, &w, "\\ufffd", 6);
            k = 1;
        } else if (r == 0x2028 || r == 0x2029) {
            memcpy(esc, "\\u202", 5);
            esc[5] = hex[r & 15];
            put(out, outsz, &w, esc, 6);
        } else {
            put(out, outsz, &w, (const char *)s + i, k);
        }
        i += k;
    }
    put(out, outsz, &w, "\"", 1);
    if (outsz > 0)
        out[w < outsz ? w : outsz - 1] = '\0';
    return w;
}
