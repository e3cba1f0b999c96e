/* Module vsrun.run_metrics: counters a run reports to the `vsrun serve` that started it.
 * serve opens a per-run file on the child's descriptor named by VSRUN_METRICS_FD
 * (host/serve_run.c) and adds what it finds there to GET /metrics once the run ends. Each
 * event is one line written with one write(2) (so a run killed mid-way still counted what
 * it did): "pagerduty STATUS" per PagerDuty response, "rate_limit_wait SECONDS" per wait
 * the shared rate limiter imposed. Outside serve (no VSRUN_METRICS_FD) the calls do nothing.
 * The descriptor is close-on-exec and the variable is removed once read, so what the
 * script starts does not inherit either. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>

#include "modules.h"

static int metrics_fd = -2;   /* -2: not looked up yet; -1: none */

static int run_metrics_fd(void) {
    if (metrics_fd != -2) return metrics_fd;
    metrics_fd = -1;
    const char *v = getenv("VSRUN_METRICS_FD");
    if (v == NULL) return -1;
    char *end;
    long fd = strtol(v, &end, 10);
    unsetenv("VSRUN_METRICS_FD");
    if (*end != '\0' || fd < 3 || fd > 1000 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) != 0) return -1;
    metrics_fd = (int)fd;
    return metrics_fd;
}

static void run_metrics_line(const char *line, int n) {
    int fd = run_metrics_fd();
    if (fd < 0 || n <= 0) return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;   /* a lost counter never fails the run */
}

static int run_metrics_pagerduty(lua_State *L) {   /* pagerduty(status) */
    lua_Integer status = luaL_checkinteger(L, 1);
    char line[48];
    if (status >= 100 && status <= 599) run_metrics_line(line, snprintf(line, sizeof line, "pagerduty %d\n", (int)status));
    return 0;
}

static int run_metrics_wait(lua_State *L) {   /* rate_limit_wait(seconds) */
    lua_Number sec = luaL_checknumber(L, 1);
    char line[64];
    if (sec > 0 && sec <= 3600) run_metrics_line(line, snprintf(line, sizeof line, "rate_limit_wait %.6f\n", (double)sec));
    return 0;
}

int luaopen_vsrun_run_metrics(lua_State *L) {
    static const luaL_Reg fns[] = {{"pagerduty", run_metrics_pagerduty}, {"rate_limit_wait", run_metrics_wait}, {NULL, NULL}};
    run_metrics_fd();
    luaL_newlib(L, fns);
    return 1;
}
