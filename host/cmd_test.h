/* vsrun test [options] [paths...]: runs *_test.lua files (cmd_test.c). */
#ifndef VSRUN_CMD_TEST_H
#define VSRUN_CMD_TEST_H
int cmd_test(int argc, char **argv);
#endif
