/* The request-head deadline and the minimum body rate (watchdog.c). */
#ifndef MOCK_WATCHDOG_H
#define MOCK_WATCHDOG_H

#include <stdint.h>

#include <microhttpd.h>

/*
 * Starts the watchdog thread for a head deadline of header_seconds (0: none) and a minimum body
 * rate of min_rate bytes per second after grace_seconds (min_rate 0: none); with neither, nothing
 * runs. Returns 0 or -1.
 */
int mock_watchdog_start(unsigned header_seconds, uint64_t min_rate, unsigned grace_seconds);

/* Stops and joins the watchdog thread; call after MHD_stop_daemon(). */
void mock_watchdog_stop(void);

/* The MHD_OPTION_NOTIFY_CONNECTION callback: numbers, registers and forgets connections. */
void mock_watchdog_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe);

/* c's number: 1, 2, 3 ... in accept order since the mock started; 0 if it has none (no memory). */
uint64_t mock_connection_id(struct MHD_Connection *c);

/* The connections accepted since the mock started: the last number given out. */
uint64_t mock_connections_accepted(void);

/* The connection's current request head is complete: the head deadline no longer applies, and
 * if the request has a body (has_body), the body rate applies from now on. */
void mock_watchdog_head_done(struct MHD_Connection *c, int has_body);

/*
 * The access handler starts a call for c: until mock_watchdog_leave, the clock does not run
 * against the client and the connection is not cut. Returns -1 if the watchdog has already cut
 * the connection for its body rate (the handler must then store nothing and return MHD_NO).
 */
int mock_watchdog_enter(struct MHD_Connection *c);

/* The handler call consumed bytes body bytes; body_done: no more of the body will be read. */
void mock_watchdog_leave(struct MHD_Connection *c, uint64_t bytes, int body_done);

/* If the watchdog cut c for its body rate, the journal's reason into out and 1; otherwise 0. */
int mock_watchdog_why(struct MHD_Connection *c, char *out, size_t outsz);

/* A request finished: the next head on this connection has the full deadline from now. */
void mock_watchdog_rearm(struct MHD_Connection *c);

#endif
