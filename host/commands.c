/* The subcommand table. */
#include "commands.h"

#include <stddef.h>

#include "auth.h"
#include "cmd_deps.h"
#include "sandbox.h"
#include "testcmd.h"

const struct cli_command vsrun_commands[] = {
    {"test", cmd_test},
    {"auth", cmd_auth},
    {"sandbox", cmd_sandbox},
    {"deps", cmd_deps},
    {NULL, NULL},
};
