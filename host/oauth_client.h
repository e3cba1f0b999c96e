/* The OAuth client side used by `vsrun auth` (host/cmd_auth.c): login with PKCE, revoke, and
 * a Get User `me` call. Token refresh for scripts is in oauth.h. Nothing here prints or
 * returns a token, code or verifier. */
#ifndef VSRUN_OAUTH_CLIENT_H
#define VSRUN_OAUTH_CLIENT_H
#include <stddef.h>

#include "vault.h"

/* Results beyond 0 / -1 (a plain error, message in err). */
#define OAUTH_RECONNECT (-2)  /* the grant is gone: vsrun auth reconnect NAME */
#define OAUTH_TRANSIENT (-3)  /* an expired token could not be refreshed now (identity server unreachable) */
#define OAUTH_NETWORK (-3)    /* the server could not be reached */
#define OAUTH_TIMEOUT (-4)    /* no callback within the time limit */

#define OAUTH_US_API "https://api.pagerduty.com"
#define OAUTH_EU_API "https://api.eu.pagerduty.com"
#define OAUTH_IDENTITY "https://identity.pagerduty.com"

struct oauth_login {
    const char *name;
    const char *region;         /* "us" | "eu" */
    const char *client_id;
    const char *client_secret;  /* NULL for public clients */
    const char *scope;          /* "read" | "write" */
    const char *api_url;
    const char *identity_url;
    int no_browser;             /* print the URL, also accept the redirect URL on stdin */
    double timeout_sec;
};

/* Checks that url is https, or http to a loopback host (the sandbox). 0 or -1 + err. */
int oauth_check_url(const char *what, const char *url, char *err, size_t errlen);

/* Runs the browser login and fills r (tokens, expiry, user, settings); the caller saves it.
 * 0, -1, OAUTH_NETWORK or OAUTH_TIMEOUT. */
int oauth_login_run(const struct oauth_login *o, struct vault_record *r, char *err, size_t errlen);

/* Revokes r's refresh and access tokens at the identity server (best effort). 0 or -1. */
int oauth_revoke(const struct vault_record *r, char *err, size_t errlen);

/* GET {api_url}/users/me with token. Returns the HTTP status (200 fills name/email/id), or
 * OAUTH_NETWORK + err. */
long oauth_get_me(const char *api_url, const char *token, char *name, size_t namelen, char *email,
                  size_t emaillen, char *id, size_t idlen, char *err, size_t errlen);

/* The reconnect message for connection `name`. */
void oauth_reconnect_message(const char *name, char *err, size_t errlen);

#endif
