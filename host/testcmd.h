#ifndef VSRUN_TESTCMD_H
#define VSRUN_TESTCMD_H
int cmd_test(int argc, char **argv);
#endif
