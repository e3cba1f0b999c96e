/* Subcommands (vsrun NAME ...), each in its own cmd_*.c file. */
#ifndef VSRUN_COMMANDS_H
#define VSRUN_COMMANDS_H

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);  /* argv after the subcommand name */
};

/* The subcommand called name, or NULL. */
const struct cli_command *cli_find_command(const char *name);

#endif
