/* Table-driven option parsing (see options.h). */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void opt_init(struct opt_parser *p, const char *who, int argc, char **argv, const struct opt *own,
              const struct opt *shared) {
    memset(p, 0, sizeof *p);
    p->who = who;
    p->tables[0] = own;
    p->tables[1] = shared;
    p->argc = argc;
    p->argv = argv;
}

static const struct opt *opt_find(const struct opt_parser *p, const char *name, size_t len) {
    for (int t = 0; t < 2; t++)
        for (const struct opt *o = p->tables[t]; o && o->name; o++) {
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
            if (o->alias && strlen(o->alias) == len && strncmp(o->alias, name, len) == 0) return o;
        }
    return NULL;
}

/* Edit distance counting a swap of two neighbours as one edit (optimal string alignment),
 * for "did you mean"; long inputs are not worth a suggestion. */
static size_t opt_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return (size_t)-1;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The known option closest to name, if close enough to be a typo. */
static const char *opt_closest(const struct opt_parser *p, const char *name) {
    const char *best = "--help";
    size_t best_d = opt_distance(name, best);
    for (int t = 0; t < 2; t++)
        for (const struct opt *o = p->tables[t]; o && o->name; o++) {
            size_t d = opt_distance(name, o->name);
            if (d < best_d) { best = o->name; best_d = d; }
        }
    size_t allowed = strlen(name) / 4;
    if (allowed < 1) allowed = 1;
    return best_d <= allowed ? best : NULL;
}

int opt_next(struct opt_parser *p) {
    p->opt = NULL;
    p->value = NULL;
    if (p->i >= p->argc) return OPT_END;
    char *arg = p->argv[p->i++];
    if (!p->options_done && strcmp(arg, "--") == 0) {
        p->options_done = 1;
        return opt_next(p);
    }
    if (p->options_done || arg[0] != '-' || arg[1] == '\0') {
        p->value = arg;
        return OPT_ARG;
    }
    /* "--name=value" splits at the first '='; short options take their value separately */
    const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt *o = opt_find(p, arg, len);
    if (o == NULL) {
        if ((len == 2 && strncmp(arg, "-h", 2) == 0) || (len == 6 && strncmp(arg, "--help", 6) == 0)) return OPT_HELP;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), arg);
        const char *near = opt_closest(p, name);
        if (near) util_usage(p->who, "unknown option '%s' (did you mean %s?)", name, near);
        else util_usage(p->who, "unknown option '%s'", name);
        return OPT_ERROR;
    }
    p->opt = o;
    if (o->flags & OPT_VALUE) {
        if (eq) p->value = eq + 1;
        else if (p->i < p->argc) p->value = p->argv[p->i++];
        else {
            util_usage(p->who, "option '%s' needs a value", o->name);
            return OPT_ERROR;
        }
    } else if (eq) {
        util_usage(p->who, "option '%s' takes no value", o->name);
        return OPT_ERROR;
    }
    return o->id;
}

int opt_positive(const struct opt_parser *p, const char *value, double max, double *out) {
    char *end;
    errno = 0;
    double d = strtod(value, &end);
    if (errno || end == value || *end || !(d > 0) || d > max) {
        util_usage(p->who, "%s needs a positive number, got '%s'", p->opt->name, value);
        return -1;
    }
    *out = d;
    return 0;
}
