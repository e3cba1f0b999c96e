/* vsrun [options] script.lua [name=value ...]: the run itself (cmd_run.c). */
#ifndef VSRUN_CMD_RUN_H
#define VSRUN_CMD_RUN_H
#include "cli.h"

/* Runs the parsed run; returns the exit code (exitcodes.h). */
int run_script(struct cli_run *run);

#endif
