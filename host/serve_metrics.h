/* Counters of `vsrun serve`, served at GET /metrics in the Prometheus text format. */
#ifndef VSRUN_SERVE_METRICS_H
#define VSRUN_SERVE_METRICS_H
#include <stddef.h>

#include "serve_config.h"

void serve_metrics_init(const struct serve_config *cfg);
/* An answered webhook request of a route (route < 0: unknown route). */
void serve_metrics_request(int route, int http_status);
/* A finished attempt: outcome "done", "retry" or "dead". */
void serve_metrics_run(int route, const char *outcome, double seconds);
/* What a finished attempt reported from inside (host/run_metrics.c): `n` PagerDuty
 * responses with HTTP status `status`, and seconds spent waiting for the rate limit. */
void serve_metrics_pagerduty(int route, int status, unsigned long n);
void serve_metrics_rate_limit_wait(int route, double seconds);
/* The exposition text (malloc'd), with the queue figures given. */
char *serve_metrics_text(long queue_depth, double oldest_age, int in_flight);

#endif
