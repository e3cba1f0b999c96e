/* The host's modules and the trust boundary between them and script code (modules.c):
 * which modules exist, which a script may require in each mode, the environment the
 * built-in Lua modules run in, and read-only module tables. See docs/security.md. */
#ifndef VSRUN_MODULES_H
#define VSRUN_MODULES_H
#include <lauxlib.h>

#include "vm_options.h"

int luaopen_vsrun_core(lua_State *L);   /* core.c */
int luaopen_json(lua_State *L);         /* json.c */
int luaopen_vsrun_zoneinfo(lua_State *L);   /* zoneinfo.c */
/* in the network library (vsrun-net.so; host/net_entry.c lists them for the executable) */
int luaopen_vsrun_digest(lua_State *L); /* digest.c */
int luaopen_vsrun_http_core(lua_State *L);  /* http.c */
int luaopen_vsrun_pd_core(lua_State *L);    /* pagerduty.c */
int luaopen_vsrun_pd_refresh(lua_State *L); /* pagerduty.c: private, never given to scripts */
int luaopen_vsrun_server(lua_State *L); /* server.c */
int luaopen_vsrun_zoneinfo(lua_State *L);   /* zoneinfo.c */
int luaopen_vsrun_run_metrics(lua_State *L);   /* run_metrics.c */

/* Sets up require for a fresh state whose standard libraries are open (o must live as long
 * as the state): the script-facing package table (searchers: preload, built-in modules by policy, Lua files on
 * package.path), the built-in modules' own environment, the guarded rawset, the read-only
 * string library, and under --strict a read-only package table. */
void modules_open(lua_State *L, const struct vm_options *o);

/* Pushes built-in module `name` as the built-in modules see it (any built-in module, loaded
 * once per state, its table read-only). Raises when there is no such module. */
void modules_require(lua_State *L, const char *name);

/* For script code: 0 when `name` is not a built-in module; else pushes it and returns 1, or
 * raises when the mode does not allow the script to have it. */
int modules_require_for_script(lua_State *L, const char *name);

/* Loads embedded Lua module `name` as a chunk that runs in the built-in environment. */
int modules_load_embedded(lua_State *L, const char *name);

/* The nearest directory at or above `start` (NULL: the working directory) holding a
 * vsrun.json, as an absolute path in root; 1 when there is one. */
int modules_find_root(const char *start, char *root, size_t n);

/* Pushes the project (lua/vsrun/project.lua's table: root, file, name, libs, rocks) this
 * state resolves modules with, or nil; returns why vsrun.json is unusable, or NULL. */
const char *modules_push_project(lua_State *L);

/* vsrun.core.project_error(): why the project file is unusable, or nil. The runner refuses
 * to start a script or test file then: its allow_net may be what it got wrong. */
int modules_project_error(lua_State *L);

/* The project's allow_net ("host[:port],..."), or NULL: http refuses other origins in
 * every mode (it narrows, never grants; host/http_policy.c). */
const char *modules_project_allow_net(lua_State *L);
/* The project file's `defaults` (0 where it gives none): timeout in seconds, memory in MB. */
void modules_project_defaults(lua_State *L, double *timeout_sec, double *max_memory_mb);

/* 0 when `dir` can be a --lib directory; else -1 and a message in `why`. */
int modules_check_lib_dir(const char *dir, char *why, size_t n);

/* Makes the table at idx read-only in place; `what` names it in the error ("module 'http'"). */
void modules_freeze(lua_State *L, int idx, const char *what);

#endif
