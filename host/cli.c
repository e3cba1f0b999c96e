/* Command-line parsing for script runs (one option table, see options.h), inputs and
 * subcommands. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "exitcodes.h"
#include "modules.h"
#include "netlib.h"
#include "sandbox.h"
#include "util.h"

#define CLI_WHO "vsrun"

/* Options ids: those of cli_shared_options, then the run's own. */
enum {
    CLI_TIMEOUT = 1, CLI_MAX_MEMORY, CLI_LIB, CLI_ALLOW_NET, CLI_STRICT, CLI_DRY_RUN, CLI_QUIET,
    CLI_SANDBOX_SEED,
    CLI_CODE = 100, CLI_INPUT_FILE, CLI_OUTPUT, CLI_CONNECTION, CLI_SANDBOX, CLI_VERBOSE,
};

const struct opt cli_shared_options[] = {
    {"--timeout", NULL, CLI_TIMEOUT, OPT_VALUE},
    {"--max-memory", NULL, CLI_MAX_MEMORY, OPT_VALUE},
    {"--lib", NULL, CLI_LIB, OPT_VALUE},
    {"--allow-net", NULL, CLI_ALLOW_NET, OPT_VALUE},
    {"--strict", NULL, CLI_STRICT, 0},
    {"--dry-run", NULL, CLI_DRY_RUN, 0},
    {"--quiet", "-q", CLI_QUIET, 0},
    SANDBOX_SEED_OPTIONS(CLI_SANDBOX_SEED),   /* of the in-process sandbox */
    {NULL, NULL, 0, 0},
};

static const struct opt run_options[] = {
    {"-e", NULL, CLI_CODE, OPT_VALUE},
    {"--input-file", NULL, CLI_INPUT_FILE, OPT_VALUE},
    {"--output", NULL, CLI_OUTPUT, OPT_VALUE},
    {"--connection", NULL, CLI_CONNECTION, OPT_VALUE},
    {"--sandbox", NULL, CLI_SANDBOX, 0},
    {"--verbose", "-v", CLI_VERBOSE, 0},
    {NULL, NULL, 0, 0},
};

/* Adds a "host[:port],..." list to run->allow_net (from --allow-net or VSRUN_ALLOW_NET). */
static int cli_allow_net(struct cli_run *run, const char *who, const char *from, const char *list) {
    char err[300];
    const struct vsrun_net *net = netlib_need();   /* the run will use http */
    if (net == NULL) return EXIT_USAGE;
    if (net->check_allow_list(list, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s%s\n(try 'vsrun help run')\n", who, err, from);
        return EXIT_USAGE;
    }
    size_t old = run->allow_net ? strlen(run->allow_net) : 0;
    char *joined = malloc(old + strlen(list) + 2);
    if (joined == NULL) return util_usage(who, "out of memory");
    snprintf(joined, old + strlen(list) + 2, "%s%s%s", old ? run->allow_net : "", old ? "," : "", list);
    free(run->allow_net);
    run->allow_net = joined;
    run->vm.allow_net = joined;
    return EXIT_OK;
}

int cli_allow_net_env(struct cli_run *run, const char *who) {
    const char *env = getenv("VSRUN_ALLOW_NET");
    return env && *env ? cli_allow_net(run, who, " (in VSRUN_ALLOW_NET)", env) : EXIT_OK;
}

int cli_take_shared_option(struct cli_run *run, const struct opt_parser *p) {
    const char *value = p->value;
    double d;
    switch (p->opt->id) {
    case CLI_TIMEOUT:
        if (opt_positive(p, value, 1e9, &d)) return EXIT_USAGE;
        run->vm.timeout_sec = d;
        break;
    case CLI_MAX_MEMORY:
        if (opt_positive(p, value, 1e9, &d)) return EXIT_USAGE;
        if (d > 1024 * 1024) return util_usage(p->who, "--max-memory %s MB is more than this machine can have", value);
        run->vm.max_memory = (size_t)(d * 1024 * 1024);
        break;
    case CLI_LIB:
        if (run->vm.n_lib_dirs >= VM_MAX_LIBS) return util_usage(p->who, "too many --lib options");
        {
            char why[PATH_MAX + 200];
            if (modules_check_lib_dir(value, why, sizeof why) != 0) return util_usage(p->who, "%s", why);
        }
        run->vm.lib_dirs[run->vm.n_lib_dirs++] = value;
        break;
    case CLI_ALLOW_NET:
        return cli_allow_net(run, p->who, "", value);
    case CLI_STRICT: run->vm.strict = 1; break;
    case CLI_DRY_RUN: run->vm.dry_run = 1; break;
    case CLI_QUIET: run->vm.quiet = 1; break;
    case CLI_SANDBOX_SEED: {
        struct sandbox_opts scratch;   /* checked now, so a bad value is a usage error before any work */
        memset(&scratch, 0, sizeof scratch);
        const struct vsrun_net *net = netlib_need();   /* the run will start a sandbox */
        if (net == NULL || net->sandbox_take_option(&scratch, p->opt->name, value, p->who) != 1) return EXIT_USAGE;
        if (run->n_sandbox_args + 2 > CLI_MAX_SANDBOX_ARGS) return util_usage(p->who, "too many sandbox options");
        run->sandbox_args[run->n_sandbox_args++] = p->opt->name;
        run->sandbox_args[run->n_sandbox_args++] = value;
        break;
    }
    default:
        return util_usage(p->who, "option '%s' is not for this command", p->opt->name);
    }
    return EXIT_OK;
}

static int cli_parse_run_options(int argc, char **argv, struct cli_run *run);

int cli_parse_run(int argc, char **argv, struct cli_run *run) {
    memset(run, 0, sizeof *run);
    int rc = cli_parse_run_options(argc, argv, run);
    if (rc == EXIT_OK && !run->help) rc = cli_allow_net_env(run, CLI_WHO);
    if (rc != EXIT_OK) cli_free_run(run);
    return rc;
}

static int cli_parse_run_options(int argc, char **argv, struct cli_run *run) {
    struct opt_parser p;
    opt_init(&p, CLI_WHO, argc, argv, run_options, cli_shared_options);
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        switch (id) {
        case OPT_ERROR: return EXIT_USAGE;
        case OPT_HELP: run->help = 1; return EXIT_OK;
        case OPT_ARG:
            if (run->script == NULL && run->code == NULL) run->script = p.value;
            else if (run->n_inputs >= CLI_MAX_INPUTS) return util_usage(CLI_WHO, "too many inputs (more than %d)", CLI_MAX_INPUTS);
            else run->inputs[run->n_inputs++] = p.value;
            break;
        case CLI_CODE: run->code = p.value; break;
        case CLI_INPUT_FILE: run->input_file = p.value; break;
        case CLI_OUTPUT: run->output = p.value; break;
        case CLI_CONNECTION: run->vm.connection = p.value; break;
        case CLI_SANDBOX: run->sandbox = run->vm.sandbox_mode = 1; break;
        case CLI_VERBOSE: run->vm.verbose = 1; break;
        default:
            if (cli_take_shared_option(run, &p) != EXIT_OK) return EXIT_USAGE;
        }
    }
    if (run->code && run->script) {
        /* with -e, what looked like a script is the first input */
        memmove(run->inputs + 1, run->inputs, sizeof run->inputs[0] * (size_t)run->n_inputs);
        run->inputs[0] = run->script;
        run->n_inputs++;
        run->script = NULL;
    }
    if (run->script == NULL && run->code == NULL) return util_usage(CLI_WHO, "no script given");
    if (run->n_sandbox_args && !run->sandbox)
        return util_usage(CLI_WHO, "%s is a sandbox option: add --sandbox", run->sandbox_args[0]);
    for (int i = 0; i < run->n_inputs; i++) {
        const char *eq = strchr(run->inputs[i], '=');
        if (eq == NULL) return util_usage(CLI_WHO, "input '%s' is not name=value", run->inputs[i]);
        if (eq == run->inputs[i]) return util_usage(CLI_WHO, "input '%s' has an empty name", run->inputs[i]);
    }
    if (run->script) {
        FILE *f = fopen(run->script, "r");
        if (f == NULL) {
            fprintf(stderr, "vsrun: cannot open %s: %s\n", run->script, strerror(errno));
            return EXIT_USAGE;
        }
        fclose(f);
        char *copy = strdup(run->script);
        run->script_dir = copy ? strdup(dirname(copy)) : NULL;
        free(copy);
        run->vm.script_dir = run->script_dir;
    }
    return EXIT_OK;
}

void cli_free_run(struct cli_run *run) {
    free(run->script_dir);
    run->script_dir = NULL;
    free(run->allow_net);
    run->allow_net = NULL;
    run->vm.allow_net = NULL;
}

#define CLI_MAX_INPUT_FILE ((size_t)256 << 20)

struct cli_inputs {
    struct cli_run *run;
    FILE *file;               /* --input-file, opened by the caller (closed there too) */
    const char *file_name;
};

/* Reads the whole file into a Lua string (counted against --max-memory); nil after an
 * error message. */
static int cli_read_input_file(lua_State *L, struct cli_inputs *in) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t total = 0, n;
    do {
        char *p = luaL_prepbuffsize(&b, LUAL_BUFFERSIZE);
        n = fread(p, 1, LUAL_BUFFERSIZE, in->file);
        luaL_addsize(&b, n);
        total += n;
        if (total > CLI_MAX_INPUT_FILE) {
            fprintf(stderr, "vsrun: --input-file %s is larger than 256 MB\n", in->file_name);
            return 0;
        }
    } while (n == LUAL_BUFFERSIZE);
    if (ferror(in->file)) {
        fprintf(stderr, "vsrun: cannot read --input-file %s: %s\n", in->file_name, strerror(errno));
        return 0;
    }
    luaL_pushresult(&b);
    return 1;
}

/* Only a JSON object can hold named inputs; an array (even []) or a scalar cannot. */
static int cli_is_json_object(const char *text, size_t len) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    return i < len && text[i] == '{';
}

/* Decodes the --input-file text (on the stack top) into a table, replacing the text;
 * 0 after an error message. A memory error is raised, not reported. */
static int cli_decode_inputs(lua_State *L, const char *name) {
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    if (!cli_is_json_object(text, len)) {
        fprintf(stderr, "vsrun: --input-file %s: expected a JSON object of inputs, like {\"name\": \"value\"}\n", name);
        return 0;
    }
    modules_require(L, "json");   /* the built-in, whatever the mode lets scripts require */
    lua_getfield(L, -1, "decode");
    lua_remove(L, -2);
    lua_insert(L, -2);
    int status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_ERRMEM || (status != LUA_OK && vm_limit_for_error(vm_from_lua(L), L, -1) != VM_LIMIT_NONE))
        return lua_error(L);
    if (status != LUA_OK) {
        fprintf(stderr, "vsrun: --input-file %s: invalid JSON: %s\n", name, lua_tostring(L, -1));
        return 0;
    }
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "vsrun: --input-file %s: expected a JSON object of inputs\n", name);
        return 0;
    }
    return 1;
}

/* The protected part of cli_build_inputs: returns the inputs table, or nil after an
 * error message. */
static int cli_inputs_protected(lua_State *L) {
    struct cli_inputs *in = lua_touserdata(L, 1);
    struct cli_run *run = in->run;
    if (in->file) {
        if (!cli_read_input_file(L, in) || !cli_decode_inputs(L, in->file_name)) return 0;
    } else {
        lua_createtable(L, 0, run->n_inputs);
    }
    for (int i = 0; i < run->n_inputs; i++) {
        const char *arg = run->inputs[i];
        const char *eq = strchr(arg, '=');
        lua_pushlstring(L, arg, (size_t)(eq - arg));
        if (lua_rawget(L, -2) != LUA_TNIL) {
            /* name which two sources gave it: an earlier name=value, or --input-file */
            int len = (int)(eq - arg), earlier = -1;
            for (int j = 0; j < i && earlier < 0; j++)
                if (strncmp(run->inputs[j], arg, (size_t)len) == 0 && run->inputs[j][len] == '=') earlier = j;
            if (earlier >= 0)
                fprintf(stderr, "vsrun: input '%.*s' is given twice: as name=value arguments %d and %d\n",
                        len, arg, earlier + 1, i + 1);
            else
                fprintf(stderr, "vsrun: input '%.*s' is given twice: in --input-file %s and as the argument %.*s=...\n",
                        len, arg, strcmp(run->input_file, "-") == 0 ? "(stdin)" : run->input_file, len, arg);
            return 0;
        }
        lua_pop(L, 1);
        lua_pushlstring(L, arg, (size_t)(eq - arg));
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
    return 1;
}

double cli_max_memory_mb(const struct vm_options *o) {
    double mb = (double)(o->max_memory ? o->max_memory : VM_DEFAULT_MAX_MEMORY) / (1024 * 1024);
    return round(mb * 1000) / 1000; /* the MB the user typed, not the byte count's last digits */
}

/* Built under lua_pcall (like lua.c's pmain), so inputs that do not fit under
 * --max-memory end in a message and exit 7, not an abort. */
int cli_build_inputs(lua_State *L, struct cli_run *run) {
    struct cli_inputs in = {run, NULL, NULL};
    if (run->input_file) {
        int from_stdin = strcmp(run->input_file, "-") == 0;
        in.file_name = from_stdin ? "(stdin)" : run->input_file;
        in.file = from_stdin ? stdin : fopen(run->input_file, "rb");
        if (in.file == NULL) {
            fprintf(stderr, "vsrun: cannot open --input-file %s: %s\n", run->input_file, strerror(errno));
            return EXIT_USAGE;
        }
    }
    lua_pushcfunction(L, cli_inputs_protected);
    lua_pushlightuserdata(L, &in);
    int status = lua_pcall(L, 1, 1, 0);
    if (in.file && in.file != stdin) fclose(in.file);
    if (status != LUA_OK) {
        struct vm *vm = vm_from_lua(L);
        if (status == LUA_ERRMEM || vm_limit_for_error(vm, L, -1) != VM_LIMIT_NONE) {
            fprintf(stderr, "vsrun: the inputs%s%s do not fit in --max-memory %g MB\n",
                    in.file_name ? " from --input-file " : "", in.file_name ? in.file_name : "",
                    cli_max_memory_mb(&run->vm));
            lua_pop(L, 1);
            return EXIT_LIMIT;
        }
        fprintf(stderr, "vsrun: cannot build the inputs: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return EXIT_USAGE;
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}
