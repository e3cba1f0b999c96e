/* The connection store (see connection.h): the in-process sandbox preset, an API key from
 * PAGERDUTY_TOKEN, or an OAuth connection from the vault (host/oauth.c). Tokens live only
 * in C memory and are cleansed when a connection is freed. */
#include "connection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "oauth.h"
#include "secrets.h"

#define CONNECTION_US_API "https://api.pagerduty.com"
#define CONNECTION_EU_API "https://api.eu.pagerduty.com"
#define CONNECTION_US_IDENTITY "https://identity.pagerduty.com"
#define CONNECTION_EU_IDENTITY "https://identity.eu.pagerduty.com"

static char *sandbox_url;
static char *sandbox_token;

static void connection_wipe_string(char **s) {
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
    connection_wipe_string(&sandbox_url);
    connection_wipe_string(&sandbox_token);
}

void connection_free(struct connection *c) {
    if (c == NULL) return;
    connection_wipe_string(&c->token);
    connection_wipe_string(&c->from);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

static int connection_is_loopback(const char *host, size_t len) {
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
    for (const char *const *n = names; *n; n++)
        if (strlen(*n) == len && strncasecmp(host, *n, len) == 0) return 1;
    return 0;
}

/* Checks a base URL: https (or http to a loopback address, for the sandbox), a host, an
 * optional port and path prefix, no credentials, query or fragment. Copies it without a
 * trailing slash. The token is only ever sent below this URL. */
int connection_check_base_url(const char *url, char *out, size_t outlen, char *err, size_t errlen) {
    const char *rest;
    int https;
    if (strncmp(url, "https://", 8) == 0) { rest = url + 8; https = 1; }
    else if (strncmp(url, "http://", 7) == 0) { rest = url + 7; https = 0; }
    else { snprintf(err, errlen, "API URL must start with https://"); return -1; }
    size_t host_len = strcspn(rest, ":/");
    if (host_len == 0) { snprintf(err, errlen, "API URL has no host"); return -1; }
    for (const char *p = rest; *p; p++) {
        if (*p == '@' || *p == '?' || *p == '#' || *p == '\\' || *p == '%' || (unsigned char)*p <= ' ') {
            snprintf(err, errlen, "API URL must be scheme://host[:port][/prefix] without credentials, query, fragment or escapes");
            return -1;
        }
    }
    if (strstr(rest, "/../") || strstr(rest, "/./") || strstr(rest, "//")) {
        snprintf(err, errlen, "API URL path must not contain '.', '..' or empty segments");
        return -1;
    }
    if (!https && !connection_is_loopback(rest, host_len)) {
        snprintf(err, errlen, "API URL must use https:// (plain http:// is allowed only for 127.0.0.1 or localhost)");
        return -1;
    }
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/') len--;
    if (len >= outlen) { snprintf(err, errlen, "API URL is too long"); return -1; }
    memcpy(out, url, len);
    out[len] = '\0';
    return 0;
}

static int connection_from_sandbox(struct connection *c, char *err, size_t errlen) {
    c->kind = CONN_SANDBOX;
    snprintf(c->name, sizeof c->name, "sandbox");
    snprintf(c->region, sizeof c->region, "us");
    if (connection_check_base_url(sandbox_url, c->api_url, sizeof c->api_url, err, errlen) != 0) return -1;
    snprintf(c->identity_url, sizeof c->identity_url, "%s", c->api_url);
    c->token = strdup(sandbox_token);
    return c->token ? 0 : -1;
}

static int connection_from_env(const char *key, struct connection *c, char *err, size_t errlen) {
    const char *region = getenv("PAGERDUTY_REGION");
    const char *url = getenv("PAGERDUTY_API_URL");
    const char *from = getenv("PAGERDUTY_FROM");
    c->kind = CONN_API_KEY;
    snprintf(c->name, sizeof c->name, "api-key");
    if (region == NULL || *region == '\0' || strcmp(region, "us") == 0) {
        snprintf(c->region, sizeof c->region, "us");
        if (!url || !*url) url = CONNECTION_US_API;
        snprintf(c->identity_url, sizeof c->identity_url, CONNECTION_US_IDENTITY);
    } else if (strcmp(region, "eu") == 0) {
        snprintf(c->region, sizeof c->region, "eu");
        if (!url || !*url) url = CONNECTION_EU_API;
        snprintf(c->identity_url, sizeof c->identity_url, CONNECTION_EU_IDENTITY);
    } else {
        snprintf(err, errlen, "PAGERDUTY_REGION must be 'us' or 'eu'");
        return -1;
    }
    char why[160];
    if (connection_check_base_url(url, c->api_url, sizeof c->api_url, why, sizeof why) != 0) {
        snprintf(err, errlen, "PAGERDUTY_API_URL: %s", why);
        return -1;
    }
    c->token = strdup(key);
    if (c->token == NULL) return -1;
    if (from && *from) {
        if (strpbrk(from, "\r\n") || strlen(from) > 254) {
            snprintf(err, errlen, "PAGERDUTY_FROM must be one email address");
            return -1;
        }
        c->from = strdup(from);
    }
    return 0;
}

int connection_open(const char *name, struct connection **out, char *err, size_t errlen) {
    *out = NULL;
    struct connection *c = calloc(1, sizeof *c);
    if (c == NULL) { snprintf(err, errlen, "out of memory"); return -1; }
    const char *key = secrets_get(SECRET_PAGERDUTY_TOKEN);
    int rc;
    if (sandbox_url && sandbox_token && (name == NULL || strcmp(name, "sandbox") == 0))
        rc = connection_from_sandbox(c, err, errlen);
    else if (key && (name == NULL || strcmp(name, "api-key") == 0))
        rc = connection_from_env(key, c, err, errlen);
    else if (name && strcmp(name, "sandbox") == 0) {
        snprintf(err, errlen, "the 'sandbox' connection exists only under --sandbox or vsrun test");
        rc = -1;
    } else if (name && strcmp(name, "api-key") == 0) {
        snprintf(err, errlen, "the 'api-key' connection needs PAGERDUTY_TOKEN in the environment");
        rc = -1;
    } else
        rc = oauth_load_connection(name, c, err, errlen);
    if (rc != 0) {
        connection_free(c);
        return rc == -2 || rc == -3 ? rc : -1;
    }
    *out = c;
    return 0;
}

/* Until host/oauth.c is linked in, the vault is empty. Its strong definitions win. */
__attribute__((weak)) int oauth_load_connection(const char *name, struct connection *c, char *err, size_t errlen) {
    (void)name; (void)c;
    snprintf(err, errlen, "no stored connections yet: run `vsrun auth login` (or set PAGERDUTY_TOKEN)");
    return -1;
}

__attribute__((weak)) int oauth_refresh_connection(struct connection *c, char *err, size_t errlen) {
    (void)c;
    snprintf(err, errlen, "no stored connections yet: run `vsrun auth login`");
    return -1;
}
