/* Named secrets for other services, on the request side: the origin rules and the lookup
 * of a name for one request (vault record, or under --sandbox / vsrun test a stand-in).
 * The value is only ever copied into a secret request header in C (host/http.c). */
#ifndef VSRUN_SECRET_AUTH_H
#define VSRUN_SECRET_AUTH_H
#include <stddef.h>
#include <lua.h>

#define SECRET_ORIGIN_MAX 300

/* Checks and normalises the origin a secret is bound to: https://HOST[:PORT] (http only
 * for 127.0.0.1, [::1] and localhost), no userinfo, path, query or fragment, an ASCII host
 * without a trailing dot. out: "scheme://host[:port]", host lower-case, default port left
 * out. 0, or -1 with a message in err. */
int secret_origin_normalise(const char *origin, char *out, size_t outlen, char *err, size_t errlen);

/* The origin of a request URL in the same form, as curl's own URL parser reads it (the
 * transfer goes where this says). -1 with a message when the URL has userinfo or a host
 * that is not plain ASCII. */
int secret_url_origin(const char *url, char *out, size_t outlen, char *err, size_t errlen);

/* The value of secret `name` for a request to url, malloc'd (the caller cleanses and
 * frees it), or NULL with an error kind ("invalid_argument": unknown name, bad URL;
 * "permission_denied": url is not the bound origin) and a message that never holds the
 * value. Outside --sandbox it reads the vault; in sandbox mode it never does. */
char *secret_auth_value(lua_State *L, const char *name, const char *url, const char **kind, char *why, size_t whylen);

/* Sandbox mode only (vsrun.sandbox.set_secret): binds name to origin with a test value in
 * this Lua state. 0, or -1 with a message. */
int secret_auth_set_test(lua_State *L, const char *name, const char *origin, const char *value, char *err, size_t errlen);

#endif
