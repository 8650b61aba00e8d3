/*
 * Fuzzes a multipart session's receiving window (mock_window, which multipart.c drives under
 * its mutex) with random interleavings of init, chunk, complete and abort from several lanes,
 * each chunk's body written at its offset into a temp file as mock_mp_body writes it. A lane
 * writes only a chunk the window gave it, so: no two lanes ever hold one chunk; the frontier
 * never passes a chunk not wholly received; the bytes counted as received are those of the
 * chunks landed; and a complete the window allows finds the file equal to the bytes of its
 * chunks. Along the way it checks the header parsing a session starts from: X-Chunk-Index as
 * strconv.ParseInt reads it (against a reference), the chunk size multipartChunkSize gives and
 * the chunk count of any size.
 *
 * Input: byte 0 the lanes (1..4), then ops of 3 bytes each: op, lane, argument.
 */
#include "gostr.h"
#include "window.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LANES    4
#define MAX_SIZE 1024

static int fd = -1;

/*
 * The temp file every session writes into, made in a directory of this process's own and
 * unlinked with it at once: the descriptor keeps it, and nothing is left behind however the
 * process ends (an abort included).
 */
static void setup(void)
{
    char dir[64], file[96];
    snprintf(dir, sizeof dir, "/tmp/fuzz_window.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(file, sizeof file, "%s/upload", dir);
    if ((fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0 || unlink(file) < 0 ||
        rmdir(dir) < 0)
        abort();
}

/* The byte at offset off of the file session gen uploads. */
static uint8_t content(int64_t off, unsigned gen)
{
    uint32_t h = (uint32_t)off * 2654435761u ^ gen * 40503u;
    return (uint8_t)(h >> 13 ^ h);
}

typedef struct lane {
    int busy; /* holds chunk idx of session gen */
    unsigned gen;
    int64_t idx, got;
} lane;

typedef struct model {
    mock_window w;
    unsigned gen;
    int live;
    uint8_t landed[MAX_SIZE]; /* chunk i wholly received */
    uint8_t held[MAX_SIZE];   /* chunk i is being written by a lane */
    lane lanes[LANES];
} model;

/* strconv.ParseInt(s, 10, 64) for the reference: a sign, then at least one digit, all digits,
 * within int64. 0 with the value, or -1. */
static int ref_parse_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '\0')
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Invariants between the window and what the model says was received and is being written. */
static void check(const model *m)
{
    const mock_window *w = &m->w;
    if (w->frontier < 0 || w->frontier > w->total)
        abort();
    int64_t bytes = 0;
    for (int64_t i = 0; i < w->total; i++) {
        int64_t k = i - w->frontier;
        int got = k < 0 || (k < MOCK_WINDOW_SLOTS && (w->got & (1u << k)));
        int filling = k >= 0 && k < MOCK_WINDOW_SLOTS && (w->filling & (1u << k));
        if (got != m->landed[i] || filling != m->held[i])
            abort(); /* the window and the lanes disagree */
        if (got)
            bytes += mock_window_chunk_len(w, i);
    }
    /* No flag for a chunk past the last one or behind the frontier. */
    int64_t left = w->total - w->frontier;
    unsigned valid = left >= MOCK_WINDOW_SLOTS ? 0xffu : (1u << left) - 1;
    if ((w->got | w->filling) & ~valid || (w->got & 1u) || (w->got & w->filling))
        abort();
    if (bytes != mock_window_received(w) || bytes > w->size)
        abort();
}

/* A new session: size and chunk size from the argument, every lane's chunk now of the old. */
static void init(model *m, const uint8_t *arg)
{
    int64_t size = 1 + (int64_t)((arg[0] << 8 | arg[1]) % MAX_SIZE);
    int64_t cs = 1 + arg[2] % 64;
    memset(m->landed, 0, sizeof m->landed);
    memset(m->held, 0, sizeof m->held);
    mock_window_init(&m->w, size, cs);
    if (m->w.total < 1 || m->w.total > MAX_SIZE || (m->w.total - 1) * cs >= size ||
        m->w.total * cs < size)
        abort();
    m->gen++;
    m->live = 1;
    if (ftruncate(fd, 0) < 0)
        abort();
}

/* The headers' numbers: X-Chunk-Index as ParseInt reads it, X-Chunk-Size, any file's count. */
static void headers(const uint8_t *p, size_t n)
{
    char s[24];
    size_t k = n < sizeof s - 1 ? n : sizeof s - 1;
    memcpy(s, p, k);
    s[k] = '\0';
    int64_t v = 0, r = 0;
    int got = mock_go_parse_int(s, &v, NULL, 0), want = strlen(s) == k ? ref_parse_int(s, &r) : -1;
    if (strlen(s) == k && (got != want || (got == 0 && v != r)))
        abort(); /* X-Chunk-Index read otherwise than strconv.ParseInt reads it */
    if (n < 16)
        return;
    int64_t setting = 0, requested = 0, size = 0;
    memcpy(&setting, p, 8);
    memcpy(&requested, p + 8, 8);
    int64_t cs = mock_window_chunk_size(setting, requested);
    int64_t ceiling = setting < MOCK_WINDOW_MIN_CHUNK ? MOCK_WINDOW_MIN_CHUNK : setting;
    if (cs < MOCK_WINDOW_MIN_CHUNK || cs > ceiling ||
        (requested >= MOCK_WINDOW_MIN_CHUNK && requested < ceiling && cs != requested))
        abort();
    if (n < 24)
        return;
    memcpy(&size, p + 16, 8);
    if (size <= 0)
        return; /* init refuses it */
    mock_window w;
    mock_window_init(&w, size, cs);
    __int128 t = w.total, c = cs;
    if ((t - 1) * c >= size || t * c < size)
        abort(); /* too few or too many chunks */
    int64_t last = mock_window_chunk_len(&w, w.total - 1);
    if (last < 1 || last > cs)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static model m;
    if (fd < 0)
        setup();
    if (size < 1)
        return 0;
    unsigned nlanes = 1 + data[0] % LANES;
    if (data[0] & 0x80) {
        headers(data + 1, size - 1);
        return 0;
    }
    memset(&m.lanes, 0, sizeof m.lanes);
    static const uint8_t first[3] = {0, 100, 9};
    init(&m, first);
    for (size_t at = 1; at + 3 <= size; at += 3) {
        const uint8_t *arg = data + at;
        lane *l = &m.lanes[arg[1] % nlanes];
        int mine = l->busy && l->gen == m.gen && m.live;
        switch (arg[0] % 6) {
        case 0: /* init (a new session for the lanes to upload) */
            if (at + 6 <= size)
                init(&m, arg + 3), at += 3;
            break;
        case 1: { /* a lane's chunk request arrives: admit */
            if (l->busy || !m.live)
                break;
            int64_t idx = (int64_t)(arg[2] % (m.w.total + 2)) - 1; /* also -1 and total */
            if (idx < 0 || idx >= m.w.total)
                break; /* "out of range", before the window */
            mock_window_take t = mock_window_claim(&m.w, idx);
            int64_t k = idx - m.w.frontier;
            mock_window_take want = m.landed[idx]            ? MOCK_WINDOW_HAVE
                                    : k >= MOCK_WINDOW_SLOTS ? MOCK_WINDOW_AHEAD
                                    : m.held[idx]            ? MOCK_WINDOW_BUSY
                                                             : MOCK_WINDOW_TAKEN;
            if (t != want)
                abort(); /* admitted, or turned away, against the model */
            if (t == MOCK_WINDOW_TAKEN) {
                m.held[idx] = 1;
                *l = (lane){.busy = 1, .gen = m.gen, .idx = idx};
            }
            break;
        }
        case 2: { /* some of the body: written at its offset */
            if (!mine)
                break;
            int64_t len = mock_window_chunk_len(&m.w, l->idx), n = 1 + arg[2] % 32;
            if (n > len - l->got)
                n = len - l->got;
            uint8_t buf[32];
            int64_t off = l->idx * m.w.chunk_size + l->got;
            for (int64_t i = 0; i < n; i++)
                buf[i] = content(off + i, m.gen);
            if (n > 0 && pwrite(fd, buf, (size_t)n, (off_t)off) != (ssize_t)n)
                abort();
            l->got += n;
            break;
        }
        case 3: /* the body ends: the chunk lands if whole, else its place is given back */
            if (!mine) {
                l->busy = 0; /* of a session gone: its store went with it */
                break;
            }
            m.held[l->idx] = 0;
            if (l->got == mock_window_chunk_len(&m.w, l->idx)) {
                mock_window_land(&m.w, l->idx);
                m.landed[l->idx] = 1;
            } else {
                mock_window_release(&m.w, l->idx);
            }
            l->busy = 0;
            break;
        case 4: { /* complete: allowed once every byte is received */
            if (!m.live || mock_window_received(&m.w) < m.w.size)
                break;
            if (m.w.frontier != m.w.total)
                abort();
            uint8_t buf[MAX_SIZE];
            if (pread(fd, buf, sizeof buf, 0) != (ssize_t)m.w.size)
                abort(); /* more or fewer bytes than the chunks */
            for (int64_t i = 0; i < m.w.size; i++)
                if (buf[i] != content(i, m.gen))
                    abort(); /* the file is not the bytes of its chunks */
            m.live = 0;
            break;
        }
        case 5: /* abort: the session and its store go; lanes writing to it find it gone */
            m.live = 0;
            break;
        }
        if (m.live)
            check(&m);
    }
    return 0;
}
