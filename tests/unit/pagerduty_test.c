/* host/pagerduty.c and host/connection.c: the allowlist, query check, rate limiter and
 * the connection store, without the network. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "connection.h"
#include "pagerduty.h"

static int allowed(const char *method, const char *path) {
    char why[300];
    return pd_route_allowed(method, path, why, sizeof why);
}

int main(void) {
    /* the nine actions and the per-incident log */
    CHECK(allowed("GET", "/incidents"), "allow list incidents");
    CHECK(allowed("POST", "/incidents"), "allow create incident");
    CHECK(allowed("GET", "/incidents/PABC123"), "allow get incident");
    CHECK(allowed("GET", "/incidents/1234"), "allow get incident by number");
    CHECK(allowed("PUT", "/incidents/PABC123"), "allow update incident");
    CHECK(allowed("POST", "/incidents/PABC123/notes"), "allow create note");
    CHECK(allowed("GET", "/incidents/PABC123/notes"), "allow list notes");
    CHECK(allowed("GET", "/incidents/PABC123/log_entries"), "allow per-incident log entries");
    CHECK(allowed("GET", "/log_entries"), "allow list log entries");
    CHECK(allowed("GET", "/log_entries/R1"), "allow get log entry");
    CHECK(allowed("GET", "/users/PUSER01"), "allow get user");
    CHECK(allowed("GET", "/users/me"), "allow get user me");
    /* everything else */
    CHECK(!allowed("DELETE", "/incidents/PABC123"), "refuse DELETE");
    CHECK(!allowed("PUT", "/incidents"), "refuse bulk update");
    CHECK(!allowed("POST", "/incidents/P1"), "refuse POST to an incident");
    CHECK(!allowed("PUT", "/incidents/P1/notes"), "refuse PUT notes");
    CHECK(!allowed("POST", "/incidents/P1/log_entries"), "refuse POST log entries");
    CHECK(!allowed("GET", "/users"), "refuse list users");
    CHECK(!allowed("GET", "/services/P1"), "refuse other resources");
    CHECK(!allowed("GET", "/__sandbox/log"), "refuse the sandbox control API");
    CHECK(!allowed("POST", "/__sandbox/faults"), "refuse the sandbox control API (write)");
    CHECK(!allowed("GET", "/incidents/../users"), "refuse dot-dot");
    CHECK(!allowed("GET", "/incidents/P1/../../__sandbox"), "refuse traversal");
    CHECK(!allowed("GET", "/incidents/P1%2F..%2Fx"), "refuse encoded slash");
    CHECK(!allowed("GET", "/incidents%2FP1"), "refuse escapes");
    CHECK(!allowed("GET", "/incidents?x=1"), "refuse query in path");
    CHECK(!allowed("GET", "/incidents#x"), "refuse fragment");
    CHECK(!allowed("GET", "https://evil.example/incidents"), "refuse absolute URL");
    CHECK(!allowed("GET", "//evil.example/incidents"), "refuse protocol-relative URL");
    CHECK(!allowed("GET", "/incidents/"), "refuse trailing slash");
    CHECK(!allowed("GET", "/incidents//notes"), "refuse empty segment");
    CHECK(!allowed("GET", "incidents"), "refuse relative path");
    CHECK(!allowed("GET", ""), "refuse empty path");
    CHECK(!allowed("GET", "/incidents/P1/notes/N1"), "refuse note by id");
    CHECK(!allowed("GET", "/incidents/P-1"), "refuse non-ID characters");
    CHECK(!allowed("get", "/incidents"), "methods are upper case");
    CHECK(!allowed("GET", "/incidents/P1\r\nX: y"), "refuse header injection");
    char longid[200];
    memset(longid, 'A', sizeof longid - 1);
    longid[0] = '/';
    longid[sizeof longid - 1] = '\0';
    CHECK(!allowed("GET", longid), "refuse over-long path");

    CHECK(pd_query_ok("statuses%5B%5D=triggered&limit=100&offset=0&total=true"), "query ok");
    CHECK(pd_query_ok("since=2026-01-01T00%3A00%3A00Z"), "query with escapes ok");
    CHECK(!pd_query_ok("a=b#frag"), "query refuses #");
    CHECK(!pd_query_ok("a=b c"), "query refuses space");
    CHECK(!pd_query_ok("a=b\r\n"), "query refuses CRLF");
    CHECK(!pd_query_ok("a=/x"), "query refuses unencoded slash");

    /* the rate limiter: plenty left = no wait; low = paced; none = wait for the reset */
    pd_limit_reset();
    CHECK(pd_limit_pace(100.0) == 0, "limiter: unknown state sends");
    pd_limit_observe(100.0, 200, 500, 60, 1);
    CHECK(pd_limit_pace(100.0) == 0, "limiter: plenty left sends");
    pd_limit_observe(100.0, 200, 2, 10, 1);
    CHECK(pd_limit_pace(100.0) == 0, "limiter: low, first slot sends");
    double w = pd_limit_pace(100.0);
    CHECK(w > 4.9 && w < 5.1, "limiter: low, next request is spread over the window");
    CHECK(pd_limit_pace(105.0) == 0, "limiter: the paced slot comes");
    w = pd_limit_pace(105.0);
    CHECK(w > 0 && w <= 5.0, "limiter: none left waits for the reset");
    CHECK(pd_limit_pace(110.5) == 0, "limiter: after the reset, sends again");
    pd_limit_reset();
    pd_limit_observe(200.0, 429, 0, 7, 1);
    w = pd_limit_pace(200.0);
    CHECK(w > 6.9 && w < 7.1, "limiter: 429 holds until ratelimit-reset");
    CHECK(pd_limit_pace(203.0) > 0, "limiter: 429 still holds every task");
    CHECK(pd_limit_pace(207.0) == 0, "limiter: 429 released at the reset");
    pd_limit_reset();
    pd_limit_observe(300.0, 429, -1, -1, 1.5);
    w = pd_limit_pace(300.0);
    CHECK(w > 1.4 && w < 1.6, "limiter: 429 without headers backs off");
    pd_limit_reset();
    pd_limit_observe(400.0, 200, 500, 59, 1);
    pd_limit_observe(400.0, 429, -1, -1, 1.5);
    w = pd_limit_pace(400.0);
    CHECK(w > 1.4 && w < 1.6, "limiter: 429 without headers waits the backoff, not the old window");
    CHECK(pd_limit_pace(401.6) == 0, "limiter: and sends after it");
    /* garbage reset values (ratelimit-reset: 0x1960f, 1e999) are capped, never a stuck run */
    pd_limit_reset();
    pd_limit_observe(500.0, 429, 0, 103951, 1);
    w = pd_limit_pace(500.0);
    CHECK(w > 0 && w <= 300, "limiter: a huge reset after 429 waits at most 5 minutes");
    pd_limit_reset();
    pd_limit_observe(600.0, 200, 0, HUGE_VAL, 1);
    w = pd_limit_pace(600.0);
    CHECK(w > 0 && w <= 300, "limiter: an infinite reset with none left waits at most 5 minutes");
    pd_limit_reset();
    pd_limit_observe(700.0, 429, NAN, NAN, 1.5);
    w = pd_limit_pace(700.0);
    CHECK(w > 1.4 && w < 1.6, "limiter: NaN headers count as absent");

    /* base URLs */
    char out[256], err[200];
    CHECK(connection_check_url("url", "https://api.pagerduty.com/", out, sizeof out, err, sizeof err) == 0 &&
          strcmp(out, "https://api.pagerduty.com") == 0, "base url: https, trailing slash dropped");
    CHECK(connection_check_url("url", "http://127.0.0.1:8080", out, sizeof out, err, sizeof err) == 0, "base url: loopback http");
    CHECK(connection_check_url("url", "http://api.pagerduty.com", out, sizeof out, err, sizeof err) != 0, "base url: plain http refused");
    CHECK(connection_check_url("url", "https://u:p@x.example", out, sizeof out, err, sizeof err) != 0, "base url: credentials refused");
    CHECK(connection_check_url("url", "https://x.example/?a=1", out, sizeof out, err, sizeof err) != 0, "base url: query refused");
    CHECK(connection_check_url("url", "ftp://x.example", out, sizeof out, err, sizeof err) != 0, "base url: other scheme refused");

    /* the store: the sandbox preset comes first, and the name 'sandbox' finds it */
    struct connection *c = NULL;
    connection_set_sandbox("http://127.0.0.1:9/", "tok-123");
    CHECK(connection_open(NULL, NULL, &c, err, sizeof err) == 0 && c->kind == CONN_SANDBOX &&
          strcmp(c->api_url, "http://127.0.0.1:9") == 0 && strcmp(c->token, "tok-123") == 0, "store: sandbox preset");
    connection_free(c);
    connection_clear_sandbox();
    c = NULL;
    CHECK(connection_open("sandbox", NULL, &c, err, sizeof err) != 0 && strstr(err, "--sandbox") != NULL, "store: no sandbox outside sandbox runs");
    CHECK(connection_open("prod", NULL, &c, err, sizeof err) != 0 && strstr(err, "vsrun auth login") != NULL && c == NULL,
          "store: empty vault names the fix");
    return check_done();
}
