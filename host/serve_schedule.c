/* The schedule thread of vsrun serve (see serve_schedule.h).
 *
 * Policy: a firing can be queued until its minute ends; firings missed entirely while no
 * server ran are skipped (not caught up). A firing whose previous run is still going is
 * queued behind it (the schedule's `concurrency`, default 1). */
#include "serve_schedule.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct serve_scheduler {
    const struct serve_config *cfg;
    struct store *store;
    void (*on_queued)(void);
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stop;
    time_t last[SERVE_MAX_ROUTES];   /* the minute last checked, per route slot */
};

/* localtime in a named zone. TZ is process-wide, so every conversion holds this lock; the
 * server itself only uses gmtime_r, and children get the environment captured at start. */
static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

static int zone_tm(time_t t, const char *zone, struct tm *out) {
    pthread_mutex_lock(&tz_mu);
    setenv("TZ", zone, 1);
    tzset();
    int ok = localtime_r(&t, out) != NULL;
    pthread_mutex_unlock(&tz_mu);
    return ok ? 0 : -1;
}

static void fire(struct serve_scheduler *s, const struct serve_route *r, time_t minute) {
    char when[32], id[128];
    struct tm utc;
    gmtime_r(&minute, &utc);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    snprintf(id, sizeof id, "cron:%.16s", when);
    size_t n = strlen(r->name) + strlen(r->inputs_json) + 256;
    char *input = malloc(n);
    if (input == NULL) return;
    /* names are [A-Za-z0-9_-]: no escaping needed */
    snprintf(input, n, "{\"route\":\"%s\",\"delivery_id\":\"%s\",\"scheduled_at\":\"%s\"%s}", r->name, id, when,
             r->inputs_json);
    int64_t run = 0;
    int rc = store_insert(s->store, r->name, id, input, r->max_attempts, (double)time(NULL), &run);
    free(input);
    if (rc == STORE_OK) {
        fprintf(stderr, "{\"time\":\"%s\",\"schedule\":\"%s\",\"fired\":\"%s\",\"run\":%lld}\n", when, r->name, when,
                (long long)run);
        s->on_queued();
    } else if (rc != STORE_DUPLICATE) {   /* a duplicate: another server fired it */
        fprintf(stderr, "vsrun serve: schedule %s: cannot queue the %s firing (store full or failing)\n", r->name, when);
    }
}

static void *scheduler_main(void *arg) {
    struct serve_scheduler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        time_t minute = time(NULL) / 60 * 60;
        for (int i = 0; i < s->cfg->n_routes; i++) {
            const struct serve_route *r = &s->cfg->routes[i];
            if (r->cron == NULL || s->last[i] == minute) continue;
            s->last[i] = minute;
            struct tm local;
            if (zone_tm(minute, r->timezone, &local) == 0 && cron_matches(&r->cron_spec, &local)) fire(s, r, minute);
        }
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (!s->stop) pthread_cond_timedwait(&s->wake, &s->mu, &until);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct serve_scheduler *serve_scheduler_start(const struct serve_config *cfg, struct store *st,
                                              void (*on_queued)(void), int *failed) {
    *failed = 0;
    int any = 0;
    for (int i = 0; i < cfg->n_routes; i++) any |= cfg->routes[i].cron != NULL;
    if (!any) return NULL;
    struct serve_scheduler *s = calloc(1, sizeof *s);
    if (s == NULL) { *failed = 1; return NULL; }
    s->cfg = cfg;
    s->store = st;
    s->on_queued = on_queued;
    for (int i = 0; i < SERVE_MAX_ROUTES; i++) s->last[i] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->mu);
        free(s);
        *failed = 1;
        return NULL;
    }
    return s;
}

void serve_scheduler_stop(struct serve_scheduler *s) {
    if (s == NULL) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
