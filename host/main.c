/* vsrun: command line, subcommands, inputs and outputs, exit codes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <openssl/crypto.h>

#include "atomic_file.h"
#include "cli.h"
#include "exitcodes.h"
#include "secrets.h"
#include "vm.h"

#define VSRUN_VERSION "0.1.0"

static const char usage_text[] =
    "usage: vsrun [options] script.lua [name=value ...]\n"
    "       vsrun [options] -e 'lua code' [name=value ...]\n"
    "       vsrun test [paths...]          run *_test.lua files against a fresh sandbox\n"
    "       vsrun sandbox [options]        serve the simulated PagerDuty API\n"
    "       vsrun auth login|status|list|logout|reconnect   manage PagerDuty connections\n"
    "       vsrun help [topic]             topics: run, inputs, errors, exit-codes, sandbox, auth, test,\n"
    "                                      security\n";

static const char help_text[] =
    "vsrun runs automation pipelines written in Lua against PagerDuty.\n"
    "\n"
    "%s"
    "\n"
    "Run a pipeline:\n"
    "  vsrun triage.lua service=PSVC001            inputs arrive as a table: local input = ...\n"
    "  vsrun report.lua --input-file params.json   inputs from a JSON object (- reads stdin)\n"
    "  vsrun --sandbox triage.lua                  against a built-in simulated PagerDuty\n"
    "  vsrun -e 'return #require(\"json\").encode{1,2}'\n"
    "A value the script returns is printed as JSON on stdout (or written to --output FILE).\n"
    "\n"
    "Options:\n"
    "  -e CODE              run CODE instead of a script file\n"
    "  --input-file F       JSON object of inputs; '-' reads stdin\n"
    "  --output F           write the returned value to F instead of stdout\n"
    "  --connection NAME    PagerDuty connection to use (see vsrun auth list)\n"
    "  --dry-run            print PagerDuty and http writes instead of sending them\n"
    "  --sandbox            run against an in-process simulated PagerDuty\n"
    "  --timeout SEC        stop the script after SEC seconds\n"
    "  --max-memory MB      cap the script's memory (default 1024)\n"
    "  --strict             for untrusted code: no io, os.execute/exit/getenv..., require only\n"
    "                       documented modules and --lib, only this run's connection,\n"
    "                       http only to --allow-net hosts\n"
    "  --allow-net HOSTS    hosts http may reach, host[:port],... (repeatable; also\n"
    "                       VSRUN_ALLOW_NET); needed under --strict, restricts otherwise\n"
    "  --lib DIR            also look for modules in DIR (repeatable; also VSRUN_PATH)\n"
    "  -v, --verbose        log each HTTP request and each rate-limit wait on stderr (secrets\n"
    "                       redacted)\n"
    "  -q, --quiet          no progress line for long listings (shown only on a terminal)\n"
    "  --version            print versions of vsrun, Lua, libcurl and OpenSSL\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit codes:\n"
    "  0 success            1 script error (or failed test)   2 usage or bad input\n"
    "  3 reconnect needed   4 permission denied                5 rate limited\n"
    "  6 network/timeout    7 --timeout/--max-memory reached or interrupted\n"
    "\n"
    "More: vsrun help TOPIC, man vsrun, README.md.\n";

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "vsrun: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try 'vsrun --help')\n");
    return EXIT_USAGE;
}

static void print_version(void) {
    curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("vsrun %s\n%s\nlibcurl %s\n%s\n", VSRUN_VERSION, LUA_RELEASE, cv->version,
           OpenSSL_version(OPENSSL_VERSION));
}

/* Exit code for an error value raised by the script. */
static int exit_code_for(lua_State *L, int idx, struct vm *vm) {
    if (vm_limit_for_error(vm, L, idx) != VM_LIMIT_NONE) return EXIT_LIMIT;
    if (lua_type(L, idx) != LUA_TTABLE) return EXIT_SCRIPT;
    lua_getfield(L, idx, "kind");
    const char *kind = lua_tostring(L, -1);
    int code = EXIT_SCRIPT;
    if (kind) {
        if (strcmp(kind, "reconnect_required") == 0) code = EXIT_RECONNECT;
        else if (strcmp(kind, "permission_denied") == 0) code = EXIT_PERMISSION;
        else if (strcmp(kind, "rate_limited") == 0) code = EXIT_RATE_LIMIT;
        else if (strcmp(kind, "config") == 0) code = EXIT_USAGE;   /* bad region, URL, vault key */
        else if (strcmp(kind, "network") == 0 || strcmp(kind, "timeout") == 0 || strcmp(kind, "tls") == 0)
            code = EXIT_NETWORK;
    }
    lua_pop(L, 1);
    return code;
}

static void print_limit_error(struct vm *vm, const struct vm_options *o) {
    switch (vm_limit_hit(vm)) {
    case VM_LIMIT_MEMORY:
        fprintf(stderr, "vsrun: memory limit exceeded (--max-memory %g MB)\n", cli_max_memory_mb(o));
        break;
    case VM_LIMIT_TIMEOUT:
        fprintf(stderr, "vsrun: timeout: the script ran longer than --timeout %g s\n", o->timeout_sec);
        break;
    case VM_LIMIT_INTERRUPT:
        fprintf(stderr, "vsrun: interrupted\n");
        break;
    default:
        break;
    }
}

static void print_memory_too_small(const struct vm_options *o) {
    fprintf(stderr, "vsrun: --max-memory %g MB is too small to start a script (the libraries need about 0.1 MB)\n",
            cli_max_memory_mb(o));
}

/* Writes text to path atomically (see atomic_file.h), or to stdout when path is NULL. */
static int write_output(const char *path, const char *text, size_t len) {
    if (path == NULL) {
        fwrite(text, 1, len, stdout);
        fputc('\n', stdout);
        return fflush(stdout) == 0 ? 0 : -1;
    }
    if (atomic_file_write(path, text, len, "\n") == 0) return 0;
    fprintf(stderr, "vsrun: cannot write --output %s: %s\n", path, strerror(errno));
    return -1;
}

/* Runs the script (or -e code) through lua/vsrun/runner.lua. */
static int run_script(struct cli_run *run) {
    struct vm *vm = vm_new(&run->vm);
    if (vm == NULL) {
        if (run->vm.max_memory) print_memory_too_small(&run->vm);
        else fprintf(stderr, "vsrun: out of memory\n");
        return EXIT_LIMIT;
    }
    lua_State *L = vm_lua(vm);
    int code = cli_build_inputs(L, run);
    if (code != EXIT_OK) { vm_free(vm); return code; }
    int inputs = lua_gettop(L);
    if (vm_load_embedded(L, "vsrun.runner") != LUA_OK || vm_pcall(L, 0, 1) != LUA_OK) {
        if (vm_limit_for_error(vm, L, -1) == VM_LIMIT_MEMORY) print_memory_too_small(&run->vm);
        else fprintf(stderr, "vsrun: internal error: %s\n", lua_tostring(L, -1));
        code = vm_limit_hit(vm) == VM_LIMIT_MEMORY ? EXIT_LIMIT : EXIT_SCRIPT;
        vm_free(vm);
        return code;
    }
    lua_getfield(L, -1, "run");
    lua_pushstring(L, run->code ? "code" : "file");
    lua_pushstring(L, run->code ? run->code : run->script);
    lua_pushvalue(L, inputs);
    if (run->sandbox) cli_start_sandbox(L, run);
    vm_start_clock(vm);
    int status = vm_pcall(L, 3, 4);
    if (status != LUA_OK) {
        if (vm_limit_for_error(vm, L, -1) != VM_LIMIT_NONE) print_limit_error(vm, &run->vm);
        else fprintf(stderr, "vsrun: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        code = vm_limit_hit(vm) != VM_LIMIT_NONE ? EXIT_LIMIT : EXIT_SCRIPT;
    } else if (lua_toboolean(L, -4)) {
        size_t len;
        const char *text = lua_tolstring(L, -3, &len);
        if (text && write_output(run->output, text, len) != 0) code = EXIT_SCRIPT;
    } else if (strcmp(lua_tostring(L, -3), "syntax") == 0) {
        fprintf(stderr, "vsrun: %s\n", lua_tostring(L, -2));
        code = EXIT_SCRIPT;
    } else {
        code = exit_code_for(L, -2, vm);
        if (vm_limit_hit(vm) != VM_LIMIT_NONE) print_limit_error(vm, &run->vm);
        else fprintf(stderr, "vsrun: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    }
    cli_stop_sandbox(run);
    vm_free(vm);
    return code;
}

/* A crash must not write a core file holding the vault key or a token, and other
 * processes of the same user must not ptrace vsrun or read its /proc/PID/mem and environ
 * (not dumpable: those files belong to root). The process itself still reads its own
 * /proc/self files. Only the soft core limit is lowered, so the user's shell settings for
 * programs a script starts stay theirs to choose; they are not dumpable-0 after exec. */
static void harden_process(void) {
    struct rlimit core;
    if (getrlimit(RLIMIT_CORE, &core) == 0) {
        core.rlim_cur = 0;
        setrlimit(RLIMIT_CORE, &core);
    }
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv) {
    harden_process();
    signal(SIGPIPE, SIG_IGN);
    secrets_capture_env();
    /* curl_global_init runs when the HTTP module is first loaded: it costs ~1.5 ms of
     * start-up that scripts without HTTP should not pay. */
    int code;
    if (argc < 2) {
        code = usage_error("no script given%s", "");
    } else if (strcmp(argv[1], "--version") == 0) {
        print_version();
        code = EXIT_OK;
    } else if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        printf(help_text, usage_text);
        code = EXIT_OK;
    } else if (strcmp(argv[1], "help") == 0) {
        code = cli_help(argc - 2, argv + 2, usage_text, help_text);
    } else {
        const struct cli_command *cmd = cli_find_command(argv[1]);
        if (cmd) {
            code = cmd->run(argc - 2, argv + 2);
        } else {
            struct cli_run run;
            code = cli_parse_run(argc - 1, argv + 1, &run);
            if (code == EXIT_OK) {
                vm_install_sigint();
                code = run_script(&run);
            }
            cli_free_run(&run);
        }
    }
    fflush(stdout);
    secrets_wipe();
    curl_global_cleanup();
    return code;
}
