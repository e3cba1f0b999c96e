/* What a run asks of its Lua state (vm.c builds the state, modules.c applies the module
 * policy): a header of its own so modules.c needs no vm.h, and vm.c may include modules.h. */
#ifndef VSRUN_VM_OPTIONS_H
#define VSRUN_VM_OPTIONS_H
#include <stddef.h>

#define VM_MAX_LIBS 32
#define VM_DEFAULT_MAX_MEMORY ((size_t)1024 * 1024 * 1024)  /* without --max-memory */

struct vm_options {
    int strict;               /* --strict: no io, os.execute/exit/getenv..., require limited, one connection */
    double timeout_sec;       /* --timeout; 0 = none */
    size_t max_memory;        /* bytes; 0 = default cap */
    const char *script_dir;   /* searched by require after the embedded modules (not in strict) */
    const char *lib_dirs[VM_MAX_LIBS];
    int n_lib_dirs;
    int verbose;              /* -v: request log on stderr */
    int quiet;                /* -q, --quiet: no progress line on a terminal */
    int dry_run;              /* --dry-run: PagerDuty writes are printed, not sent */
    int sandbox_mode;         /* 1 = --sandbox, 2 = vsrun test: vsrun.sandbox allowed, every
                                 connection is the sandbox */
    const char *allow_net;    /* --allow-net/VSRUN_ALLOW_NET "host[:port],..."; NULL = not given */
    const char *connection;   /* --connection NAME; NULL = the default connection */
};

#endif
