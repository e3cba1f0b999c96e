/* The subcommand table. Every subcommand needs the network library (vsrun test and
 * sandbox serve HTTP, auth and serve use the vault and stores...), so its code lives there
 * (host/net_entry.c) and the library is opened only when one of these names is given. */
#include "commands.h"

#include <stddef.h>
#include <string.h>

#include "exitcodes.h"
#include "netlib.h"

static const char *const vsrun_commands[] = {"test", "auth", "secret", "sandbox", "serve", "runs", "deps", NULL};

/* The network library could not be opened: netlib_need printed why. */
static int command_unavailable(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return EXIT_USAGE;
}

static const struct cli_command unavailable = {"", command_unavailable};

const struct cli_command *cli_find_command(const char *name) {
    const char *const *n = vsrun_commands;
    while (*n && strcmp(*n, name) != 0) n++;
    if (*n == NULL) return NULL;
    const struct vsrun_net *net = netlib_need();
    if (net == NULL) return &unavailable;
    for (const struct cli_command *c = net->commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return &unavailable;
}
