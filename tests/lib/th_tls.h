/*
 * TLS for tests (built when the client has TLS, TH_HAVE_TLS): self-signed certificates made with
 * libcrypto, and scripted servers (th_script.h) behind a TLS front, so that one written behaviour
 * serves an http:// and an https:// test alike.
 */
#ifndef TH_TLS_H
#define TH_TLS_H

#include "th_script.h"

/*
 * Writes a fresh P-256 key to key and a self-signed certificate for it to crt: subject CN=cn,
 * subjectAltName san in OpenSSL's syntax ("IP:127.0.0.1,DNS:localhost"), valid from now + from_s
 * to now + to_s seconds (both may be negative: an expired certificate). Returns 0, or -1 with a
 * message on stderr.
 */
int th_make_cert(const char *crt, const char *key, const char *cn, const char *san, long from_s,
                 long to_s);

/*
 * As th_script_start, but each accepted connection first completes a TLS handshake as the server
 * with the PEM files crt and key; fn then gets a local socket that carries the decrypted stream
 * both ways, so every th_script helper works on it unchanged. fn only runs after a handshake that
 * succeeded, so a report line from it proves one; a failed handshake is reported as
 * "handshake failed: REASON\n" and uses up its connection without calling fn. When fn returns,
 * the front forwards what it wrote, sends close_notify and closes the TCP connection (a reset,
 * if the client's bytes are still unread). Returns 0 or -1.
 */
int th_script_start_tls(th_script *s, th_script_fn fn, void *arg, int conns, const char *crt,
                        const char *key);

#endif
