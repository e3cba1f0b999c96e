/* libFuzzer target: json.decode on arbitrary bytes (depth, huge numbers, invalid UTF-8,
 * NUL bytes), then json.encode of whatever decoded. Must never crash or leak, and what it
 * encodes must decode back to the same text (arrays stay arrays, integers stay exact). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "vm.h"

static lua_State *fuzz_state(void) {
    static struct vm *vm;
    if (vm == NULL) {
        struct vm_options o = {0};
        o.max_memory = (size_t)256 << 20;
        vm = vm_new(&o);
        lua_State *L = vm_lua(vm);
        luaL_dostring(L, "json = require 'json'\n"
                         "function roundtrip(s)\n"
                         "  local ok, v = pcall(json.decode, s)\n"
                         "  if not ok then return end\n"
                         "  local eok, text = pcall(json.encode, v)\n"
                         "  if not eok then return end\n"
                         "  local again = json.encode(json.decode(text))\n"
                         "  if again ~= text then error('round trip changed ' .. text .. ' into ' .. again) end\n"
                         "end");
    }
    return vm_lua(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lua_State *L = fuzz_state();
    lua_getglobal(L, "roundtrip");
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        /* only the round-trip check raises: json.decode and json.encode run under pcall */
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        abort();
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
