/* Command-line parsing for script runs, inputs and subcommands. */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "commands.h"
#include "exitcodes.h"

static int cli_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "vsrun: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try 'vsrun --help')\n");
    return EXIT_USAGE;
}

static int cli_positive(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end || !(d > 0) || d > 1e9) {
        fprintf(stderr, "vsrun: %s needs a positive number, got '%s'\n(try 'vsrun --help')\n", opt, s);
        return -1;
    }
    *out = d;
    return 0;
}

/* Options that take a value; "--name=value" is accepted too. */
static const char *const value_options[] = {
    "-e", "--input-file", "--output", "--connection", "--timeout", "--max-memory", "--lib",
    "--incidents", "--seed", "--token-ttl", "--rate-limit", NULL};
static const char *const sandbox_value_options[] = {"--incidents", "--seed", "--token-ttl", "--rate-limit", NULL};

static int cli_in(const char *const *list, const char *s) {
    for (; *list; list++) if (strcmp(*list, s) == 0) return 1;
    return 0;
}

int cli_parse_run(int argc, char **argv, struct cli_run *run) {
    memset(run, 0, sizeof *run);
    int options_done = 0;
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) { options_done = 1; continue; }
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            char name[64];
            const char *value = NULL;
            const char *eq = strchr(arg, '=');
            size_t nlen = eq && arg[1] == '-' ? (size_t)(eq - arg) : strlen(arg);
            if (nlen >= sizeof name) return cli_usage("unknown option '%s'", arg);
            memcpy(name, arg, nlen);
            name[nlen] = '\0';
            if (cli_in(value_options, name)) {
                if (eq && arg[1] == '-') value = eq + 1;
                else if (i + 1 < argc) value = argv[++i];
                else return cli_usage("option '%s' needs a value", name);
            } else if (eq && arg[1] == '-') {
                return cli_usage("option '%s' takes no value", name);
            }
            double d;
            if (strcmp(name, "-e") == 0) run->code = value;
            else if (strcmp(name, "--input-file") == 0) run->input_file = value;
            else if (strcmp(name, "--output") == 0) run->output = value;
            else if (strcmp(name, "--connection") == 0) run->vm.connection = value;
            else if (strcmp(name, "--timeout") == 0) {
                if (cli_positive(name, value, &d)) return EXIT_USAGE;
                run->vm.timeout_sec = d;
            } else if (strcmp(name, "--max-memory") == 0) {
                if (cli_positive(name, value, &d)) return EXIT_USAGE;
                if (d > 1024 * 1024) return cli_usage("--max-memory %s MB is more than this machine can have", value);
                run->vm.max_memory = (size_t)(d * 1024 * 1024);
            } else if (strcmp(name, "--lib") == 0) {
                if (run->vm.n_lib_dirs >= VM_MAX_LIBS) return cli_usage("too many --lib options%s", "");
                run->vm.lib_dirs[run->vm.n_lib_dirs++] = value;
            } else if (cli_in(sandbox_value_options, name)) {
                if (run->n_sandbox_args + 2 > CLI_MAX_SANDBOX_ARGS) return cli_usage("too many sandbox options%s", "");
                run->sandbox_args[run->n_sandbox_args++] = argv[i - (eq ? 0 : 1)];
                if (!eq) run->sandbox_args[run->n_sandbox_args++] = value;
            } else if (strcmp(name, "--dry-run") == 0) run->vm.dry_run = 1;
            else if (strcmp(name, "--strict") == 0) run->vm.strict = 1;
            else if (strcmp(name, "--sandbox") == 0) run->sandbox = run->vm.sandbox_mode = 1;
            else if (strcmp(name, "-v") == 0 || strcmp(name, "--verbose") == 0) run->vm.verbose = 1;
            else if (strcmp(name, "-q") == 0 || strcmp(name, "--quiet") == 0) run->vm.quiet = 1;
            else return cli_usage("unknown option '%s'", arg);
            continue;
        }
        if (run->script == NULL && run->code == NULL) {
            run->script = arg;
            continue;
        }
        if (run->n_inputs >= CLI_MAX_INPUTS) return cli_usage("too many inputs (more than %s)", "256");
        run->inputs[run->n_inputs++] = arg;
    }
    if (run->code && run->script) {
        /* with -e, what looked like a script is the first input */
        memmove(run->inputs + 1, run->inputs, sizeof run->inputs[0] * (size_t)run->n_inputs);
        run->inputs[0] = run->script;
        run->n_inputs++;
        run->script = NULL;
    }
    if (run->script == NULL && run->code == NULL) return cli_usage("no script given%s", "");
    if (run->n_sandbox_args && !run->sandbox)
        return cli_usage("%s is a sandbox option: add --sandbox", run->sandbox_args[0]);
    for (int i = 0; i < run->n_inputs; i++) {
        const char *eq = strchr(run->inputs[i], '=');
        if (eq == NULL) return cli_usage("input '%s' is not name=value", run->inputs[i]);
        if (eq == run->inputs[i]) return cli_usage("input '%s' has an empty name", run->inputs[i]);
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
}

static char *cli_read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap > (size_t)256 << 20) { free(buf); errno = EFBIG; return NULL; }
        char *nb = realloc(buf, cap *= 2);
        if (!nb) { free(buf); buf = NULL; }
        else buf = nb;
    }
    if (buf && ferror(f)) { free(buf); return NULL; }
    *len = n;
    return buf;
}

/* Decodes the --input-file text with the json module into a table on the stack. */
static int cli_decode_inputs(lua_State *L, const char *name, const char *text, size_t len) {
    lua_getglobal(L, "require");
    lua_pushliteral(L, "json");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) return -1;
    lua_getfield(L, -1, "decode");
    lua_remove(L, -2);
    lua_pushlstring(L, text, len);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "vsrun: --input-file %s: invalid JSON: %s\n", name, lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    if (!lua_istable(L, -1) || lua_rawlen(L, -1) > 0) {
        fprintf(stderr, "vsrun: --input-file %s: expected a JSON object of inputs\n", name);
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

int cli_build_inputs(lua_State *L, struct cli_run *run) {
    if (run->input_file) {
        int from_stdin = strcmp(run->input_file, "-") == 0;
        FILE *f = from_stdin ? stdin : fopen(run->input_file, "rb");
        if (f == NULL) {
            fprintf(stderr, "vsrun: cannot open --input-file %s: %s\n", run->input_file, strerror(errno));
            return -1;
        }
        size_t len = 0;
        char *text = cli_read_all(f, &len);
        if (!from_stdin) fclose(f);
        if (text == NULL) {
            fprintf(stderr, "vsrun: cannot read --input-file %s: %s\n", run->input_file, strerror(errno));
            return -1;
        }
        int rc = cli_decode_inputs(L, from_stdin ? "(stdin)" : run->input_file, text, len);
        free(text);
        if (rc != 0) return -1;
    } else {
        lua_createtable(L, 0, run->n_inputs);
    }
    for (int i = 0; i < run->n_inputs; i++) {
        const char *arg = run->inputs[i];
        const char *eq = strchr(arg, '=');
        lua_pushlstring(L, arg, (size_t)(eq - arg));
        if (lua_rawget(L, -2) != LUA_TNIL) {
            lua_pop(L, 2);
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
            return -1;
        }
        lua_pop(L, 1);
        lua_pushlstring(L, arg, (size_t)(eq - arg));
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
    return 0;
}

const struct cli_command *cli_find_command(const char *name) {
    for (const struct cli_command *c = vsrun_commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}
