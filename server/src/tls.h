/* The certificate and key the mock serves HTTPS with (tls.c). */
#ifndef MOCK_TLS_H
#define MOCK_TLS_H

#include "config.h"

#include <stddef.h>

/* PEM texts for libmicrohttpd; both NULL when TLS is off. Owned by the struct. */
typedef struct mock_tls {
    char *cert; /* NUL-terminated PEM certificate (chain) */
    char *key;  /* NUL-terminated PEM private key, wiped when freed */
    size_t key_len;
} mock_tls;

/*
 * Fills t from cfg's TLS options: reads and checks --tls-cert and --tls-key, or generates a key
 * and a self-signed certificate and writes the certificate to --tls-cert-out; then prints the
 * certificate's SHA-256 fingerprint on stderr. Returns 0 (also when TLS is off), or the exit
 * code after a message on stderr: 2 for a file that is missing, unreadable, invalid or cannot be
 * written, 1 if generating failed.
 */
int mock_tls_setup(const mock_config *cfg, mock_tls *t);

/* Frees what mock_tls_setup filled, wiping the key first; t may be all zero. */
void mock_tls_free(mock_tls *t);

#endif
