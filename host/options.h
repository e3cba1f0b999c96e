/* Command-line options from one table per command, in the style of curl's aliases[]:
 * each entry names a long option, its short alias and whether it takes a value. Every
 * option accepts `--name value` and `--name=value`; -h and --help are always known; an
 * unknown option is refused with the closest known name. The caller loops on opt_next and
 * applies each option by its id. */
#ifndef VSRUN_OPTIONS_H
#define VSRUN_OPTIONS_H

#define OPT_VALUE 1   /* the option takes a value */

struct opt {
    const char *name;     /* "--timeout"; NULL ends the table */
    const char *alias;    /* "-t", or NULL */
    int id;               /* the caller's code for it, > 0 */
    int flags;            /* OPT_VALUE or 0 */
};

/* What opt_next returns besides an option's id. */
enum {
    OPT_ARG = 0,     /* a positional argument, in p->value */
    OPT_END = -1,    /* no more arguments */
    OPT_ERROR = -2,  /* a usage error, already printed: exit EXIT_USAGE */
    OPT_HELP = -3,   /* -h or --help */
};

struct opt_parser {
    const char *who;                 /* "vsrun test": messages start with it */
    const struct opt *tables[2];     /* the command's own options, then shared ones (or NULL) */
    int argc;
    char **argv;
    int i;                           /* the next argv index */
    int options_done;                /* after "--" everything is positional */
    const struct opt *opt;           /* the option opt_next just returned */
    const char *value;               /* its value, or the positional argument */
};

void opt_init(struct opt_parser *p, const char *who, int argc, char **argv, const struct opt *own,
              const struct opt *shared);
int opt_next(struct opt_parser *p);

/* Parses a positive number of at most max into *out; prints "WHO: NAME needs a positive
 * number, got 'V'" and returns -1 otherwise. */
int opt_positive(const struct opt_parser *p, const char *value, double max, double *out);

#endif
