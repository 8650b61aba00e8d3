/*
 * The dashboard (dashboard.c): GET /_mock/ the page, GET /_mock/events its live stream and
 * GET /_mock/state the uploads and sessions in flight. The mock's own namespace, never AList's.
 */
#ifndef MOCK_DASHBOARD_H
#define MOCK_DASHBOARD_H

#include <microhttpd.h>

#include "config.h"

/* The most uploads and sessions the state lists (it says how many there are in all). */
#define MOCK_STATE_MAX 256

/* Serves url, one of the dashboard's paths (any other under /_mock/ gets a JSON 404). */
enum MHD_Result mock_dashboard_serve(const mock_server *srv, struct MHD_Connection *c,
                                     const char *url);

#endif
