/* The rules a script's `http` request must pass before a byte is sent:
 *  - never to an origin that carries a PagerDuty credential (the PagerDuty API and identity
 *    hosts, every connection's own origins, the in-process sandbox): the pagerduty module
 *    is the only way there;
 *  - under --strict, or when --allow-net / VSRUN_ALLOW_NET is given, only to listed hosts;
 *  - no header that frames the message or steers the connection (Content-Length,
 *    Transfer-Encoding, Host, Connection, ...) and no CR, LF or NUL anywhere in a header.
 * The in-process sandbox's control API (/__sandbox/) and AI stand-in (/v1/) stay reachable:
 * they carry no credential and vsrun.sandbox drives the sandbox through them. */
#include "http_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "modules.h"
#include "secrets.h"
#include "vm.h"

#define POLICY_MAX_PROTECTED 64

struct origin {
    char host[256];   /* lower case, no trailing dot; IPv6 in brackets */
    long port;
    int explicit_port;
};

/* Hosts that carry PagerDuty credentials whatever the connection says. */
static const char *const pd_credential_hosts[] = {
    "api.pagerduty.com", "api.eu.pagerduty.com", "identity.pagerduty.com", "identity.eu.pagerduty.com", NULL};

static struct origin protected_origins[POLICY_MAX_PROTECTED];
static int n_protected;

static void host_normalise(char *h) {
    for (char *p = h; *p; p++) *p = (char)tolower((unsigned char)*p);
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == '.') h[--n] = '\0';  /* "api.pagerduty.com." is the same host */
}

/* Parses url with curl's own parser (the one the transfer uses). 0 on success. */
static int origin_parse(const char *url, struct origin *o, char **path_out) {
    CURLU *u = curl_url();
    if (u == NULL) return -1;
    char *host = NULL, *port = NULL, *path = NULL;
    int ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && strlen(host) < sizeof o->host;
    if (ok) {
        snprintf(o->host, sizeof o->host, "%s", host);
        host_normalise(o->host);
        o->explicit_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
        if (!o->explicit_port) ok = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
        if (ok) o->port = strtol(port, NULL, 10);
    }
    if (ok && path_out) *path_out = strdup(path ? path : "/");
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return ok && (!path_out || *path_out) ? 0 : -1;
}

static int all_of(const char *s, const char *set) { return s[strspn(s, set)] == '\0'; }

/* Every name the machine itself answers to: one loopback origin is as good as another. */
static int is_loopback(const char *h) {
    size_t n = strlen(h);
    if (strcmp(h, "localhost") == 0 || (n > 10 && strcmp(h + n - 10, ".localhost") == 0)) return 1;
    if (strncmp(h, "127.", 4) == 0 && all_of(h, "0123456789.")) return 1;
    if (strcmp(h, "0.0.0.0") == 0) return 1;
    char v6[64];
    struct in6_addr a;
    if (h[0] != '[' || n < 3 || n - 2 >= sizeof v6) return 0;
    memcpy(v6, h + 1, n - 2);
    v6[n - 2] = '\0';
    if (inet_pton(AF_INET6, v6, &a) != 1) return 0;
    return IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
}

/* Same server as far as a credential is concerned: the host, or any loopback name on the port. */
static int same_server(const struct origin *a, const struct origin *b) {
    if (is_loopback(a->host) && is_loopback(b->host)) return a->port == b->port;
    return strcmp(a->host, b->host) == 0;
}

void http_protect_origin(const char *url) {
    struct origin o;
    if (url == NULL || url[0] == '\0' || origin_parse(url, &o, NULL) != 0) return;
    for (int i = 0; i < n_protected; i++)
        if (strcmp(protected_origins[i].host, o.host) == 0 && protected_origins[i].port == o.port) return;
    if (n_protected == POLICY_MAX_PROTECTED) n_protected--;  /* a run opens a handful; keep the newest */
    protected_origins[n_protected++] = o;
}

static int is_credential_origin(const struct origin *o) {
    for (const char *const *h = pd_credential_hosts; *h; h++)
        if (strcmp(o->host, *h) == 0) return 1;
    /* PAGERDUTY_TOKEN's origin, before the script has even connected */
    struct origin env;
    const char *env_url = getenv("PAGERDUTY_API_URL");
    if (secrets_get(SECRET_PAGERDUTY_TOKEN) && env_url && origin_parse(env_url, &env, NULL) == 0 && same_server(o, &env))
        return 1;
    for (int i = 0; i < n_protected; i++)
        if (same_server(o, &protected_origins[i])) return 1;
    return 0;
}

int http_policy_loopback_port_guarded(long port) {
    struct origin env;
    const char *env_url = getenv("PAGERDUTY_API_URL");
    if (secrets_get(SECRET_PAGERDUTY_TOKEN) && env_url && origin_parse(env_url, &env, NULL) == 0 &&
        is_loopback(env.host) && env.port == port)
        return 1;
    for (int i = 0; i < n_protected; i++)
        if (is_loopback(protected_origins[i].host) && protected_origins[i].port == port) return 1;
    return 0;
}

/* ---- --allow-net ---- */

/* Splits one entry "host", "host:port" or "[v6]:port" into o; 0 or -1. */
static int allow_entry_parse(const char *e, size_t len, struct origin *o) {
    char buf[sizeof o->host];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, e, len);
    buf[len] = '\0';
    char *port = NULL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) return -1;
        if (close[1] == ':') { close[1] = '\0'; port = close + 2; }
        if (!all_of(buf + 1, "0123456789abcdefABCDEF:.]")) return -1;
    } else {
        port = strchr(buf, ':');
        if (port) *port++ = '\0';
        if (buf[0] == '\0' || !all_of(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")) return -1;
    }
    o->explicit_port = port != NULL;
    o->port = 0;
    if (port) {
        if (port[0] == '\0' || strlen(port) > 5 || !all_of(port, "0123456789")) return -1;
        o->port = strtol(port, NULL, 10);
        if (o->port < 1 || o->port > 65535) return -1;
    }
    snprintf(o->host, sizeof o->host, "%s", buf);
    host_normalise(o->host);
    return o->host[0] ? 0 : -1;
}

int http_policy_check_allow_list(const char *list, char *err, size_t errlen) {
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        struct origin o;
        if (len > 0 && allow_entry_parse(p, len, &o) != 0) {
            snprintf(err, errlen, "--allow-net entry '%.*s' is not host or host:port (e.g. hooks.slack.com or 127.0.0.1:8080)",
                     (int)(len > 200 ? 200 : len), p);
            return -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

static int allowed_by_list(const char *list, const struct origin *o) {
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        struct origin a;
        if (len > 0 && allow_entry_parse(p, len, &a) == 0 && strcmp(a.host, o->host) == 0 &&
            (!a.explicit_port || a.port == o->port))
            return 1;
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

/* ---- headers ---- */

/* Headers that decide where a message ends or what happens to the connection: curl sets
 * them, a script must not. */
static const char *const framing_headers[] = {
    "content-length", "transfer-encoding", "host", "connection", "keep-alive", "expect", "te",
    "trailer", "upgrade", "proxy-connection", "proxy-authorization", "proxy-authenticate", NULL};

static int is_framing_header(const char *name) {
    if (strncasecmp(name, "proxy-", 6) == 0) return 1;
    for (const char *const *h = framing_headers; *h; h++)
        if (strcasecmp(name, *h) == 0) return 1;
    return 0;
}

static int has_cr_lf(const char *s) { return strpbrk(s, "\r\n") != NULL; }

/* ---- the verdict ---- */

static void refuse(struct http_verdict *v, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(struct http_verdict *v, const char *kind, const char *fmt, ...) {
    va_list ap;
    v->kind = kind;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
}

/* The in-process sandbox of this run, if any: its origin, and whether `vsrun test` runs. */
static int sandbox_origin(lua_State *L, struct origin *o) {
    int found = 0;
    if (vm_options(L)->sandbox_mode && lua_getfield(L, LUA_REGISTRYINDEX, "vsrun.sandbox_url") == LUA_TSTRING)
        found = origin_parse(lua_tostring(L, -1), o, NULL) == 0;
    if (vm_options(L)->sandbox_mode) lua_pop(L, 1);
    return found;
}

void http_policy_check(lua_State *L, const char *url, const struct http_header *headers,
                       const size_t *name_lens, const size_t *value_lens, size_t n, struct http_verdict *v) {
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const char *name = headers[i].name, *value = headers[i].value;
        if (strlen(name) != name_lens[i] || strlen(value) != value_lens[i] || has_cr_lf(name) || has_cr_lf(value))
            return refuse(v, "invalid_argument", "http: header '%.100s' contains CR, LF or NUL", name);
        if (is_framing_header(name))
            return refuse(v, "invalid_argument",
                          "http: header '%.100s' is set by vsrun, not by scripts (%s)", name,
                          "framing and hop-by-hop headers: Content-Length, Transfer-Encoding, Host, Connection, "
                          "Keep-Alive, Expect, TE, Trailer, Upgrade, Proxy-*");
    }
    struct origin o, sb;
    char *path = NULL;
    if (origin_parse(url, &o, &path) != 0)
        return refuse(v, "invalid_argument", "http: the URL cannot be parsed");
    char shown[300];
    if (o.explicit_port) snprintf(shown, sizeof shown, "%s:%ld", o.host, o.port);
    else snprintf(shown, sizeof shown, "%s", o.host);

    /* a sandbox's control API carries no credential (no escapes: the path is what it says) */
    int clean = strchr(path, '%') == NULL;
    int control = clean && strncmp(path, "/__sandbox/", 11) == 0;
    int ai = clean && strncmp(path, "/v1/", 4) == 0;
    free(path);
    if (sandbox_origin(L, &sb) && same_server(&o, &sb)) {
        /* `vsrun test` files exercise the sandbox's whole HTTP surface; a --sandbox run may
         * reach only what carries no credential */
        if (vm_options(L)->sandbox_mode == 2 || control || ai) {
            v->in_process = 1;
            return;
        }
        return refuse(v, "permission_denied",
                      "http: %s is the in-process sandbox's API: use the pagerduty module (http may reach "
                      "only its /__sandbox/ control API and /v1/ AI stand-in)", shown);
    }
    /* a `vsrun sandbox` on loopback as PAGERDUTY_API_URL: tests drive its control API */
    v->loopback_control = control && is_loopback(o.host);
    if (is_credential_origin(&o) && !v->loopback_control)
        return refuse(v, "permission_denied",
                      "http: %s receives your PagerDuty credential, so http never sends to it: use the "
                      "pagerduty module", shown);
    const char *list = vm_options(L)->allow_net;
    if (vm_options(L)->strict && list == NULL)
        return refuse(v, "permission_denied",
                      "http: network access to %s is not allowed under --strict: allow it with --allow-net %s",
                      shown, shown);
    if (list && !allowed_by_list(list, &o))
        return refuse(v, "permission_denied",
                      "http: network access to %s is not allowed: it is not in --allow-net (or VSRUN_ALLOW_NET); "
                      "add --allow-net %s", shown, shown);
    const char *project = modules_project_allow_net(L);
    if (project && !allowed_by_list(project, &o))
        return refuse(v, "permission_denied",
                      "http: network access to %s is not allowed: it is not in the project's allow_net "
                      "(vsrun.json)%s", shown, "");
}
