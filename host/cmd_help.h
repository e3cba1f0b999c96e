/* vsrun help [topic] and the texts it prints (cmd_help.c). */
#ifndef VSRUN_CMD_HELP_H
#define VSRUN_CMD_HELP_H

/* With no argument prints the main help (help, with usage in its %s); else the topic
 * argv[0]. EXIT_OK, or EXIT_USAGE for an unknown topic. */
int cli_help(int argc, char **argv, const char *usage, const char *help);

#endif
