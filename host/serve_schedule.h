/* Schedules of `vsrun serve`: a thread that, once per minute and per schedule, checks the
 * cron expression in the schedule's time zone and queues a run with the delivery id
 * "cron:NAME:YYYY-MM-DDTHH:MMZ". The store's (route, delivery_id) uniqueness makes each
 * firing happen once, however many servers share a PostgreSQL store. */
#ifndef VSRUN_SERVE_SCHEDULE_H
#define VSRUN_SERVE_SCHEDULE_H

#include "serve_config.h"
#include "store.h"

struct serve_scheduler;

/* NULL when the config has no schedules (or the thread cannot start: *failed set). */
struct serve_scheduler *serve_scheduler_start(const struct serve_config *cfg, struct store *st,
                                              void (*on_queued)(void), int *failed);
void serve_scheduler_stop(struct serve_scheduler *s);

#endif
