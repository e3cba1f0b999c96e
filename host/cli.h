/* Command-line parsing for script runs, inputs, subcommands and help topics. */
#ifndef VSRUN_CLI_H
#define VSRUN_CLI_H
#include <lua.h>

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
    const char *sandbox_args[CLI_MAX_SANDBOX_ARGS]; /* seeding options passed on to the sandbox */
    int n_sandbox_args;
    void *sandbox_handle;               /* owned by sandbox.c while it runs */
    char *script_dir;                   /* allocated */
    char *allow_net;                    /* --allow-net values and VSRUN_ALLOW_NET joined; allocated */
};

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);  /* argv after the subcommand name */
};

/* Parses `[options] script.lua [name=value ...]`; prints a usage error and returns
 * EXIT_USAGE on bad input, EXIT_OK otherwise. argv[0] is the first option. */
int cli_parse_run(int argc, char **argv, struct cli_run *run);
void cli_free_run(struct cli_run *run);

/* Pushes the inputs table (name=value and --input-file merged) and returns EXIT_OK; on
 * bad input (EXIT_USAGE) or inputs larger than --max-memory (EXIT_LIMIT) prints why and
 * pushes nothing. */
int cli_build_inputs(lua_State *L, struct cli_run *run);

/* The --max-memory cap in MB, for messages. */
double cli_max_memory_mb(const struct vm_options *o);

const struct cli_command *cli_find_command(const char *name);
int cli_help(int argc, char **argv, const char *usage, const char *help);

/* --sandbox: start the in-process simulator and point the pagerduty module at it. */
void cli_start_sandbox(lua_State *L, struct cli_run *run);
void cli_stop_sandbox(struct cli_run *run);

#endif
