/* The `vsrun serve` configuration: a Lua file evaluated in a restricted state (no io, os,
 * require or load; only `env(NAME)` to read a secret from the environment) that returns one
 * table. Lua rather than TOML: vsrun already embeds Lua, and a config can compute values
 * (a route per service in a loop) and keep secrets out of the file with env(). See
 * docs/serve.md for the keys. */
#ifndef VSRUN_SERVE_CONFIG_H
#define VSRUN_SERVE_CONFIG_H
#include <stddef.h>

#include "serve_cron.h"

#define SERVE_MAX_ROUTES 64
#define SERVE_MAX_SECRETS 4
#define SERVE_MAX_PASS_HEADERS 16

enum serve_verifier { VERIFY_PAGERDUTY, VERIFY_BEARER, VERIFY_HMAC };

/* A webhook route, or a schedule (cron set: no verifier, not reachable over HTTP). */
struct serve_route {
    char *name;
    char *cron;                    /* schedules: the expression as written */
    struct cron_spec cron_spec;
    char *timezone;                /* schedules: an IANA zone name, e.g. "Europe/Berlin" */
    char *inputs_json;             /* schedules: the fixed inputs as JSON members ("" if none) */
    char *script;                  /* absolute path */
    enum serve_verifier verifier;
    char *secrets[SERVE_MAX_SECRETS];   /* signing secrets or bearer tokens (rotation: any) */
    int n_secrets;
    char *hmac_header;             /* VERIFY_HMAC: lowercase header name */
    char *hmac_prefix;             /* VERIFY_HMAC: e.g. "sha256=", may be "" */
    char *delivery_header;         /* lowercase; NULL: PagerDuty's event.id or none */
    char *pass_headers[SERVE_MAX_PASS_HEADERS];   /* lowercase, shown to the script */
    int n_pass_headers;
    int json;                      /* the body must be a JSON object */
    int strict;
    double timeout;                /* seconds */
    double max_memory;             /* MB, 0 = vsrun's default */
    char *connection;
    int concurrency;
    int max_attempts;
    double retry_base, retry_max;  /* backoff seconds */
};

struct serve_config {
    char *bind;
    int port;
    char *store;                   /* NULL: $VSRUN_HOME/serve.db */
    double store_max_mb;           /* 0: no cap */
    size_t max_body;
    int workers;
    double drain_seconds;
    double request_timeout;        /* idle seconds before a slow client is dropped */
    struct serve_route routes[SERVE_MAX_ROUTES];   /* routes, then schedules */
    int n_routes;
};

/* Loads path into cfg; 0, or -1 with a message in err. */
int serve_config_load(const char *path, struct serve_config *cfg, char *err, size_t errlen);
/* Wipes the secrets and frees everything. */
void serve_config_free(struct serve_config *cfg);
const struct serve_route *serve_config_route(const struct serve_config *cfg, const char *name);

#endif
