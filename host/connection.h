/* PagerDuty connections as host/pagerduty.c uses them. The token lives only here, in C
 * memory, and is cleansed when the connection is freed or refreshed. */
#ifndef VSRUN_CONNECTION_H
#define VSRUN_CONNECTION_H
#include <stddef.h>

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
};

/* --sandbox / vsrun test: the in-process simulator's URL and a preset token. */
void connection_set_sandbox(const char *api_url, const char *token);
void connection_clear_sandbox(void);
/* Whether the in-process sandbox connection exists (the only one a sandboxed run reaches). */
int connection_sandbox_ready(void);

/* Finds a connection: name NULL means --connection or the default. Order: the in-process
 * sandbox, PAGERDUTY_TOKEN (+ PAGERDUTY_FROM, PAGERDUTY_API_URL), the vault. Returns 0, or
 * -1 with a message in err (never containing a secret). */
int connection_open(const char *name, struct connection **out, char *err, size_t errlen);
/* connection_open's failures: -1 not found / unusable, -2 reconnect required, -3 transient */
void connection_free(struct connection *c);

/* Checks an API base URL (https, or http to loopback; no credentials, query, fragment or
 * escapes) and copies it to out without a trailing slash. 0, or -1 with err. */
int connection_check_base_url(const char *url, char *out, size_t outlen, char *err, size_t errlen);

#endif
