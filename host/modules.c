/* Registry of the C modules every Lua state can require. */
#include "modules.h"

const luaL_Reg vsrun_c_modules[] = {
    {"vsrun.core", luaopen_vsrun_core},
    {"json", luaopen_json},
    {"vsrun.digest", luaopen_vsrun_digest},
    {NULL, NULL},
};
