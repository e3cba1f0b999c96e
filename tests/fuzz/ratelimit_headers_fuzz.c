/* libFuzzer target: response header parsing into the headers table (the code a transfer's
 * header callback runs), then the ratelimit-remaining / ratelimit-reset reading of
 * lua/vsrun/pd_request.lua and the shared rate limiter (pd_core.observe / pace) with
 * whatever garbage the values hold. First byte: status (429 when odd, else 200); the rest
 * is the header block. Whatever the headers say, the limiter must never ask for a wait that
 * is negative, not a number, or longer than an hour (a stuck run). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "http.h"
#include "pagerduty.h"
#include "vm.h"

static lua_State *fuzz_state(void) {
    static struct vm *vm;
    if (vm == NULL) {
        struct vm_options o = {0};
        o.max_memory = (size_t)256 << 20;
        vm = vm_new(&o);
        lua_State *L = vm_lua(vm);
        if (luaL_dostring(L, "local req = require 'vsrun.pd_request'\n"
                             "local pd_core = require 'vsrun.pd_core'\n"
                             "function check(status, headers)\n"
                             "  pd_core.observe(status, req.header_number(headers, 'ratelimit-remaining'),\n"
                             "    req.header_number(headers, 'ratelimit-reset'), 2)\n"
                             "  local w1 = pd_core.pace()\n"
                             "  local w2 = pd_core.pace()\n"
                             "  return w1, w2\n"
                             "end") != LUA_OK)
            abort();
    }
    return vm_lua(vm);
}

static void check_wait(double w) {
    if (!(w >= 0 && w <= 3600)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 65536) return 0;
    lua_State *L = fuzz_state();
    pd_limit_reset();
    lua_getglobal(L, "check");
    lua_pushinteger(L, (data[0] & 1) ? 429 : 200);
    http_push_parsed_headers(L, (const char *)data + 1, size - 1);
    if (lua_pcall(L, 2, 2, 0) != LUA_OK) abort();   /* reading headers must never raise */
    check_wait(lua_tonumber(L, -2));
    check_wait(lua_tonumber(L, -1));
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
