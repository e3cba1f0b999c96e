/* vsrun serve (webhook → pipeline server) and vsrun runs (its store). */
#ifndef VSRUN_SERVE_H
#define VSRUN_SERVE_H

int cmd_serve(int argc, char **argv);
int cmd_runs(int argc, char **argv);

#endif
