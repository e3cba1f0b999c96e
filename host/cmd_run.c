/* vsrun [options] script.lua: runs a pipeline (the options and inputs are parsed in cli.c),
 * writes what it returns, and maps its error to the exit code. */
#include "cmd_run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "atomic_file.h"
#include "exitcodes.h"
#include "netlib.h"
#include "vm.h"

/* Exit code for an error value raised by the script. */
static int exit_code_for(lua_State *L, int idx, struct vm *vm) {
    if (vm_limit_for_error(vm, L, idx) != VM_LIMIT_NONE) return EXIT_LIMIT;
    if (lua_type(L, idx) != LUA_TTABLE) return EXIT_SCRIPT;
    lua_getfield(L, idx, "kind");
    const char *kind = lua_tostring(L, -1);
    int code = EXIT_SCRIPT;
    if (kind) {
        if (strcmp(kind, "reconnect_required") == 0) code = EXIT_RECONNECT;
        else if (strcmp(kind, "permission_denied") == 0) code = EXIT_PERMISSION;
        else if (strcmp(kind, "rate_limited") == 0) code = EXIT_RATE_LIMIT;
        else if (strcmp(kind, "config") == 0) code = EXIT_USAGE;   /* bad region, URL, vault key */
        else if (strcmp(kind, "network") == 0 || strcmp(kind, "timeout") == 0 || strcmp(kind, "tls") == 0)
            code = EXIT_NETWORK;
    }
    lua_pop(L, 1);
    return code;
}

static void print_limit_error(struct vm *vm, const struct vm_options *o) {
    switch (vm_limit_hit(vm)) {
    /* the limits in force: the command line's, else the project's defaults (vsrun.json) */
    case VM_LIMIT_MEMORY: {
        size_t cap = vm_memory_cap(vm);
        fprintf(stderr, "vsrun: memory limit exceeded (--max-memory %g MB%s)\n", (double)cap / (1024.0 * 1024.0),
                o->max_memory == 0 && cap != VM_DEFAULT_MAX_MEMORY ? ", the project's default" : "");
        break;
    }
    case VM_LIMIT_TIMEOUT:
        fprintf(stderr, "vsrun: timeout: the script ran longer than --timeout %g s%s\n",
                vm_options(vm_lua(vm))->timeout_sec, o->timeout_sec > 0 ? "" : ", the project's default");
        break;
    case VM_LIMIT_INTERRUPT:
        fprintf(stderr, "vsrun: interrupted\n");
        break;
    default:
        break;
    }
}

static void print_memory_too_small(const struct vm_options *o) {
    fprintf(stderr, "vsrun: --max-memory %g MB is too small to start a script (the libraries need about 0.1 MB)\n",
            cli_max_memory_mb(o));
}

/* Writes text to path atomically (see atomic_file.h), or to stdout when path is NULL. */
static int write_output(const char *path, const char *text, size_t len) {
    if (path == NULL) {
        fwrite(text, 1, len, stdout);
        fputc('\n', stdout);
        return fflush(stdout) == 0 ? 0 : -1;
    }
    if (atomic_file_write(path, text, len, "\n") == 0) return 0;
    fprintf(stderr, "vsrun: cannot write --output %s: %s\n", path, strerror(errno));
    return -1;
}

/* Runs the script (or -e code) through lua/vsrun/runner.lua. */
int run_script(struct cli_run *run) {
    struct vm *vm = vm_new(&run->vm);
    if (vm == NULL) {
        if (run->vm.max_memory) print_memory_too_small(&run->vm);
        else fprintf(stderr, "vsrun: out of memory\n");
        return EXIT_LIMIT;
    }
    lua_State *L = vm_lua(vm);
    int code = cli_build_inputs(L, run);
    if (code != EXIT_OK) { vm_free(vm); return code; }
    int inputs = lua_gettop(L);
    if (vm_load_embedded(L, "vsrun.runner") != LUA_OK || vm_pcall(L, 0, 1) != LUA_OK) {
        if (vm_limit_for_error(vm, L, -1) == VM_LIMIT_MEMORY) print_memory_too_small(&run->vm);
        else fprintf(stderr, "vsrun: internal error: %s\n", lua_tostring(L, -1));
        code = vm_limit_hit(vm) == VM_LIMIT_MEMORY ? EXIT_LIMIT : EXIT_SCRIPT;
        vm_free(vm);
        return code;
    }
    lua_getfield(L, -1, "run");
    lua_pushstring(L, run->code ? "code" : "file");
    lua_pushstring(L, run->code ? run->code : run->script);
    lua_pushvalue(L, inputs);
    /* --sandbox: the simulator is in the network library, loaded before the script starts */
    const struct vsrun_net *net = run->sandbox ? netlib_need() : NULL;
    if (run->sandbox && net == NULL) {
        vm_free(vm);
        return EXIT_USAGE;
    }
    struct sandbox_run *sandbox = net ? net->sandbox_start(L, run->sandbox_args, run->n_sandbox_args) : NULL;
    vm_start_clock(vm);
    int status = vm_pcall(L, 3, 4);
    if (status != LUA_OK) {
        if (vm_limit_for_error(vm, L, -1) != VM_LIMIT_NONE) print_limit_error(vm, &run->vm);
        else fprintf(stderr, "vsrun: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
        code = vm_limit_hit(vm) != VM_LIMIT_NONE ? EXIT_LIMIT : EXIT_SCRIPT;
    } else if (lua_toboolean(L, -4)) {
        size_t len;
        const char *text = lua_tolstring(L, -3, &len);
        if (text && write_output(run->output, text, len) != 0) code = EXIT_SCRIPT;
    } else if (strcmp(lua_tostring(L, -3), "syntax") == 0) {
        fprintf(stderr, "vsrun: %s\n", lua_tostring(L, -2));
        code = EXIT_SCRIPT;
    } else {
        code = exit_code_for(L, -2, vm);
        if (vm_limit_hit(vm) != VM_LIMIT_NONE) print_limit_error(vm, &run->vm);
        else fprintf(stderr, "vsrun: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    }
    if (sandbox) net->sandbox_stop(sandbox);
    vm_free(vm);
    return code;
}
