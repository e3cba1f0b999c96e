/* The PagerDuty simulator (lua/sandbox/, a server module) as vsrun runs it:
 *   - in-process for `vsrun --sandbox script.lua` and `vsrun test`, on 127.0.0.1:0 with a
 *     random preset token registered as the run's connection (C memory only);
 *   - as `vsrun sandbox [options]`, serving until SIGINT/SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"
#include "connection.h"
#include "exitcodes.h"
#include "sandbox.h"
#include "server.h"

#define SANDBOX_MODULE "sandbox"
#define SANDBOX_TOKEN_PREFIX "pdsbx_"
#define SANDBOX_TOKEN_BYTES 32
#define SANDBOX_MAX_API_KEYS 32
#define SANDBOX_STOP_WAIT 1.5   /* seconds a signal waits for the handlers before the process exits */

/* Options shared by --sandbox and the vsrun sandbox subcommand. */
struct sandbox_opts {
    const char *incidents, *seed, *token_ttl, *rate_limit, *state_file;
    const char *api_keys[SANDBOX_MAX_API_KEYS];
    int n_api_keys;
    const char *preset_token;   /* --sandbox only */
    long latency_ms, jitter_ms; /* --latency MS[:JITTER]; 0: none */
};

/* What --sandbox keeps while the script runs (cli_run.sandbox_handle). */
struct sandbox_run {
    struct server *srv;
    char token[sizeof SANDBOX_TOKEN_PREFIX + 2 * SANDBOX_TOKEN_BYTES];
};

/* ---- a JSON text buffer that wipes what it held (the args carry a token) ---- */

struct sandbox_buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sandbox_buf_add(struct sandbox_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 512;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *np = malloc(ncap);   /* not realloc: the old block is wiped before it is freed */
        if (np == NULL) { b->oom = 1; return; }
        if (b->p) {
            memcpy(np, b->p, b->len);
            OPENSSL_cleanse(b->p, b->cap);
            free(b->p);
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sandbox_buf_lit(struct sandbox_buf *b, const char *s) { sandbox_buf_add(b, s, strlen(s)); }

static void sandbox_buf_str(struct sandbox_buf *b, const char *s) {
    sandbox_buf_lit(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; sandbox_buf_add(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); sandbox_buf_lit(b, esc); }
        else sandbox_buf_add(b, (const char *)s, 1);
    }
    sandbox_buf_lit(b, "\"");
}

static void sandbox_buf_wipe(struct sandbox_buf *b) {
    if (b->p) OPENSSL_cleanse(b->p, b->cap);
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- options ---- */

static int sandbox_is_count(const char *s, long long max) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return *s && !errno && *end == '\0' && v >= 0 && v <= max;
}

static int sandbox_is_seconds(const char *s) {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    return *s && !errno && *end == '\0' && d > 0 && d <= 1e9;
}

/* Takes one seeding option; returns 1 if it was one, 0 if not, -1 (message printed) if
 * its value is bad. */
static int sandbox_take_option(struct sandbox_opts *o, const char *name, const char *value, const char *who) {
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
    } else if (strcmp(name, "--state") == 0) {
        if (*value == '\0') why = "a file name";
        o->state_file = value;
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

/* The module's args as JSON text (see docs/internals.md "The sandbox"). */
static int sandbox_args_json(const struct sandbox_opts *o, struct sandbox_buf *b) {
    sandbox_buf_lit(b, "{");
    const char *sep = "";
    const struct { const char *key, *value; } nums[] = {
        {"incidents", o->incidents}, {"seed", o->seed}, {"token_ttl", o->token_ttl}, {"rate_limit", o->rate_limit}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!nums[i].value) continue;
        sandbox_buf_lit(b, sep);
        sandbox_buf_str(b, nums[i].key);
        sandbox_buf_lit(b, ":");
        sandbox_buf_lit(b, nums[i].value);   /* validated numbers */
        sep = ",";
    }
    if (o->state_file) {
        sandbox_buf_lit(b, sep);
        sandbox_buf_lit(b, "\"state_file\":");
        sandbox_buf_str(b, o->state_file);
        sep = ",";
    }
    if (o->n_api_keys) {
        sandbox_buf_lit(b, sep);
        sandbox_buf_lit(b, "\"api_keys\":[");
        for (int i = 0; i < o->n_api_keys; i++) {
            if (i) sandbox_buf_lit(b, ",");
            sandbox_buf_str(b, o->api_keys[i]);
        }
        sandbox_buf_lit(b, "]");
        sep = ",";
    }
    if (o->latency_ms > 0) {
        char lat[64];
        snprintf(lat, sizeof lat, "%s\"latency\":%ld,\"jitter\":%ld", sep, o->latency_ms, o->jitter_ms);
        sandbox_buf_lit(b, lat);
        sep = ",";
    }
    if (o->preset_token) {
        /* no user: the sandbox's default user (the one its OAuth server approves as) */
        sandbox_buf_lit(b, sep);
        sandbox_buf_lit(b, "\"preset_tokens\":[{\"token\":");
        sandbox_buf_str(b, o->preset_token);
        sandbox_buf_lit(b, ",\"scope\":\"write\"}]");
    }
    sandbox_buf_lit(b, "}");
    return b->oom ? -1 : 0;
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

void cli_start_sandbox(lua_State *L, struct cli_run *run) {
    struct sandbox_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 0; i < run->n_sandbox_args; i++) {
        const char *arg = run->sandbox_args[i];
        const char *eq = strchr(arg, '=');
        char name[32];
        const char *value;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg < 31 ? eq - arg : 31), arg);
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
            value = i + 1 < run->n_sandbox_args ? run->sandbox_args[++i] : "";
        }
        if (sandbox_take_option(&o, name, value, "vsrun") != 1) sandbox_abort(L, EXIT_USAGE);
    }
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

    struct sandbox_buf args = {0};
    char err[1024] = "out of memory";
    if (sandbox_args_json(&o, &args) == 0) {
        struct server_config cfg = {.module = SANDBOX_MODULE, .args_json = args.p, .bind = "127.0.0.1", .port = 0};
        sr->srv = server_start(&cfg, err, sizeof err);
    }
    sandbox_buf_wipe(&args);
    if (sr->srv == NULL) {
        fprintf(stderr, "vsrun: cannot start the sandbox: %s\n", err);
        OPENSSL_cleanse(sr->token, sizeof sr->token);
        free(sr);
        sandbox_abort(L, EXIT_SCRIPT);
    }
    run->sandbox_handle = sr;
    connection_set_sandbox(server_url(sr->srv), sr->token);
    lua_pushstring(L, server_url(sr->srv));
    lua_setfield(L, LUA_REGISTRYINDEX, "vsrun.sandbox_url");
}

void cli_stop_sandbox(struct cli_run *run) {
    struct sandbox_run *sr = run->sandbox_handle;
    if (sr == NULL) return;
    run->sandbox_handle = NULL;
    connection_clear_sandbox();
    server_stop(sr->srv);
    OPENSSL_cleanse(sr->token, sizeof sr->token);
    free(sr);
}

/* ---- vsrun sandbox ---- */

static const char sandbox_help[] =
    "usage: vsrun sandbox [options]\n"
    "Serves the simulated PagerDuty API (REST endpoints and OAuth) until Ctrl-C or SIGTERM.\n"
    "When it is ready it prints its base URL on stdout (one line), e.g.\n"
    "  http://127.0.0.1:41234\n"
    "\n"
    "Options:\n"
    "  --port N          port to listen on (default 0: any free port)\n"
    "  --bind ADDR       numeric address to listen on (default 127.0.0.1)\n"
    "  --incidents N     seed N incidents\n"
    "  --seed S          seed of the generated data: the same seed gives the same data\n"
    "  --token-ttl SEC   lifetime of the OAuth access tokens it issues\n"
    "  --rate-limit N    requests per minute per token\n"
    "  --api-key KEY     accept KEY as an account API key (Authorization: Token token=KEY);\n"
    "                    repeatable\n"
    "  --state FILE      restore the state from FILE at start, save it there on stop\n"
    "  --latency MS[:JITTER]\n"
    "                    answer every API request MS milliseconds late, give or take up to\n"
    "                    JITTER (requests in flight together wait together)\n"
    "  --request-timeout SEC\n"
    "                    a connection must send each complete request within SEC seconds of\n"
    "                    connecting (or of its previous response), or it is closed (default 30)\n"
    "  --handler FILE    serve the server module in FILE instead of the simulator\n"
    "                    (a Lua file returning function(args) return handler end)\n"
    "  --json            print one JSON line {url, client_id, users} instead of the URL\n"
    "  -h, --help        this text\n"
    "\n"
    "Example:\n"
    "  vsrun sandbox --incidents 500 --api-key sandbox-key\n"
    "  curl -H 'Authorization: Token token=sandbox-key' \"$URL/incidents?limit=5\"\n";

/* SIGINT/SIGTERM, taken by a thread of their own from before the start: a signal while the
 * module is still loading (a large --incidents seed takes a while) ends the process at once,
 * as there is nothing to save yet; once serving, it wakes the main thread to stop the server. */
struct sandbox_signals {
    sigset_t set;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int serving, got;
};

static void *sandbox_signal_thread(void *arg) {
    struct sandbox_signals *ss = arg;
    int sig = 0;
    sigwait(&ss->set, &sig);
    pthread_mutex_lock(&ss->lock);
    if (!ss->serving) {
        fprintf(stderr, "vsrun sandbox: stopped while starting\n");
        fflush(stderr);
        _exit(EXIT_OK);
    }
    ss->got = 1;
    pthread_cond_signal(&ss->cond);
    pthread_mutex_unlock(&ss->lock);
    return NULL;
}

static int sandbox_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "vsrun sandbox: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try 'vsrun sandbox --help')\n");
    return EXIT_USAGE;
}

/* Prints {url, client_id, users, ...} from the module's info, through a scratch Lua state. */
static int sandbox_print_json(struct server *srv) {
    struct vm_options vo;
    memset(&vo, 0, sizeof vo);
    struct vm *vm = vm_new(&vo);
    if (vm == NULL) return -1;
    lua_State *L = vm_lua(vm);
    const char *info = server_info_json(srv);
    static const char code[] =
        "local url, info = ...\n"
        "local json = require 'json'\n"
        "local t = info and json.decode(info) or {}\n"
        "t.url = url\n"
        "return json.encode(t)\n";
    int rc = -1;
    if (luaL_loadbufferx(L, code, sizeof code - 1, "=sandbox_json", "t") == LUA_OK) {
        lua_pushstring(L, server_url(srv));
        if (info) lua_pushstring(L, info);
        else lua_pushnil(L);
        if (vm_pcall(L, 2, 1) == LUA_OK) {
            printf("%s\n", lua_tostring(L, -1));
            rc = 0;
        }
    }
    if (rc != 0) fprintf(stderr, "vsrun sandbox: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    vm_free(vm);
    return rc;
}

int cmd_sandbox(int argc, char **argv) {
    struct sandbox_opts o;
    memset(&o, 0, sizeof o);
    const char *bind = "127.0.0.1", *handler = NULL;
    int port = 0, as_json = 0;
    double request_timeout = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(sandbox_help, stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--json") == 0) { as_json = 1; continue; }
        if (strncmp(arg, "--", 2) != 0) return sandbox_usage("unexpected argument '%s'", arg);
        char name[32];
        const char *value, *eq = strchr(arg, '=');
        if (eq) {
            if (eq - arg >= (long)sizeof name) return sandbox_usage("unknown option '%s'", arg);
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
            value = eq + 1;
        } else {
            if (strlen(arg) >= sizeof name) return sandbox_usage("unknown option '%s'", arg);
            snprintf(name, sizeof name, "%s", arg);
            value = NULL;
        }
        static const char *const known[] = {"--port", "--bind", "--handler", "--incidents", "--seed",
                                             "--token-ttl", "--rate-limit", "--api-key", "--state",
                                             "--request-timeout", "--latency", NULL};
        int is_known = 0;
        for (const char *const *k = known; *k; k++) is_known |= strcmp(*k, name) == 0;
        if (!is_known) return sandbox_usage("unknown option '%s'", arg);
        if (value == NULL) {
            if (i + 1 >= argc) return sandbox_usage("option '%s' needs a value", name);
            value = argv[++i];
        }
        if (strcmp(name, "--port") == 0) {
            if (!sandbox_is_count(value, 65535)) return sandbox_usage("--port needs a port number from 0 to 65535, got '%s'", value);
            port = atoi(value);
        } else if (strcmp(name, "--bind") == 0) {
            unsigned char tmp[16];
            if (inet_pton(AF_INET, value, tmp) != 1 && inet_pton(AF_INET6, value, tmp) != 1)
                return sandbox_usage("--bind needs a numeric IPv4 or IPv6 address, got '%s'", value);
            bind = value;
        } else if (strcmp(name, "--request-timeout") == 0) {
            if (!sandbox_is_seconds(value) || atof(value) > 86400)
                return sandbox_usage("--request-timeout needs a positive number of seconds up to 86400, got '%s'", value);
            request_timeout = atof(value);
        } else if (strcmp(name, "--handler") == 0) {
            FILE *f = fopen(value, "r");
            if (f == NULL) {
                fprintf(stderr, "vsrun sandbox: cannot open --handler %s: %s\n", value, strerror(errno));
                return EXIT_USAGE;
            }
            fclose(f);
            handler = value;
        } else if (sandbox_take_option(&o, name, value, "vsrun sandbox") != 1) {
            return EXIT_USAGE;
        }
    }
    /* SIGINT/SIGTERM are blocked before any other thread exists (threads inherit the mask),
     * so only the signal thread's sigwait receives them. A shell starts `vsrun sandbox &` with
     * SIGINT ignored, and an ignored signal never reaches sigwait: take the default back. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    static struct sandbox_signals ss = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    sigemptyset(&ss.set);
    sigaddset(&ss.set, SIGINT);
    sigaddset(&ss.set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &ss.set, NULL);
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, sandbox_signal_thread, &ss) != 0) {
        fprintf(stderr, "vsrun sandbox: cannot start: cannot create the signal thread\n");
        pthread_sigmask(SIG_UNBLOCK, &ss.set, NULL);
        return EXIT_SCRIPT;
    }
    pthread_detach(sig_thread);

    struct sandbox_buf args = {0};
    char err[1024] = "out of memory";
    struct server *srv = NULL;
    if (sandbox_args_json(&o, &args) == 0) {
        struct server_config cfg = {.module = handler ? NULL : SANDBOX_MODULE, .file = handler,
                                    .args_json = args.p, .bind = bind, .port = port,
                                    .request_timeout = request_timeout};
        srv = server_start(&cfg, err, sizeof err);
    }
    sandbox_buf_wipe(&args);
    if (srv == NULL) {
        fprintf(stderr, "vsrun sandbox: cannot start: %s\n", err);
        return strstr(err, "cannot listen") ? EXIT_NETWORK : EXIT_SCRIPT;
    }
    pthread_mutex_lock(&ss.lock);
    ss.serving = 1;
    pthread_mutex_unlock(&ss.lock);
    int code = EXIT_OK;
    if (as_json) {
        if (sandbox_print_json(srv) != 0) code = EXIT_SCRIPT;
    } else {
        printf("%s\n", server_url(srv));
    }
    fflush(stdout);
    if (code == EXIT_OK) {
        pthread_mutex_lock(&ss.lock);
        while (!ss.got) pthread_cond_wait(&ss.cond, &ss.lock);
        pthread_mutex_unlock(&ss.lock);
    }
    /* A handler stuck in Lua is interrupted; one stuck in a C function cannot be, and must
     * not keep the process alive after a signal. */
    if (server_stop_within(srv, SANDBOX_STOP_WAIT) != 0) {
        fprintf(stderr, "vsrun sandbox: a request handler did not stop within %g s; exiting without "
                        "its on_stop (a --state file is not saved)\n", SANDBOX_STOP_WAIT);
        fflush(stdout);
        fflush(stderr);
        _exit(EXIT_SCRIPT);
    }
    return code;
}
