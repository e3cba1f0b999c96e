/* --sandbox: the in-process PagerDuty simulator (see lua/sandbox/). */
#include <stdio.h>

#include "cli.h"

void cli_start_sandbox(lua_State *L, struct cli_run *run) {
    (void)L;
    (void)run;
}

void cli_stop_sandbox(struct cli_run *run) {
    (void)run;
}
