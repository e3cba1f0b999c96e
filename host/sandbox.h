/* The PagerDuty simulator (lua/sandbox/, a server module) as vsrun starts it: the seeding
 * options shared by `vsrun sandbox` (cmd_sandbox.c), --sandbox and vsrun test, and the
 * in-process start used by the last two. */
#ifndef VSRUN_SANDBOX_H
#define VSRUN_SANDBOX_H
#include <lua.h>

#include "options.h"
#include "util.h"

#define SANDBOX_MODULE "sandbox"
#define SANDBOX_MAX_API_KEYS 32

struct sandbox_opts {
    const char *incidents, *seed, *token_ttl, *rate_limit, *state_file;
    const char *api_keys[SANDBOX_MAX_API_KEYS];
    int n_api_keys;
    const char *preset_token;   /* in-process only */
    long latency_ms, jitter_ms; /* --latency MS[:JITTER]; 0: none */
};

/* The seeding options --sandbox, vsrun test and vsrun sandbox all take, as rows of an option
 * table (host/options.h) with the caller's id; sandbox_take_option checks their values. */
#define SANDBOX_SEED_OPTIONS(id)                                                             \
    {"--incidents", NULL, id, OPT_VALUE}, {"--seed", NULL, id, OPT_VALUE},                   \
    {"--token-ttl", NULL, id, OPT_VALUE}, {"--rate-limit", NULL, id, OPT_VALUE},             \
    {"--latency", NULL, id, OPT_VALUE}

/* Takes one seeding option (--incidents, --seed, --token-ttl, --rate-limit, --api-key,
 * --state, --latency); returns 1 if it was one, 0 if not, -1 (message printed, starting with who) if
 * its value is bad. A bad --api-key is never echoed. */
int sandbox_take_option(struct sandbox_opts *o, const char *name, const char *value, const char *who);

/* The module's args as JSON text (see docs/internals.md "The sandbox"); -1 when out of
 * memory. The text may hold a token: free it with util_buf_free. */
int sandbox_args_json(const struct sandbox_opts *o, struct util_buf *b);

/* Whole numbers and seconds as the options take them. */
int sandbox_is_count(const char *s, long long max);
int sandbox_is_seconds(const char *s);

/* Starts the simulator in this process on 127.0.0.1:0 with a random preset token
 * registered as every connection (C memory only), and stores its URL in the Lua registry.
 * seed holds name, value pairs of seeding options, already checked. A sandbox that cannot
 * start ends the process: the run must never go on without it. */
struct sandbox_run *sandbox_start(lua_State *L, const char *const *seed, int n_seed);
void sandbox_stop(struct sandbox_run *sr);   /* NULL is fine */

#endif
