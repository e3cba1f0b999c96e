/* The Lua state a script runs in: counting allocator with a cap, libraries, embedded
 * modules, require path, strict mode, time limit and Ctrl-C handling. */
#ifndef VSRUN_VM_H
#define VSRUN_VM_H
#include <stddef.h>
#include <lua.h>

#include "vm_options.h"

enum vm_limit { VM_LIMIT_NONE, VM_LIMIT_TIMEOUT, VM_LIMIT_MEMORY, VM_LIMIT_INTERRUPT };

struct vm;

/* NULL only if out of memory (or the max_memory cap is too small for the libraries). */
struct vm *vm_new(const struct vm_options *opts);
void vm_free(struct vm *vm);
lua_State *vm_lua(struct vm *vm);
struct vm *vm_from_lua(lua_State *L);
const struct vm_options *vm_options(lua_State *L);

/* Protected call with a traceback message handler; returns a lua status. On error the
 * message (already including the traceback) is on the stack top. */
int vm_pcall(lua_State *L, int nargs, int nresults);

/* Starts the --timeout clock; call right before the script starts. */
void vm_start_clock(struct vm *vm);
/* Which limit ended the script, if any. */
enum vm_limit vm_limit_hit(struct vm *vm);
/* Like vm_limit_hit, for a script that ended with the error value at idx: a memory
 * error from a refused allocation Lua could not retry counts as the memory limit. */
enum vm_limit vm_limit_for_error(struct vm *vm, lua_State *L, int idx);
/* Milliseconds until the deadline (or -1 when there is none); I/O waits are capped by it. */
long vm_deadline_ms(lua_State *L);
/* Raises the limit error if a limit was hit (call from C loops that wait). */
void vm_check_limits(lua_State *L);
size_t vm_memory_used(struct vm *vm);
size_t vm_memory_peak(struct vm *vm);
size_t vm_memory_cap(struct vm *vm);   /* bytes: --max-memory, the project's default or 1024 MB */

/* Whether Ctrl-C was pressed (for C waits that must not raise while they hold a resource). */
int vm_interrupted_now(void);
/* Ctrl-C: the first SIGINT stops the script at the next instruction check. */
void vm_install_sigint(void);

/* Loads embedded module `name` (e.g. "vsrun.runner") onto the stack; 0 on success. */
int vm_load_embedded(lua_State *L, const char *name);

#endif
