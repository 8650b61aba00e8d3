/*
 * Fuzzes gojson: any body either decodes or is refused with a NUL-terminated text, the same
 * twice; a body the first Read takes whole gives the same answer after any headers; every value
 * stays inside what the doc owns; and the refusal quoted for gin's JSON is clean UTF-8 with no
 * raw control bytes. The first input byte picks the request struct, the second the header size.
 */
#include "gojson.h"
#include "gostr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mock_gj_struct *const structs[] = {&mock_gj_login_req, &mock_gj_list_req,
                                                &mock_gj_fs_get_req, &mock_gj_mkdir_req,
                                                &mock_gj_remove_req};

/* 1 when both docs say the same: the same refusal, or the same values. */
static int same(const mock_gj_struct *s, int rc1, const mock_gj_doc *a, int rc2,
                const mock_gj_doc *b)
{
    if (rc1 != rc2)
        return 0;
    if (rc1 == MOCK_GJ_EGO)
        return a->errlen == b->errlen && memcmp(a->err, b->err, a->errlen) == 0;
    if (rc1 != MOCK_GJ_OK)
        return 1;
    for (size_t k = 0; k < s->n; k++) {
        const mock_gj_value *x = &a->v[k], *y = &b->v[k];
        if (x->s.n != y->s.n || (x->s.n > 0 && memcmp(x->s.p, y->s.p, x->s.n) != 0) ||
            x->i != y->i || x->b != y->b || x->nil != y->nil || x->count != y->count)
            return 0;
        for (size_t e = 0; e < x->count; e++)
            if (x->list[e].n != y->list[e].n ||
                (x->list[e].n > 0 && memcmp(x->list[e].p, y->list[e].p, x->list[e].n) != 0))
                return 0;
    }
    return 1;
}

/* The refusal as gin writes it: no raw control byte, nothing but well-formed UTF-8. */
static void check_quoted(const mock_gj_doc *d)
{
    size_t need = mock_gj_quote(d->err, d->errlen, NULL, 0);
    char *q = malloc(need + 1);
    if (q == NULL)
        return;
    if (mock_gj_quote(d->err, d->errlen, q, need + 1) != need || q[need] != '\0')
        abort();
    for (size_t i = 0; i < need;) {
        size_t k = mock_utf8_len((const unsigned char *)q + i, need - i, NULL);
        if (k == 0 || (unsigned char)q[i] < 0x20)
            abort();
        i += k;
    }
    free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const mock_gj_struct *s = structs[data[0] % 5];
    size_t head = (size_t)data[1] * 17; /* 0 .. 4335: past 4096 counts as none */
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    mock_gj_doc a, b;
    int rc1 = mock_gj_decode(s, body, len, head, &a);
    int rc2 = mock_gj_decode(s, body, len, head, &b);
    if (rc1 != MOCK_GJ_OK && rc1 != MOCK_GJ_EGO && rc1 != MOCK_GJ_ENOMEM)
        abort();
    if (!same(s, rc1, &a, rc2, &b))
        abort(); /* the same body, another answer */
    if (rc1 == MOCK_GJ_EGO) {
        if (a.errlen == 0 || a.err[a.errlen] != '\0')
            abort();
        check_quoted(&a);
    }
    if (rc1 == MOCK_GJ_OK) {
        for (size_t k = 0; k < s->n; k++) {
            size_t total = a.v[k].s.n;
            for (size_t e = 0; e < a.v[k].count; e++)
                total += a.v[k].list[e].n;
            if (total > len || a.v[k].count > len)
                abort(); /* decoded strings never outgrow the body */
        }
    }
    mock_gj_done(&b);
    /* The first Read is min(512, 4096 - head) bytes: a body within it reads the same. */
    size_t first = head < 4096 && 4096 - head < 512 ? 4096 - head : 512;
    if (len <= first) {
        rc2 = mock_gj_decode(s, body, len, 0, &b);
        if (!same(s, rc1, &a, rc2, &b))
            abort();
        mock_gj_done(&b);
    }
    mock_gj_done(&a);
    return 0;
}
