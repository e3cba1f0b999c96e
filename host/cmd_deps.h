/* vsrun deps: a project's LuaRocks dependencies, their lock and the resolved module set. */
#ifndef VSRUN_CMD_DEPS_H
#define VSRUN_CMD_DEPS_H

int cmd_deps(int argc, char **argv);

#endif
