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

#include <lauxlib.h>
#include <lualib.h>
#include <openssl/crypto.h>

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

static void cfg_route(struct cfg_ctx *c, const char *name, struct serve_route *r) {
    static const char *const known[] = {"script", "pagerduty", "bearer", "hmac", "delivery_header", "headers",
                                        "json", "strict", "timeout", "max_memory", "connection", "concurrency",
                                        "max_attempts", "retry_base", "retry_max", NULL};
    lua_State *L = c->L;
    char where[128];
    snprintf(where, sizeof where, "routes.%s", name);
    if (!lua_istable(L, -1)) { cfg_fail(c, "%s must be a table", where); return; }
    cfg_check_keys(c, where, known);
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
                                        "drain_seconds", "request_timeout", "routes", NULL};
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
    lua_getfield(L, -1, "routes");
    if (!lua_istable(L, -1)) cfg_fail(c, "config: routes must be a table { NAME = { script = ..., ... } }");
    else {
        lua_pushnil(L);
        while (!c->failed && lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || !cfg_route_name_ok(lua_tostring(L, -2)))
                cfg_fail(c, "config: route names are 1-64 of A-Z a-z 0-9 - _");
            else if (cfg->n_routes >= SERVE_MAX_ROUTES) cfg_fail(c, "config: at most %d routes", SERVE_MAX_ROUTES);
            else cfg_route(c, lua_tostring(L, -2), &cfg->routes[cfg->n_routes++]);
            lua_pop(L, 1);
        }
        if (!c->failed && cfg->n_routes == 0) cfg_fail(c, "config: no routes");
    }
    lua_pop(L, 1);
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
