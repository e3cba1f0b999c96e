/* vsrun runs list|show ID|retry ID: reads the run store of vsrun serve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exitcodes.h"
#include "options.h"
#include "serve.h"
#include "store.h"
#include "util.h"

static const char runs_help[] =
    "usage: vsrun runs list [--status S] [--limit N] [--json] [--store FILE]\n"
    "       vsrun runs show ID [--store FILE]\n"
    "       vsrun runs retry ID [--store FILE]\n"
    "Reads the run store of vsrun serve (default $VSRUN_HOME/serve.db).\n"
    "  list    newest first (default 50): id, status, attempts, route, received, delivery id;\n"
    "          --status queued|running|done|dead; --json: one JSON object per line\n"
    "  show    one run as JSON: input event, result, exit code, error output, times\n"
    "  retry   queue a dead (or done) run again with its attempts reset; a running server\n"
    "          picks it up within a second\n"
    "Exit codes: 0 ok, 1 no such run or store error, 2 usage.\n";

static int parse_long(const char *s, long long min, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end || errno || v < min) return -1;
    *out = v;
    return 0;
}

enum { RN_STORE = 1, RN_STATUS, RN_LIMIT, RN_JSON };
static const struct opt runs_options[] = {
    {"--store", NULL, RN_STORE, OPT_VALUE},
    {"--status", NULL, RN_STATUS, OPT_VALUE},
    {"--limit", NULL, RN_LIMIT, OPT_VALUE},
    {"--json", NULL, RN_JSON, 0},
    {NULL, NULL, 0, 0},
};

int cmd_runs(int argc, char **argv) {
    if (argc == 0) return util_usage("vsrun runs", "give list, show ID or retry ID");
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) { fputs(runs_help, stdout); return EXIT_OK; }
    const char *verb = argv[0], *store = NULL, *status = NULL, *id_arg = NULL;
    long long limit = 50, id = 0;
    int as_json = 0, is_list = strcmp(verb, "list") == 0;
    if (!is_list && strcmp(verb, "show") && strcmp(verb, "retry"))
        return util_usage("vsrun runs", "unknown command '%s': list, show ID or retry ID", verb);
    struct opt_parser p;
    opt_init(&p, "vsrun runs", argc - 1, argv + 1, runs_options, NULL);
    for (int oid; (oid = opt_next(&p)) != OPT_END;) {
        const char *v = p.value;
        if (!is_list && (oid == RN_STATUS || oid == RN_LIMIT || oid == RN_JSON))
            return util_usage("vsrun runs", "%s is an option of 'vsrun runs list'", p.opt->name);
        switch (oid) {
        case OPT_ERROR: return EXIT_USAGE;
        case OPT_HELP: fputs(runs_help, stdout); return EXIT_OK;
        case OPT_ARG:
            if (is_list || id_arg != NULL) return util_usage("vsrun runs", "unexpected argument '%s'", v);
            id_arg = v;
            break;
        case RN_STORE: store = v; break;
        case RN_JSON: as_json = 1; break;
        case RN_STATUS:
            if (strcmp(v, "queued") && strcmp(v, "running") && strcmp(v, "done") && strcmp(v, "dead"))
                return util_usage("vsrun runs", "--status needs queued, running, done or dead, got '%s'", v);
            status = v;
            break;
        case RN_LIMIT:
            if (parse_long(v, 1, &limit) != 0) return util_usage("vsrun runs", "--limit needs a positive whole number, got '%s'", v);
            break;
        }
    }
    if (strcmp(verb, "list") != 0) {
        if (id_arg == NULL) return util_usage("vsrun runs", "%s needs a run ID", verb);
        if (parse_long(id_arg, 1, &id) != 0) return util_usage("vsrun runs", "a run ID is a positive whole number, got '%s'", id_arg);
    }
    char path[4096], err[1024];
    if (store) snprintf(path, sizeof path, "%s", store);
    else if (store_default_path(path, sizeof path, err, sizeof err) != 0) {
        fprintf(stderr, "vsrun runs: %s\n", err);
        return EXIT_SCRIPT;
    }
    struct store *st = store_open(path, 0, err, sizeof err);
    if (st == NULL) {
        fprintf(stderr, "vsrun runs: cannot open the store: %s\n", err);
        return EXIT_SCRIPT;
    }
    int rc;
    if (strcmp(verb, "list") == 0) rc = store_print_list(st, status, (long)limit, as_json);
    else if (strcmp(verb, "show") == 0) rc = store_print_run(st, id);
    else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rc = store_retry(st, id, (double)ts.tv_sec + ts.tv_nsec / 1e9);
        if (rc == 0) printf("run %lld queued again\n", id);
    }
    store_close(st);
    if (rc == 1) {
        fprintf(stderr, strcmp(verb, "retry") == 0 ? "vsrun runs: run %lld does not exist or is queued or running\n"
                                                   : "vsrun runs: no run %lld\n", id);
        return EXIT_SCRIPT;
    }
    if (rc != 0) {
        fprintf(stderr, "vsrun runs: the store could not be read\n");
        return EXIT_SCRIPT;
    }
    return EXIT_OK;
}
