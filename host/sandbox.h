/* vsrun sandbox [options]: serves the PagerDuty simulator (see sandbox.c). The in-process
 * --sandbox entry points, cli_start_sandbox/cli_stop_sandbox, are declared in cli.h. */
#ifndef VSRUN_SANDBOX_H
#define VSRUN_SANDBOX_H
int cmd_sandbox(int argc, char **argv);
#endif
