/* vsrun sandbox [options]: serves the PagerDuty simulator (see sandbox.c) until SIGINT or
 * SIGTERM, for tools other than vsrun. */
#include "cmd_sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "exitcodes.h"
#include "options.h"
#include "sandbox.h"
#include "server.h"
#include "util.h"
#include "vm.h"

#define SANDBOX_STOP_WAIT 1.5   /* seconds a signal waits for the handlers before the process exits */

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

enum { SB_PORT = 1, SB_BIND, SB_REQUEST_TIMEOUT, SB_HANDLER, SB_JSON, SB_SEED };

static const struct opt sandbox_options[] = {
    {"--port", NULL, SB_PORT, OPT_VALUE},
    {"--bind", NULL, SB_BIND, OPT_VALUE},
    {"--request-timeout", NULL, SB_REQUEST_TIMEOUT, OPT_VALUE},
    {"--handler", NULL, SB_HANDLER, OPT_VALUE},
    {"--json", NULL, SB_JSON, 0},
    SANDBOX_SEED_OPTIONS(SB_SEED),
    /* served sandboxes only: sandbox_take_option checks them too */
    {"--api-key", NULL, SB_SEED, OPT_VALUE},
    {"--state", NULL, SB_SEED, OPT_VALUE},
    {NULL, NULL, 0, 0},
};

int cmd_sandbox(int argc, char **argv) {
    static const char who[] = "vsrun sandbox";
    struct sandbox_opts o;
    memset(&o, 0, sizeof o);
    const char *bind = "127.0.0.1", *handler = NULL;
    int port = 0, as_json = 0;
    double request_timeout = 0;
    struct opt_parser p;
    opt_init(&p, who, argc, argv, sandbox_options, NULL);
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        const char *value = p.value;
        switch (id) {
        case OPT_ERROR:
            return EXIT_USAGE;
        case OPT_HELP:
            fputs(sandbox_help, stdout);
            return EXIT_OK;
        case OPT_ARG:
            return util_usage(who, "unexpected argument '%s'", value);
        case SB_JSON:
            as_json = 1;
            break;
        case SB_PORT:
            if (!sandbox_is_count(value, 65535)) return util_usage(who, "--port needs a port number from 0 to 65535, got '%s'", value);
            port = atoi(value);
            break;
        case SB_BIND: {
            unsigned char tmp[16];
            if (inet_pton(AF_INET, value, tmp) != 1 && inet_pton(AF_INET6, value, tmp) != 1)
                return util_usage(who, "--bind needs a numeric IPv4 or IPv6 address, got '%s'", value);
            bind = value;
            break;
        }
        case SB_REQUEST_TIMEOUT:
            if (!sandbox_is_seconds(value) || atof(value) > 86400)
                return util_usage(who, "--request-timeout needs a positive number of seconds up to 86400, got '%s'", value);
            request_timeout = atof(value);
            break;
        case SB_HANDLER: {
            FILE *f = fopen(value, "r");
            if (f == NULL) {
                fprintf(stderr, "%s: cannot open --handler %s: %s\n", who, value, strerror(errno));
                return EXIT_USAGE;
            }
            fclose(f);
            handler = value;
            break;
        }
        default:
            if (sandbox_take_option(&o, p.opt->name, value, who) != 1) return EXIT_USAGE;
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

    struct util_buf args = {0};
    char err[1024] = "out of memory";
    struct server *srv = NULL;
    if (sandbox_args_json(&o, &args) == 0) {
        struct server_config cfg = {.module = handler ? NULL : SANDBOX_MODULE, .file = handler,
                                    .args_json = args.p, .bind = bind, .port = port,
                                    .request_timeout = request_timeout};
        srv = server_start(&cfg, err, sizeof err);
    }
    util_buf_free(&args);
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
