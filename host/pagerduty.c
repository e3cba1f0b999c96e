/* vsrun.pd_core: authenticated PagerDuty requests. Least privilege lives here: only the
 * nine actions' method/path pairs can carry the token, the token is attached in C for the
 * connection's own API origin, and Lua never sees it. Also the process-wide rate limiter
 * and the once-per-generation token refresh. */
#include "pagerduty.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <openssl/crypto.h>

#include "checked_number.h"
#include "connection.h"
#include "http.h"
#include "modules.h"
#include "util.h"
#include "vm.h"

#define PD_CONN_META "vsrun.pagerduty_connection"
#define PD_ID_MAX 64
#define PD_PATH_MAX 200
#define PD_PACE_BELOW 20.0   /* below this many requests left, spread them over the window */
#define PD_MAX_BODY ((lua_Integer)64 << 20)  /* largest response body accepted (pd.configure may lower it) */
/* PagerDuty's windows are a minute long: a ratelimit-reset further out is garbage, capped so
 * one bad header cannot hold every task of the run for hours (found by fuzzing). */
#define PD_RESET_MAX 300.0

/* ---- the allowlist ---- */

/* An ID segment: PagerDuty IDs and incident numbers are ASCII letters and digits. */
static int pd_is_id(const char *s, size_t n) {
    if (n == 0 || n > PD_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return 0;
    }
    return 1;
}

static int pd_seg_is(const char *s, size_t n, const char *word) {
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

int pd_route_allowed(const char *method, const char *path, char *why, size_t whylen) {
    const char *seg[4];
    size_t len[4];
    int nseg = 0;
    size_t plen = strlen(path);
    if (plen == 0 || path[0] != '/' || plen > PD_PATH_MAX) {
        snprintf(why, whylen, "the path must be an absolute API path like /incidents");
        return 0;
    }
    /* Only letters, digits, '_' and '/': no escapes, dots, queries or other origins. */
    for (const char *p = path; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '/')) {
            snprintf(why, whylen, "the path contains '%c', which no PagerDuty action path has", c >= ' ' && c < 127 ? c : '?');
            return 0;
        }
    }
    const char *p = path + 1;
    while (1) {
        size_t n = strcspn(p, "/");
        if (n == 0 || nseg == 4) {
            snprintf(why, whylen, "the path has an empty segment or too many segments");
            return 0;
        }
        seg[nseg] = p;
        len[nseg++] = n;
        if (p[n] == '\0') break;
        p += n + 1;
    }
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0, put = strcmp(method, "PUT") == 0;
    int ok = 0;
    if (pd_seg_is(seg[0], len[0], "incidents")) {
        if (nseg == 1) ok = get || post;                               /* list, create */
        else if (nseg == 2) ok = pd_is_id(seg[1], len[1]) && (get || put); /* get, update */
        else if (nseg == 3 && pd_is_id(seg[1], len[1])) {
            if (pd_seg_is(seg[2], len[2], "notes")) ok = get || post;    /* list, create note */
            else if (pd_seg_is(seg[2], len[2], "log_entries")) ok = get;  /* per-incident log */
        }
    } else if (pd_seg_is(seg[0], len[0], "log_entries")) {
        if (nseg == 1) ok = get;
        else if (nseg == 2) ok = get && pd_is_id(seg[1], len[1]);
    } else if (pd_seg_is(seg[0], len[0], "users")) {
        ok = nseg == 2 && get && pd_is_id(seg[1], len[1]);
    }
    if (!ok) snprintf(why, whylen, "%s %s is not one of the PagerDuty actions vsrun may call", method, path);
    return ok;
}

int pd_query_ok(const char *q) {
    for (const char *p = q; *p; p++) {
        char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) continue;
        if (strchr("%&=_.~-+,:", c) == NULL) return 0;
    }
    return 1;
}

/* ---- the rate limiter, shared by every task of the process ---- */

static struct {
    int known;             /* headers seen for the current window */
    double remaining;      /* requests left in the window (estimate) */
    double reset_at;       /* when the window resets */
    double next_slot;      /* paced: the next send time */
    double blocked_until;  /* after a 429: nothing is sent before this */
} pd_limit;

void pd_limit_reset(void) { memset(&pd_limit, 0, sizeof pd_limit); }

/* why the last pd_limit_pace asked to wait, for the -v log */
static const char *pd_limit_why = "";

double pd_limit_pace(double now) {
    pd_limit_why = "blocked";
    if (now < pd_limit.blocked_until) return pd_limit.blocked_until - now;
    if (pd_limit.known && now >= pd_limit.reset_at) pd_limit.known = 0;
    if (pd_limit.known) {
        pd_limit_why = "window";
        if (pd_limit.remaining < 1) return pd_limit.reset_at - now;
        if (pd_limit.remaining <= PD_PACE_BELOW) {
            pd_limit_why = "pace";
            if (now < pd_limit.next_slot) return pd_limit.next_slot - now;
            pd_limit.next_slot = now + (pd_limit.reset_at - now) / pd_limit.remaining;
        }
        pd_limit.remaining -= 1;
    }
    return 0;
}

void pd_limit_observe(double now, int status, double remaining, double reset_sec, double backoff) {
    if (reset_sec > PD_RESET_MAX) reset_sec = PD_RESET_MAX;
    if (remaining >= 0 && reset_sec >= 0) {
        double reset_at = now + reset_sec;
        /* Responses arrive out of order: keep the lower count within one window. */
        if (!pd_limit.known || reset_at > pd_limit.reset_at + 1 || remaining < pd_limit.remaining)
            pd_limit.remaining = remaining;
        pd_limit.reset_at = reset_at;
        pd_limit.known = 1;
    }
    if (status == 429) {
        double until = now + (reset_sec >= 0 ? reset_sec : backoff);
        if (until > pd_limit.blocked_until) pd_limit.blocked_until = until;
        /* without headers the window we knew is not the one that ran out: forget it */
        if (reset_sec < 0) pd_limit.known = 0;
    }
}

/* ---- connections as Lua values ---- */

struct pd_conn {
    struct connection *c;
};

static struct pd_conn *pd_check_conn(lua_State *L, int idx) {
    struct pd_conn *pc = luaL_checkudata(L, idx, PD_CONN_META);
    if (pc->c == NULL) luaL_error(L, "the PagerDuty connection is closed");
    return pc;
}

static const char *pd_kind_name(enum connection_kind k) {
    return k == CONN_SANDBOX ? "sandbox" : k == CONN_API_KEY ? "api_key" : "oauth";
}

static int pd_conn_gc(lua_State *L) {
    struct pd_conn *pc = luaL_checkudata(L, 1, PD_CONN_META);
    connection_free(pc->c);
    pc->c = NULL;
    return 0;
}

static int pd_conn_tostring(lua_State *L) {
    struct pd_conn *pc = luaL_checkudata(L, 1, PD_CONN_META);
    if (pc->c == NULL) lua_pushliteral(L, "pagerduty connection (closed)");
    else lua_pushfstring(L, "pagerduty connection '%s' (%s)", pc->c->name, pc->c->region);
    return 1;
}

/* Only these fields are readable; the token and From are not. */
static int pd_conn_index(lua_State *L) {
    struct pd_conn *pc = pd_check_conn(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "name") == 0) lua_pushstring(L, pc->c->name);
    else if (strcmp(k, "region") == 0) lua_pushstring(L, pc->c->region);
    else if (strcmp(k, "api_url") == 0) lua_pushstring(L, pc->c->api_url);
    else if (strcmp(k, "kind") == 0) lua_pushstring(L, pd_kind_name(pc->c->kind));
    else lua_pushnil(L);
    return 1;
}

/* connect(name|nil) -> connection, refresh_due | nil, message, error kind. refresh_due: the
 * token is about to expire; the caller refreshes it with vsrun.pd_refresh (on the
 * scheduler, so other tasks go on meanwhile) before the first request. Which connections script
 * code can reach depends on the mode (docs/security.md "Modes"): under --sandbox and vsrun
 * test every name is the in-process sandbox, so nothing a test runs can touch a real account;
 * under --strict only the connection chosen on the command line (--connection, or the
 * default) is reachable; otherwise the name as given. */
static int pd_connect(lua_State *L) {
    const char *asked = luaL_optstring(L, 1, NULL);
    const struct vm_options *o = vm_options(L);
    const char *name = asked ? asked : o->connection;
    if (o->sandbox_mode) {
        if (!connection_sandbox_ready()) {
            lua_pushnil(L);
            lua_pushliteral(L, "only the sandbox connection is reachable under --sandbox and vsrun test, and there is none here");
            lua_pushliteral(L, "permission_denied");
            return 3;
        }
        name = "sandbox";
    } else if (o->strict) {
        name = o->connection;
    }
    struct pd_conn *pc = lua_newuserdatauv(L, sizeof *pc, 0);
    pc->c = NULL;
    luaL_setmetatable(L, PD_CONN_META);
    char err[300] = "";
    enum cred_status rc = connection_open_deferred(name, &pc->c, err, sizeof err);
    if (rc != CRED_OK) {
        lua_pushnil(L);
        lua_pushstring(L, err[0] ? err : "cannot open the PagerDuty connection");
        lua_pushstring(L, cred_error_kind(rc));
        return 3;
    }
    if (o->strict && !o->sandbox_mode && asked && strcmp(asked, pc->c->name) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "--strict: a script may use only the connection chosen on the command line ('%s'), not '%s'",
                        pc->c->name, asked);
        lua_pushliteral(L, "permission_denied");
        connection_free(pc->c);
        pc->c = NULL;
        return 3;
    }
    /* from now on the http module refuses both origins: only this module sends there */
    http_protect_origin(pc->c->api_url);
    http_protect_origin(pc->c->identity_url);
    lua_pushboolean(L, pc->c->refresh_due);
    pc->c->refresh_due = 0;
    return 2;
}

/* ---- requests ---- */

static int pd_refuse(lua_State *L, const char *why) {
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
}

/* request(conn, { method, path, query, body, attempt, timeout, max_body }) -> transfer id, generation
 * | false (dry run: the write was printed, not sent) | nil, reason (refused: nothing sent) */
static int pd_request(lua_State *L) {
    struct pd_conn *pc = pd_check_conn(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "method");
    lua_getfield(L, 2, "path");
    lua_getfield(L, 2, "query");
    lua_getfield(L, 2, "body");
    lua_getfield(L, 2, "attempt");
    lua_getfield(L, 2, "timeout");
    lua_getfield(L, 2, "max_body");
    const char *method = lua_tostring(L, 3), *path = lua_tostring(L, 4);
    const char *query = lua_tostring(L, 5);
    size_t body_len = 0;
    const char *body = lua_tolstring(L, 6, &body_len);
    double attempt = luaL_optnumber(L, 7, 1);
    double timeout = luaL_optnumber(L, 8, 30);
    double max_body = luaL_optnumber(L, 9, PD_MAX_BODY);
    /* range-checked before any conversion to an integer (see checked_number.h) */
    if (!checked_positive(attempt, CHECKED_MAX_COUNT) || attempt != (double)(int)attempt)
        return pd_refuse(L, "attempt must be a whole number from 1 to 1000000");
    if (timeout != 0 && !checked_positive(timeout, CHECKED_MAX_SECONDS)) /* 0: the default */
        return pd_refuse(L, "timeout must be a number of seconds from 0 (the default) to 1e9");
    if (!(max_body >= 1 && max_body <= (double)PD_MAX_BODY)) max_body = (double)PD_MAX_BODY; /* 0, NaN, huge */
    if (method == NULL || path == NULL) return pd_refuse(L, "method and path are required");
    char why[300];
    if (!pd_route_allowed(method, path, why, sizeof why)) return pd_refuse(L, why);
    if (query && *query && !pd_query_ok(query)) return pd_refuse(L, "the query string is not properly encoded");
    int write = strcmp(method, "GET") != 0;
    if (!write && body) return pd_refuse(L, "a GET request has no body");

    if (write && vm_options(L)->dry_run) {
        fprintf(stderr, "dry-run: %s %s%s%s\n", method, path, query && *query ? "?" : "", query && *query ? query : "");
        if (body) fprintf(stderr, "%.*s\n", (int)body_len, body);
        fflush(stderr);
        lua_pushboolean(L, 0);
        return 1;
    }

    struct connection *c = pc->c;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, c->api_url);
    luaL_addstring(&b, path);
    if (query && *query) { luaL_addchar(&b, '?'); luaL_addstring(&b, query); }
    luaL_pushresult(&b);
    const char *url = lua_tostring(L, -1);

    /* The header lives on the C stack only while http_start copies it, then is cleansed. */
    char auth[4200];
    if (strlen(c->token) > sizeof auth - 16) return luaL_error(L, "the PagerDuty token is too long");
    snprintf(auth, sizeof auth, c->kind == CONN_API_KEY ? "Token token=%s" : "Bearer %s", c->token);

    struct http_header headers[4];
    size_t nh = 0;
    headers[nh++] = (struct http_header){"Authorization", auth, 1};
    headers[nh++] = (struct http_header){"Accept", "application/vnd.pagerduty+json;version=2", 0};
    if (write) headers[nh++] = (struct http_header){"Content-Type", "application/json", 0};
    if (write && c->from) headers[nh++] = (struct http_header){"From", c->from, 0};

    struct http_request req = {0};
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.n_headers = nh;
    req.body = body;
    req.body_len = body_len;
    req.timeout = timeout;
    req.connect_timeout = 10;
    req.max_body = (size_t)max_body;
    req.attempt = (int)attempt;
    long id = http_start(L, &req);   /* cannot raise: the curl multi exists (luaopen) */
    OPENSSL_cleanse(auth, sizeof auth);
    if (id < 0) return luaL_error(L, "cannot start the request: %s", http_start_error());
    lua_pushinteger(L, id);
    lua_pushinteger(L, c->generation);
    return 2;
}

/* ---- the token refresh, driven by the scheduler ---- */

#define PD_JOB_META "vsrun.pd_refresh_job"
#define PD_TOKEN_MAX_BODY ((size_t)1 << 20)

/* A refresh in flight. Owned by its Lua userdata and, while the token request runs, by that
 * transfer too: the transfer may end (or be freed at lua_close) after the userdata is
 * collected, so the last of the two frees it. */
struct pd_job {
    struct connection_refresh *r;   /* NULL once the userdata released it */
    int refs;
    int force;
    unsigned before;                /* the connection's generation when it started */
};

static void pd_job_unref(struct pd_job *job) {
    if (--job->refs > 0) return;
    connection_refresh_free(job->r);
    free(job);
}

/* The token request's answer, straight from the transfer into the refresh (C only). */
static void pd_job_answer(void *ud, const struct http_answer *a) {
    struct pd_job *job = ud;
    if (job->r && a) {
        if (a->error_kind) {
            char why[400];
            snprintf(why, sizeof why, "cannot reach %s: %s", connection_refresh_url(job->r),
                     a->error_message ? a->error_message : a->error_kind);
            connection_refresh_answer(job->r, 0, NULL, 0, CRED_NETWORK, why);
        } else
            connection_refresh_answer(job->r, a->status, a->body, a->body_len, CRED_OK, NULL);
    }
    pd_job_unref(job);
}

static int pd_job_gc(lua_State *L) {
    struct pd_job **ud = luaL_checkudata(L, 1, PD_JOB_META);
    if (*ud) {
        connection_refresh_free((*ud)->r);  /* unlocks now, even if the transfer lingers */
        (*ud)->r = NULL;
        pd_job_unref(*ud);
        *ud = NULL;
    }
    return 0;
}

/* start(conn, generation|nil) -> true (nothing to do) | job | false, kind, message.
 * With a generation: a forced refresh after a 401 at that generation (tasks that saw the
 * same one fail together; the first refreshes, the others find it done). Without: the due
 * refresh connect() asked for. */
static int pd_refresh_start(lua_State *L) {
    struct pd_conn *pc = pd_check_conn(L, 1);
    struct connection *c = pc->c;
    int force = !lua_isnoneornil(L, 2);
    if (force && (lua_Integer)c->generation != luaL_checkinteger(L, 2)) { lua_pushboolean(L, 1); return 1; }
    if (c->kind != CONN_OAUTH) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "reconnect_required");
        if (c->kind == CONN_API_KEY)
            lua_pushliteral(L, "PagerDuty rejected the API key from PAGERDUTY_TOKEN (401): check the key and PAGERDUTY_REGION / PAGERDUTY_API_URL");
        else
            lua_pushliteral(L, "the sandbox rejected its preset token (401)");
        return 3;
    }
    struct pd_job **ud = lua_newuserdatauv(L, sizeof *ud, 1);
    *ud = NULL;
    if (luaL_newmetatable(L, PD_JOB_META)) {
        lua_pushcfunction(L, pd_job_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, "no access");
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);  /* the connection stays alive while its refresh does */
    struct pd_job *job = calloc(1, sizeof *job);
    if (job) job->r = connection_refresh_new(c, c->generation, force);
    if (!job || !job->r) {
        free(job);
        return luaL_error(L, "out of memory");
    }
    job->refs = 1;
    job->force = force;
    job->before = c->generation;
    *ud = job;
    return 1;
}

/* Starts the token request on the state's curl multi, as a credential transfer whose answer
 * only C reads. -1 when it cannot start (the refresh is told, as of a network failure). */
static long pd_job_send(lua_State *L, struct pd_job *job) {
    size_t form_len;
    const char *form = connection_refresh_form(job->r, &form_len);
    struct http_header accept = {"Accept", "application/json", 0};
    struct http_request req = {0};
    req.method = "POST";
    req.url = connection_refresh_url(job->r);
    req.headers = &accept;
    req.n_headers = 1;
    req.body = form;
    req.body_len = form_len;
    req.timeout = 30;
    req.connect_timeout = 10;
    req.max_body = PD_TOKEN_MAX_BODY;
    req.secret_body = 1;
    req.on_done = pd_job_answer;
    req.done_ud = job;
    job->refs++;
    long id = http_start(L, &req);
    if (id < 0) {
        job->refs--;
        char why[300];
        snprintf(why, sizeof why, "cannot start the token request: %s", http_start_error());
        connection_refresh_answer(job->r, 0, NULL, 0, CRED_NETWORK, why);
    }
    return id;
}

/* step(job) -> "busy" (the vault lock is held elsewhere: step again after a pause)
 * | "send", transfer id (wait for it, then step again) | true | false, kind, message */
static int pd_refresh_step(lua_State *L) {
    struct pd_job **ud = luaL_checkudata(L, 1, PD_JOB_META);
    lua_getiuservalue(L, 1, 1);
    struct pd_conn *pc = pd_check_conn(L, -1);
    struct pd_job *job = *ud;
    if (!job || !job->r) return luaL_error(L, "the refresh has ended");
    struct connection *c = pc->c;
    char err[300] = "";
    enum cred_status rc = CRED_FAILED;
    for (;;) {
        enum refresh_next next = connection_refresh_step(job->r, c, &rc, err, sizeof err);
        if (next == REFRESH_RETRY_LOCK) {
            lua_pushliteral(L, "busy");
            return 1;
        }
        if (next == REFRESH_DONE) break;
        long id = pd_job_send(L, job);
        if (id >= 0) {
            lua_pushliteral(L, "send");
            lua_pushinteger(L, id);
            return 2;
        }
    }
    if (rc == CRED_OK) {
        if (job->force && c->generation == job->before) c->generation++;
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    if (!job->force) {  /* the due refresh of connect(): its own kinds and message */
        lua_pushstring(L, cred_error_kind(rc));
        lua_pushstring(L, err[0] ? err : "cannot refresh the token");
    } else if (rc == CRED_RECONNECT) {
        /* the grant is gone: the message already names `vsrun auth reconnect NAME` */
        lua_pushliteral(L, "reconnect_required");
        if (strstr(err, "vsrun auth reconnect")) lua_pushstring(L, err);
        else lua_pushfstring(L, "%s; run `vsrun auth reconnect %s`", err[0] ? err : "the grant was revoked", c->name);
    } else {
        /* a configuration error names its fix; anything else (the identity server could not
         * be reached or answered badly) is transient, not a lost connection (exit 6, not 3) */
        lua_pushstring(L, rc == CRED_CONFIG ? "config" : "network");
        lua_pushfstring(L, "could not refresh the token of connection '%s': %s", c->name,
                        err[0] ? err : "unknown error");
    }
    return 3;
}

/* pace() -> seconds to wait before sending (0: go now, a send is counted), reason */
static int pd_pace(lua_State *L) {  /* and why: "blocked" (after a 429) | "window" | "pace" */
    lua_pushnumber(L, pd_limit_pace(util_monotonic()));
    lua_pushstring(L, pd_limit_why);
    return 2;
}

/* observe(status, remaining|nil, reset_sec|nil, backoff_sec) */
static int pd_observe(lua_State *L) {
    int status = (int)luaL_checkinteger(L, 1);
    double remaining = luaL_optnumber(L, 2, -1), reset = luaL_optnumber(L, 3, -1);
    double backoff = luaL_optnumber(L, 4, 1);
    pd_limit_observe(util_monotonic(), status, remaining, reset, backoff);
    return 0;
}

int luaopen_vsrun_pd_core(lua_State *L) {
    /* The transfer driver first: it creates the curl multi (so http_start never raises
     * while a token is on the C stack) and registers the scheduler's I/O driver. */
    modules_require(L, "vsrun.http_core");
    lua_pop(L, 1);
    /* one limiter per run: `vsrun test` opens a fresh state (and sandbox) per file */
    pd_limit_reset();
    static const luaL_Reg meta[] = {
        {"__gc", pd_conn_gc}, {"__close", pd_conn_gc}, {"__tostring", pd_conn_tostring},
        {"__index", pd_conn_index}, {NULL, NULL}};
    if (luaL_newmetatable(L, PD_CONN_META)) {
        luaL_setfuncs(L, meta, 0);
        lua_pushliteral(L, "no access");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"connect", pd_connect}, {"request", pd_request},
        {"pace", pd_pace},       {"observe", pd_observe}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

/* vsrun.pd_refresh: { start, step }, a private module (host/modules.c) that only
 * lua/vsrun/pd_request.lua requires (it waits between steps): script code cannot force
 * token rotations. */
int luaopen_vsrun_pd_refresh(lua_State *L) {
    modules_require(L, "vsrun.pd_core");    /* the connection metatable, the curl multi */
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"start", pd_refresh_start}, {"step", pd_refresh_step}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
