/*
 * The receiving window of a multipart session (window.go): chunks are admitted while they lie
 * below frontier + MOCK_WINDOW_SLOTS, and the frontier moves as the chunks at it are received,
 * so a session keeps two bytes of flags whatever the file's size.
 */
#include "window.h"

int64_t mock_window_chunk_size(int64_t setting, int64_t requested)
{
    int64_t ceiling = setting < MOCK_WINDOW_MIN_CHUNK ? MOCK_WINDOW_MIN_CHUNK : setting;
    if (requested > 0 && requested < ceiling)
        return requested > MOCK_WINDOW_MIN_CHUNK ? requested : MOCK_WINDOW_MIN_CHUNK;
    return ceiling;
}

void mock_window_init(mock_window *w, int64_t size, int64_t chunk_size)
{
    /* Not (size + chunk_size - 1) / chunk_size, which overflows for a size within a chunk of
     * INT64_MAX. */
    *w = (mock_window){.size = size,
                       .chunk_size = chunk_size,
                       .total = size / chunk_size + (size % chunk_size != 0)};
}

int64_t mock_window_chunk_len(const mock_window *w, int64_t idx)
{
    return idx == w->total - 1 ? w->size - idx * w->chunk_size : w->chunk_size;
}

int64_t mock_window_consumed(const mock_window *w)
{
    return w->frontier >= w->total ? w->size : w->frontier * w->chunk_size;
}

int64_t mock_window_received(const mock_window *w)
{
    int64_t bytes = mock_window_consumed(w);
    for (int k = 0; k < MOCK_WINDOW_SLOTS; k++)
        if (w->got & (1u << k))
            bytes += mock_window_chunk_len(w, w->frontier + k);
    return bytes;
}

mock_window_take mock_window_claim(mock_window *w, int64_t idx)
{
    int64_t k = idx - w->frontier;
    if (k < 0 || (k < MOCK_WINDOW_SLOTS && (w->got & (1u << k))))
        return MOCK_WINDOW_HAVE;
    if (k >= MOCK_WINDOW_SLOTS)
        return MOCK_WINDOW_AHEAD;
    if (w->filling & (1u << k))
        return MOCK_WINDOW_BUSY;
    w->filling |= 1u << k;
    return MOCK_WINDOW_TAKEN;
}

void mock_window_release(mock_window *w, int64_t idx)
{
    int64_t k = idx - w->frontier;
    if (k >= 0 && k < MOCK_WINDOW_SLOTS)
        w->filling &= ~(1u << k);
}

void mock_window_land(mock_window *w, int64_t idx)
{
    mock_window_release(w, idx);
    w->got |= 1u << (idx - w->frontier);
    while (w->got & 1u) {
        w->got >>= 1;
        w->filling >>= 1;
        w->frontier++;
    }
}
