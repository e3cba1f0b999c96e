/* vsrun sandbox [options]: serves the PagerDuty simulator (see cmd_sandbox.c). */
#ifndef VSRUN_CMD_SANDBOX_H
#define VSRUN_CMD_SANDBOX_H
int cmd_sandbox(int argc, char **argv);
#endif
