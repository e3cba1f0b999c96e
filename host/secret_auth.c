/* Named secrets on the request side (secret_auth.h). Origins are compared as curl parses
 * them, so what is compared is where the transfer goes: `https://api.example.com@evil`
 * has host evil (and userinfo, refused), `https://api.example.com.evil.com` is another
 * host, a port or scheme difference is another origin. */
#include "secret_auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <openssl/crypto.h>

#include "vault.h"
#include "vm.h"

#define TEST_SECRETS_KEY "vsrun.test_secrets"

static int is_loopback_host(const char *h) {
    return strcmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0 || strncmp(h, "127.", 4) == 0;
}

/* Parses url with curl's parser into scheme, lower-case host and numeric port. strict:
 * the form `vsrun secret set` accepts (no path, query or fragment). */
static int parse_origin(const char *url, int strict, char *out, size_t outlen, char *err, size_t errlen) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL, *opts = NULL, *path = NULL,
         *query = NULL, *frag = NULL;
    const char *why = NULL;
    if (u == NULL) why = "out of memory";
    else if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) why = "is not a valid URL";
    if (why == NULL) {
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        curl_url_get(u, CURLUPART_HOST, &host, 0);
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
        curl_url_get(u, CURLUPART_USER, &user, 0);
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
        curl_url_get(u, CURLUPART_OPTIONS, &opts, 0);
        curl_url_get(u, CURLUPART_PATH, &path, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
        if (!scheme || !host || !port) why = "has no scheme or host";
        else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) why = "must be https://";
        else if (user || pass || opts) why = "must not carry a user name or password (user@host)";
        else if (strict && ((path && strcmp(path, "/") != 0) || query || frag))
            why = "must be an origin only (scheme://host[:port]): no path, query or fragment";
    }
    if (why == NULL) {
        for (char *c = host; *c; c++) {
            unsigned char ch = (unsigned char)*c;
            if (ch >= 0x80 || !(isalnum(ch) || ch == '.' || ch == '-' || ch == '[' || ch == ']' || ch == ':')) {
                why = "must have a plain ASCII host name (write an international name in its xn-- form)";
                break;
            }
            *c = (char)tolower(ch);
        }
    }
    if (why == NULL && strict && host[strlen(host) - 1] == '.') why = "must not end its host name with a dot";
    if (why == NULL && strict && strcmp(scheme, "http") == 0 && !is_loopback_host(host))
        why = "must be https:// (http:// only for 127.0.0.1, [::1] or localhost)";
    if (why == NULL) {
        const char *def = strcmp(scheme, "https") == 0 ? "443" : "80";
        int n = strcmp(port, def) == 0 ? snprintf(out, outlen, "%s://%s", scheme, host)
                                       : snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
        if (n < 0 || (size_t)n >= outlen) why = "is too long";
    }
    if (why) snprintf(err, errlen, "%s", why);
    char *parts[] = {scheme, host, port, user, pass, opts, path, query, frag};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) curl_free(parts[i]);
    curl_url_cleanup(u);
    return why ? -1 : 0;
}

int secret_origin_normalise(const char *origin, char *out, size_t outlen, char *err, size_t errlen) {
    char why[200];
    if (parse_origin(origin, 1, out, outlen, why, sizeof why) == 0) return 0;
    snprintf(err, errlen, "the origin '%s' %s", origin, why);
    return -1;
}

int secret_url_origin(const char *url, char *out, size_t outlen, char *err, size_t errlen) {
    return parse_origin(url, 0, out, outlen, err, errlen);
}

int secret_auth_set_test(lua_State *L, const char *name, const char *origin, const char *value, char *err, size_t errlen) {
    char norm[SECRET_ORIGIN_MAX];
    if (!vm_options(L)->sandbox_mode) {
        snprintf(err, errlen, "test secrets exist only under --sandbox and vsrun test");
        return -1;
    }
    if (vault_check_name(name, err, errlen) != 0 || secret_origin_normalise(origin, norm, sizeof norm, err, errlen) != 0)
        return -1;
    if (lua_getfield(L, LUA_REGISTRYINDEX, TEST_SECRETS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, TEST_SECRETS_KEY);
    }
    lua_createtable(L, 2, 0);
    lua_pushstring(L, norm);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, value);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    return 0;
}

/* Sandbox mode: a test secret set for this state, else a stand-in bound to the in-process
 * sandbox (so a script written for production runs against its AI stand-in unchanged). */
static int sandbox_secret(lua_State *L, const char *name, char *origin, size_t olen, char **value) {
    int found = 0, top = lua_gettop(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TEST_SECRETS_KEY) == LUA_TTABLE &&
        lua_getfield(L, -1, name) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        snprintf(origin, olen, "%s", lua_tostring(L, -2));
        *value = strdup(lua_tostring(L, -1));
        found = 1;
    }
    lua_settop(L, top);
    if (found) return 1;
    char err[200];
    if (lua_getfield(L, LUA_REGISTRYINDEX, "vsrun.sandbox_url") == LUA_TSTRING &&
        secret_url_origin(lua_tostring(L, -1), origin, olen, err, sizeof err) == 0) {
        size_t n = strlen(name) + 32;
        *value = malloc(n);
        if (*value) snprintf(*value, n, "sandbox-stand-in-for-%s", name);
        found = 1;
    }
    lua_pop(L, 1);
    return found;
}

char *secret_auth_value(lua_State *L, const char *name, const char *url, const char **kind, char *why, size_t whylen) {
    char want[SECRET_ORIGIN_MAX], bound[SECRET_ORIGIN_MAX], err[400];
    char *value = NULL;
    *kind = "invalid_argument";
    if (vault_check_name(name, err, sizeof err) != 0) {
        snprintf(why, whylen, "http: auth: invalid secret name '%s'", name);
        return NULL;
    }
    if (secret_url_origin(url, want, sizeof want, err, sizeof err) != 0) {
        snprintf(why, whylen, "http: auth: the request URL %s, so secret '%s' is not sent", err, name);
        return NULL;
    }
    if (vm_options(L)->sandbox_mode) {
        if (!sandbox_secret(L, name, bound, sizeof bound, &value)) {
            snprintf(why, whylen, "http: unknown secret '%s' (in tests, set one with sandbox.set_secret)", name);
            return NULL;
        }
    } else {
        struct vault_secret s;
        int rc = vault_secret_load(name, &s, err, sizeof err);
        if (rc == VAULT_NOT_FOUND) {
            snprintf(why, whylen, "http: unknown secret '%s': store it with: vsrun secret set %s --origin ORIGIN", name, name);
            return NULL;
        }
        if (rc != 0) {
            snprintf(why, whylen, "http: secret '%s': %s", name, err);
            return NULL;
        }
        snprintf(bound, sizeof bound, "%s", s.origin);
        value = strdup(s.value);
        vault_secret_clear(&s);
    }
    if (value == NULL) {
        snprintf(why, whylen, "http: out of memory");
        return NULL;
    }
    if (bound[0] == '\0') {
        OPENSSL_cleanse(value, strlen(value));
        free(value);
        *kind = "permission_denied";
        snprintf(why, whylen, "http: secret '%s' is a webhook secret (vsrun secret set --webhook): http never sends it", name);
        return NULL;
    }
    if (strcmp(want, bound) != 0) {
        OPENSSL_cleanse(value, strlen(value));
        free(value);
        *kind = "permission_denied";
        snprintf(why, whylen, "http: secret '%s' is bound to %s; refused to send it to %s (nothing was sent)", name,
                 bound, want);
        return NULL;
    }
    return value;
}
