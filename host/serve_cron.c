/* Cron expression parsing and matching (see serve_cron.h). */
#include "serve_cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cron_number(const char **p, int *out) {
    if (!isdigit((unsigned char)**p)) return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > 1000) return -1;
        (*p)++;
    }
    *out = (int)v;
    return 0;
}

/* One field "a,b-c,*\/d" into a bit set over [lo, hi]. */
static int cron_field(const char *s, size_t n, int lo, int hi, uint64_t *bits, int *any) {
    char buf[128];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *bits = 0;
    *any = strcmp(buf, "*") == 0;
    if (buf[0] == ',' || buf[n - 1] == ',' || strstr(buf, ",,")) return -1;   /* strtok would skip empty items */
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int a, b, step = 1;
        if (*p == '*') { a = lo; b = hi; p++; }
        else {
            if (cron_number(&p, &a) != 0) return -1;
            b = a;
            if (*p == '-') { p++; if (cron_number(&p, &b) != 0) return -1; }
        }
        if (*p == '/') {
            p++;
            if (cron_number(&p, &step) != 0 || step < 1) return -1;
            if (item[0] != '*' && b == a) b = hi;   /* "5/15": from 5 to the end */
        }
        if (*p != '\0' || a < lo || b > hi || a > b) return -1;
        for (int v = a; v <= b; v += step) *bits |= (uint64_t)1 << v;
    }
    return *bits ? 0 : -1;
}

int cron_parse(const char *expr, struct cron_spec *out, char *err, size_t errlen) {
    static const struct { const char *name; int lo, hi; } fields[5] = {
        {"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}};
    memset(out, 0, sizeof *out);
    uint64_t bits[5];
    int any[5];
    const char *p = expr;
    for (int f = 0; f < 5; f++) {
        while (*p == ' ' || *p == '\t') p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (p == start) {
            snprintf(err, errlen, "cron '%s': needs 5 fields (minute hour day-of-month month day-of-week)", expr);
            return -1;
        }
        if (cron_field(start, (size_t)(p - start), fields[f].lo, fields[f].hi, &bits[f], &any[f]) != 0) {
            snprintf(err, errlen, "cron '%s': bad %s field '%.*s' (numbers %d-%d, *, A-B, */S, lists)", expr,
                     fields[f].name, (int)(p - start), start, fields[f].lo, fields[f].hi);
            return -1;
        }
    }
    while (*p == ' ' || *p == '\t') p++;
    if (*p) {
        snprintf(err, errlen, "cron '%s': more than 5 fields", expr);
        return -1;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->days = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);   /* 7 is Sunday too */
    out->days_any = any[2];
    out->weekdays_any = any[4];
    return 0;
}

int cron_matches(const struct cron_spec *c, const struct tm *t) {
    if (!(c->minutes >> t->tm_min & 1) || !(c->hours >> t->tm_hour & 1) || !(c->months >> (t->tm_mon + 1) & 1))
        return 0;
    int dom = c->days >> t->tm_mday & 1, dow = c->weekdays >> t->tm_wday & 1;
    if (c->days_any && c->weekdays_any) return 1;
    if (c->days_any) return dow;
    if (c->weekdays_any) return dom;
    return dom || dow;
}
