/* json.encode / json.decode through a real Lua state. */
#include <string.h>

#include <lauxlib.h>

#include "check.h"
#include "vm.h"

static const char *eval(lua_State *L, const char *code) {
    lua_settop(L, 0);
    if (luaL_loadstring(L, code) != LUA_OK || vm_pcall(L, 0, 1) != LUA_OK) return lua_tostring(L, -1);
    return lua_tostring(L, -1);
}

int main(void) {
    struct vm_options o = {0};
    struct vm *vm = vm_new(&o);
    lua_State *L = vm_lua(vm);
    const char *r;
    r = eval(L, "local j = require 'json' return j.encode({1, 2^53, math.maxinteger, 1.5, 0.1})");
    CHECK(r && strcmp(r, "[1,9007199254740992,9223372036854775807,1.5,0.1]") == 0, "json integers exact, floats shortest");
    r = eval(L, "local j = require 'json' return j.encode({a = j.empty_array, b = j.null, c = {}})");
    CHECK(r && strcmp(r, "{\"a\":[],\"b\":null,\"c\":{}}") == 0, "json empty array marker and null");
    r = eval(L, "local j = require 'json' return j.encode('a\"b\\\\c\\n\\1')");
    CHECK(r && strcmp(r, "\"a\\\"b\\\\c\\n\\u0001\"") == 0, "json string escapes");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.encode, {1, nil, 3}) return e");
    CHECK(r && strstr(r, "sparse") != NULL, "json sparse array refused");
    r = eval(L, "local j = require 'json' local t = {} t.self = t local ok, e = pcall(j.encode, t) return e");
    CHECK(r && strstr(r, "deeper than") != NULL, "json cycle refused");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.encode, 0/0) return e");
    CHECK(r && strstr(r, "NaN") != NULL, "json NaN refused");
    r = eval(L, "local j = require 'json' local v = j.decode('{\"n\": 12, \"f\": 1.5, \"a\": [1, 2]}') return math.type(v.n) .. math.type(v.f) .. math.type(v.a[2])");
    CHECK(r && strcmp(r, "integerfloatinteger") == 0, "json decode restores integers");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.decode, '{\"a\": }') return e");
    CHECK(r && strstr(r, "character 7") != NULL, "json decode error names the position");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.decode, string.rep('[', 1000)) return e");
    CHECK(r && strstr(r, "json.decode") != NULL, "json decode depth limit");
    r = eval(L, "local j = require 'json' return j.decode('\"a\\\\u0000b\"') == 'a\\0b'");
    CHECK(lua_toboolean(L, -1), "json decode NUL in string");
    r = eval(L, "local j = require 'json' return j.encode(j.decode('[1e400]'))");
    CHECK(r == NULL || strstr(r, "infinity") != NULL || strstr(r, "json") != NULL, "json huge number handled");
    r = eval(L, "local j = require 'json' return j.encode({b = 1, a = {x = true}}, {indent = 2})");
    CHECK(r && strcmp(r, "{\n  \"a\": {\n    \"x\": true\n  },\n  \"b\": 1\n}") == 0, "json indent and sorted keys");
    r = eval(L, "local j = require 'json' return j.encode({ a = j.array(), b = j.array({ 1 }) })");
    CHECK(r && strcmp(r, "{\"a\":[],\"b\":[1]}") == 0, "json.array marks tables as arrays");
    vm_free(vm);
    return check_done();
}
