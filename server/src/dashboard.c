/*
 * The dashboard a person reads in a browser: one self-contained page (dashboard.html, compiled
 * in), the state it starts from and the event stream that keeps it current. Nothing here is
 * journaled: the page's own requests would otherwise fill the journal it shows.
 */
#include "dashboard.h"
#include "dashboard_html.h"
#include "events.h"
#include "multipart.h"
#include "respond.h"
#include "watchdog.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* The heartbeat of a stream when --idle-timeout does not ask for a shorter one. */
#define HEARTBEAT_MS 15000

/*
 * The page forbids itself every resource that is not inline or from the mock (a stray external
 * URL then fails visibly in the browser's console instead of phoning out).
 */
#define PAGE_POLICY                                                                                \
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "                  \
    "connect-src 'self'; img-src data:"

static enum MHD_Result page(struct MHD_Connection *c)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        mock_dashboard_html_len, (void *)mock_dashboard_html, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "Content-Security-Policy", PAGE_POLICY);
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/*
 * {"uploads":[...],"uploads_total":N,"sessions":[...],"sessions_total":N,
 * "connections_accepted":N}, the lists bounded by MOCK_STATE_MAX each. connections_accepted
 * counts the connections taken in since the start (MHD reports no refused one), this one
 * included: a client can tell from it how many it opened, and a soak what its TLS connections
 * cost (GnuTLS keeps state per connection thread).
 */
static enum MHD_Result state(struct MHD_Connection *c)
{
    size_t uploads = 0, sessions = 0;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return MHD_NO;
    cJSON_AddItemToObject(o, "uploads", mock_live_list(MOCK_STATE_MAX, &uploads));
    cJSON_AddNumberToObject(o, "uploads_total", (double)uploads);
    cJSON_AddItemToObject(o, "sessions", mock_mp_list(MOCK_STATE_MAX, &sessions));
    cJSON_AddNumberToObject(o, "sessions_total", (double)sessions);
    cJSON_AddNumberToObject(o, "connections_accepted", (double)mock_connections_accepted());
    char *body = mock_json_go(o);
    cJSON_Delete(o);
    if (body == NULL)
        return MHD_NO;
    return mock_respond_raw(c, MHD_HTTP_OK, body, "application/json; charset=utf-8");
}

enum MHD_Result mock_dashboard_serve(const mock_server *srv, struct MHD_Connection *c,
                                     const char *url)
{
    if (strcmp(url, "/_mock/") == 0)
        return page(c);
    if (strcmp(url, "/_mock/state") == 0)
        return state(c);
    if (strcmp(url, "/_mock/events") == 0) {
        /* libmicrohttpd closes a connection that sends nothing for --idle-timeout, and a stream
         * is silent between events: the heartbeat comes at half that, at the latest. */
        unsigned beat = HEARTBEAT_MS;
        if (srv->cfg.idle_timeout > 0 && srv->cfg.idle_timeout * 500u < beat)
            beat = srv->cfg.idle_timeout * 500u;
        return mock_events_respond(c, beat);
    }
    char m[64 + MOCK_EVENT_VALUE_MAX];
    snprintf(m, sizeof m, "no route for GET %.*s", MOCK_EVENT_VALUE_MAX, url);
    return mock_respond(c, MHD_HTTP_NOT_FOUND, 404, m, NULL, 0);
}
