/* HTTP transfers on one curl multi per script state (module vsrun.http_core). Transfers
 * are started here and completed by the scheduler's I/O driver (poll/cancel), which
 * delivers each result as a Lua table; see docs/internals.md "HTTP transfers". */
#ifndef VSRUN_HTTP_H
#define VSRUN_HTTP_H
#include <stddef.h>
#include <lua.h>

#include "http_policy.h"      /* struct http_header, http_protect_origin */

/* The answer handed to http_request.on_done; valid during the call only. */
struct http_answer {
    long status;               /* 0 when no response came */
    const char *body;
    size_t body_len;
    const char *error_kind;    /* NULL, or "network" | "timeout" | "tls" | "too_large" */
    const char *error_message;
};

struct http_request {
    const char *method;       /* GET HEAD POST PUT PATCH DELETE OPTIONS */
    const char *url;          /* complete http:// or https:// URL, query already encoded */
    const struct http_header *headers;
    size_t n_headers;
    const char *body;         /* may be NULL */
    size_t body_len;
    double timeout;           /* total seconds; 0 = default */
    double connect_timeout;   /* seconds; 0 = default */
    size_t max_body;          /* response body limit in bytes; 0 = default */
    int attempt;              /* 1 = first try; > 1 is logged as a retry */
    int no_proxy;             /* the in-process sandbox: never through a proxy */
    int script;               /* a script's request: its socket may not reach a credential port */
    int secret_body;          /* the body carries a secret (the OAuth token request): a
                                 credential transfer, its buffers cleansed when freed */
    /* Set by a C caller that reads the answer itself (the token request): on_done gets it
     * once, when the transfer finishes, or NULL when it is freed without one (cancelled, or
     * the state closed); the Lua result then has status, error_kind and error_message
     * only, never headers or body. */
    void (*on_done)(void *ud, const struct http_answer *a);
    void *done_ud;
};

/* A request with a secret header or secret_body is a credential transfer: it runs on a connection pool of
 * its own (script requests can never write to its connections, nor it to theirs) and never
 * through a proxy in clear text (see http_secret_transport). */

/* Adds a transfer to the state's curl multi and returns its id (wait for it with
 * sched.wait_io). Copies everything it needs from req. An invalid request (bad method,
 * URL, header) or a failed allocation returns -1 without raising, after cleansing any
 * copy of a secret header, so a caller can cleanse its own copy before reporting it;
 * http_start_error() then says why. (Only the first call in a state, which creates the
 * curl multi, can raise: a Lua memory error.) */
long http_start(lua_State *L, const struct http_request *req);
const char *http_start_error(void);

/* Proxy rule for any transfer that carries a credential (also used by host/oauth.c for
 * its own easy handles): an http:// URL never goes through a proxy; an https:// one may
 * only be CONNECT-tunnelled, so a proxy sees neither the credential nor can it answer. */
void http_secret_transport(void *curl_easy, const char *url);

/* Pushes url with userinfo, fragment and secret-looking query values redacted. */
void http_push_redacted_url(lua_State *L, const char *url);

/* Parses a raw response header block (lines as curl delivers them) into the headers table a
 * response carries (lower-case names, repeats joined with ", ") and pushes it. The same
 * code as a transfer's header callback; an entry point for tests and fuzzing. */
void http_push_parsed_headers(lua_State *L, const char *raw, size_t n);

#endif
