/* Authenticated PagerDuty calls (module vsrun.pd_core). The pure checks are exposed here
 * for the unit tests. */
#ifndef VSRUN_PAGERDUTY_H
#define VSRUN_PAGERDUTY_H
#include <stddef.h>

/* 1 when `method path` is one of the nine actions (or the per-incident log entries list);
 * otherwise 0 with the reason in why. path is the bare path: no query, no origin. */
int pd_route_allowed(const char *method, const char *path, char *why, size_t whylen);

/* 1 when q is an already-encoded query string vsrun may append after '?'. */
int pd_query_ok(const char *q);

/* The process-wide rate limiter shared by every task (times are CLOCK_MONOTONIC seconds).
 * pd_limit_pace returns 0 and counts a send when a request may go now, else how many
 * seconds to wait first. pd_limit_observe feeds a response's status and ratelimit-*
 * headers (negative = absent); backoff is the wait after a 429 that carried no headers. */
double pd_limit_pace(double now);
void pd_limit_observe(double now, int status, double remaining, double reset_sec, double backoff);
void pd_limit_reset(void);

#endif
