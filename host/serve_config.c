/* Loading the `vsrun serve` config (see serve_config.h). */
#include "serve_config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <openssl/crypto.h>

#include "vault.h"

#define CONFIG_MAX_BYTES (8u << 20)      /* the config state's memory cap */
#define CONFIG_MAX_STEPS 10000000        /* instructions, so a loop cannot hang start-up */

struct config_alloc { size_t used; };

static void *config_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
    struct config_alloc *a = ud;
    if (ptr == NULL) osize = 0;
    if (nsize == 0) { a->used -= osize; free(ptr); return NULL; }
    if (nsize > osize && a->used + (nsize - osize) > CONFIG_MAX_BYTES) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) a->used = a->used - osize + nsize;
    return p;
}

static void config_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    luaL_error(L, "the config ran too long");
}

/* env(NAME): a secret from the environment; an unset or empty variable is an error. The
 * variable is removed after loading so pipeline runs do not inherit it. */
static int config_env(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') return luaL_error(L, "env: %s is not set", name);
    lua_pushstring(L, v);
    lua_getfield(L, LUA_REGISTRYINDEX, "serve.env_used");
    lua_pushstring(L, name);
    lua_pushboolean(L, 1);
    lua_settable(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* secret(NAME): a webhook secret from the vault (`vsrun secret set NAME --webhook`). A
 * secret bound to an origin is for http only and refused here. */
static int config_secret(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    struct vault_secret s;
    char err[1024];
    int rc = vault_secret_load(name, &s, err, sizeof err);
    if (rc == VAULT_NOT_FOUND)
        return luaL_error(L, "secret: no secret named '%s' (store it with: vsrun secret set %s --webhook)", name, name);
    if (rc != 0) return luaL_error(L, "secret: %s", err);
    if (s.origin[0]) {
        snprintf(err, sizeof err, "secret: '%s' is bound to %s for http; a webhook secret is stored with --webhook", name,
                 s.origin);
        vault_secret_clear(&s);
        return luaL_error(L, "%s", err);
    }
    lua_pushstring(L, s.value);
    vault_secret_clear(&s);
    return 1;
}

/* ---- reading the returned table: every key must be known ---- */

struct cfg_ctx {
    lua_State *L;
    const char *dir;      /* the config's directory */
    char *err;
    size_t errlen;
    int failed;
};

static void cfg_fail(struct cfg_ctx *c, const char *fmt, ...) {
    if (c->failed) return;
    c->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

/* Fails on a key of the table at the top that is not in `known`. */
static void cfg_check_keys(struct cfg_ctx *c, const char *where, const char *const *known) {
    lua_State *L = c->L;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        int ok = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (const char *const *k = known; *k; k++) ok |= strcmp(*k, lua_tostring(L, -1)) == 0;
        if (!ok) {
            cfg_fail(c, "%s: unknown key '%s'", where, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a name)");
            lua_pop(L, 1);
            return;
        }
    }
}

static char *cfg_string(struct cfg_ctx *c, const char *where, const char *key, const char *dflt) {
    lua_State *L = c->L;
    lua_getfield(L, -1, key);
    char *v = NULL;
    if (lua_isnil(L, -1)) v = dflt ? strdup(dflt) : NULL;
    else if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0) cfg_fail(c, "%s: %s must be a non-empty string", where, key);
    else v = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return v;
}

static double cfg_number(struct cfg_ctx *c, const char *where, const char *key, double dflt, double min, double max) {
    lua_State *L = c->L;
    lua_getfield(L, -1, key);
    double v = dflt;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= min && lua_tonumber(L, -1) <= max))
            cfg_fail(c, "%s: %s must be a number from %g to %g", where, key, min, max);
        else v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int cfg_bool(struct cfg_ctx *c, const char *where, const char *key, int dflt) {
    lua_State *L = c->L;
    lua_getfield(L, -1, key);
    int v = dflt;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TBOOLEAN) cfg_fail(c, "%s: %s must be true or false", where, key);
        else v = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int cfg_is_header_name(const char *s) {
    if (*s == '\0' || strlen(s) > 64) return 0;
    for (; *s; s++) if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_')) return 0;
    return 1;
}

static char *cfg_lower(const char *s) {
    char *d = strdup(s);
    if (d) for (char *p = d; *p; p++) *p = (char)tolower((unsigned char)*p);
    return d;
}

/* The value at the top: a string or a list of 1..SERVE_MAX_SECRETS strings. */
static void cfg_secrets(struct cfg_ctx *c, const char *where, const char *key, struct serve_route *r) {
    lua_State *L = c->L;
    if (lua_type(L, -1) == LUA_TSTRING) {
        if (lua_rawlen(L, -1) == 0) { cfg_fail(c, "%s: %s must not be empty", where, key); return; }
        r->secrets[r->n_secrets++] = strdup(lua_tostring(L, -1));
        return;
    }
    lua_Integer n = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
    if (n < 1 || n > SERVE_MAX_SECRETS) {
        cfg_fail(c, "%s: %s must be a secret or a list of 1 to %d secrets (several during rotation)", where, key, SERVE_MAX_SECRETS);
        return;
    }
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0) cfg_fail(c, "%s: %s[%d] must be a non-empty string", where, key, (int)i);
        else r->secrets[r->n_secrets++] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

static char *cfg_path(struct cfg_ctx *c, const char *p) {
    if (p == NULL) return NULL;
    if (p[0] == '/') return strdup(p);
    size_t n = strlen(c->dir) + strlen(p) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", c->dir, p);
    return out;
}

/* A small growing string for the fixed inputs' JSON. */
struct cfg_text { char *p; size_t len, cap; int oom; };

static void cfg_text_add(struct cfg_text *t, const char *s, size_t n) {
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        while (ncap < t->len + n + 1) ncap *= 2;
        char *np = realloc(t->p, ncap);
        if (np == NULL) { t->oom = 1; return; }
        t->p = np;
        t->cap = ncap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void cfg_text_json_str(struct cfg_text *t, const char *s, size_t n) {
    cfg_text_add(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        if (ch == '"' || ch == '\\') { esc[0] = '\\'; esc[1] = (char)ch; cfg_text_add(t, esc, 2); }
        else if (ch < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", ch); cfg_text_add(t, esc, 6); }
        else cfg_text_add(t, (const char *)&s[i], 1);
    }
    cfg_text_add(t, "\"", 1);
}

/* inputs = { name = string | number | boolean } → ',"name":value...': JSON members that
 * follow the keys vsrun serve sets itself in the run's input object. */
static void cfg_inputs(struct cfg_ctx *c, const char *where, struct serve_route *r) {
    static const char *const reserved[] = {"run_id", "attempt", "route", "delivery_id", "scheduled_at", NULL};
    lua_State *L = c->L;
    struct cfg_text t = {0};
    cfg_text_add(&t, "", 0);
    lua_getfield(L, -1, "inputs");
    if (!lua_isnil(L, -1) && !lua_istable(L, -1)) cfg_fail(c, "%s: inputs must be a table of name = value", where);
    else if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (!c->failed && lua_next(L, -2)) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            int bad_key = key == NULL || *key == '\0';
            for (const char *const *k = reserved; key && *k; k++) bad_key |= strcmp(*k, key) == 0;
            int vt = lua_type(L, -1);
            char num[64];
            if (bad_key) {
                cfg_fail(c, "%s: inputs: names are strings other than run_id, attempt, route, delivery_id, scheduled_at", where);
            } else if (vt == LUA_TNUMBER && !lua_isinteger(L, -1) && !isfinite(lua_tonumber(L, -1))) {
                cfg_fail(c, "%s: inputs.%s must be a finite number", where, key);
            } else if (vt == LUA_TSTRING || vt == LUA_TNUMBER || vt == LUA_TBOOLEAN) {
                cfg_text_add(&t, ",", 1);
                cfg_text_json_str(&t, key, strlen(key));
                cfg_text_add(&t, ":", 1);
                if (vt == LUA_TBOOLEAN) snprintf(num, sizeof num, "%s", lua_toboolean(L, -1) ? "true" : "false");
                else if (vt == LUA_TNUMBER && lua_isinteger(L, -1)) snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, -1));
                else if (vt == LUA_TNUMBER) snprintf(num, sizeof num, "%.17g", lua_tonumber(L, -1));
                if (vt == LUA_TSTRING) {
                    size_t vl;
                    const char *v = lua_tolstring(L, -1, &vl);   /* a string: no conversion in place */
                    cfg_text_json_str(&t, v, vl);
                } else {
                    cfg_text_add(&t, num, strlen(num));
                }
            } else {
                cfg_fail(c, "%s: inputs.%s must be a string, number or boolean", where, key);
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (t.oom) { cfg_fail(c, "out of memory"); free(t.p); return; }
    r->inputs_json = t.p;
}

/* An IANA zone name that exists in the zone database (glibc silently falls back to UTC for
 * an unknown one). */
static int cfg_timezone_ok(const char *tz) {
    if (strcmp(tz, "UTC") == 0) return 1;
    if (strstr(tz, "..") || tz[0] == '/' || strlen(tz) > 64) return 0;
    for (const char *p = tz; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_+-/", *p))) return 0;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
    return access(path, R_OK) == 0;
}

static void cfg_route_limits(struct cfg_ctx *c, const char *where, struct serve_route *r);

static void cfg_route(struct cfg_ctx *c, const char *name, struct serve_route *r, int schedule) {
    static const char *const known[] = {"script", "pagerduty", "bearer", "hmac", "delivery_header", "headers",
                                        "json", "strict", "timeout", "max_memory", "connection", "concurrency",
                                        "max_attempts", "retry_base", "retry_max", NULL};
    static const char *const known_schedule[] = {"script", "cron", "timezone", "inputs", "strict", "timeout",
                                                 "max_memory", "connection", "concurrency", "max_attempts",
                                                 "retry_base", "retry_max", NULL};
    lua_State *L = c->L;
    char where[128];
    snprintf(where, sizeof where, "%s.%s", schedule ? "schedules" : "routes", name);
    if (!lua_istable(L, -1)) { cfg_fail(c, "%s must be a table", where); return; }
    cfg_check_keys(c, where, schedule ? known_schedule : known);
    r->name = strdup(name);
    char *script = cfg_string(c, where, "script", NULL);
    if (!c->failed && script == NULL) cfg_fail(c, "%s: script is missing", where);
    char *joined = cfg_path(c, script);
    free(script);
    if (joined) {
        char real[PATH_MAX];
        if (realpath(joined, real) == NULL) cfg_fail(c, "%s: script %s: %s", where, joined, strerror(errno));
        else r->script = strdup(real);
        free(joined);
    }
    if (schedule) {
        r->cron = cfg_string(c, where, "cron", NULL);
        char cerr[256];
        if (!c->failed && r->cron == NULL) cfg_fail(c, "%s: cron is missing (e.g. cron = \"0 6 * * 1-5\")", where);
        else if (!c->failed && cron_parse(r->cron, &r->cron_spec, cerr, sizeof cerr) != 0) cfg_fail(c, "%s: %s", where, cerr);
        r->timezone = cfg_string(c, where, "timezone", "UTC");
        if (!c->failed && r->timezone && !cfg_timezone_ok(r->timezone))
            cfg_fail(c, "%s: timezone '%s' is not in the zone database (e.g. \"Europe/Berlin\", \"UTC\")", where, r->timezone);
        cfg_inputs(c, where, r);
        r->json = 1;
        cfg_route_limits(c, where, r);
        return;
    }
    int verifiers = 0;
    const char *which = NULL;
    static const char *const vnames[] = {"pagerduty", "bearer", "hmac"};
    for (int v = 0; v < 3; v++) {
        lua_getfield(L, -1, vnames[v]);
        if (!lua_isnil(L, -1)) { verifiers++; which = vnames[v]; r->verifier = (enum serve_verifier)v; }
        lua_pop(L, 1);
    }
    if (verifiers != 1) {
        cfg_fail(c, "%s: give exactly one verifier: pagerduty = SECRET, bearer = TOKEN or hmac = { header, secret }", where);
        return;
    }
    lua_getfield(L, -1, which);
    if (r->verifier == VERIFY_HMAC) {
        static const char *const hkeys[] = {"header", "secret", "prefix", NULL};
        char hwhere[160];
        snprintf(hwhere, sizeof hwhere, "%s.hmac", where);
        if (!lua_istable(L, -1)) cfg_fail(c, "%s must be { header = NAME, secret = SECRET [, prefix = \"sha256=\"] }", hwhere);
        else {
            cfg_check_keys(c, hwhere, hkeys);
            char *h = cfg_string(c, hwhere, "header", NULL);
            if (!c->failed && (h == NULL || !cfg_is_header_name(h))) cfg_fail(c, "%s: header must be a header name", hwhere);
            r->hmac_header = h ? cfg_lower(h) : NULL;
            free(h);
            lua_getfield(L, -1, "secret");
            cfg_secrets(c, hwhere, "secret", r);
            lua_pop(L, 1);
            lua_getfield(L, -1, "prefix");
            if (lua_isnil(L, -1)) r->hmac_prefix = strdup("");
            else if (lua_type(L, -1) != LUA_TSTRING) cfg_fail(c, "%s: prefix must be a string", hwhere);
            else r->hmac_prefix = strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    } else {
        cfg_secrets(c, where, which, r);
    }
    lua_pop(L, 1);
    char *dh = cfg_string(c, where, "delivery_header", NULL);
    if (dh && !cfg_is_header_name(dh)) cfg_fail(c, "%s: delivery_header must be a header name", where);
    r->delivery_header = dh ? cfg_lower(dh) : NULL;
    free(dh);
    lua_getfield(L, -1, "headers");
    if (!lua_isnil(L, -1)) {
        lua_Integer n = lua_istable(L, -1) ? luaL_len(L, -1) : -1;
        if (n < 0 || n > SERVE_MAX_PASS_HEADERS) cfg_fail(c, "%s: headers must be a list of at most %d header names", where, SERVE_MAX_PASS_HEADERS);
        for (lua_Integer i = 1; i <= n && !c->failed; i++) {
            lua_rawgeti(L, -1, i);
            const char *h = lua_tostring(L, -1);
            char *low = h && lua_type(L, -1) == LUA_TSTRING && cfg_is_header_name(h) ? cfg_lower(h) : NULL;
            if (low == NULL) cfg_fail(c, "%s: headers[%d] must be a header name", where, (int)i);
            else if (strcmp(low, "authorization") == 0 || strcmp(low, "x-pagerduty-signature") == 0 ||
                     (r->hmac_header && strcmp(low, r->hmac_header) == 0))
                cfg_fail(c, "%s: headers: %s carries a credential and is never shown to the script", where, low);
            if (low && !c->failed) r->pass_headers[r->n_pass_headers++] = low;
            else free(low);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    r->json = cfg_bool(c, where, "json", 1);
    cfg_route_limits(c, where, r);
}

/* The keys routes and schedules share: the run's options and retry policy. */
static void cfg_route_limits(struct cfg_ctx *c, const char *where, struct serve_route *r) {
    r->strict = cfg_bool(c, where, "strict", 0);
    r->timeout = cfg_number(c, where, "timeout", 300, 0.001, 86400);
    r->max_memory = cfg_number(c, where, "max_memory", 0, 1, 1024 * 1024);
    r->connection = cfg_string(c, where, "connection", NULL);
    r->concurrency = (int)cfg_number(c, where, "concurrency", 1, 1, 256);
    r->max_attempts = (int)cfg_number(c, where, "max_attempts", 5, 1, 100);
    r->retry_base = cfg_number(c, where, "retry_base", 2, 0.001, 86400);
    r->retry_max = cfg_number(c, where, "retry_max", 300, 0.001, 86400);
}

static int cfg_route_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (; *s; s++) if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_')) return 0;
    return 1;
}

static void cfg_top(struct cfg_ctx *c, struct serve_config *cfg) {
    static const char *const known[] = {"bind", "port", "store", "store_max_mb", "max_body", "workers",
                                        "drain_seconds", "request_timeout", "routes", "schedules", NULL};
    lua_State *L = c->L;
    if (!lua_istable(L, -1)) { cfg_fail(c, "the config must return a table"); return; }
    cfg_check_keys(c, "config", known);
    cfg->bind = cfg_string(c, "config", "bind", "127.0.0.1");
    cfg->port = (int)cfg_number(c, "config", "port", 8080, 0, 65535);
    char *store = cfg_string(c, "config", "store", NULL);
    /* a PostgreSQL URL is kept as it is; a file is relative to the config */
    if (store && (strncmp(store, "postgresql://", 13) == 0 || strncmp(store, "postgres://", 11) == 0)) cfg->store = store;
    else { cfg->store = cfg_path(c, store); free(store); }
    cfg->store_max_mb = cfg_number(c, "config", "store_max_mb", 0, 0.01, 1e9);
    cfg->max_body = (size_t)cfg_number(c, "config", "max_body", 1 << 20, 1, 64 << 20);
    cfg->workers = (int)cfg_number(c, "config", "workers", 4, 1, 256);
    cfg->drain_seconds = cfg_number(c, "config", "drain_seconds", 30, 0, 86400);
    cfg->request_timeout = cfg_number(c, "config", "request_timeout", 10, 1, 3600);
    static const char *const sections[2] = {"routes", "schedules"};
    for (int sec = 0; sec < 2 && !c->failed; sec++) {
        lua_getfield(L, -1, sections[sec]);
        if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; }
        if (!lua_istable(L, -1)) cfg_fail(c, "config: %s must be a table { NAME = { script = ..., ... } }", sections[sec]);
        else {
            lua_pushnil(L);
            while (!c->failed && lua_next(L, -2)) {
                const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
                if (name == NULL || !cfg_route_name_ok(name))
                    cfg_fail(c, "config: %s names are 1-64 of A-Z a-z 0-9 - _", sections[sec]);
                else if (serve_config_route(cfg, name))
                    cfg_fail(c, "config: '%s' names both a route and a schedule (runs are stored by name)", name);
                else if (cfg->n_routes >= SERVE_MAX_ROUTES)
                    cfg_fail(c, "config: at most %d routes and schedules", SERVE_MAX_ROUTES);
                else cfg_route(c, name, &cfg->routes[cfg->n_routes++], sec == 1);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    if (!c->failed && cfg->n_routes == 0) cfg_fail(c, "config: no routes and no schedules");
}

int serve_config_load(const char *path, struct serve_config *cfg, char *err, size_t errlen) {
    memset(cfg, 0, sizeof *cfg);
    struct config_alloc a = {0};
    lua_State *L = lua_newstate(config_alloc_fn, &a);
    if (L == NULL) { snprintf(err, errlen, "out of memory"); return -1; }
    /* only pure libraries: no io, os, package, load */
    luaL_requiref(L, "_G", luaopen_base, 1);
    luaL_requiref(L, "string", luaopen_string, 1);
    luaL_requiref(L, "table", luaopen_table, 1);
    luaL_requiref(L, "math", luaopen_math, 1);
    lua_settop(L, 0);
    static const char *const drop[] = {"dofile", "loadfile", "load", "require", "collectgarbage", "print", NULL};
    for (const char *const *d = drop; *d; d++) { lua_pushnil(L); lua_setglobal(L, *d); }
    lua_register(L, "env", config_env);
    lua_register(L, "secret", config_secret);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "serve.env_used");
    lua_sethook(L, config_hook, LUA_MASKCOUNT, CONFIG_MAX_STEPS);

    char *dup = strdup(path);
    char dir[PATH_MAX];
    if (dup == NULL || realpath(dirname(dup), dir) == NULL) snprintf(dir, sizeof dir, ".");
    free(dup);
    struct cfg_ctx c = {.L = L, .dir = dir, .err = err, .errlen = errlen};
    int rc = luaL_loadfilex(L, path, "t");
    if (rc == LUA_OK) rc = lua_pcall(L, 0, 1, 0);
    if (rc != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot load");
        c.failed = 1;
    } else {
        cfg_top(&c, cfg);
    }
    /* the secrets env() read are not passed on to pipeline runs */
    lua_getfield(L, LUA_REGISTRYINDEX, "serve.env_used");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            const char *v = getenv(lua_tostring(L, -1));
            if (v) OPENSSL_cleanse((void *)v, strlen(v));
            unsetenv(lua_tostring(L, -1));
        }
    }
    lua_close(L);
    for (int i = 0; i < cfg->n_routes && !c.failed; i++)
        for (int k = 0; k < cfg->routes[i].n_secrets; k++)
            if (cfg->routes[i].secrets[k] == NULL) { snprintf(err, errlen, "out of memory"); c.failed = 1; }
    if (c.failed) { serve_config_free(cfg); return -1; }
    return 0;
}

static void cfg_free_secret(char *s) {
    if (s) { OPENSSL_cleanse(s, strlen(s)); free(s); }
}

void serve_config_free(struct serve_config *cfg) {
    for (int i = 0; i < cfg->n_routes; i++) {
        struct serve_route *r = &cfg->routes[i];
        free(r->name);
        free(r->script);
        for (int k = 0; k < r->n_secrets; k++) cfg_free_secret(r->secrets[k]);
        free(r->hmac_header);
        free(r->hmac_prefix);
        free(r->delivery_header);
        for (int k = 0; k < r->n_pass_headers; k++) free(r->pass_headers[k]);
        free(r->connection);
        free(r->cron);
        free(r->timezone);
        free(r->inputs_json);
    }
    free(cfg->bind);
    free(cfg->store);
    memset(cfg, 0, sizeof *cfg);
}

const struct serve_route *serve_config_route(const struct serve_config *cfg, const char *name) {
    for (int i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].name, name) == 0) return &cfg->routes[i];
    return NULL;
}
