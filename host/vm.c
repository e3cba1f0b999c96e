/* The script's Lua state. See vm.h. */
#include "vm.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "modules.h"
#include "util.h"

#define VM_HOOK_COUNT 1000

struct vm {
    lua_State *L;
    struct vm_options opts;
    size_t used, peak, cap;
    int refused;              /* the last growth was refused and nothing has grown since */
    int ever_refused;         /* some growth was refused */
    enum vm_limit limit;
    double deadline;          /* CLOCK_MONOTONIC seconds; 0 = none */
};

static volatile sig_atomic_t vm_interrupted;

/* Counting allocator: refuses growth past the cap so Lua raises a memory error.
 * When an allocation fails Lua runs an emergency full GC and asks once more; only a
 * second refusal in a row (nothing grew in between, as the GC only frees) means the live
 * data really does not fit, so only then is the limit marked. A first refusal that Lua
 * cannot retry (while the state is built or inside a GC step) is an ordinary memory error. */
static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    struct vm *vm = ud;
    if (ptr == NULL) osize = 0;
    if (nsize == 0) {
        free(ptr);
        vm->used -= osize;
        return NULL;
    }
    if (nsize > osize && vm->used + (nsize - osize) > vm->cap) {
        if (vm->refused) vm->limit = VM_LIMIT_MEMORY;
        vm->refused = vm->ever_refused = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) return NULL;
    if (nsize > osize) vm->refused = 0;
    vm->used = vm->used - osize + nsize;
    if (vm->used > vm->peak) vm->peak = vm->used;
    return p;
}

struct vm *vm_from_lua(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

const struct vm_options *vm_options(lua_State *L) { return &vm_from_lua(L)->opts; }
lua_State *vm_lua(struct vm *vm) { return vm->L; }
enum vm_limit vm_limit_hit(struct vm *vm) { return vm->limit; }

/* lauxlib's buffers (string.rep, table.concat, ...) call the allocator without Lua's GC
 * retry and raise the plain string "not enough memory"; when that ends the script after
 * the cap refused an allocation, the memory limit is what ended it. */
enum vm_limit vm_limit_for_error(struct vm *vm, lua_State *L, int idx) {
    if (vm->limit == VM_LIMIT_NONE && vm->ever_refused && lua_type(L, idx) == LUA_TSTRING &&
        strncmp(lua_tostring(L, idx), "not enough memory", 17) == 0)
        vm->limit = VM_LIMIT_MEMORY;
    return vm->limit;
}
size_t vm_memory_used(struct vm *vm) { return vm->used; }
size_t vm_memory_peak(struct vm *vm) { return vm->peak; }
size_t vm_memory_cap(struct vm *vm) { return vm->cap; }

static void vm_hook(lua_State *L, lua_Debug *ar);

/* Once a limit is hit, every coroutine that runs again fails at its next instruction, so a
 * pcall in the script cannot swallow the limit. */
static int vm_raise_limit(lua_State *L, struct vm *vm) {
    lua_sethook(L, vm_hook, LUA_MASKCOUNT, 1);
    if (vm->limit == VM_LIMIT_INTERRUPT) return luaL_error(L, "interrupted");
    if (vm->limit == VM_LIMIT_MEMORY) return luaL_error(L, "memory limit exceeded");
    char secs[32]; /* luaL_error has no %g */
    snprintf(secs, sizeof secs, "%g", vm->opts.timeout_sec);
    return luaL_error(L, "timeout: the script ran longer than --timeout %s s", secs);
}

void vm_check_limits(lua_State *L) {
    struct vm *vm = vm_from_lua(L);
    if (vm_interrupted && vm->limit == VM_LIMIT_NONE) vm->limit = VM_LIMIT_INTERRUPT;
    if (vm->deadline > 0 && vm->limit == VM_LIMIT_NONE && util_monotonic() >= vm->deadline)
        vm->limit = VM_LIMIT_TIMEOUT;
    if (vm->limit != VM_LIMIT_NONE) vm_raise_limit(L, vm);
}

static void vm_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    vm_check_limits(L);
}

long vm_deadline_ms(lua_State *L) {
    struct vm *vm = vm_from_lua(L);
    if (vm->deadline <= 0) return -1;
    double left = vm->deadline - util_monotonic();
    return left <= 0 ? 0 : (long)(left * 1000.0) + 1;
}

void vm_start_clock(struct vm *vm) {
    if (vm->opts.timeout_sec > 0) vm->deadline = util_monotonic() + vm->opts.timeout_sec;
}

static void vm_on_sigint(int sig) {
    (void)sig;
    vm_interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C kills the process, as in lua.c */
}

int vm_interrupted_now(void) { return vm_interrupted != 0; }

void vm_install_sigint(void) { signal(SIGINT, vm_on_sigint); }

/* Message handler: error objects print through __tostring; a traceback is appended. */
static int vm_msgh(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int vm_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, vm_msgh);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

/* ---- chunk loading: text only, everywhere ---- */

int vm_load_embedded(lua_State *L, const char *name) { return modules_load_embedded(L, name); }

static int vm_load(lua_State *L) {  /* load(chunk [, name [, mode [, env]]]) forced to mode "t" */
    int has_env = lua_gettop(L) >= 4; /* an absent env must stay absent: load keeps _ENV then */
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    if (has_env) lua_pushvalue(L, 4);
    lua_call(L, has_env ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

static int vm_loadfile(lua_State *L) {
    const char *fname = luaL_optstring(L, 1, NULL);
    int env = !lua_isnone(L, 3) ? 3 : 0;
    if (luaL_loadfilex(L, fname, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

static int vm_dofile_k(lua_State *L, int status, lua_KContext ctx) {
    (void)status; (void)ctx;
    return lua_gettop(L) - 1;
}

static int vm_dofile(lua_State *L) {
    const char *fname = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK) return lua_error(L);
    lua_callk(L, 0, LUA_MULTRET, 0, vm_dofile_k);
    return vm_dofile_k(L, 0, 0);
}

static void vm_nil_field(lua_State *L, const char *table, const char *field) {
    if (lua_getglobal(L, table) == LUA_TTABLE) {
        lua_pushnil(L);
        lua_setfield(L, -2, field);
    }
    lua_pop(L, 1);
}

static void vm_open_libs(lua_State *L, const struct vm_options *o) {
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},         {LUA_LOADLIBNAME, luaopen_package},
        {LUA_COLIBNAME, luaopen_coroutine}, {LUA_TABLIBNAME, luaopen_table},
        {LUA_IOLIBNAME, luaopen_io},        {LUA_OSLIBNAME, luaopen_os},
        {LUA_STRLIBNAME, luaopen_string},   {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},    {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->func; l++) {
        if (o->strict && strcmp(l->name, LUA_IOLIBNAME) == 0) continue;
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "load");
    lua_pushcclosure(L, vm_load, 1);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, vm_loadfile);
    lua_setglobal(L, "loadfile");
    lua_pushcfunction(L, vm_dofile);
    lua_setglobal(L, "dofile");
    vm_nil_field(L, "string", "dump"); /* binary chunks can never be loaded anyway */
    if (o->strict) {
        static const char *const os_removed[] = {"execute", "remove", "rename", "exit", "getenv", "tmpname", "setlocale", NULL};
        for (const char *const *f = os_removed; *f; f++) vm_nil_field(L, "os", *f);
        lua_pushnil(L); lua_setglobal(L, "loadfile");
        lua_pushnil(L); lua_setglobal(L, "dofile");
    }
    /* require, the built-in modules' environment, read-only tables: host/modules.c */
    modules_open(L, o);
}

/* The state's set-up, run under lua_pcall (as lua.c's pmain) so a cap too small for the
 * libraries is an error, not an abort. */
static int vm_setup(lua_State *L) {
    lua_gc(L, LUA_GCGEN, 0, 0);
    /* Set before any coroutine exists: threads copy their creator's hook. */
    lua_sethook(L, vm_hook, LUA_MASKCOUNT, VM_HOOK_COUNT);
    vm_open_libs(L, vm_options(L));
    /* the project's defaults (vsrun.json) stand in for limits the command line did not give */
    struct vm *vm = vm_from_lua(L);
    double timeout_sec, max_memory_mb;
    modules_project_defaults(L, &timeout_sec, &max_memory_mb);
    if (vm->opts.timeout_sec <= 0 && timeout_sec > 0) vm->opts.timeout_sec = timeout_sec;
    if (vm->opts.max_memory == 0 && max_memory_mb > 0) vm->cap = (size_t)(max_memory_mb * 1024 * 1024);
    return 0;
}

struct vm *vm_new(const struct vm_options *opts) {
    struct vm *vm = calloc(1, sizeof *vm);
    if (vm == NULL) return NULL;
    vm->opts = *opts;
    vm->cap = opts->max_memory ? opts->max_memory : VM_DEFAULT_MAX_MEMORY;
    vm->L = lua_newstate(vm_alloc, vm);
    if (vm->L == NULL) { free(vm); return NULL; }
    lua_atpanic(vm->L, NULL);
    lua_pushcfunction(vm->L, vm_setup);
    if (lua_pcall(vm->L, 0, 0, 0) != LUA_OK) {
        vm_free(vm);
        return NULL;
    }
    return vm;
}

void vm_free(struct vm *vm) {
    if (vm == NULL) return;
    lua_close(vm->L);
    free(vm);
}
