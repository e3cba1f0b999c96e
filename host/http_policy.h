/* Who a script's `http` request may reach and what it may say: the trust boundary between
 * script traffic and the PagerDuty credential (see docs/security.md "Transports"). */
#ifndef VSRUN_HTTP_POLICY_H
#define VSRUN_HTTP_POLICY_H
#include <stddef.h>
#include <lua.h>

/* One request header. Defined here, below host/http.h, so the policy needs nothing from
 * the transfer code (http.c includes this header, never the reverse). */
struct http_header {
    const char *name;
    const char *value;
    int secret;               /* cleansed after the transfer; never logged */
};

/* The verdict on a script request. kind is NULL when it may go, else an error kind
 * ("permission_denied", "invalid_argument") with a message in why. in_process is set when
 * the request goes to the in-process sandbox's control API or AI stand-in (never proxied). */
struct http_verdict {
    const char *kind;
    char why[1024];
    int in_process;
    int loopback_control;   /* /__sandbox/ of a loopback sandbox: allowed on a credential origin */
};

/* Checks a script request (`http` module) before anything is sent: the URL's origin
 * against the credential origins and --allow-net, the headers against framing and
 * hop-by-hop names. header_lens are the Lua string lengths (a NUL byte shows as a
 * shorter strlen). */
void http_policy_check(lua_State *L, const char *url, const struct http_header *headers,
                       const size_t *name_lens, const size_t *value_lens, size_t n, struct http_verdict *v);

/* Whether a loopback address on this port is a credential origin: a script's socket is
 * checked at connect time too, since any name (an /etc/hosts alias) may resolve there. */
int http_policy_loopback_port_guarded(long port);

/* Marks the origin of url (a connection's API or identity URL) as one that carries a
 * PagerDuty credential: the http module refuses to send anything to it. */
void http_protect_origin(const char *url);

/* Validates an --allow-net list ("host[:port],..."); 0, or -1 with a message in err. */
int http_policy_check_allow_list(const char *list, char *err, size_t errlen);

#endif
