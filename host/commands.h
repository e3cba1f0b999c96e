/* Subcommands (vsrun NAME ...), each in its own file. */
#ifndef VSRUN_COMMANDS_H
#define VSRUN_COMMANDS_H
#include "cli.h"

extern const struct cli_command vsrun_commands[];

#endif
