/* The C API of host/http.c (what host/pagerduty.c uses): http_start with a secret header
 * against the server binding, its validation, and URL redaction. */
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "check.h"
#include "http.h"
#include "vm.h"

static const char *eval(lua_State *L, const char *code) {
    lua_settop(L, 0);
    if (luaL_loadstring(L, code) != LUA_OK || vm_pcall(L, 0, 1) != LUA_OK) return lua_tostring(L, -1);
    return lua_tostring(L, -1);
}

static const char *base_url;
static const char *header_value = "Bearer unit-test-token";
static const char *bad_value = "x\r\nInjected: 1";
static int bad_request;

/* runs under lua_pcall: http_start raises on an invalid request */
static int start_from_c(lua_State *L) {
    lua_pushfstring(L, "%s/from-c?x=1", base_url);
    struct http_header hs[2] = {
        {"Authorization", bad_request ? bad_value : header_value, 1},
        {"X-Plain", "visible", 0},
    };
    struct http_request req = {
        .method = "POST", .url = lua_tostring(L, -1), .headers = hs, .n_headers = 2,
        .body = "{\"a\":1}", .body_len = 7, .timeout = 10, .attempt = 1,
    };
    long id = http_start(L, &req);
    if (id < 0) return luaL_error(L, "refused: %s", http_start_error());
    lua_pushinteger(L, id);
    return 1;
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct vm_options o = {0};
    struct vm *vm = vm_new(&o);
    lua_State *L = vm_lua(vm);

    const char *r = eval(L, "far = require('vsrun.server').start{ file = 'tests/lua/fixtures/http_far_end.lua' } "
                            "return far:url()");
    CHECK(r && strncmp(r, "http://127.0.0.1:", 17) == 0, "http unit: far end started");
    lua_setglobal(L, "BASE");
    lua_getglobal(L, "BASE");
    base_url = lua_tostring(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "http_test.base");  /* keeps the string alive */

    lua_settop(L, 0);
    lua_pushcfunction(L, start_from_c);
    int st = lua_pcall(L, 0, 1, 0);
    CHECK(st == LUA_OK && lua_isinteger(L, -1), "http unit: http_start returns an id");
    lua_setglobal(L, "ID");
    r = eval(L, "local hc = require 'vsrun.http_core' "
                "for _ = 1, 100 do local done = hc.poll(0.1) "
                "  for i = 1, #done, 2 do if done[i] == ID then RES = done[i + 1] return 'done' end end end "
                "return 'no result'");
    CHECK(r && strcmp(r, "done") == 0, "http unit: poll delivers the result");
    r = eval(L, "local seen = require('json').decode(RES.body) "
                "return RES.status .. ' ' .. seen.method .. ' ' .. seen.path .. ' ' .. seen.body .. ' ' "
                ".. seen.headers.authorization .. ' ' .. seen.headers['x-plain']");
    CHECK(r && strcmp(r, "200 POST /from-c {\"a\":1} Bearer unit-test-token visible") == 0,
          "http unit: method, body and headers (secret one included) reach the server");
    r = eval(L, "return require('vsrun.http_core').active()");
    CHECK(r && strcmp(r, "0") == 0, "http unit: the finished transfer is freed");

    bad_request = 1;
    lua_settop(L, 0);
    lua_pushcfunction(L, start_from_c);
    st = lua_pcall(L, 0, 1, 0);
    CHECK(st != LUA_OK && strstr(lua_tostring(L, -1), "invalid header") != NULL,
          "http unit: CR/LF in a header value is refused (-1, no raise)");
    CHECK(strstr(lua_tostring(L, -1), "Injected") == NULL, "http unit: the refusal does not echo the value");

    lua_settop(L, 0);
    http_push_redacted_url(L, "https://h/p?refresh_token=abc&q=1");
    CHECK(strcmp(lua_tostring(L, -1), "https://h/p?refresh_token=REDACTED&q=1") == 0, "http unit: redacted URL");

    eval(L, "far:stop()");
    vm_free(vm);
    curl_global_cleanup();
    return check_done();
}
