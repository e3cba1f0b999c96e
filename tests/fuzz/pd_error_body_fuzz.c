/* libFuzzer target: PagerDuty error-body parsing and classification in
 * lua/vsrun/pd_request.lua (parse_error_body, http_error) on arbitrary bodies. The first
 * byte picks the status and action; every body must give an error object with a kind and a
 * string message, never a Lua error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "vm.h"

static const int statuses[] = {400, 402, 403, 404, 408, 409, 413, 418, 422, 429, 500, 502, 503, 504, 302, 451};

static lua_State *fuzz_state(void) {
    static struct vm *vm;
    if (vm == NULL) {
        struct vm_options o = {0};
        o.max_memory = (size_t)256 << 20;
        vm = vm_new(&o);
        lua_State *L = vm_lua(vm);
        if (luaL_dostring(L, "local req = require 'vsrun.pd_request'\n"
                             "local specs = {\n"
                             "  { action = 'create_incident', method = 'POST', what = 'the service' },\n"
                             "  { action = 'get_incident', method = 'GET', what = 'incident PX1' } }\n"
                             "function classify(status, which, body)\n"
                             "  req.parse_error_body(body)\n"
                             "  local e = req.http_error(specs[which], { status = status, body = body,\n"
                             "    headers = { ['x-request-id'] = 'r1' } })\n"
                             "  assert(type(e) == 'table' and type(e.kind) == 'string' and type(e.message) == 'string')\n"
                             "  return tostring(e)\n"
                             "end") != LUA_OK)
            abort();
    }
    return vm_lua(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 256 * 1024) return 0;
    lua_State *L = fuzz_state();
    lua_getglobal(L, "classify");
    lua_pushinteger(L, statuses[data[0] & 15]);
    lua_pushinteger(L, (data[0] & 16) ? 1 : 2);
    lua_pushlstring(L, (const char *)data + 1, size - 1);
    if (lua_pcall(L, 3, 1, 0) != LUA_OK) abort();   /* classification must never raise */
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
