/* Cron expressions for `vsrun serve` schedules: five fields, minute hour day-of-month month
 * day-of-week, each `*`, `N`, `A-B`, `*\/S` or `A-B/S`, comma-separated lists of those;
 * numbers only (day-of-week 0-7, 0 and 7 are Sunday). As in Vixie cron, when both
 * day-of-month and day-of-week are restricted, a day matching either one fires. */
#ifndef VSRUN_SERVE_CRON_H
#define VSRUN_SERVE_CRON_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cron_spec {
    uint64_t minutes;          /* bit n: minute n */
    uint32_t hours, days;      /* days: bit 1..31 */
    uint16_t months;           /* bit 1..12 */
    uint8_t weekdays;          /* bit 0..6, Sunday = 0 */
    int days_any, weekdays_any;
};

/* 0, or -1 with a message in err. */
int cron_parse(const char *expr, struct cron_spec *out, char *err, size_t errlen);
/* 1 when the local broken-down time (tm_min, tm_hour, tm_mday, tm_mon, tm_wday) matches. */
int cron_matches(const struct cron_spec *c, const struct tm *t);

#endif
