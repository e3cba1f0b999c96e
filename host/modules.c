/* Registry of the C modules every Lua state can require. */
#include "modules.h"

const luaL_Reg vsrun_c_modules[] = {
    {"vsrun.core", luaopen_vsrun_core},
    {"json", luaopen_json},
    {"vsrun.digest", luaopen_vsrun_digest},
    {"vsrun.http_core", luaopen_vsrun_http_core},
    {"vsrun.pd_core", luaopen_vsrun_pd_core},
    {"vsrun.server", luaopen_vsrun_server},
    {"vsrun.zoneinfo", luaopen_vsrun_zoneinfo},
    {NULL, NULL},
};
