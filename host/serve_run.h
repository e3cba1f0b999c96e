/* Running one stored run of `vsrun serve`: a child process of the vsrun binary itself
 * (its path read from /proc/self/exe at start) with the route's --strict, --timeout, --max-memory and --connection, the
 * event as --input-file - and the returned value written to a private --output file, its
 * counters (PagerDuty responses, rate-limit waits) to a private file on descriptor 3. So
 * every mode, limit and exit code of `vsrun script.lua` applies unchanged, and a crashing
 * pipeline cannot take the server down. */
#ifndef VSRUN_SERVE_RUN_H
#define VSRUN_SERVE_RUN_H
#include <stdint.h>
#include <sys/types.h>

#include "serve_config.h"

#define SERVE_RUN_MAX_STATUSES 16

struct serve_run_result {
    int exit_code;        /* the child's exit code; 128+N for a signal; -1 not started */
    struct { int status; unsigned long count; } pagerduty[SERVE_RUN_MAX_STATUSES];
    int n_pagerduty;      /* PagerDuty responses the run got, by HTTP status */
    double rate_limit_wait;   /* seconds the run waited for PagerDuty's rate limit */
    char *result;         /* the returned value as JSON text, or NULL */
    char *output;         /* the last bytes of the child's stdout+stderr (NUL-terminated) */
    double seconds;
};

/* Prepares the environment children get: the current one without PGPASSWORD, plus the
 * secrets vsrun took out of it at start-up (VSRUN_KEY, VSRUN_PASSPHRASE, PAGERDUTY_TOKEN),
 * which the child takes out again before its script runs. tmpdir holds the --output
 * files. 0 or -1. */
int serve_run_init(const char *tmpdir);
void serve_run_cleanup(void);

/* Runs the route's script with `input` (a JSON object) on stdin; *pid_slot holds the
 * child's pid while it runs (0 otherwise) so serve_run_stop can end it. */
void serve_run(const struct serve_route *r, int64_t id, const char *input, volatile pid_t *pid_slot,
               struct serve_run_result *out);
/* Ends a running child (SIGKILL), e.g. when the drain deadline passed. */
void serve_run_stop(volatile pid_t *pid_slot);
void serve_run_result_free(struct serve_run_result *res);

#endif
