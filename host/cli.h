/* Command-line parsing for script runs: options and inputs. */
#ifndef VSRUN_CLI_H
#define VSRUN_CLI_H
#include <lua.h>

#include "options.h"
#include "vm.h"

#define CLI_MAX_INPUTS 256
#define CLI_MAX_SANDBOX_ARGS 32

struct cli_run {
    struct vm_options vm;
    const char *script;                 /* path, or NULL with -e */
    const char *code;                   /* -e CODE */
    const char *input_file;             /* --input-file (or "-") */
    const char *output;                 /* --output */
    const char *inputs[CLI_MAX_INPUTS]; /* "name=value" arguments */
    int n_inputs;
    int sandbox;                        /* --sandbox */
    int help;                           /* -h or --help: print the help, run nothing */
    const char *sandbox_args[CLI_MAX_SANDBOX_ARGS]; /* seeding options for the sandbox: name, value pairs */
    int n_sandbox_args;
    char *script_dir;                   /* allocated */
    char *allow_net;                    /* --allow-net values and VSRUN_ALLOW_NET joined; allocated */
};

/* Parses `[options] script.lua [name=value ...]`; prints a usage error and returns
 * EXIT_USAGE on bad input, EXIT_OK otherwise. argv[0] is the first option. */
int cli_parse_run(int argc, char **argv, struct cli_run *run);
void cli_free_run(struct cli_run *run);

/* The options a script run shares with vsrun test (limits, modes, --lib, --allow-net,
 * sandbox seeding), and the function that applies one of them from the parser: EXIT_OK, or
 * EXIT_USAGE after a message. VSRUN_ALLOW_NET is added by cli_parse_run, or by the
 * caller through cli_allow_net_env. */
extern const struct opt cli_shared_options[];
int cli_take_shared_option(struct cli_run *run, const struct opt_parser *p);
int cli_allow_net_env(struct cli_run *run, const char *who);

/* Pushes the inputs table (name=value and --input-file merged) and returns EXIT_OK; on
 * bad input (EXIT_USAGE) or inputs larger than --max-memory (EXIT_LIMIT) prints why and
 * pushes nothing. */
int cli_build_inputs(lua_State *L, struct cli_run *run);

/* The --max-memory cap in MB, for messages. */
double cli_max_memory_mb(const struct vm_options *o);

#endif
