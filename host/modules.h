/* The host's C modules, put in package.preload of every state (see modules.c). */
#ifndef VSRUN_MODULES_H
#define VSRUN_MODULES_H
#include <lauxlib.h>

extern const luaL_Reg vsrun_c_modules[];

int luaopen_vsrun_core(lua_State *L);   /* core.c */
int luaopen_json(lua_State *L);         /* json.c */
int luaopen_vsrun_digest(lua_State *L); /* digest.c */
int luaopen_vsrun_http_core(lua_State *L);  /* http.c */
int luaopen_vsrun_pd_core(lua_State *L);    /* pagerduty.c */
int luaopen_vsrun_server(lua_State *L); /* server.c */
int luaopen_vsrun_zoneinfo(lua_State *L);   /* zoneinfo.c */

#endif
