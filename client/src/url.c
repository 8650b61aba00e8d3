/*
 * URL parsing for http(s)://host[:port]/path[?query]. Only what an upload needs: no user info, no
 * relative references. Hosts are IPv4/IPv6 literals or names for getaddrinfo.
 */
#include "internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Bytes that may not appear anywhere in a request target we put on the wire. */
static int bad_target_byte(unsigned char ch)
{
    return ch <= 0x20 || ch == 0x7f;
}

int sp__url_is_alist_api(const char *target)
{
    size_t plen = strcspn(target, "?");
    if (plen >= 5 && strncmp(target, "/api/", 5) == 0)
        return 1;
    const char *fs = strstr(target, "/api/fs/"); /* the first one is in the path, if any is */
    return fs != NULL && (size_t)(fs - target) < plen;
}

int sp__url_parse(sp_client *c, const char *url, sp_url *u)
{
    memset(u, 0, sizeof *u);
    if (url == NULL || *url == '\0')
        return sp__fail(c, SP_EURL, 0, "URL is empty");
    /* Messages quote the URL escaped: a CR or LF in it must not split the error line. */
    char shown[200];
    sp__printable(url, shown, sizeof shown);
    if (strncasecmp(url, "https://", 8) == 0) {
#ifndef SP_HAVE_TLS
        return sp__fail(c, SP_EUNSUPPORTED, 0, "%s: https:// is not supported (built without TLS)",
                        shown);
#endif
        u->tls = 1;
    } else if (strncasecmp(url, "http://", 7) != 0) {
        return sp__fail(c, SP_EURL, 0, "%s: URL must start with http:// or https://", shown);
    }

    const char *auth = url + (u->tls ? 8 : 7);
    size_t alen = strcspn(auth, "/?#");
    const char *rest = auth + alen;
    if (memchr(auth, '@', alen) != NULL)
        return sp__fail(c, SP_EURL, 0, "%s: credentials in the URL are not supported (use --token)",
                        shown);

    const char *host = auth, *port = NULL;
    size_t hlen;
    if (alen > 0 && *auth == '[') {
        const char *close = memchr(auth, ']', alen);
        if (close == NULL)
            return sp__fail(c, SP_EURL, 0, "%s: unterminated IPv6 literal", shown);
        host = auth + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < rest) {
            if (close[1] != ':')
                return sp__fail(c, SP_EURL, 0, "%s: junk after IPv6 literal", shown);
            port = close + 2;
        }
        char literal[INET6_ADDRSTRLEN + 1];
        struct in6_addr addr;
        if (hlen == 0 || hlen >= sizeof literal)
            return sp__fail(c, SP_EURL, 0, "%s: invalid IPv6 literal", shown);
        memcpy(literal, host, hlen);
        literal[hlen] = '\0';
        if (inet_pton(AF_INET6, literal, &addr) != 1)
            return sp__fail(c, SP_EURL, 0, "%s: invalid IPv6 literal", shown);
        u->numeric = 1; /* never a name: resolving it must not ask DNS */
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon != NULL ? (size_t)(colon - auth) : alen;
        port = colon != NULL ? colon + 1 : NULL;
        for (size_t i = 0; i < hlen; i++)
            if (bad_target_byte((unsigned char)host[i]) || strchr("[]\\", host[i]) != NULL)
                return sp__fail(c, SP_EURL, 0, "%s: invalid character in host name", shown);
    }
    if (hlen == 0)
        return sp__fail(c, SP_EURL, 0, "%s: no host", shown);
    if (hlen >= sizeof u->host)
        return sp__fail(c, SP_EURL, 0, "%s: host name too long", shown);
    memcpy(u->host, host, hlen);

    if (port != NULL) {
        size_t plen = (size_t)(rest - port);
        uint64_t pv;
        char pbuf[8];
        if (plen == 0 || plen >= sizeof pbuf)
            return sp__fail(c, SP_EURL, 0, "%s: invalid port", shown);
        memcpy(pbuf, port, plen);
        pbuf[plen] = '\0';
        if (sp__parse_uint(pbuf, 65535, &pv) < 0 || pv == 0)
            return sp__fail(c, SP_EURL, 0, "%s: invalid port '%s'", shown, pbuf);
        snprintf(u->port, sizeof u->port, "%u", (unsigned)pv);
    } else {
        memcpy(u->port, u->tls ? "443" : "80", u->tls ? 4 : 3);
    }
    /* Host keeps the authority as written (brackets included), like curl does. */
    memcpy(u->hostport, auth, alen);

    size_t tlen = strcspn(rest, "#");
    if (tlen == 0) {
        u->target[0] = '/';
    } else {
        if (*rest != '/')
            u->target[0] = '/'; /* "http://h?q" means "/?q" */
        size_t off = *rest != '/';
        if (off + tlen >= sizeof u->target)
            return sp__fail(c, SP_EURL, 0, "URL path too long (%zu bytes)", tlen);
        for (size_t i = 0; i < tlen; i++)
            if (bad_target_byte((unsigned char)rest[i]))
                return sp__fail(c, SP_EURL, 0,
                                "%s: space or control character in the path (percent-encode it)",
                                shown);
        memcpy(u->target + off, rest, tlen);
    }
    u->alist_api = sp__url_is_alist_api(u->target);
    return SP_OK;
}

/* Whether the path [p, p + n) ends with suffix. */
static int ends_with(const char *p, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(p + n - k, suffix, k) == 0;
}

/*
 * AList serves its API under its site path (site_url), so its other routes sit where the upload
 * route's /api/ begins (OpenList server/router.go:27, :75, :215-223): the length of that site
 * path in u's target, or SIZE_MAX if the target is no .../api/fs/put or .../api/fs/form.
 */
static size_t upload_prefix(const sp_url *u)
{
    static const char *const uploads[] = {"/api/fs/put", "/api/fs/form"};
    size_t n = strcspn(u->target, "?");
    for (size_t i = 0; i < sizeof uploads / sizeof uploads[0]; i++)
        if (ends_with(u->target, n, uploads[i]))
            return n - strlen(uploads[i]);
    return SIZE_MAX;
}

int sp__url_route(sp_client *c, const sp_url *u, const char *route, const char *query, sp_url *out)
{
    size_t prefix = upload_prefix(u);
    if (prefix == SIZE_MAX) {
        char shown[200];
        return sp__fail(c, SP_EURL, 0,
                        "the upload path %s is not AList's .../api/fs/put or .../api/fs/form, "
                        "beside which %s would be",
                        sp__printable(u->target, shown, sizeof shown), route);
    }
    *out = *u;
    int n = snprintf(out->target + prefix, sizeof out->target - prefix, "%s%s%s", route,
                     query != NULL ? "?" : "", query != NULL ? query : "");
    if (n < 0 || (size_t)n >= sizeof out->target - prefix)
        return sp__fail(c, SP_EURL, 0, "%s: URL too long", route);
    out->alist_api = 1;
    return SP_OK;
}

int sp__url_login(sp_client *c, const sp_url *u, int site, sp_url *login)
{
    static const char route[] = "/api/auth/login/hash";
    const char *path = u->target;
    size_t n = strcspn(path, "?"), prefix = upload_prefix(u);
    if (prefix == SIZE_MAX && site && ends_with(path, n, route))
        prefix = n - (sizeof route - 1);
    if (prefix == SIZE_MAX && site && memmem(path, n, "/api/", 5) == NULL)
        prefix = n > 0 && path[n - 1] == '/' ? n - 1 : n; /* the site's address */
    if (prefix == SIZE_MAX) {
        char shown[200];
        sp__printable(path, shown, sizeof shown);
        return sp__fail(c, SP_EURL, 0,
                        site ? "login: cannot tell the site from the path %s: give the site's "
                               "address or its .../api/fs/put"
                             : "login: the upload path %s is not AList's .../api/fs/put or "
                               ".../api/fs/form, where the login route could be found",
                        shown);
    }
    if (prefix + sizeof route > sizeof login->target)
        return sp__fail(c, SP_EURL, 0, "login: URL path too long");
    *login = *u;
    memcpy(login->target + prefix, route, sizeof route);
    login->alist_api = 1;
    return SP_OK;
}
