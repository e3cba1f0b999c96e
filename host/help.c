/* vsrun help TOPIC */
#include <stdio.h>
#include <string.h>

#include "cli.h"
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
     "  $ vsrun hello.lua name=ops\n"},
    {"inputs",
     "Inputs come from name=value arguments (values are strings) and from\n"
     "--input-file F, a JSON object (types are kept; '-' reads stdin). Both are merged into\n"
     "one table; a name given twice is an error. Example:\n"
     "  echo '{\"hours\": 4}' | vsrun stale.lua --input-file - service=PSVC001\n"},
    {"errors",
     "Errors are raised as error objects with fields kind, message, status, code, action,\n"
     "request_id. Catch them with pcall and branch on err.kind:\n"
     "  local ok, err = pcall(pd.get_incident, \"PNOPE\")\n"
     "  if not ok and err.kind == \"not_found\" then ... end\n"
     "Kinds: invalid_argument not_found permission_denied reconnect_required rate_limited\n"
     "conflict server timeout network tls too_large bad_response cancelled.\n"
     "An uncaught error prints one line and a traceback, and sets the exit code.\n"},
    {"exit-codes",
     "0 success\n"
     "1 the script raised an error (or a test failed under vsrun test)\n"
     "2 usage: bad option, missing file, bad input\n"
     "3 a PagerDuty connection must be reconnected (vsrun auth reconnect NAME)\n"
     "4 permission denied (scope or role)\n"
     "5 rate limited past the retry budget\n"
     "6 network or timeout errors that retries did not cure\n"
     "7 limit reached: --timeout or --max-memory, or interrupted (Ctrl-C)\n"},
    {NULL, NULL},
};

int cli_help(int argc, char **argv, const char *usage, const char *help) {
    if (argc == 0) {
        printf(help, usage);
        return EXIT_OK;
    }
    for (const struct help_topic *t = topics; t->name; t++) {
        if (strcmp(t->name, argv[0]) == 0) {
            fputs(t->text, stdout);
            return EXIT_OK;
        }
    }
    fprintf(stderr, "vsrun: no help topic '%s'; topics:", argv[0]);
    for (const struct help_topic *t = topics; t->name; t++) fprintf(stderr, " %s", t->name);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}
