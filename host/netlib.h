/* The network library: everything that needs libcurl, OpenSSL, libmicrohttpd, SQLite or
 * libpq is built into vsrun-net.so (Makefile NET_SRC), which the executable opens on first
 * use (netlib.c), so a script without network I/O never loads those libraries. The library
 * hands the executable one table, struct vsrun_net (net_entry.c); it calls back into the
 * executable's exported symbols (the Lua API, vm_*, util_*, ...). See docs/internals.md. */
#ifndef VSRUN_NETLIB_H
#define VSRUN_NETLIB_H
#include <stddef.h>
#include <lauxlib.h>

#define NETLIB_FILE "vsrun-net.so"
#define NETLIB_SYMBOL "vsrun_net"   /* the table's name in the library */
#define NETLIB_ERR_MAX 600

struct cli_command;   /* commands.h */
struct sandbox_opts;  /* sandbox.h */
struct sandbox_run;

struct vsrun_net {
    const char *stamp;                       /* NETLIB_STAMP of the build that made it */
    const luaL_Reg *modules;                 /* C modules: vsrun.http_core, vsrun.server, ... */
    const struct cli_command *commands;      /* vsrun test, auth, sandbox, serve, runs, deps */
    int (*check_allow_list)(const char *list, char *err, size_t errlen);   /* http_policy.h */
    int (*sandbox_take_option)(struct sandbox_opts *o, const char *name, const char *value,
                               const char *who);                            /* sandbox.h */
    struct sandbox_run *(*sandbox_start)(lua_State *L, const char *const *seed, int n_seed);
    void (*sandbox_stop)(struct sandbox_run *sr);
    void (*print_versions)(void);            /* libcurl's and OpenSSL's version lines */
    void (*shutdown)(void);                  /* at exit: curl_global_cleanup */
};

extern const struct vsrun_net vsrun_net;   /* net_entry.c, in the library */

/* The stamp both halves are compiled with: the sources' hash (build/gen/netlib_stamp.h) and
 * the sanitizer flavour, so a library from another build or another flavour is refused. */
#include "netlib_stamp.h"
#if defined(__SANITIZE_ADDRESS__)
#define NETLIB_FLAVOUR "asan"
#else
#define NETLIB_FLAVOUR "rel"
#endif
#define NETLIB_STAMP "vsrun-net " NETLIB_SOURCES_HASH " " NETLIB_FLAVOUR

/* The network library, opened on the first call (later calls return the same table), or
 * NULL with the reason in err: not installed beside the binary, unsafe permissions, or from
 * another build. */
const struct vsrun_net *netlib_load(char *err, size_t errlen);

/* The table if the library is already open, else NULL (nothing is loaded). */
const struct vsrun_net *netlib_loaded(void);

/* netlib_load for C callers outside Lua: prints "vsrun: ..." and returns NULL on failure. */
const struct vsrun_net *netlib_need(void);

#endif
