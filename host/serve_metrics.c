/* Prometheus counters of vsrun serve (see serve_metrics.h). */
#include "serve_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int codes[] = {200, 202, 400, 401, 403, 404, 405, 413, 503};
#define N_CODES (sizeof codes / sizeof codes[0])
static const char *const outcomes[] = {"done", "retry", "dead"};
#define N_OUTCOMES 3
static const double buckets[] = {0.1, 0.5, 1, 5, 10, 30, 60, 300};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

#define PD_STATUSES 500   /* HTTP 100..599 */

struct route_metrics {
    unsigned long long requests[N_CODES];
    unsigned long long pagerduty[PD_STATUSES];   /* responses a run got from PagerDuty, by status - 100 */
    double rate_limit_wait;
    unsigned long long runs[N_OUTCOMES];
    unsigned long long dur_buckets[N_BUCKETS];   /* cumulative at export */
    unsigned long long dur_count;
    double dur_sum;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const struct serve_config *config;
static struct route_metrics routes[SERVE_MAX_ROUTES];
static unsigned long long unknown_route;

void serve_metrics_init(const struct serve_config *cfg) {
    config = cfg;
    memset(routes, 0, sizeof routes);
    unknown_route = 0;
}

void serve_metrics_request(int route, int http_status) {
    pthread_mutex_lock(&mu);
    if (route < 0) unknown_route++;
    else
        for (size_t i = 0; i < N_CODES; i++)
            if (codes[i] == http_status) routes[route].requests[i]++;
    pthread_mutex_unlock(&mu);
}

void serve_metrics_run(int route, const char *outcome, double seconds) {
    pthread_mutex_lock(&mu);
    struct route_metrics *m = &routes[route];
    for (int i = 0; i < N_OUTCOMES; i++)
        if (strcmp(outcomes[i], outcome) == 0) m->runs[i]++;
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (seconds <= buckets[i]) { m->dur_buckets[i]++; break; }
    m->dur_count++;
    m->dur_sum += seconds;
    pthread_mutex_unlock(&mu);
}

void serve_metrics_pagerduty(int route, int status, unsigned long n) {
    if (route < 0 || route >= SERVE_MAX_ROUTES || status < 100 || status > 599) return;
    pthread_mutex_lock(&mu);
    routes[route].pagerduty[status - 100] += n;
    pthread_mutex_unlock(&mu);
}

void serve_metrics_rate_limit_wait(int route, double seconds) {
    if (route < 0 || route >= SERVE_MAX_ROUTES || !(seconds > 0)) return;
    pthread_mutex_lock(&mu);
    routes[route].rate_limit_wait += seconds;
    pthread_mutex_unlock(&mu);
}

struct text { char *p; size_t len, cap; int oom; };

static void add(struct text *t, const char *fmt, ...) {
    if (t->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) { t->oom = 1; return; }
        if ((size_t)n < t->cap - t->len) { t->len += (size_t)n; return; }
        size_t ncap = t->cap * 2 + (size_t)n;
        char *np = realloc(t->p, ncap);
        if (np == NULL) { t->oom = 1; return; }
        t->p = np;
        t->cap = ncap;
    }
}

char *serve_metrics_text(long queue_depth, double oldest_age, int in_flight) {
    struct text t = {malloc(4096), 0, 4096, 0};
    if (t.p == NULL) return NULL;
    t.p[0] = '\0';
    pthread_mutex_lock(&mu);
    add(&t, "# HELP vsrun_serve_requests_total Webhook requests by route and HTTP status.\n"
            "# TYPE vsrun_serve_requests_total counter\n");
    for (int r = 0; r < config->n_routes; r++)
        for (size_t i = 0; i < N_CODES; i++)
            add(&t, "vsrun_serve_requests_total{route=\"%s\",code=\"%d\"} %llu\n", config->routes[r].name, codes[i],
                routes[r].requests[i]);
    add(&t, "# HELP vsrun_serve_unknown_route_total Requests to /hooks/NAME with no such route.\n"
            "# TYPE vsrun_serve_unknown_route_total counter\nvsrun_serve_unknown_route_total %llu\n", unknown_route);
    add(&t, "# HELP vsrun_serve_runs_total Finished attempts by route and outcome (retry: failed, to be tried again).\n"
            "# TYPE vsrun_serve_runs_total counter\n");
    for (int r = 0; r < config->n_routes; r++)
        for (int i = 0; i < N_OUTCOMES; i++)
            add(&t, "vsrun_serve_runs_total{route=\"%s\",outcome=\"%s\"} %llu\n", config->routes[r].name, outcomes[i],
                routes[r].runs[i]);
    add(&t, "# HELP vsrun_serve_run_duration_seconds Duration of attempts.\n"
            "# TYPE vsrun_serve_run_duration_seconds histogram\n");
    for (int r = 0; r < config->n_routes; r++) {
        unsigned long long cum = 0;
        for (size_t i = 0; i < N_BUCKETS; i++) {
            cum += routes[r].dur_buckets[i];
            add(&t, "vsrun_serve_run_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", config->routes[r].name,
                buckets[i], cum);
        }
        add(&t, "vsrun_serve_run_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", config->routes[r].name,
            routes[r].dur_count);
        add(&t, "vsrun_serve_run_duration_seconds_sum{route=\"%s\"} %.6f\n", config->routes[r].name, routes[r].dur_sum);
        add(&t, "vsrun_serve_run_duration_seconds_count{route=\"%s\"} %llu\n", config->routes[r].name,
            routes[r].dur_count);
    }
    add(&t, "# HELP vsrun_serve_pagerduty_requests_total PagerDuty responses the runs got, by route and HTTP status.\n"
            "# TYPE vsrun_serve_pagerduty_requests_total counter\n");
    for (int r = 0; r < config->n_routes; r++)
        for (int i = 0; i < PD_STATUSES; i++)
            if (routes[r].pagerduty[i])
                add(&t, "vsrun_serve_pagerduty_requests_total{route=\"%s\",status=\"%d\"} %llu\n", config->routes[r].name,
                    i + 100, routes[r].pagerduty[i]);
    add(&t, "# HELP vsrun_serve_rate_limit_wait_seconds_total Seconds the runs waited for PagerDuty's rate limit.\n"
            "# TYPE vsrun_serve_rate_limit_wait_seconds_total counter\n");
    for (int r = 0; r < config->n_routes; r++)
        add(&t, "vsrun_serve_rate_limit_wait_seconds_total{route=\"%s\"} %.3f\n", config->routes[r].name,
            routes[r].rate_limit_wait);
    pthread_mutex_unlock(&mu);
    add(&t, "# HELP vsrun_serve_queue_depth Runs queued (due now or waiting for a retry).\n"
            "# TYPE vsrun_serve_queue_depth gauge\nvsrun_serve_queue_depth %ld\n", queue_depth);
    add(&t, "# HELP vsrun_serve_queue_oldest_age_seconds Age of the oldest queued run.\n"
            "# TYPE vsrun_serve_queue_oldest_age_seconds gauge\nvsrun_serve_queue_oldest_age_seconds %.3f\n", oldest_age);
    add(&t, "# HELP vsrun_serve_runs_in_flight Runs executing now.\n"
            "# TYPE vsrun_serve_runs_in_flight gauge\nvsrun_serve_runs_in_flight %d\n", in_flight);
    if (t.oom) { free(t.p); return NULL; }
    return t.p;
}
