/* vsrun: the process (hardening, secrets, the network library's cleanup), --version,
 * --help, and the dispatch to a subcommand (commands.c) or a script run (cmd_run.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli.h"
#include "cmd_run.h"
#include "commands.h"
#include "exitcodes.h"
#include "cmd_help.h"
#include "netlib.h"
#include "secrets.h"
#include "util.h"
#include "vm.h"

#define VSRUN_VERSION "0.1.0"

static const char usage_text[] =
    "usage: vsrun [options] script.lua [name=value ...]\n"
    "       vsrun [options] -e 'lua code' [name=value ...]\n"
    "       vsrun test [paths...]          run *_test.lua files against a fresh sandbox\n"
    "       vsrun sandbox [options]        serve the simulated PagerDuty API\n"
    "       vsrun auth login|status|list|logout|reconnect   manage PagerDuty connections\n"
    "       vsrun secret set|list|delete NAME   keys for other services, used by name\n"
    "       vsrun serve --config FILE      run pipelines on signed webhooks and schedules\n"
    "       vsrun runs list|show ID|retry ID   the runs vsrun serve stored\n"
    "       vsrun deps [tree|lock|check|pin|install]   a project's LuaRocks dependencies\n"
    "       vsrun help [topic]             topics: run, inputs, errors, exit-codes, sandbox, auth, test,\n"
    "                                      security, secret, serve, libraries\n";

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
    "  -h, --help           this text (every command has --help; --name=value works too)\n"
    "\n"
    "Exit codes:\n"
    "  0 success            1 script error (or failed test)   2 usage or bad input\n"
    "  3 reconnect needed   4 permission denied                5 rate limited\n"
    "  6 network/timeout    7 --timeout/--max-memory reached or interrupted\n"
    "\n"
    "More: vsrun help TOPIC, man vsrun, README.md.\n";

/* libcurl's and OpenSSL's versions come from the network library, opened for them. */
static int print_version(void) {
    printf("vsrun %s\n%s\n", VSRUN_VERSION, LUA_RELEASE);
    fflush(stdout);
    const struct vsrun_net *net = netlib_need();
    if (net == NULL) return EXIT_USAGE;
    net->print_versions();
    return EXIT_OK;
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
    /* libcurl, OpenSSL, libmicrohttpd, SQLite and libpq are in the network library, opened
     * on first use (host/netlib.h): a script without network I/O never loads them. */
    int code;
    if (argc < 2) {
        code = util_usage("vsrun", "no script given");
    } else if (strcmp(argv[1], "--version") == 0) {
        code = print_version();
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
            if (code == EXIT_OK && run.help) {
                printf(help_text, usage_text);
            } else if (code == EXIT_OK) {
                vm_install_sigint();
                code = run_script(&run);
            }
            cli_free_run(&run);
        }
    }
    fflush(stdout);
    secrets_wipe();
    const struct vsrun_net *net = netlib_loaded();
    if (net) net->shutdown();
    return code;
}
