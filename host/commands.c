/* The subcommand table. */
#include "commands.h"

#include <stddef.h>

#include "auth.h"
#include "sandbox.h"
#include "serve.h"
#include "testcmd.h"

const struct cli_command vsrun_commands[] = {
    {"test", cmd_test},
    {"auth", cmd_auth},
    {"sandbox", cmd_sandbox},
    {"serve", cmd_serve},
    {"runs", cmd_runs},
    {NULL, NULL},
};
