/* The credential layer (see connection.h): which connection a run uses, opening and
 * refreshing it under the vault lock, and the checks every record read from the vault
 * passes. Tokens live only in C memory and are cleansed when a connection is freed. */
#include "connection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "oauth.h"
#include "records.h"
#include "secrets.h"
#include "util.h"

#define LOCK_SLICE_NS 20000000L   /* 20 ms between tries for a held vault lock */

double connection_min_forced_refresh = 30;

/* when this process last spent a refresh token on a forced refresh (CLOCK_MONOTONIC) */
static double last_forced = -1;

static char *sandbox_url;
static char *sandbox_token;

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wipe_string(char **s) {
    if (*s) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void connection_set_sandbox(const char *api_url, const char *token) {
    connection_clear_sandbox();
    sandbox_url = strdup(api_url);
    sandbox_token = strdup(token);
}

int connection_sandbox_ready(void) { return sandbox_url != NULL && sandbox_token != NULL; }

void connection_clear_sandbox(void) {
    wipe_string(&sandbox_url);
    wipe_string(&sandbox_token);
}

void connection_free(struct connection *c) {
    if (c == NULL) return;
    wipe_string(&c->token);
    wipe_string(&c->from);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

/* --- checks ----------------------------------------------------------------------------- */

static int is_loopback(const char *host, size_t len) {
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    for (const char *const *n = names; *n; n++)
        if (strlen(*n) == len && strncasecmp(host, *n, len) == 0) return 1;
    return 0;
}

int connection_check_url(const char *what, const char *url, char *out, size_t outlen, char *err, size_t errlen) {
    const char *rest;
    int https;
    if (strncmp(url, "https://", 8) == 0) { rest = url + 8; https = 1; }
    else if (strncmp(url, "http://", 7) == 0) { rest = url + 7; https = 0; }
    else {
        snprintf(err, errlen, "%s must start with https://", what);
        return -1;
    }
    /* an IPv6 literal is one host token: [::1]:8080 */
    size_t host_len = rest[0] == '[' ? strcspn(rest, "]") + 1 : strcspn(rest, ":/");
    if (host_len == 0 || (rest[0] == '[' && rest[host_len - 1] != ']')) {
        snprintf(err, errlen, "%s has no host", what);
        return -1;
    }
    for (const char *p = rest; *p; p++) {
        if (*p == '@' || *p == '?' || *p == '#' || *p == '\\' || *p == '%' || (unsigned char)*p <= ' ' || *p == 0x7f) {
            snprintf(err, errlen, "%s must be scheme://host[:port][/prefix] without credentials, query, fragment or escapes", what);
            return -1;
        }
    }
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/') len--;
    const char *path = rest + strcspn(rest + host_len, "/") + host_len;
    if (strstr(rest, "//") || strstr(path, "/../") || strstr(path, "/./") ||
        (len >= 3 && strncmp(url + len - 3, "/..", 3) == 0) || (len >= 2 && strncmp(url + len - 2, "/.", 2) == 0)) {
        snprintf(err, errlen, "%s path must not contain '.', '..' or empty segments", what);
        return -1;
    }
    if (!https && !is_loopback(rest, host_len)) {
        snprintf(err, errlen, "%s must use https:// (plain http:// is allowed only for 127.0.0.1 or localhost)", what);
        return -1;
    }
    if (len >= outlen) {
        snprintf(err, errlen, "%s is too long", what);
        return -1;
    }
    memcpy(out, url, len);
    out[len] = '\0';
    return 0;
}

enum cred_status connection_default_name(char *out, size_t outlen, char *err, size_t errlen) {
    const char *shared;
    if (records_shared_url(&shared, err, errlen) != 0) return CRED_CONFIG;
    /* the configured default names a record of the file vault */
    if (!shared && vault_config_get("default", out, outlen) == 0 && *out) return CRED_OK;
    char names[2][VAULT_NAME_MAX];
    int count = records_list(names, 2, err, errlen);
    if (count < 0) return count == VAULT_PG_UNREACHABLE ? CRED_NETWORK : CRED_FAILED;
    if (count == 1) {
        snprintf(out, outlen, "%s", names[0]);
        return CRED_OK;
    }
    if (count == 0) {
        snprintf(err, errlen, "no PagerDuty connection: run `vsrun auth login` (or set PAGERDUTY_TOKEN, or use --sandbox)");
        return CRED_MISSING;
    }
    snprintf(err, errlen, "several PagerDuty connections and no default: pass --connection NAME or run `vsrun auth default NAME`");
    return CRED_CONFIG;
}

/* Maps a load's result rc and checks both URLs of the record read. */
static enum cred_status check_loaded(int rc, const char *name, struct vault_record *r, char *err, size_t errlen) {
    if (rc == VAULT_PG_UNREACHABLE) return CRED_NETWORK;
    if (rc == VAULT_NOT_FOUND) {
        snprintf(err, errlen, "no PagerDuty connection named '%s' (see `vsrun auth list`; create it with `vsrun auth login --connection %s`)", name, name);
        return CRED_MISSING;
    }
    if (rc != 0) return rc == VAULT_CONFIG ? CRED_CONFIG : CRED_FAILED;
    char why[200], norm[256];
    const char *bad = connection_check_url("its API URL", r->api_url, norm, sizeof norm, why, sizeof why) != 0 ? "api_url"
                    : connection_check_url("its identity URL", r->identity_url, norm, sizeof norm, why, sizeof why) != 0 ? "identity_url"
                    : NULL;
    if (bad) {
        snprintf(err, errlen, "vault record '%s': %s; log in again with `vsrun auth logout %s` and `vsrun auth login --connection %s`",
                 name, why, name, name);
        vault_record_clear(r);
        return CRED_CONFIG;
    }
    return CRED_OK;
}

enum cred_status connection_load_record(const char *name, struct vault_record *r, char *err, size_t errlen) {
    return check_loaded(vault_load(name, r, err, errlen), name, r, err, errlen);
}

/* The same from the record store a run uses (the file vault, or VSRUN_VAULT's table). */
enum cred_status connection_load_stored(const char *name, struct vault_record *r, char *err, size_t errlen) {
    return check_loaded(records_load(name, r, err, errlen), name, r, err, errlen);
}

/* --- the lock --------------------------------------------------------------------------- */

/* Between two tries of a lock: 1 + err when w says stop waiting, else a slice's sleep. */
static int lock_pause(const char *name, const struct cred_wait *w, char *err, size_t errlen) {
    if (cred_should_stop(w)) {
        snprintf(err, errlen, "stopped waiting for the vault lock of '%s' (another vsrun holds it)", name);
        return 1;
    }
    struct timespec slice = {0, LOCK_SLICE_NS};
    nanosleep(&slice, NULL);
    return 0;
}

int connection_lock(const char *name, const struct cred_wait *w, char *err, size_t errlen) {
    int fd = vault_lock_open(name, err, errlen);
    if (fd < 0) return CRED_FAILED;
    for (;;) {
        int rc = vault_lock_try(fd);
        if (rc == 0) return fd;
        if (rc < 0) {
            snprintf(err, errlen, "cannot lock the vault record '%s'", name);
            break;
        }
        if (lock_pause(name, w, err, errlen)) {
            vault_unlock(fd);
            return CRED_TIMEOUT;
        }
    }
    vault_unlock(fd);
    return CRED_FAILED;
}

void connection_unlock(int fd) { vault_unlock(fd); }

/* The record store's lock of NAME (a file lock, or a PostgreSQL advisory lock in a
 * transaction), taken in the same slices as connection_lock. NULL + status on failure. */
struct records_lock *connection_lock_stored(const char *name, const struct cred_wait *w, enum cred_status *st,
                                            char *err, size_t errlen) {
    struct records_lock *l = NULL;
    for (;;) {
        int rc = records_lock_try(name, &l, err, errlen);
        if (rc == 0) return l;
        if (rc < 0) {
            *st = rc == VAULT_PG_UNREACHABLE ? CRED_NETWORK : CRED_FAILED;
            return NULL;
        }
        if (lock_pause(name, w, err, errlen)) {
            records_unlock(l);
            *st = CRED_TIMEOUT;
            return NULL;
        }
    }
}

/* --- opening ---------------------------------------------------------------------------- */

static enum cred_status from_sandbox(struct connection *c, char *err, size_t errlen) {
    c->kind = CONN_SANDBOX;
    snprintf(c->name, sizeof c->name, "sandbox");
    snprintf(c->region, sizeof c->region, "us");
    if (connection_check_url("the sandbox URL", sandbox_url, c->api_url, sizeof c->api_url, err, errlen) != 0) return CRED_FAILED;
    snprintf(c->identity_url, sizeof c->identity_url, "%s", c->api_url);
    c->token = strdup(sandbox_token);
    return c->token ? CRED_OK : CRED_FAILED;
}

static enum cred_status from_env(const char *key, struct connection *c, char *err, size_t errlen) {
    const char *region = getenv("PAGERDUTY_REGION");
    const char *url = getenv("PAGERDUTY_API_URL");
    const char *from = getenv("PAGERDUTY_FROM");
    c->kind = CONN_API_KEY;
    snprintf(c->name, sizeof c->name, "api-key");
    if (region == NULL || *region == '\0' || strcmp(region, "us") == 0) {
        snprintf(c->region, sizeof c->region, "us");
        if (!url || !*url) url = OAUTH_US_API;
        snprintf(c->identity_url, sizeof c->identity_url, OAUTH_US_IDENTITY);
    } else if (strcmp(region, "eu") == 0) {
        snprintf(c->region, sizeof c->region, "eu");
        if (!url || !*url) url = OAUTH_EU_API;
        snprintf(c->identity_url, sizeof c->identity_url, OAUTH_EU_IDENTITY);
    } else {
        snprintf(err, errlen, "PAGERDUTY_REGION must be 'us' or 'eu' (unset it for us)");
        return CRED_CONFIG;
    }
    if (connection_check_url("PAGERDUTY_API_URL", url, c->api_url, sizeof c->api_url, err, errlen) != 0) return CRED_CONFIG;
    c->token = strdup(key);
    if (c->token == NULL) return CRED_FAILED;
    if (from && *from) {
        if (strpbrk(from, "\r\n") || strlen(from) > 254) {
            snprintf(err, errlen, "PAGERDUTY_FROM must be one email address");
            return CRED_CONFIG;
        }
        c->from = strdup(from);
    }
    return CRED_OK;
}

/* Refresh this long before expiry: 5 minutes, or a quarter of a short token lifetime. */
static double leeway(const struct vault_record *r) {
    double l = 300;
    if (r->token_lifetime > 0 && r->token_lifetime / 4 < l) l = r->token_lifetime / 4;
    return l;
}

static int needs_refresh(const struct vault_record *r) {
    return r->expires_at > 0 && wall_now() >= r->expires_at - leeway(r);
}

/* One refresh of record `name`, blocking (refresh_locked) or in steps (connection_refresh_*):
 * both run prepare_locked and finish_locked around the token request. */
struct connection_refresh {
    char name[VAULT_NAME_MAX];
    unsigned seen;                 /* the generation the caller holds */
    int force;                     /* after a 401, not because expiry is near */
    struct records_lock *lock;     /* the record's lock (file or PostgreSQL), NULL until taken */
    int state;                     /* STEP_* below */
    struct vault_record r;
    struct util_buf form;          /* the token request's body: secret, wiped on free */
    char url[512];
    long status;                   /* the answer, kept until the next step */
    struct util_buf answer;
    enum cred_status transport;    /* CRED_OK, or why the request failed */
    char why[300];
};

enum { STEP_LOCK, STEP_SENT, STEP_ANSWERED, STEP_DONE };

static void refresh_init(struct connection_refresh *j, const char *name, unsigned seen, int force) {
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "%s", name);
    j->seen = seen;
    j->force = force;
}

/* Drops an unfinished write, unlocks and wipes the request and answer; j->r stays. */
static void refresh_release(struct connection_refresh *j) {
    records_unlock(j->lock);
    j->lock = NULL;
    util_buf_free(&j->form);
    util_buf_free(&j->answer);
}

/* Under the vault lock: re-reads the record. CRED_OK with *send = 0 when j->r is already
 * current: another process refreshed (its generation moved past `seen` and its token is
 * still valid), or it is not due (!force), or a forced refresh comes too soon after the
 * last grant. *send = 1: the refresh token is to be spent; the temp file for the new record
 * and its key exist by then, so a vault that cannot be written costs nothing. */
static enum cred_status prepare_locked(struct connection_refresh *j, int *send, char *err, size_t errlen) {
    *send = 0;
    struct vault_record *r = &j->r;
    enum cred_status rc = connection_load_stored(j->name, r, err, errlen);
    if (rc == CRED_MISSING) snprintf(err, errlen, "PagerDuty connection '%s' was removed (see `vsrun auth list`)", j->name);
    if (rc != CRED_OK) return rc;
    if (!r->connected) {
        oauth_reconnect_message(j->name, err, errlen);
        return CRED_RECONNECT;
    }
    int valid = !(r->expires_at > 0 && wall_now() >= r->expires_at);
    if (r->generation != j->seen && valid) return CRED_OK; /* someone else did */
    if (!j->force && !needs_refresh(r)) return CRED_OK;
    /* a script answered by 401s must not rotate tokens at will: one forced refresh per
     * interval per process (the first is free); the caller then sees the same token */
    if (j->force && valid && last_forced >= 0 && mono_now() - last_forced < connection_min_forced_refresh) return CRED_OK;
    int vrc = records_save_begin(j->lock, err, errlen);
    if (vrc != 0) {
        char why[300];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "cannot refresh the token of '%s' (its refresh token was not spent): %s", j->name, why);
        return vrc == VAULT_CONFIG ? CRED_CONFIG : CRED_FAILED;
    }
    if (j->force) last_forced = mono_now();
    *send = 1;
    return CRED_OK;
}

/* After the token request (rc: oauth_refresh_grant's or oauth_refresh_answer's result):
 * writes, fsyncs and renames the record. A lost grant is saved too, so every later caller
 * is told at once. A failed save returns an error: the new token is not used, since the
 * next run must not hold a token the vault lacks. */
static enum cred_status finish_locked(struct connection_refresh *j, enum cred_status rc, char *err, size_t errlen) {
    struct vault_record *r = &j->r;
    if (rc == CRED_RECONNECT) {
        /* an older copy put back (a restored backup): its refresh token was spent long ago */
        unsigned newest = records_last_saved_generation(j->name);
        if (newest > r->generation) r->newest_generation = newest;
    }
    if (rc == CRED_OK || rc == CRED_RECONNECT) {
        char serr[300];
        if (records_save_finish(j->lock, r, serr, sizeof serr) != 0 && rc == CRED_OK) {
            snprintf(err, errlen, "refreshed the PagerDuty token of '%s' but could not save it: %s", j->name, serr);
            rc = CRED_FAILED;
        }
    }
    return rc;
}

/* The blocking refresh (vsrun auth, connection_open): the lock in slices while w allows,
 * then the token request as a blocking transfer. On CRED_OK r holds the current record. */
static enum cred_status refresh_locked(const char *name, unsigned seen, int force, const struct cred_wait *w,
                                       struct vault_record *r, char *err, size_t errlen) {
    struct connection_refresh j;
    refresh_init(&j, name, seen, force);
    memset(r, 0, sizeof *r);
    enum cred_status rc = CRED_FAILED;
    j.lock = connection_lock_stored(name, w, &rc, err, errlen);
    if (!j.lock) return rc;
    int send;
    rc = prepare_locked(&j, &send, err, errlen);
    if (rc == CRED_OK && send) rc = finish_locked(&j, oauth_refresh_grant(&j.r, w, err, errlen), err, errlen);
    refresh_release(&j);
    if (rc == CRED_OK) *r = j.r;
    else vault_record_clear(&j.r);
    return rc;
}

/* Copies r into c; c's old token (if any) is wiped. */
static int fill_connection(struct connection *c, const struct vault_record *r) {
    char *tok = r->access_token ? strdup(r->access_token) : NULL;
    if (!tok) return -1;
    wipe_string(&c->token);
    snprintf(c->name, sizeof c->name, "%s", r->name);
    c->kind = CONN_OAUTH;
    snprintf(c->region, sizeof c->region, "%s", r->region);
    snprintf(c->api_url, sizeof c->api_url, "%s", r->api_url);
    snprintf(c->identity_url, sizeof c->identity_url, "%s", r->identity_url);
    c->token = tok;
    c->expires_at = r->expires_at;
    c->generation = r->generation;
    return 0;
}

static enum cred_status from_vault(const char *name, const struct cred_wait *w, int defer, struct connection *c,
                                   char *err, size_t errlen) {
    char def[VAULT_NAME_MAX];
    if (!name) {
        enum cred_status rc = connection_default_name(def, sizeof def, err, errlen);
        if (rc != CRED_OK) return rc;
        name = def;
    }
    struct vault_record r;
    enum cred_status rc = connection_load_stored(name, &r, err, errlen);   /* no lock: a read */
    if (rc != CRED_OK) return rc;
    if (!r.connected) {
        vault_record_clear(&r);
        oauth_reconnect_message(name, err, errlen);
        return CRED_RECONNECT;
    }
    if (defer) c->refresh_due = needs_refresh(&r);
    else if (needs_refresh(&r)) {
        int still_valid = wall_now() < r.expires_at;
        struct vault_record fresh;
        rc = refresh_locked(name, r.generation, 0, w, &fresh, err, errlen);
        if (rc == CRED_OK) {
            vault_record_clear(&r);
            r = fresh;
        } else if (!still_valid || rc == CRED_RECONNECT || rc == CRED_TIMEOUT) {
            vault_record_clear(&r);
            return rc == CRED_FAILED ? CRED_NETWORK : rc;
        }
        /* a failed early refresh with a still valid token: go on with it */
    }
    rc = fill_connection(c, &r) == 0 ? CRED_OK : CRED_FAILED;
    if (rc != CRED_OK) snprintf(err, errlen, "out of memory");
    vault_record_clear(&r);
    return rc;
}

static enum cred_status open_connection(const char *name, const struct cred_wait *w, int defer,
                                       struct connection **out, char *err, size_t errlen) {
    *out = NULL;
    struct connection *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return CRED_FAILED;
    }
    const char *key = secrets_get(SECRET_PAGERDUTY_TOKEN);
    enum cred_status rc;
    if (sandbox_url && sandbox_token && (name == NULL || strcmp(name, "sandbox") == 0))
        rc = from_sandbox(c, err, errlen);
    else if (key && (name == NULL || strcmp(name, "api-key") == 0))
        rc = from_env(key, c, err, errlen);
    else if (name && strcmp(name, "sandbox") == 0) {
        snprintf(err, errlen, "the 'sandbox' connection exists only under --sandbox or vsrun test");
        rc = CRED_CONFIG;
    } else if (name && strcmp(name, "api-key") == 0) {
        snprintf(err, errlen, "the 'api-key' connection needs PAGERDUTY_TOKEN in the environment");
        rc = CRED_CONFIG;
    } else if (name && vault_check_name(name, err, errlen) != 0)
        rc = CRED_CONFIG;
    else
        rc = from_vault(name, w, defer, c, err, errlen);
    if (rc != CRED_OK) {
        connection_free(c);
        return rc;
    }
    *out = c;
    return CRED_OK;
}

enum cred_status connection_open(const char *name, const struct cred_wait *w, struct connection **out, char *err,
                                 size_t errlen) {
    return open_connection(name, w, 0, out, err, errlen);
}

enum cred_status connection_open_deferred(const char *name, struct connection **out, char *err, size_t errlen) {
    return open_connection(name, NULL, 1, out, err, errlen);
}

enum cred_status connection_refresh(struct connection *c, const struct cred_wait *w, char *err, size_t errlen) {
    if (c->kind != CONN_OAUTH) {
        snprintf(err, errlen, "connection '%s' cannot be refreshed (it is not an OAuth connection)", c->name);
        return CRED_FAILED;
    }
    struct vault_record r;
    enum cred_status rc = refresh_locked(c->name, c->generation, 1, w, &r, err, errlen);
    if (rc != CRED_OK) return rc;
    rc = fill_connection(c, &r) == 0 ? CRED_OK : CRED_FAILED;
    vault_record_clear(&r);
    return rc;
}

/* --- the refresh in steps (connection.h) ------------------------------------------------ */

struct connection_refresh *connection_refresh_new(const struct connection *c, unsigned seen, int force) {
    struct connection_refresh *j = malloc(sizeof *j);
    if (j) refresh_init(j, c->name, seen, force);
    return j;
}

void connection_refresh_free(struct connection_refresh *j) {
    if (j == NULL) return;
    refresh_release(j);
    vault_record_clear(&j->r);
    OPENSSL_cleanse(j, sizeof *j);
    free(j);
}

const char *connection_refresh_url(const struct connection_refresh *j) { return j->url; }

const char *connection_refresh_form(const struct connection_refresh *j, size_t *len) {
    *len = j->form.len;
    return j->form.p;
}

int connection_refresh_answer(struct connection_refresh *j, long status, const char *body, size_t len,
                              enum cred_status transport, const char *why) {
    if (j->state != STEP_SENT) return -1;
    j->status = status;
    j->transport = transport;
    snprintf(j->why, sizeof j->why, "%s", why ? why : "");
    if (body && len) util_buf_add(&j->answer, body, len);
    if (j->answer.failed) {
        j->transport = CRED_FAILED;
        snprintf(j->why, sizeof j->why, "out of memory");
    }
    j->state = STEP_ANSWERED;
    return 0;
}

/* The end of a refresh: c gets the record's token on CRED_OK. A refresh that was only due
 * (not forced) and failed leaves a still valid token in use, as connection_open does. */
static enum refresh_next refresh_done(struct connection_refresh *j, struct connection *c, enum cred_status rc,
                                      enum cred_status *out, char *err, size_t errlen) {
    refresh_release(j);
    j->state = STEP_DONE;
    if (rc == CRED_OK && fill_connection(c, &j->r) != 0) {
        snprintf(err, errlen, "out of memory");
        rc = CRED_FAILED;
    }
    if (rc != CRED_OK && !j->force) {
        int still_valid = c->expires_at > 0 && wall_now() < c->expires_at;
        if (still_valid && rc != CRED_RECONNECT && rc != CRED_TIMEOUT) rc = CRED_OK;
        else if (rc == CRED_FAILED) rc = CRED_NETWORK;
    }
    vault_record_clear(&j->r);
    *out = rc;
    return REFRESH_DONE;
}

enum refresh_next connection_refresh_step(struct connection_refresh *j, struct connection *c, enum cred_status *rc,
                                          char *err, size_t errlen) {
    if (c->kind != CONN_OAUTH) {
        snprintf(err, errlen, "connection '%s' cannot be refreshed (it is not an OAuth connection)", c->name);
        return refresh_done(j, c, CRED_FAILED, rc, err, errlen);
    }
    switch (j->state) {
    case STEP_LOCK: {
        int lrc = records_lock_try(j->name, &j->lock, err, errlen);
        if (lrc == 1) return REFRESH_RETRY_LOCK;
        if (lrc != 0) return refresh_done(j, c, lrc == VAULT_PG_UNREACHABLE ? CRED_NETWORK : CRED_FAILED, rc, err, errlen);
        int send;
        enum cred_status prc = prepare_locked(j, &send, err, errlen);
        if (prc != CRED_OK || !send) return refresh_done(j, c, prc, rc, err, errlen);
        if (!j->r.refresh_token || !*j->r.refresh_token) {
            oauth_reconnect_message(j->name, err, errlen);
            return refresh_done(j, c, finish_locked(j, CRED_RECONNECT, err, errlen), rc, err, errlen);
        }
        if (oauth_refresh_form(&j->r, &j->form, j->url, sizeof j->url, err, errlen) != 0)
            return refresh_done(j, c, CRED_FAILED, rc, err, errlen);
        j->state = STEP_SENT;
        return REFRESH_SEND;
    }
    case STEP_ANSWERED: {
        util_buf_free(&j->form);
        enum cred_status arc;
        if (j->transport != CRED_OK) {
            snprintf(err, errlen, "%s", j->why);
            arc = j->transport;
        } else
            arc = oauth_refresh_answer(&j->r, j->status, j->answer.p, j->answer.len, err, errlen);
        util_buf_free(&j->answer);
        return refresh_done(j, c, finish_locked(j, arc, err, errlen), rc, err, errlen);
    }
    default:
        snprintf(err, errlen, "internal error: the refresh of '%s' was stepped out of order", j->name);
        *rc = CRED_FAILED;
        return REFRESH_DONE;
    }
}
