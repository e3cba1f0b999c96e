/* The PagerDuty simulator's options and its in-process start for `vsrun --sandbox` and
 * `vsrun test`: on 127.0.0.1:0 with a random preset token registered as the run's
 * connection (C memory only). The `vsrun sandbox` command is in cmd_sandbox.c. */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "connection.h"
#include "exitcodes.h"
#include "server.h"
#include "vm.h"

#define SANDBOX_TOKEN_PREFIX "pdsbx_"
#define SANDBOX_TOKEN_BYTES 32

/* What --sandbox keeps while the script runs. */
struct sandbox_run {
    struct server *srv;
    char token[sizeof SANDBOX_TOKEN_PREFIX + 2 * SANDBOX_TOKEN_BYTES];
};

/* ---- options ---- */

int sandbox_is_count(const char *s, long long max) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return *s && !errno && *end == '\0' && v >= 0 && v <= max;
}

int sandbox_is_seconds(const char *s) {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    return *s && !errno && *end == '\0' && d > 0 && d <= 1e9;
}

int sandbox_take_option(struct sandbox_opts *o, const char *name, const char *value, const char *who) {
    const char *why = NULL;
    if (strcmp(name, "--incidents") == 0) {
        if (!sandbox_is_count(value, 10000000)) why = "a whole number from 0 to 10000000";
        o->incidents = value;
    } else if (strcmp(name, "--seed") == 0) {
        if (!sandbox_is_count(value, 9007199254740991LL)) why = "a whole number (0 or more)";
        o->seed = value;
    } else if (strcmp(name, "--token-ttl") == 0) {
        if (!sandbox_is_seconds(value)) why = "a positive number of seconds";
        o->token_ttl = value;
    } else if (strcmp(name, "--rate-limit") == 0) {
        if (!sandbox_is_count(value, 100000000) || strcmp(value, "0") == 0) why = "a positive whole number of requests per minute";
        o->rate_limit = value;
    } else if (strcmp(name, "--api-key") == 0) {
        if (*value == '\0' || strpbrk(value, " \t\r\n")) why = "a non-empty key without spaces";
        else if (o->n_api_keys >= SANDBOX_MAX_API_KEYS) why = "given at most 32 times";
        else o->api_keys[o->n_api_keys++] = value;
    } else if (strcmp(name, "--state") == 0) {
        if (*value == '\0') why = "a file name";
        o->state_file = value;
    } else if (strcmp(name, "--latency") == 0) {
        /* MS or MS:JITTER, whole milliseconds: every answer waits MS +- up to JITTER */
        char ms[16] = "", jit[16] = "0";
        const char *colon = strchr(value, ':');
        size_t n = colon ? (size_t)(colon - value) : strlen(value);
        if (n < sizeof ms) snprintf(ms, sizeof ms, "%.*s", (int)n, value);
        if (colon && strlen(colon + 1) < sizeof jit) snprintf(jit, sizeof jit, "%s", colon + 1);
        else if (colon) jit[0] = '\0';
        if (!sandbox_is_count(ms, 600000) || !sandbox_is_count(jit, 600000) || atol(jit) > atol(ms))
            why = "MS or MS:JITTER, whole milliseconds up to 600000 with JITTER at most MS";
        else o->latency_ms = atol(ms), o->jitter_ms = atol(jit);
    } else {
        return 0;
    }
    if (why) {
        /* an API key is a secret: never echo it */
        fprintf(stderr, "%s: %s needs %s, got '%s'\n(try '%s --help')\n", who, name, why,
                strcmp(name, "--api-key") == 0 ? "..." : value, who);
        return -1;
    }
    return 1;
}

int sandbox_args_json(const struct sandbox_opts *o, struct util_buf *b) {
    util_buf_str(b, "{");
    const char *sep = "";
    const struct { const char *key, *value; } nums[] = {
        {"incidents", o->incidents}, {"seed", o->seed}, {"token_ttl", o->token_ttl}, {"rate_limit", o->rate_limit}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!nums[i].value) continue;
        util_buf_str(b, sep);
        util_buf_json_string(b, nums[i].key);
        util_buf_str(b, ":");
        util_buf_str(b, nums[i].value);   /* validated numbers */
        sep = ",";
    }
    if (o->state_file) {
        util_buf_str(b, sep);
        util_buf_str(b, "\"state_file\":");
        util_buf_json_string(b, o->state_file);
        sep = ",";
    }
    if (o->n_api_keys) {
        util_buf_str(b, sep);
        util_buf_str(b, "\"api_keys\":[");
        for (int i = 0; i < o->n_api_keys; i++) {
            if (i) util_buf_str(b, ",");
            util_buf_json_string(b, o->api_keys[i]);
        }
        util_buf_str(b, "]");
        sep = ",";
    }
    if (o->latency_ms > 0) {
        char lat[64];
        snprintf(lat, sizeof lat, "%s\"latency\":%ld,\"jitter\":%ld", sep, o->latency_ms, o->jitter_ms);
        util_buf_str(b, lat);
        sep = ",";
    }
    if (o->preset_token) {
        /* no user: the sandbox's default user (the one its OAuth server approves as) */
        util_buf_str(b, sep);
        util_buf_str(b, "\"preset_tokens\":[{\"token\":");
        util_buf_json_string(b, o->preset_token);
        util_buf_str(b, ",\"scope\":\"write\"}]");
    }
    util_buf_str(b, "}");
    return b->failed ? -1 : 0;
}

/* ---- vsrun --sandbox and vsrun test ---- */

/* Ends the process after a sandbox that cannot start: the run must never go on without it
 * (its PagerDuty calls would fall through to a real connection). */
static void sandbox_abort(lua_State *L, int code) {
    fflush(stdout);
    connection_clear_sandbox();
    vm_free(vm_from_lua(L));
    exit(code);
}

struct sandbox_run *sandbox_start(lua_State *L, const char *const *seed, int n_seed) {
    struct sandbox_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i + 1 < n_seed; i += 2)
        if (sandbox_take_option(&o, seed[i], seed[i + 1], "vsrun") != 1) sandbox_abort(L, EXIT_USAGE);
    struct sandbox_run *sr = calloc(1, sizeof *sr);
    unsigned char raw[SANDBOX_TOKEN_BYTES];
    if (sr == NULL || RAND_bytes(raw, sizeof raw) != 1) {
        fprintf(stderr, "vsrun: cannot start the sandbox: %s\n", sr ? "random number generator failed" : "out of memory");
        free(sr);
        sandbox_abort(L, EXIT_SCRIPT);
    }
    memcpy(sr->token, SANDBOX_TOKEN_PREFIX, sizeof SANDBOX_TOKEN_PREFIX - 1);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(sr->token + sizeof SANDBOX_TOKEN_PREFIX - 1 + 2 * i, 3, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof raw);
    o.preset_token = sr->token;

    struct util_buf args = {0};
    char err[1024] = "out of memory";
    if (sandbox_args_json(&o, &args) == 0) {
        struct server_config cfg = {.module = SANDBOX_MODULE, .args_json = args.p, .bind = "127.0.0.1", .port = 0};
        sr->srv = server_start(&cfg, err, sizeof err);
    }
    util_buf_free(&args);
    if (sr->srv == NULL) {
        fprintf(stderr, "vsrun: cannot start the sandbox: %s\n", err);
        OPENSSL_cleanse(sr->token, sizeof sr->token);
        free(sr);
        sandbox_abort(L, EXIT_SCRIPT);
    }
    connection_set_sandbox(server_url(sr->srv), sr->token);
    lua_pushstring(L, server_url(sr->srv));
    lua_setfield(L, LUA_REGISTRYINDEX, "vsrun.sandbox_url");
    return sr;
}

void sandbox_stop(struct sandbox_run *sr) {
    if (sr == NULL) return;
    connection_clear_sandbox();
    server_stop(sr->srv);
    OPENSSL_cleanse(sr->token, sizeof sr->token);
    free(sr);
}

