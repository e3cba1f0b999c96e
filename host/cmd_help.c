/* vsrun help TOPIC */
#include <stdio.h>
#include <string.h>

#include "cmd_help.h"
#include "options.h"
#include "util.h"
#include "exitcodes.h"

struct help_topic {
    const char *name;
    const char *text;
};

static const struct help_topic topics[] = {
    {"run",
     "vsrun [options] script.lua [name=value ...]\n"
     "Runs script.lua as a pipeline. The script's chunk receives the inputs table as `...`\n"
     "and may return a value, printed as JSON on stdout (or written to --output FILE).\n"
     "print() still writes to stdout. Example:\n"
     "  -- hello.lua\n"
     "  local input = ...\n"
     "  return { greeting = \"hello \" .. (input.name or \"world\") }\n"
     "  $ vsrun hello.lua name=ops\n"
     "Untrusted code: --strict, and --allow-net for each host its http calls need:\n"
     "  $ vsrun --strict --allow-net hooks.slack.com,api.openai.com:443 triage.lua\n"
     "http never reaches the PagerDuty API or identity hosts: use the pagerduty module.\n"},
    {"inputs",
     "Inputs come from name=value arguments (values are strings) and from\n"
     "--input-file F, a JSON object (types are kept; '-' reads stdin). Both are merged into\n"
     "one table; a name given twice is an error (the message names both sources), and an array (even []) is refused. Example:\n"
     "  -- stale.lua\n"
     "  local input = ...\n"
     "  return { hours = input.hours, service = input.service }\n"
     "  $ echo '{\"hours\": 4}' | vsrun stale.lua --input-file - service=PSVC001\n"},
    {"errors",
     "Errors are raised as error objects with fields kind, message, status, code, action,\n"
     "request_id. Catch them with pcall and branch on err.kind:\n"
     "  local ok, err = pcall(pd.get_incident, \"PNOPE\")\n"
     "  if not ok and err.kind == \"not_found\" then print(\"no such incident\") end\n"
     "Kinds: invalid_argument not_found permission_denied reconnect_required rate_limited\n"
     "conflict server timeout network tls too_large bad_response cancelled config.\n"
     "An uncaught error prints one line and a traceback of the script's own frames (-v: the\n"
     "full traceback, vsrun's frames too), and sets the exit code.\n"},
    {"exit-codes", NULL},   /* printed from exitcodes.h, the one source */
    {"test",
     "vsrun test [-v] [--filter PATTERN] [--junit FILE] [--lib DIR] [paths...]\n"
     "Finds *_test.lua files under the paths (default: the current directory), runs each\n"
     "file in a fresh Lua state with its own in-process sandbox and a ready connection, and\n"
     "each test in its own task. A test file:\n"
     "  local t = require \"vsrun.testing\"\n"
     "  t.test(\"acknowledge\", function()\n"
     "    local service = require(\"vsrun.sandbox\").info().services[1].id\n"
     "    local inc = pagerduty.create_incident { title = \"x\", service = service }\n"
     "    t.eq(pagerduty.acknowledge(inc.id).status, \"acknowledged\")\n"
     "  end)\n"
     "Each test starts from the sandbox state the file's top level left: what one test\n"
     "writes, the next never sees. A file that registers no test fails.\n"
     "Assertions: t.eq t.ne t.ok t.match t.no_match t.raises(kind_or_pattern, fn, ...) t.fail.\n"
     "Hooks: t.before_each(fn) t.after_each(fn). t.dir is the test file's directory,\n"
     "t.path(name) a file in it, t.script(path, inputs) runs a pipeline relative to it,\n"
     "t.read_fixture(name) reads fixtures/NAME beside it (also under --strict).\n"
     "t.stub(tbl, key, value) replaces tbl[key] until the test ends (not built-in modules).\n"
     "Each test file finds modules through its own project (vsrun help libraries).\n"
     "require \"vsrun.sandbox\" controls the sandbox (seed, faults, request log).\n"
     "Options: -v lists every test; --filter PATTERN runs the tests whose name matches\n"
     "(a Lua pattern); --junit FILE also writes the results as JUnit XML for CI. The run\n"
     "options --lib --timeout --max-memory --strict --allow-net --dry-run -q and the sandbox\n"
     "seeding options (--incidents --seed --token-ttl --rate-limit) apply to every file.\n"
     "Prints a FAIL block per failing test, then \"N passed, N failed\"; exit 1 on failure.\n"},
    {"libraries",
     "Sharing libraries: a project file, vsrun.json, at the project root names the library\n"
     "directories (paths relative to the root):\n"
     "  { \"name\": \"team-a\", \"libs\": [\"lib\"], \"rocks_tree\": \"lua_modules\" }\n"
     "require then searches, in every command and mode and from any working directory:\n"
     "  1. the built-in modules (pagerduty http json vsrun vsrun.* sandbox sandbox.*;\n"
     "     a file with one of these names is an error, never silently ignored)\n"
     "  2. the project's library directories (no vsrun.json: the script's directory)\n"
     "  3. --lib DIR                        4. VSRUN_PATH, PREFIX/share/vsrun/lib\n"
     "  5. the project's LuaRocks tree      6. LUA_PATH_5_4 / LUA_PATH\n"
     "--strict skips 4 and 6 (they come from the environment). \"allow_net\": [\"host:port\"]\n"
     "narrows what http may reach in every mode; it never grants (--strict still needs\n"
     "--allow-net). vsrun test resolves each test file with its own project.\n"
     "A module's body runs once per run, even when tasks require it at the same time;\n"
     "a circular require is an error naming the cycle.\n"
     "Dependencies are rocks declared in the project's rockspec:\n"
     "  vsrun deps pin [-- LUAROCKS-OPTIONS]   install, write luarocks.lock and vsrun.lock\n"
     "  vsrun deps install                     install exactly the locked set, check it\n"
     "  vsrun deps check                       name each installed file that changed\n"
     "  vsrun deps tree                        which file each module resolves to\n"
     "vsrun -v prints each module's file and _VERSION as it loads. See docs/libraries.md.\n"},
    {"sandbox",
     "The sandbox is a local simulator of the PagerDuty REST API and OAuth server.\n"
     "  vsrun --sandbox script.lua          run a script against it, in-process\n"
     "  vsrun --sandbox --incidents 5000 --seed 7 script.lua\n"
     "  vsrun sandbox --port 8080 --api-key devkey   serve it for other tools\n"
     "Then: PAGERDUTY_TOKEN=devkey PAGERDUTY_API_URL=http://127.0.0.1:8080 vsrun script.lua\n"
     "It sends signed PagerDuty v3 webhooks (incident triggered, acknowledged, resolved,\n"
     "annotated) to subscriptions, retried like PagerDuty:\n"
     "  curl URL/__sandbox/webhooks -d '{\"url\": \"http://...\", \"secret\": \"...\"}'\n"
     "See 'vsrun sandbox --help' and docs/sandbox.md.\n"},
    {"auth",
     "Connections hold PagerDuty OAuth tokens, encrypted, refreshed automatically.\n"
     "  vsrun auth login --connection prod          connect through the browser\n"
     "  vsrun auth status prod --check              user, scope, expiry, health\n"
     "  vsrun auth list | logout NAME | reconnect NAME\n"
     "  vsrun auth push prod --to postgresql://...  share it with replicas (VSRUN_VAULT)\n"
     "With VSRUN_VAULT set, login, status, list, logout and reconnect act on that\n"
     "shared table, under the lock its refreshes take.\n"
     "Scripts pick one with --connection NAME (else the default).\n"
     "See 'vsrun auth --help' and docs/connections.md.\n"},
    {"secret",
     "Keys for other services, stored once and named by scripts (never seen by them):\n"
     "  vsrun secret set openai --origin https://api.openai.com   (value on stdin or a prompt)\n"
     "  http.post(url, { auth = { bearer = \"openai\" } })\n"
     "  http.get(url, { auth = { header = \"X-Api-Key\", secret = \"svc\" } })\n"
     "Sent only to the bound origin (scheme, host, port exactly), never followed through a\n"
     "redirect, never in Lua, output, logs or errors. vsrun secret list | delete NAME.\n"
     "See 'vsrun secret --help' and docs/http.md.\n"},
    {"security",
     "What script code (the script and every library it loads) can reach:\n"
     "  normal      the user's rights: files, environment (minus vsrun's secrets),\n"
     "              network, any connection by name. Only for code you have reviewed.\n"
     "  --strict    no files, environment or processes; require only pagerduty, http,\n"
     "              json, vsrun, vsrun.time and the project's, its rocks' and --lib\n"
     "              modules; network only to --allow-net origins; only the command\n"
     "              line's connection (any other name: permission_denied, exit 4).\n"
     "  --sandbox, vsrun test   every connection name is the in-process sandbox: nothing\n"
     "              a test runs touches a real account. Add --strict for untrusted code.\n"
     "  --dry-run   PagerDuty and http writes are printed, not sent (http reads are sent).\n"
     "Always: scripts never hold a token; the token carries only the nine actions to its\n"
     "own API origin; built-in modules, the string library and the global pagerduty are\n"
     "read-only. vsrun opens its network library (vsrun-net.so) only from beside its binary\n"
     "or ../lib/vsrun, never if others can write it. The threat model, mode by mode with its\n"
     "tests: docs/security.md.\n"},
    {"serve",
     "vsrun serve --config serve.lua runs pipelines when webhooks arrive:\n"
     "  -- serve.lua (Lua, evaluated without io/os; env(NAME) or secret(NAME) reads a secret)\n"
     "  return { port = 8080, routes = {\n"
     "    incidents = { script = \"summary.lua\", pagerduty = env \"PD_WEBHOOK_SECRET\" },\n"
     "    alerts = { script = \"alert.lua\", bearer = env \"AM_TOKEN\", delivery_header = \"X-Request-Id\" },\n"
     "  } }\n"
     "POST /hooks/NAME is verified (pagerduty, bearer or hmac), stored, answered 202, then run\n"
     "with the event as input (retries with backoff, then dead). vsrun runs list|show ID|retry ID\n"
     "reads the store. Schedules: schedules = { nightly = { script = \"r.lua\",\n"
     "cron = \"0 6 * * 1-5\", timezone = \"Europe/Berlin\", inputs = { days = 7 } } }.\n"
     "GET /metrics includes the runs' PagerDuty answers by status and rate-limit waits.\n"
     "Try it offline: docs/serve.md \"Try it against the sandbox\" (the sandbox sends the webhook).\n"
     "See 'vsrun serve --help' and docs/serve.md.\n"},
    {NULL, NULL},
};

int cli_help(int argc, char **argv, const char *usage, const char *help) {
    static const struct opt no_options[] = {{NULL, NULL, 0, 0}};
    struct opt_parser p;
    opt_init(&p, "vsrun help", argc, argv, no_options, NULL);
    const char *topic = NULL;
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        if (id == OPT_ERROR) return EXIT_USAGE;
        if (id == OPT_HELP) topic = NULL;
        else if (topic == NULL) topic = p.value;
        else return util_usage("vsrun help", "one topic at a time, got '%s' after '%s'", p.value, topic);
        if (id == OPT_HELP) break;
    }
    if (topic == NULL) {
        if (usage == NULL) return EXIT_USAGE;   /* the main help lives in main.c */
        printf(help, usage);
        return EXIT_OK;
    }
    if (strcmp(topic, "exit-codes") == 0) {
#define PRINT_EXIT_CODE(name, code, keyword, meaning) printf("%d %s\n", code, meaning);
        VSRUN_EXIT_CODES(PRINT_EXIT_CODE)
#undef PRINT_EXIT_CODE
        return EXIT_OK;
    }
    for (const struct help_topic *t = topics; t->name; t++) {
        if (strcmp(t->name, topic) == 0) {
            fputs(t->text, stdout);
            return EXIT_OK;
        }
    }
    fprintf(stderr, "vsrun: no help topic '%s'; topics:", topic);
    for (const struct help_topic *t = topics; t->name; t++) fprintf(stderr, " %s", t->name);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}
