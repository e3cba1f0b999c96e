/* Bench: json.decode (host/json.c) against the path it replaced, lua-cjson 2.1.0's decode
 * followed by the integer-restoring walk, on the same ~220 KB page of 120 incidents, in the
 * same process. Prints both times and the ratio. Built by tests/bench/json_decode.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>

int luaopen_json(lua_State *L);

/* the old path's post-pass, as it was in host/json.c */
static void restore_integers(lua_State *L, int idx, int depth) {
    if (depth > 129) return;
    luaL_checkstack(L, 4, "bench");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            double d = lua_tonumber(L, -1);
            if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, (lua_Integer)d);
                lua_rawset(L, idx);
            }
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            restore_integers(L, lua_gettop(L), depth + 1);
        }
        lua_pop(L, 1);
    }
}

static int old_decode(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_istable(L, -1)) restore_integers(L, lua_gettop(L), 0);
    return 1;
}

static const char page_code[] =
    "local parts = {}\n"
    "for i = 1, 120 do\n"
    "  parts[i] = string.format([[{\"id\":\"Q%010d\",\"type\":\"incident\",\"summary\":\"[#%d] Disk almost full on db-%d\","
    "\"self\":\"https://api.pagerduty.com/incidents/Q%010d\",\"html_url\":\"https://example.pagerduty.com/incidents/Q%010d\","
    "\"incident_number\":%d,\"title\":\"Disk almost full on db-%d (caf\\u00e9)\",\"created_at\":\"2026-11-%02dT10:%02d:00Z\","
    "\"updated_at\":\"2026-11-%02dT11:%02d:00Z\",\"status\":\"%s\",\"incident_key\":\"alertmanager/%d/disk\","
    "\"urgency\":\"high\",\"last_status_change_at\":\"2026-11-%02dT11:00:00Z\",\"acknowledgements\":[],\"pending_actions\":[],"
    "\"alert_counts\":{\"all\":%d,\"triggered\":1,\"resolved\":0},\"is_mergeable\":true,\"resolve_reason\":null,"
    "\"service\":{\"id\":\"PSVC%03d\",\"type\":\"service_reference\",\"summary\":\"Database %d\","
    "\"self\":\"https://api.pagerduty.com/services/PSVC%03d\",\"html_url\":\"https://example.pagerduty.com/services/PSVC%03d\"},"
    "\"assignments\":[{\"at\":\"2026-11-%02dT10:%02d:00Z\",\"assignee\":{\"id\":\"PUSR%03d\",\"type\":\"user_reference\","
    "\"summary\":\"Engineer %d\",\"self\":\"https://api.pagerduty.com/users/PUSR%03d\",\"html_url\":\"https://example.pagerduty.com/users/PUSR%03d\"}}],"
    "\"escalation_policy\":{\"id\":\"PEP%03d\",\"type\":\"escalation_policy_reference\",\"summary\":\"Default\","
    "\"self\":\"https://api.pagerduty.com/escalation_policies/PEP%03d\",\"html_url\":\"https://example.pagerduty.com/escalation_policies/PEP%03d\"},"
    "\"teams\":[{\"id\":\"PTEAM%02d\",\"type\":\"team_reference\",\"summary\":\"Storage\",\"self\":\"https://api.pagerduty.com/teams/PTEAM%02d\"}],"
    "\"priority\":{\"id\":\"PPRI1\",\"type\":\"priority\",\"summary\":\"P1\",\"name\":\"P1\",\"order\":%d,\"color\":\"a8171c\"},"
    "\"body\":{\"type\":\"incident_body\",\"details\":\"Filesystem /var is at %d%%. Runbook: https://runbooks.example.com/disk-full-%d\"},"
    "\"conference_bridge\":{\"conference_number\":\"+1 555 0100,,%d#\",\"conference_url\":\"https://meet.example.com/%d\"},"
    "\"first_trigger_log_entry\":{\"id\":\"R%012d\",\"type\":\"trigger_log_entry_reference\",\"summary\":\"Triggered through the API\"}}]],"
    "    i, i, i, i, i, i, i, i % 28 + 1, i % 60, i % 28 + 1, i % 60, i % 3 == 0 and 'acknowledged' or 'triggered', i,"
    "    i % 28 + 1, i, i % 40, i, i % 40, i % 40, i % 28 + 1, i % 60, i % 30, i, i % 30, i % 30, i % 9, i % 9, i % 9,"
    "    i % 7, i % 7, i * 1024, 90 + i % 10, i, i * 7, i, i * 13)\n"
    "end\n"
    "return '{\"incidents\":[' .. table.concat(parts, ',') .. '],\"limit\":100,\"offset\":0,\"total\":null,\"more\":true}'\n";

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* best of 5 rounds of `iterations` decodes of the page (global `page`) by global `fn` */
static double time_decoder(lua_State *L, const char *fn, int iterations) {
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        double t0 = seconds();
        for (int i = 0; i < iterations; i++) {
            lua_getglobal(L, fn);
            lua_getglobal(L, "page");
            if (lua_pcall(L, 1, 1, 0) != LUA_OK) { fprintf(stderr, "%s: %s\n", fn, lua_tostring(L, -1)); return -1; }
            lua_pop(L, 1);
        }
        lua_gc(L, LUA_GCCOLLECT);
        double t = seconds() - t0;
        if (t < best) best = t;
    }
    return best / iterations;
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 50;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    if (luaL_dostring(L, page_code) != LUA_OK) { fprintf(stderr, "%s\n", lua_tostring(L, -1)); return 1; }
    size_t page_len = lua_rawlen(L, -1);
    lua_setglobal(L, "page");
    luaopen_json(L);
    lua_getfield(L, -1, "decode");
    lua_setglobal(L, "new_decode");
    luaopen_cjson(L);
    lua_getfield(L, -1, "decode");
    lua_pushcclosure(L, old_decode, 1);
    lua_setglobal(L, "old_decode");
    lua_settop(L, 0);
    double t_old = time_decoder(L, "old_decode", iterations);
    double t_new = time_decoder(L, "new_decode", iterations);
    if (t_old < 0 || t_new < 0) return 1;
    printf("%-34s %10s %10s %10s\n", "json.decode, 120-incident page", "new", "old", "ratio");
    printf("  %-32s %8.2fms %8.2fms %9.2fx  (old: lua-cjson 2.1.0 + integer walk; below 1 is faster)\n",
           "", t_new * 1000, t_old * 1000, t_new / t_old);
    printf("  page size %zu bytes, best of 5 rounds of %d decodes\n", page_len, iterations);
    lua_close(L);
    return 0;
}
