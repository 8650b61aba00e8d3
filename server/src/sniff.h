/* The multipart sniffer (sniff.c, pure): does a body start like multipart/form-data? */
#ifndef MOCK_SNIFF_H
#define MOCK_SNIFF_H

#include <stddef.h>

#define MOCK_SNIFF 512

/* The multipart sniffer's state: zero-initialise, then feed the body as it arrives. */
typedef struct mock_sniff {
    unsigned char buf[MOCK_SNIFF]; /* the body's first bytes */
    size_t len;
    int done;      /* a verdict was reached; further bytes are ignored */
    int suspected; /* the verdict: the body starts like multipart/form-data */
} mock_sniff;

/*
 * Feeds len body bytes (at_end: the body is complete). Sets done once the first line and the
 * start of the next decide it, suspected if they are a --boundary line and Content-Disposition.
 */
void mock_sniff_feed(mock_sniff *s, const char *data, size_t len, int at_end);

#endif
