/* OAuth 2.0 with PagerDuty's identity server (host/oauth.c): the login with PKCE, the token
 * refresh, revoke and a Get User `me` call. It fills and reads vault records but neither
 * saves nor locks them: host/connection.c and `vsrun auth` do. Nothing here prints or
 * returns a token, code or verifier. */
#ifndef VSRUN_OAUTH_H
#define VSRUN_OAUTH_H
#include <stddef.h>

#include "cred_status.h"
#include "util.h"
#include "vault.h"

#define OAUTH_US_API "https://api.pagerduty.com"
#define OAUTH_EU_API "https://api.eu.pagerduty.com"
#define OAUTH_US_IDENTITY "https://identity.pagerduty.com"
#define OAUTH_EU_IDENTITY "https://identity.eu.pagerduty.com"

struct oauth_login {
    const char *name;
    const char *region;         /* "us" | "eu" */
    const char *client_id;
    const char *client_secret;  /* NULL for public clients */
    const char *scope;          /* "read" | "write": stored as asked, reconnect asks the same */
    const char *api_url;
    const char *identity_url;
    int no_browser;             /* print the URL, also accept the redirect URL on stdin */
    double timeout_sec;
};

/* Runs the browser login and fills r (tokens, expiry, user, settings); the caller saves it.
 * CRED_OK, CRED_FAILED, CRED_NETWORK or CRED_TIMEOUT, with err set. */
enum cred_status oauth_login_run(const struct oauth_login *o, struct vault_record *r, char *err, size_t errlen);

/* Spends r's refresh token for new tokens and applies them to r (in memory only). On
 * invalid_grant r is marked disconnected and CRED_RECONNECT returned. w may end the
 * request early (CRED_TIMEOUT). Otherwise CRED_OK, CRED_NETWORK or CRED_FAILED. */
enum cred_status oauth_refresh_grant(struct vault_record *r, const struct cred_wait *w, char *err, size_t errlen);

/* The same grant in two halves, for a caller that sends the request through its own event
 * loop (host/connection.c's stepped refresh, driven by the scheduler): the form (secret:
 * the caller wipes it, util_buf does on free) and the token URL, then the answer, applied
 * to r as above. Neither blocks. form: 0 or -1 with err; answer: as oauth_refresh_grant,
 * where status is the HTTP status of the token request. */
int oauth_refresh_form(const struct vault_record *r, struct util_buf *form, char *url, size_t urllen, char *err,
                       size_t errlen);
enum cred_status oauth_refresh_answer(struct vault_record *r, long status, const char *body, size_t len, char *err,
                                      size_t errlen);

/* Revokes r's refresh and access tokens at the identity server (best effort). 0 or -1. */
int oauth_revoke(const struct vault_record *r, char *err, size_t errlen);

/* GET {api_url}/users/me with token. Returns the HTTP status (200 fills name/email/id), or
 * CRED_NETWORK + err. */
long oauth_get_me(const char *api_url, const char *token, char *name, size_t namelen, char *email,
                  size_t emaillen, char *id, size_t idlen, char *err, size_t errlen);

/* The reconnect message for connection `name`. */
void oauth_reconnect_message(const char *name, char *err, size_t errlen);

#endif
