/* vsrun test [paths...]: finds *_test.lua files and runs each in a fresh Lua state
 * (see lua/vsrun/testrun.lua), then prints "N passed, N failed"; --junit FILE also writes
 * the results as JUnit XML (one <testsuite> per file, made by testrun.lua). */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "cli.h"
#include "exitcodes.h"
#include "cmd_help.h"
#include "options.h"
#include "sandbox.h"
#include "cmd_test.h"
#include "util.h"
#include "vm.h"

struct file_list {
    char **paths;
    size_t n, cap;
};

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void list_add(struct file_list *l, const char *path) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        char **np = realloc(l->paths, l->cap * sizeof *np);
        if (!np) { perror("vsrun"); exit(EXIT_LIMIT); }
        l->paths = np;
    }
    l->paths[l->n++] = strdup(path);
}

static void find_tests(const char *path, struct file_list *l, int top) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (top) fprintf(stderr, "vsrun test: cannot open %s: %s\n", path, strerror(errno));
        return;
    }
    if (S_ISREG(st.st_mode)) {
        if (top || ends_with(path, "_test.lua")) list_add(l, path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;               /* ., .., hidden */
        if (strcmp(e->d_name, "build") == 0) continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(n);
        if (!child) break;
        snprintf(child, n, "%s%s%s", path, ends_with(path, "/") ? "" : "/", e->d_name);
        find_tests(child, l, 0);
        free(child);
    }
    closedir(d);
}

static int cmp_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* XML text for a message made here (a file that could not run): bytes XML cannot carry
 * become '?' */
static void junit_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&') fputs("&amp;", f);
        else if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '"') fputs("&quot;", f);
        else if ((c < 0x20 && c != '\n' && c != '\t') || c >= 0x80) fputc('?', f);
        else fputc(c, f);
    }
}

/* Runs one file in a fresh state; adds to the counters and, with --junit, to the XML. */
static void run_test_file(const char *path, struct cli_run *opts, const char *filter, int verbose,
                          int *passed, int *failed, FILE *junit) {
    char *copy = strdup(path);
    struct vm_options vo = opts->vm;
    vo.sandbox_mode = 2;   /* vsrun test: test files may drive the sandbox's whole HTTP API */
    vo.script_dir = dirname(copy);
    struct vm *vm = vm_new(&vo);
    if (!vm) { (*failed)++; free(copy); return; }
    lua_State *L = vm_lua(vm);
    int status = vm_load_embedded(L, "vsrun.testrun");
    if (status == LUA_OK) status = vm_pcall(L, 0, 1);
    if (status == LUA_OK) {
        lua_getfield(L, -1, "run_file");
        lua_pushstring(L, path);
        lua_createtable(L, 0, 2);
        if (filter) { lua_pushstring(L, filter); lua_setfield(L, -2, "filter"); }
        lua_pushboolean(L, verbose);
        lua_setfield(L, -2, "verbose");
        struct sandbox_run *sandbox = sandbox_start(L, opts->sandbox_args, opts->n_sandbox_args);
        vm_start_clock(vm);
        status = vm_pcall(L, 2, 3);
        sandbox_stop(sandbox);
    }
    if (status == LUA_OK) {
        *passed += (int)lua_tointeger(L, -3);
        *failed += (int)lua_tointeger(L, -2);
        if (junit && lua_isstring(L, -1)) fputs(lua_tostring(L, -1), junit);
    } else {
        const char *why = vm_limit_hit(vm) == VM_LIMIT_TIMEOUT ? "timeout (--timeout)"
                          : vm_limit_hit(vm) == VM_LIMIT_MEMORY ? "memory limit exceeded"
                                                                : lua_tostring(L, -1);
        printf("FAIL %s: %s\n", path, why ? why : "error");
        (*failed)++;
        if (junit) {
            fputs("  <testsuite name=\"", junit);
            junit_escaped(junit, path);
            fputs("\" tests=\"1\" failures=\"1\" errors=\"0\">\n    <testcase name=\"(running the file)\">\n"
                  "      <failure message=\"", junit);
            junit_escaped(junit, why ? why : "error");
            fputs("\"/>\n    </testcase>\n  </testsuite>\n", junit);
        }
    }
    fflush(stdout);
    vm_free(vm);
    free(copy);
}

enum { TEST_FILTER = 1000, TEST_JUNIT, TEST_VERBOSE };

/* vsrun test's own options; cli_shared_options (limits, --lib, --strict, sandbox seeding)
 * are accepted too. */
static const struct opt test_options[] = {
    {"--filter", NULL, TEST_FILTER, OPT_VALUE},
    {"--junit", NULL, TEST_JUNIT, OPT_VALUE},
    {"--verbose", "-v", TEST_VERBOSE, 0},
    {NULL, NULL, 0, 0},
};

/* Parses the options into run (and filter, junit_path, verbose) and the paths; EXIT_OK,
 * EXIT_USAGE after a message, or -1 after printing the help. */
static int parse_test_options(int argc, char **argv, struct cli_run *run, const char **filter,
                              const char **junit_path, int *verbose, const char **paths, int *n_paths) {
    static const char who[] = "vsrun test";
    struct opt_parser p;
    opt_init(&p, who, argc, argv, test_options, cli_shared_options);
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        switch (id) {
        case OPT_ERROR: return EXIT_USAGE;
        case OPT_HELP: {
            char *topic[] = {"test", NULL};
            cli_help(1, topic, NULL, NULL);
            return -1;
        }
        case OPT_ARG:
            if (*n_paths >= CLI_MAX_INPUTS) return util_usage(who, "too many paths (more than %d)", CLI_MAX_INPUTS);
            paths[(*n_paths)++] = p.value;
            break;
        case TEST_FILTER: *filter = p.value; break;
        case TEST_JUNIT:
            if (p.value[0] == '\0') return util_usage(who, "--junit needs a file name");
            *junit_path = p.value;
            break;
        case TEST_VERBOSE: *verbose = 1; break;
        default:
            if (cli_take_shared_option(run, &p) != EXIT_OK) return EXIT_USAGE;
        }
    }
    return cli_allow_net_env(run, who);
}

int cmd_test(int argc, char **argv) {
    const char *filter = NULL;
    const char *junit_path = NULL;
    int verbose = 0;
    struct file_list files = {0};
    const char *paths[CLI_MAX_INPUTS];
    int n_paths = 0;
    struct cli_run run;
    memset(&run, 0, sizeof run);
    run.sandbox = 1;
    int rc = parse_test_options(argc, argv, &run, &filter, &junit_path, &verbose, paths, &n_paths);
    if (rc != EXIT_OK) {
        cli_free_run(&run);
        return rc < 0 ? EXIT_OK : rc;
    }
    if (n_paths == 0) paths[n_paths++] = ".";
    /* modules resolve per test file, from its own project (vsrun.json above it; host/modules.c):
     * `vsrun test teamA/ teamB/` never puts one team's libraries on the other's path */
    for (int i = 0; i < n_paths; i++) {
        size_t before = files.n;
        find_tests(paths[i], &files, 1);
        if (files.n > before) qsort(files.paths + before, files.n - before, sizeof *files.paths, cmp_paths);
    }
    FILE *junit = NULL;
    if (junit_path) {
        junit = fopen(junit_path, "w");
        if (junit == NULL) {
            fprintf(stderr, "vsrun test: cannot write --junit %s: %s\n", junit_path, strerror(errno));
            for (size_t i = 0; i < files.n; i++) free(files.paths[i]);
            free(files.paths);
            cli_free_run(&run);
            return EXIT_USAGE;
        }
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vsrun test\">\n", junit);
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < files.n; i++) {
        run_test_file(files.paths[i], &run, filter, verbose, &passed, &failed, junit);
        free(files.paths[i]);
    }
    if (junit) {
        fputs("</testsuites>\n", junit);
        if (fclose(junit) != 0) {
            fprintf(stderr, "vsrun test: cannot write --junit %s: %s\n", junit_path, strerror(errno));
            failed++;
        }
    }
    free(files.paths);
    cli_free_run(&run);
    if (files.n == 0) fprintf(stderr, "vsrun test: no *_test.lua files found\n");
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? EXIT_SCRIPT : (files.n == 0 ? EXIT_USAGE : EXIT_OK);
}
