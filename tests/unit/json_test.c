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
    /* decoded arrays and objects stay apart: an incident round-trips apart from key order */
    r = eval(L, "local j = require 'json' return j.encode(j.decode("
                "'{\"acknowledgements\": [], \"assignments\": [{\"at\": \"x\"}], \"pending_actions\": [], \"metadata\": {}}'))");
    CHECK(r && strcmp(r, "{\"acknowledgements\":[],\"assignments\":[{\"at\":\"x\"}],\"metadata\":{},\"pending_actions\":[]}") == 0,
          "json decoded [] stays [] and {} stays {}");
    r = eval(L, "local j = require 'json' local v = j.decode('[[], {}]') v[1][1] = 5 return j.encode(v)");
    CHECK(r && strcmp(r, "[[5],{}]") == 0, "json a decoded array can be filled");
    r = eval(L, "local j = require 'json' local v = j.decode('[1]') v.x = 1 local ok, e = pcall(j.encode, v) return e");
    CHECK(r && strstr(r, "mixes") != NULL, "json a decoded array with a string key is refused, not truncated");
    r = eval(L, "local j = require 'json' local v = j.decode('[9223372036854775807, -9223372036854775808, 9007199254740993]')"
                " return math.type(v[1]) .. ' ' .. j.encode(v)");
    CHECK(r && strcmp(r, "integer [9223372036854775807,-9223372036854775808,9007199254740993]") == 0, "json decode keeps 64-bit integers exact");
    r = eval(L, "local j = require 'json' return j.encode(j.decode('[92233720368547758070, 2.0, 1e3, -0.5]'))");
    CHECK(r && strcmp(r, "[9.2233720368547758e+19,2,1000,-0.5]") == 0, "json decode: too large for an integer is a float; whole floats are integers");
    r = eval(L, "local j = require 'json' return j.decode('\"caf\\\\u00e9 \\\\ud83d\\\\ude00\"')");
    CHECK(r && strcmp(r, "caf\xc3\xa9 \xf0\x9f\x98\x80") == 0, "json decode \\u escapes and surrogate pairs to UTF-8");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.decode, '\"\\\\ud83d\"') return e");
    CHECK(r && strstr(r, "surrogate") != NULL, "json decode refuses a lone surrogate");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.decode, '[\"ok\", \"a\\xffb\"]') return e");
    CHECK(r && strstr(r, "invalid UTF-8") != NULL && strstr(r, "character 10") != NULL, "json decode refuses invalid UTF-8 and names the position");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.decode, '\"a\\tb\"') return e");
    CHECK(r && strstr(r, "control character") != NULL, "json decode refuses a raw control character in a string");
    r = eval(L, "local j = require 'json' local bad = {'[1,]', '01', '0x10', '1.', '-', '{\"a\" 1}', '[1] x', '', 'nul', '{1: 2}'}"
                " for _, s in ipairs(bad) do if pcall(j.decode, s) then return 'accepted ' .. s end end return 'all refused'");
    CHECK(r && strcmp(r, "all refused") == 0, "json decode refuses malformed documents");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.encode, {name = 'caf\\xe9'}) return e");
    CHECK(r && strstr(r, "not valid UTF-8 (byte 4)") != NULL, "json encode refuses invalid UTF-8 and names the byte");
    r = eval(L, "local j = require 'json' local ok, e = pcall(j.encode, '\\xed\\xa0\\x80') return e");
    CHECK(r && strstr(r, "not valid UTF-8") != NULL, "json encode refuses an encoded surrogate");
    r = eval(L, "local j = require 'json' return j.encode('\\xf0\\x9f\\x98\\x80 \\xc3\\xa9')");
    CHECK(r && strcmp(r, "\"\xf0\x9f\x98\x80 \xc3\xa9\"") == 0, "json encode keeps valid UTF-8 as it is");
    /* keys are (pointer, length): a NUL inside a key is neither cut nor merged with another key */
    r = eval(L, "local j = require 'json' return j.encode({['a\\0b'] = 1, a = 2})");
    CHECK(r && strcmp(r, "{\"a\":2,\"a\\u0000b\":1}") == 0, "json encode keys holding NUL");
    r = eval(L, "local j = require 'json' local ok, e = pcall(function() j.empty_array[1] = 'oops' end)"
                " return (ok and 'changed' or e) .. ' ' .. j.encode({x = j.empty_array})");
    CHECK(r && strstr(r, "read-only") != NULL && strstr(r, "{\"x\":[]}") != NULL, "json.empty_array refuses writes");
    r = eval(L, "local j = require 'json' rawset(j.empty_array, 1, 'oops') local out = j.encode(j.empty_array)"
                " rawset(j.empty_array, 1, nil) return out");
    CHECK(r && strcmp(r, "[]") == 0, "json.empty_array encodes as [] even after a rawset");
    vm_free(vm);
    return check_done();
}
