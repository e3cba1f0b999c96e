/* The credential layer: opens a PagerDuty connection (the in-process sandbox preset, an API
 * key from PAGERDUTY_TOKEN, or an OAuth connection from the vault), refreshes it, and
 * chooses, checks and locks vault records for `vsrun auth`. It sits on host/oauth.c (the
 * protocol) and host/vault.c (storage); host/pagerduty.c and host/cmd_auth.c sit on it. Every
 * result is an enum cred_status. The token lives only here, in C memory, and is cleansed
 * when the connection is freed or refreshed. */
#ifndef VSRUN_CONNECTION_H
#define VSRUN_CONNECTION_H
#include <stddef.h>

#include "cred_status.h"
#include "vault.h"

enum connection_kind { CONN_SANDBOX, CONN_API_KEY, CONN_OAUTH };

struct connection {
    char name[64];
    enum connection_kind kind;
    char region[8];           /* "us" | "eu" */
    char api_url[256];        /* origin the token may be sent to: https://api.pagerduty.com */
    char identity_url[256];   /* OAuth token/revoke endpoints live here */
    char *token;              /* secret: access token or API key */
    char *from;               /* From header for account API keys, or NULL */
    double expires_at;        /* unix seconds; 0 = unknown / never */
    unsigned generation;      /* bumped on every refresh, so concurrent callers refresh once */
    int refresh_due;          /* connection_open_deferred: within the leeway of its expiry */
};

/* --sandbox / vsrun test: the in-process simulator's URL and a preset token. */
void connection_set_sandbox(const char *api_url, const char *token);
void connection_clear_sandbox(void);
/* Whether the in-process sandbox connection exists (the only one a sandboxed run reaches). */
int connection_sandbox_ready(void);

/* Finds a connection: name NULL means the default. Order: the in-process sandbox,
 * PAGERDUTY_TOKEN (+ PAGERDUTY_FROM, PAGERDUTY_REGION, PAGERDUTY_API_URL), the vault. An
 * OAuth token about to expire is refreshed first; w bounds the waits. CRED_OK with *out, or
 * another status with a message in err (never containing a secret). */
enum cred_status connection_open(const char *name, const struct cred_wait *w, struct connection **out, char *err,
                                 size_t errlen);
/* connection_open, except that a token about to expire is not refreshed here: refresh_due
 * is set instead and the caller refreshes through connection_refresh_step (host/pagerduty.c
 * does, so the token request runs on the scheduler while other tasks go on). */
enum cred_status connection_open_deferred(const char *name, struct connection **out, char *err, size_t errlen);
/* Refreshes c's token after a 401, unless another task or process already did (the
 * generation tells), or this process spent a refresh token less than
 * connection_min_forced_refresh seconds ago (then c is left as it is: the caller's retry
 * fails again and the error says reconnect). */
enum cred_status connection_refresh(struct connection *c, const struct cred_wait *w, char *err, size_t errlen);
void connection_free(struct connection *c);
/* Seconds between forced refreshes of one connection (default 30; tests lower it). */
extern double connection_min_forced_refresh;

/* The same refresh in steps, for a caller with its own event loop: nothing here blocks.
 * connection_refresh_new(c, seen, force) (force: after a 401, seen: the generation that got
 * it; else a due refresh), then connection_refresh_step until it returns REFRESH_DONE:
 * - REFRESH_RETRY_LOCK: another process holds the vault lock; step again after a pause;
 * - REFRESH_SEND: POST connection_refresh_form (secret: never copy it into Lua) to
 *   connection_refresh_url, hand the answer (or a transport failure: CRED_NETWORK or
 *   CRED_TIMEOUT with why) to connection_refresh_answer, then step again;
 * - REFRESH_DONE: *rc is the outcome (err set unless CRED_OK); on CRED_OK c holds the
 *   current token. A due refresh that failed keeps a still valid token (CRED_OK).
 * connection_refresh_free at any point releases the lock, drops the unfinished temp file
 * (the refresh token may be spent then: as a kill would) and wipes everything. */
enum refresh_next { REFRESH_DONE, REFRESH_RETRY_LOCK, REFRESH_SEND };
struct connection_refresh;
struct connection_refresh *connection_refresh_new(const struct connection *c, unsigned seen, int force);
enum refresh_next connection_refresh_step(struct connection_refresh *j, struct connection *c, enum cred_status *rc,
                                          char *err, size_t errlen);
const char *connection_refresh_url(const struct connection_refresh *j);
const char *connection_refresh_form(const struct connection_refresh *j, size_t *len);
int connection_refresh_answer(struct connection_refresh *j, long status, const char *body, size_t len,
                              enum cred_status transport, const char *why);
void connection_refresh_free(struct connection_refresh *j);

/* The one default-connection rule: the configured default, else the only connection.
 * CRED_OK, CRED_MISSING (none), CRED_CONFIG (several, no default) or CRED_FAILED. */
enum cred_status connection_default_name(char *out, size_t outlen, char *err, size_t errlen);

/* The one API URL rule: https, or http to loopback (the sandbox); a host, optional port
 * and path prefix; no credentials, query, fragment, escapes or dot segments. Copies url to
 * out without a trailing slash. what names it in the message ("--api-url"). 0 or -1. */
int connection_check_url(const char *what, const char *url, char *out, size_t outlen, char *err, size_t errlen);

/* vault_load (the file vault only: `vsrun auth push` reads it) with the results mapped (CRED_MISSING, CRED_CONFIG) and both URLs of the
 * record checked again (a malformed one is CRED_CONFIG). The caller clears r. */
enum cred_status connection_load_record(const char *name, struct vault_record *r, char *err, size_t errlen);

/* Takes the vault lock of record NAME, retrying in short slices while w allows. Returns an
 * fd for connection_unlock, or CRED_TIMEOUT / CRED_FAILED + err. Login, logout, reconnect
 * and refresh all take it and re-read the record under it. */
int connection_lock(const char *name, const struct cred_wait *w, char *err, size_t errlen);
void connection_unlock(int fd);

/* The same two for the record store a run uses (host/records.h: the file vault, or the
 * PostgreSQL table VSRUN_VAULT names), for `vsrun auth` status, list, login, logout and
 * reconnect. lock: NULL + *st on failure; release with records_unlock. */
enum cred_status connection_load_stored(const char *name, struct vault_record *r, char *err, size_t errlen);
struct records_lock;
struct records_lock *connection_lock_stored(const char *name, const struct cred_wait *w, enum cred_status *st,
                                            char *err, size_t errlen);

#endif
