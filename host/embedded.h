/* Lua modules compiled into the binary as bytecode (generated from lua/ by host/tools/embed_lua.c). */
#ifndef VSRUN_EMBEDDED_H
#define VSRUN_EMBEDDED_H
#include <stddef.h>

struct embedded_module {
    const char *name;       /* "vsrun.testing" */
    const char *chunkname;  /* "@lua/vsrun/testing.lua", so tracebacks name real files */
    const char *source;     /* precompiled bytecode (host/tools/embed_lua.c) */
    size_t len;
};

extern const struct embedded_module embedded_modules[];

#endif
