/* The subcommand table. */
#include "commands.h"

#include <stddef.h>
#include <string.h>

#include "cmd_auth.h"
#include "cmd_deps.h"
#include "cmd_sandbox.h"
#include "cmd_secret.h"
#include "cmd_test.h"
#include "serve.h"

static const struct cli_command vsrun_commands[] = {
    {"test", cmd_test},
    {"auth", cmd_auth},
    {"secret", cmd_secret},
    {"sandbox", cmd_sandbox},
    {"serve", cmd_serve},
    {"runs", cmd_runs},
    {"deps", cmd_deps},
    {NULL, NULL},
};

const struct cli_command *cli_find_command(const char *name) {
    for (const struct cli_command *c = vsrun_commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}
