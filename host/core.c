/* vsrun.core: small host primitives the embedded Lua modules build on. Not a public API. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "atomic_file.h"
#include "embedded.h"
#include "modules.h"
#include "util.h"
#include "vm.h"

static int core_traceback(lua_State *L) {  /* traceback(co, msg) of a failed coroutine */
    lua_State *co = lua_tothread(L, 1);
    luaL_argcheck(L, co != NULL, 1, "coroutine expected");
    luaL_traceback(L, co, luaL_optstring(L, 2, NULL), 0);
    return 1;
}

static int core_where(lua_State *L) {
    luaL_where(L, (int)luaL_optinteger(L, 1, 1));
    return 1;
}

/* "file:line:" of the innermost frame that is not in an embedded module: where the script
 * called into vsrun, which is where an error object should point. */
static int core_user_where(lua_State *L) {
    lua_State *co = lua_isthread(L, 1) ? lua_tothread(L, 1) : L;
    lua_Debug ar;
    for (int level = 0; lua_getstack(co, level, &ar); level++) {
        if (!lua_getinfo(co, "Sl", &ar) || ar.currentline <= 0) continue;
        if (strncmp(ar.source, "@lua/", 5) == 0 || ar.source[0] == '=') continue;
        lua_pushfstring(L, "%s:%d:", ar.short_src, ar.currentline);
        return 1;
    }
    lua_pushliteral(L, "");
    return 1;
}

static int core_now(lua_State *L) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

static int core_clock(lua_State *L) {
    lua_pushnumber(L, util_monotonic());
    return 1;
}

static int core_options(lua_State *L) {
    const struct vm_options *o = vm_options(L);
    lua_createtable(L, 0, 6);
    lua_pushboolean(L, o->strict); lua_setfield(L, -2, "strict");
    lua_pushboolean(L, o->verbose); lua_setfield(L, -2, "verbose");
    lua_pushboolean(L, o->quiet); lua_setfield(L, -2, "quiet");
    lua_pushboolean(L, o->dry_run); lua_setfield(L, -2, "dry_run");
    lua_pushboolean(L, o->sandbox_mode); lua_setfield(L, -2, "sandbox_mode");
    lua_pushnumber(L, o->timeout_sec); lua_setfield(L, -2, "timeout");
    if (o->connection) { lua_pushstring(L, o->connection); lua_setfield(L, -2, "connection"); }
    return 1;
}

static int core_memory(lua_State *L) {
    struct vm *vm = vm_from_lua(L);
    lua_pushinteger(L, (lua_Integer)vm_memory_used(vm));
    lua_pushinteger(L, (lua_Integer)vm_memory_peak(vm));
    return 2;
}

static int core_check_limits(lua_State *L) {
    vm_check_limits(L);
    return 0;
}

static int core_deadline_ms(lua_State *L) {
    lua_pushinteger(L, vm_deadline_ms(L));
    return 1;
}

/* sleep(sec): waits in short slices so Ctrl-C and --timeout still end the script */
static int core_sleep(lua_State *L) {
    double sec = luaL_checknumber(L, 1);
    double start = util_monotonic();
    for (;;) {
        vm_check_limits(L);
        double left = sec - (util_monotonic() - start);
        if (left <= 0) break;
        if (left > 0.05) left = 0.05;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* URL of the in-process sandbox (set by host/sandbox.c under --sandbox / vsrun test), or nil */
static int core_sandbox_url(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, "vsrun.sandbox_url");
    return 1;
}

/* loadfile(path) -> chunk | nil, message: text only, and present even under --strict
 * (where the global loadfile is gone) so the runner can load the script itself */
static int core_loadfile(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    if (luaL_loadfilex(L, path, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* require_builtin(name) -> the built-in module as script code may have it in this mode, or
 * nil when name is no built-in module; raises when the mode refuses it (host/modules.c) */
static int core_require_builtin(lua_State *L) {
    if (!modules_require_for_script(L, luaL_checkstring(L, 1))) lua_pushnil(L);
    return 1;
}

/* is_embedded_file("lua/vsrun/x.lua"): whether a traceback's file is one of vsrun's own
 * embedded modules (and not a script of the same relative path) */
static int core_is_embedded_file(lua_State *L) {
    const char *file = luaL_checkstring(L, 1);
    int found = 0;
    for (const struct embedded_module *m = embedded_modules; m->name && !found; m++)
        found = m->chunkname[0] == '@' && strcmp(m->chunkname + 1, file) == 0;
    lua_pushboolean(L, found);
    return 1;
}

static int core_isatty(lua_State *L) {
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

static int core_random_hex(lua_State *L) {  /* random_hex(nbytes): unpredictable ids and keys */
    unsigned char buf[64];
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n > 0 && n <= (lua_Integer)sizeof buf, 1, "1..64 bytes");
    /* the kernel's generator: no OpenSSL in the executable (host/netlib.h) */
    for (size_t got = 0; got < (size_t)n;) {
        ssize_t r = getrandom(buf + got, (size_t)n - got, 0);
        if (r < 0 && errno != EINTR) return luaL_error(L, "random number generator failed");
        if (r > 0) got += (size_t)r;
    }
    char hex[2 * sizeof buf + 1];
    for (lua_Integer i = 0; i < n; i++) snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    lua_pushlstring(L, hex, (size_t)(2 * n));
    return 1;
}

static int core_stderr(lua_State *L) {  /* unbuffered diagnostics that work under --strict */
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    fwrite(s, 1, len, stderr);
    fflush(stderr);
    return 0;
}

/* read_below(dir, name) -> the bytes of dir/name, or nil, message. Only a regular file whose
 * real path (symlinks resolved) is inside dir's: t.read_fixture under --strict reads
 * fixtures, never the secrets file beside the test. */
static int core_read_below(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
    char real_dir[PATH_MAX], real[PATH_MAX];
    lua_pushfstring(L, "%s/%s", dir, name);
    const char *path = lua_tostring(L, -1);
    if (realpath(dir, real_dir) == NULL || realpath(path, real) == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
        return 2;
    }
    size_t n = strlen(real_dir);
    if (strncmp(real, real_dir, n) != 0 || real[n] != '/') {
        lua_pushnil(L);
        lua_pushfstring(L, "%s is outside %s", path, dir);
        return 2;
    }
    FILE *f = fopen(real, "rb");
    if (f == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
        return 2;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) luaL_addlstring(&b, chunk, got);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read %s (is it a directory?)", path);
        return 2;
    }
    luaL_pushresult(&b);
    return 1;
}

int luaopen_vsrun_core(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"traceback", core_traceback}, {"where", core_where},
        {"user_where", core_user_where},
        {"now", core_now},             {"clock", core_clock},
        {"options", core_options},     {"memory", core_memory},
        {"check_limits", core_check_limits}, {"deadline_ms", core_deadline_ms},
        {"isatty", core_isatty},       {"random_hex", core_random_hex},
        {"stderr", core_stderr},        {"sleep", core_sleep},
        {"sandbox_url", core_sandbox_url}, {"loadfile", core_loadfile},
        {"write_file_atomic", atomic_file_lua_write}, {"require_builtin", core_require_builtin},
        {"is_embedded_file", core_is_embedded_file},
        {"read_below", core_read_below},
        {"project_error", modules_project_error},
        {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
