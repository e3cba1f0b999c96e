/* The host's modules and the trust boundary between them and script code (modules.h).
 *
 * Built-in modules (embedded Lua and C) are loaded by modules_require into the registry's
 * loaded table, which scripts never see. Embedded Lua modules run in their own environment:
 * a copy of the standard globals and libraries taken when the state is made, whose
 * `require` is modules_require. So a script that replaces `table.concat` or `pairs` does not
 * change what pagerduty.lua runs, and internal modules stay reachable for the built-ins
 * while script code gets only what its mode allows (modules_require_for_script). Tables of
 * the vsrun modules and the string library are made read-only when they load. */
#include "modules.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embedded.h"
#include "netlib.h"

/* C modules in the executable. */
static const luaL_Reg core_c_modules[] = {
    {"vsrun.core", luaopen_vsrun_core},
    {"json", luaopen_json},
    {"vsrun.zoneinfo", luaopen_vsrun_zoneinfo},
    {"vsrun.run_metrics", luaopen_vsrun_run_metrics},
    {NULL, NULL},
};
/* C modules in the network library (vsrun-net.so, host/netlib.c): opened on first require,
 * so a script that never needs them never loads libcurl, OpenSSL or libmicrohttpd. */
static const char *const net_c_modules[] = {"vsrun.digest", "vsrun.http_core", "vsrun.pd_core",
                                            "vsrun.pd_refresh", "vsrun.server", NULL};

#define MODULES_ENV "vsrun.builtin_env"    /* registry: the built-in modules' _ENV */
#define MODULES_FROZEN "vsrun.frozen"      /* registry: weak set, read-only table -> its name */
#define MODULES_OPTIONS "vsrun.options"    /* registry: light userdata, the state's vm_options */

/* The documented API: what a script may require in every mode. */
static const char *const public_modules[] = {"pagerduty", "http", "json", "vsrun", "vsrun.time", NULL};
/* Documented too, but only for runs against the sandbox (--sandbox, vsrun test). */
static const char *const sandbox_modules[] = {"vsrun.sandbox", "vsrun.testing", NULL};
/* Never for script code, in any mode: forcing token refreshes is the host's decision, and so
 * are the counters a run reports to vsrun serve. */
static const char *const private_modules[] = {"vsrun.pd_refresh", "vsrun.run_metrics", NULL};

static int modules_in(const char *const *list, const char *name) {
    for (; *list; list++)
        if (strcmp(*list, name) == 0) return 1;
    return 0;
}

static const struct embedded_module *modules_find_embedded(const char *name) {
    for (const struct embedded_module *m = embedded_modules; m->name; m++)
        if (strcmp(m->name, name) == 0) return m;
    return NULL;
}

static int modules_is_c(const char *name) {
    for (const luaL_Reg *m = core_c_modules; m->name; m++)
        if (strcmp(m->name, name) == 0) return 1;
    return modules_in(net_c_modules, name);
}

/* The open function of C module `name` (one modules_is_c knows); a module of the network
 * library loads it first, and raises when it cannot be loaded. */
static lua_CFunction modules_open_c(lua_State *L, const char *name) {
    for (const luaL_Reg *m = core_c_modules; m->name; m++)
        if (strcmp(m->name, name) == 0) return m->func;
    char err[NETLIB_ERR_MAX];
    const struct vsrun_net *net = netlib_load(err, sizeof err);
    if (net == NULL) luaL_error(L, "cannot load module '%s': %s", name, err);
    for (const luaL_Reg *m = net->modules; m->name; m++)
        if (strcmp(m->name, name) == 0) return m->func;
    luaL_error(L, "the network library has no module '%s'", name);
    return NULL;
}

static int modules_is_builtin(const char *name) {
    return modules_is_c(name) || modules_find_embedded(name) != NULL;
}

static const struct vm_options *modules_options(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_OPTIONS);
    const struct vm_options *o = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return o;
}

/* The vsrun modules' tables are read-only; the simulator's own modules (sandbox.*) keep
 * state in theirs and never reach script code. */
static int modules_frozen_name(const char *name) {
    return modules_in(public_modules, name) || strncmp(name, "vsrun.", 6) == 0;
}

/* ---- read-only tables ---- */

static int modules_readonly_newindex(lua_State *L) {
    return luaL_error(L, "%s is read-only (cannot set '%s')", lua_tostring(L, lua_upvalueindex(1)),
                      luaL_tolstring(L, 2, NULL));
}

static int modules_frozen_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static int modules_frozen_pairs(lua_State *L) {
    lua_pushcfunction(L, modules_frozen_next);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushnil(L);
    return 3;
}

/* The fields move to a hidden table that __index reads, so every assignment reaches
 * __newindex; rawset is refused by the scripts' rawset (modules_rawset). */
void modules_freeze(lua_State *L, int idx, const char *what) {
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    int hidden = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, hidden);
    }
    lua_pushnil(L);
    while (lua_next(L, hidden)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, idx);
    }
    lua_newtable(L);
    int mt = lua_gettop(L);
    if (lua_getmetatable(L, idx)) { /* keep what an existing metatable did (e.g. __call) */
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, mt);
        }
        lua_setmetatable(L, hidden);
    }
    lua_pushvalue(L, hidden);
    lua_setfield(L, mt, "__index");
    lua_pushstring(L, what);
    lua_pushcclosure(L, modules_readonly_newindex, 1);
    lua_setfield(L, mt, "__newindex");
    lua_pushvalue(L, hidden);
    lua_pushcclosure(L, modules_frozen_pairs, 1);
    lua_setfield(L, mt, "__pairs");
    lua_pushfstring(L, "%s is read-only", what);
    lua_setfield(L, mt, "__metatable");
    lua_setmetatable(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_FROZEN);
    lua_pushvalue(L, idx);
    lua_pushstring(L, what);
    lua_rawset(L, -3);
    lua_pop(L, 2);
}

/* rawset for script code: refuses read-only tables, which would otherwise be patched
 * around their __newindex. */
static int modules_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_FROZEN);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, -2) == LUA_TSTRING)
        return luaL_error(L, "%s is read-only (rawset refused)", lua_tostring(L, -1));
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* ---- loading built-in modules ---- */

int modules_load_embedded(lua_State *L, const char *name) {
    const struct embedded_module *m = modules_find_embedded(name);
    if (m == NULL) {
        lua_pushfstring(L, "no embedded module '%s'", name);
        return LUA_ERRFILE;
    }
    int status = luaL_loadbufferx(L, m->source, m->len, m->chunkname, "b");
    if (status != LUA_OK) return status;
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_ENV);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    return LUA_OK;
}

void modules_require(lua_State *L, const char *name) {
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, name) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    if (modules_is_c(name)) {
        lua_pushcfunction(L, modules_open_c(L, name));
        lua_pushstring(L, name);
        lua_call(L, 1, 1);
    } else {
        if (modules_load_embedded(L, name) != LUA_OK) lua_error(L);
        lua_pushstring(L, name);
        lua_pushstring(L, modules_find_embedded(name)->chunkname + 1);
        lua_call(L, 2, 1);
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    if (lua_istable(L, -1) && modules_frozen_name(name)) {
        lua_getfield(L, LUA_REGISTRYINDEX, MODULES_FROZEN);
        lua_pushvalue(L, -2);
        int frozen = lua_rawget(L, -2) != LUA_TNIL;
        lua_pop(L, 2);
        if (!frozen) {
            lua_pushfstring(L, "module '%s'", name);
            modules_freeze(L, -2, lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    lua_remove(L, -2);
}

static int modules_require_lua(lua_State *L) {  /* `require` of the built-in environment */
    modules_require(L, luaL_checkstring(L, 1));
    return 1;
}

static void modules_check_shadowing(lua_State *L, const char *name);

int modules_require_for_script(lua_State *L, const char *name) {
    if (!modules_is_builtin(name)) return 0;
    const struct vm_options *o = modules_options(L);
    if (modules_in(private_modules, name))
        return luaL_error(L, "module '%s' is internal to vsrun and not available to scripts", name);
    if (modules_in(sandbox_modules, name)) {
        if (!o->sandbox_mode)
            return luaL_error(L, "module '%s' is only available under 'vsrun test' or --sandbox", name);
    } else if (o->strict && !modules_in(public_modules, name)) {
        return luaL_error(L, "module '%s' is internal to vsrun and not available under --strict "
                             "(scripts may require pagerduty, http, json, vsrun, vsrun.time%s, and modules of the project's "
                             "library directories, its rocks tree and --lib)",
                          name, o->sandbox_mode ? ", vsrun.sandbox, vsrun.testing" : "");
    }
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    int first = lua_getfield(L, -1, name) == LUA_TNIL;
    lua_pop(L, 2);
    if (first) modules_check_shadowing(L, name);
    modules_require(L, name);
    return 1;
}

/* ---- searchers of the script-facing package table ---- */

static int modules_builtin_loader(lua_State *L) {
    modules_require(L, luaL_checkstring(L, 1));
    return 1;
}

static int modules_search_builtin(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    if (!modules_is_builtin(name)) {
        lua_pushfstring(L, "no built-in module '%s'", name);
        return 1;
    }
    if (modules_require_for_script(L, name)) lua_pop(L, 1); /* raises when refused */
    lua_pushcfunction(L, modules_builtin_loader);
    lua_pushliteral(L, ":builtin:");
    return 2;
}

/* The one resolution rule (docs/libraries.md), after the built-in modules:
 *   1. the project's library directories   (vsrun.json "libs"; without a project file,
 *                                            the script's own directory)
 *   2. --lib
 *   3. VSRUN_PATH, then the installed PREFIX/share/vsrun/lib      (not under --strict)
 *   4. the project's LuaRocks tree          (vsrun.json "rocks_tree", default lua_modules)
 *   5. LUA_PATH_5_4 / LUA_PATH                                    (not under --strict)
 * The same in `vsrun script.lua`, `vsrun test` (per test file), --sandbox and --strict,
 * which leaves out only what comes from the environment. */
#define MODULES_PROJECT_ERROR "vsrun.project_error"  /* registry: why vsrun.json is unusable */
#define MODULES_SCRIPT_PACKAGE "vsrun.script_package" /* registry: the package table scripts see */
#define MODULES_SEARCHPATH "vsrun.searchpath"       /* registry: package.searchpath, kept */
#define MODULES_PROJECT "vsrun.project_table"      /* registry: the parsed vsrun.json */

static const char *modules_where_searched(const struct vm_options *o) {
    return o->strict ? "the project's library directories (vsrun.json), --lib, the project's rocks tree"
                     : "the project's library directories (vsrun.json) or the script's directory, --lib, "
                       "VSRUN_PATH, the project's rocks tree, LUA_PATH";
}

/* Calls package.searchpath(name, path) from the registry: leaves the file name or nil. */
static void modules_searchpath(lua_State *L, const char *name, const char *path) {
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_SEARCHPATH);
    lua_pushstring(L, name);
    lua_pushstring(L, path);
    lua_call(L, 2, 1);
}

/* Like Lua's file searcher, but text chunks only; the path is the upvalue package table's,
 * so replacing the global `package` changes nothing. A C module the same search would have
 * found is named in the "not found" text: vsrun never loads one, and should say so. */
static int modules_search_file(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT_ERROR);
    if (lua_isstring(L, -1)) return luaL_error(L, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "path");
    const char *path = lua_tostring(L, -1);
    if (path == NULL || *path == '\0') {
        lua_pushfstring(L, "no module directories to search (%s)", modules_where_searched(modules_options(L)));
        return 1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_SEARCHPATH);
    lua_pushstring(L, name);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) { /* the "no file ..." lines, and a refused C module if there is one */
        const char *cpath = lua_tostring(L, lua_upvalueindex(2));
        if (cpath && *cpath) {
            modules_searchpath(L, name, cpath);
            if (lua_isstring(L, -1)) {
                lua_pushfstring(L, "%s\n\t%s is a C module: vsrun loads only Lua modules (C modules are refused)",
                                lua_tostring(L, -2), lua_tostring(L, -1));
                return 1;
            }
            lua_pop(L, 1);
        }
        return 1;
    }
    const char *file = lua_tostring(L, -2);
    if (luaL_loadfilex(L, file, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file, lua_tostring(L, -1));
    lua_pushstring(L, file);
    return 2;
}

/* A file that would be `name` if `name` were not built in: refused with an error rather than
 * silently ignored (checked once per name and state, when a script first requires it). */
static void modules_check_shadowing(lua_State *L, const char *name) {
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_SCRIPT_PACKAGE);
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
    lua_getfield(L, -1, "path");
    const char *path = lua_tostring(L, -1);
    if (path && *path) {
        modules_searchpath(L, name, path);
        if (lua_isstring(L, -1))
            luaL_error(L, "module '%s' is built into vsrun, so %s cannot be loaded under that name: "
                          "rename the file (vsrun help libraries lists the built-in names)", name, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static void modules_add_path(luaL_Buffer *b, const char *dir) {
    if (dir == NULL || *dir == '\0') return;
    luaL_addstring(b, dir); luaL_addstring(b, "/?.lua;");
    luaL_addstring(b, dir); luaL_addstring(b, "/?/init.lua;");
}

static void modules_add_cpath(luaL_Buffer *b, const char *dir) {
    if (dir == NULL || *dir == '\0') return;
    luaL_addstring(b, dir); luaL_addstring(b, "/?.so;");
}

/* `make install` puts the example library in PREFIX/share/vsrun/lib, next to
 * PREFIX/bin/vsrun: found from the binary's own path, so any PREFIX works without a rebuild. */
static void modules_add_installed_lib(luaL_Buffer *b) {
    char exe[2048], dir[2100];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) return;
    *slash = '\0';
    snprintf(dir, sizeof dir, "%s/../share/vsrun/lib", exe);
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) modules_add_path(b, dir);
}

/* Splits a ';' or ':' separated list of directories (VSRUN_PATH) into path templates. */
static void modules_add_path_list(luaL_Buffer *b, const char *list) {
    if (list == NULL) return;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ":;");
        if (n > 0) {
            lua_pushlstring(b->L, p, n);
            modules_add_path(b, lua_tostring(b->L, -1));
            lua_pop(b->L, 1);
        }
        p += n;
        if (*p) p++;
    }
}

int modules_project_error(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT_ERROR);
    return 1;
}

const char *modules_project_allow_net(lua_State *L) {
    const char *list = NULL;
    int top = lua_gettop(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT) == LUA_TTABLE &&
        lua_getfield(L, -1, "allow_net") == LUA_TSTRING)
        list = lua_tostring(L, -1);  /* kept alive by the project table in the registry */
    lua_settop(L, top);
    return list;
}

void modules_project_defaults(lua_State *L, double *timeout_sec, double *max_memory_mb) {
    int top = lua_gettop(L);
    *timeout_sec = *max_memory_mb = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT) == LUA_TTABLE) {
        if (lua_getfield(L, -1, "default_timeout") == LUA_TNUMBER) *timeout_sec = lua_tonumber(L, -1);
        if (lua_getfield(L, -2, "default_max_memory") == LUA_TNUMBER) *max_memory_mb = lua_tonumber(L, -1);
    }
    lua_settop(L, top);
}

const char *modules_push_project(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT_ERROR);
    const char *err = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT);
    return err;
}

int modules_check_lib_dir(const char *dir, char *why, size_t n) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(why, n, "--lib %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, n, "--lib %s is not a directory (--lib names a directory of modules; "
                         "require \"name\" finds DIR/name.lua)", dir);
        return -1;
    }
    return 0;
}

/* The nearest directory at or above `start` that holds the project file; 1 when found. */
int modules_find_root(const char *start, char *root, size_t n) {
    char dir[PATH_MAX], file[PATH_MAX + 16];
    if (realpath(start && *start ? start : ".", dir) == NULL) return 0;
    for (;;) {
        struct stat st;
        snprintf(file, sizeof file, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, "vsrun.json");
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            snprintf(root, n, "%s", dir);
            return 1;
        }
        char *slash = strrchr(dir, '/');
        if (slash == NULL || strcmp(dir, "/") == 0) return 0;
        if (slash == dir) slash[1] = '\0'; else *slash = '\0';
    }
}

/* Reads and checks root/vsrun.json (lua/vsrun/project.lua); pushes the project table, or
 * nil after recording why it is unusable (every require of a file module then says so). */
static int modules_parse_project(lua_State *L) {
    const char *root = lua_tostring(L, 1);
    lua_pushfstring(L, "%s/vsrun.json", root);
    const char *file = lua_tostring(L, -1);
    FILE *f = fopen(file, "rb");
    if (f == NULL) return luaL_error(L, "cannot read the project file %s: %s", file, strerror(errno));
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t got, total = 0;
    char chunk[4096];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && total < (1u << 20)) {
        luaL_addlstring(&b, chunk, got);
        total += got;
    }
    fclose(f);
    if (total >= (1u << 20)) return luaL_error(L, "the project file %s is larger than 1 MB", file);
    luaL_pushresult(&b);
    modules_require(L, "vsrun.project");
    lua_getfield(L, -1, "parse");
    lua_pushvalue(L, -3);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 3, 1);
    return 1;
}

static void modules_load_project(lua_State *L, const struct vm_options *o) {
    char root[PATH_MAX];
    const char *start = o->script_dir;
    if (!modules_find_root(start, root, sizeof root)) {
        lua_pushnil(L);
        return;
    }
    lua_pushcfunction(L, modules_parse_project);
    lua_pushstring(L, root);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_setfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT_ERROR);
        lua_pushnil(L);
    }
}

/* Sets package.path by the rule above and pushes the templates of the C modules the same
 * search would find (for the file searcher's "is a C module" hint). */
static void modules_set_path(lua_State *L, int package, const struct vm_options *o) {
    modules_load_project(L, o);
    int project = lua_gettop(L);
    lua_pushvalue(L, project);
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_PROJECT);
    luaL_Buffer b, c;
    luaL_buffinit(L, &b);
    if (lua_istable(L, project)) {
        lua_getfield(L, project, "libs");
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            const char *dir = lua_tostring(L, -1);
            lua_pop(L, 1);
            modules_add_path(&b, dir);
        }
        lua_pop(L, 2);
    } else {
        modules_add_path(&b, o->script_dir);
    }
    for (int i = 0; i < o->n_lib_dirs; i++) modules_add_path(&b, o->lib_dirs[i]);
    if (!o->strict) {
        modules_add_path_list(&b, getenv("VSRUN_PATH"));
        modules_add_installed_lib(&b);
    }
    if (lua_istable(L, project)) {
        lua_getfield(L, project, "rocks");
        lua_pushfstring(L, "%s/share/lua/5.4", lua_tostring(L, -1));
        modules_add_path(&b, lua_tostring(L, -1));
        lua_pop(L, 2);
    }
    if (!o->strict) {
        const char *lp = getenv("LUA_PATH_5_4");
        if (lp == NULL) lp = getenv("LUA_PATH");
        if (lp) { luaL_addstring(&b, lp); luaL_addchar(&b, ';'); }
    }
    luaL_pushresult(&b);
    size_t plen;
    const char *path = lua_tolstring(L, -1, &plen);
    if (plen > 0 && path[plen - 1] == ';') { /* a trailing ';' would be an empty template */
        lua_pushlstring(L, path, plen - 1);
        lua_remove(L, -2);
    }
    lua_setfield(L, package, "path");
    /* where a C module would have come from: the same directories, and the rocks tree's lib/ */
    luaL_buffinit(L, &c);
    if (lua_istable(L, project)) {
        lua_getfield(L, project, "libs");
        for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            const char *dir = lua_tostring(L, -1);
            lua_pop(L, 1);
            modules_add_cpath(&c, dir);
        }
        lua_pop(L, 2);
        lua_getfield(L, project, "rocks");
        lua_pushfstring(L, "%s/lib/lua/5.4", lua_tostring(L, -1));
        modules_add_cpath(&c, lua_tostring(L, -1));
        lua_pop(L, 2);
    } else {
        modules_add_cpath(&c, o->script_dir);
    }
    for (int i = 0; i < o->n_lib_dirs; i++) modules_add_cpath(&c, o->lib_dirs[i]);
    luaL_pushresult(&c);
    lua_remove(L, project);
}

/* The package table scripts see: its own `loaded` (the standard libraries, then what the
 * script requires), no C loading, searchers preload / built-in (by policy) / Lua files. */
static void modules_setup_package(lua_State *L, const struct vm_options *o) {
    lua_getglobal(L, "package");
    int package = lua_gettop(L);
    lua_getfield(L, package, "searchpath");
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_SEARCHPATH);
    lua_pushvalue(L, package);
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_SCRIPT_PACKAGE);
    lua_pushliteral(L, "");
    lua_setfield(L, package, "cpath");
    lua_pushnil(L);
    lua_setfield(L, package, "loadlib");
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushnil(L);
    while (lua_next(L, -2)) {   /* only the standard libraries are loaded so far */
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -5);
    }
    lua_pop(L, 1);
    lua_setfield(L, package, "loaded");
    modules_set_path(L, package, o);  /* after the copy: it loads json and vsrun.project */
    int c_templates = lua_gettop(L);
    lua_getfield(L, package, "searchers");
    lua_createtable(L, 3, 0);
    lua_rawgeti(L, -2, 1);      /* Lua's preload searcher */
    lua_rawseti(L, -2, 1);
    lua_pushcfunction(L, modules_search_builtin);
    lua_rawseti(L, -2, 2);
    lua_pushvalue(L, package);
    lua_pushvalue(L, c_templates);
    lua_pushcclosure(L, modules_search_file, 2);
    lua_rawseti(L, -2, 3);
    lua_setfield(L, package, "searchers");
    lua_pop(L, 1);
    if (o->strict) {  /* a file-existence probe, and nothing a strict script needs */
        lua_pushnil(L);
        lua_setfield(L, package, "searchpath");
    }
    lua_pop(L, 2);
}

/* The built-in modules' environment: the globals as they are now, with private copies of
 * the library tables; `_G` and `package` are the script's own, `require` is modules_require. */
static void modules_make_env(lua_State *L) {
    static const char *const libs[] = {"coroutine", "table", "io", "os", "string", "math", "utf8", NULL};
    lua_newtable(L);
    int env = lua_gettop(L);
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, env);
    }
    lua_pop(L, 1);
    for (const char *const *lib = libs; *lib; lib++) {
        if (lua_getfield(L, env, *lib) != LUA_TTABLE) { lua_pop(L, 1); continue; }
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, -3)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
        lua_setfield(L, env, *lib);
        lua_pop(L, 1);
    }
    lua_pushcfunction(L, modules_require_lua);
    lua_setfield(L, env, "require");
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_ENV);
}

/* The string library is every string's metatable __index: read-only, so no script code
 * can change what ("%d"):format(n) or s:match(p) do for the built-in modules. */
static void modules_freeze_strings(lua_State *L) {
    lua_getglobal(L, "string");
    modules_freeze(L, -1, "the string library");
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_getmetatable(L, -3);            /* the string library's hidden fields: one lookup */
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "__index");
    lua_pop(L, 1);
    lua_pushliteral(L, "the string metatable is read-only");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 3);
}

void modules_open(lua_State *L, const struct vm_options *o) {
    lua_pushlightuserdata(L, (void *)o);
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_OPTIONS);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, MODULES_FROZEN);
    modules_make_env(L);  /* first: reading the project file runs vsrun.project in it */
    modules_setup_package(L, o);
    lua_pushcfunction(L, modules_rawset);
    lua_setglobal(L, "rawset");
    modules_freeze_strings(L);
    if (o->strict) {  /* --strict: the require path and searchers are fixed */
        lua_getglobal(L, "package");
        lua_getfield(L, -1, "searchers");
        modules_freeze(L, -1, "package.searchers (under --strict)");
        modules_freeze(L, -2, "package (under --strict)");
        lua_pop(L, 2);
    }
}
