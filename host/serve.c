/* vsrun serve: webhooks in (libmicrohttpd), verified on the raw body, committed to the run
 * store, then answered; worker threads run the queued runs as child processes with retries.
 *
 * Threads: libmicrohttpd's internal polling threads (event-driven, so a slow client holds
 * a socket, not a thread), `workers` run threads, and the main thread waiting in sigwait
 * for SIGINT/SIGTERM. `mu` guards the worker state; the store has its own lock and is only
 * taken inside `mu`, never the other way round. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/rand.h>

#include "exitcodes.h"
#include "jsontext.h"
#include "options.h"
#include "secrets.h"
#include "serve_config.h"
#include "serve_metrics.h"
#include "serve_run.h"
#include "serve_schedule.h"
#include "serve_verify.h"
#include "store.h"
#include "util.h"

#define DELIVERY_ID_MAX 200
#define SERVE_CONN_LIMIT 1000
#define SERVE_POLL_THREADS 2

struct serve_worker {
    pthread_t thread;
    volatile pid_t pid;        /* the run's child, 0 when idle */
};

static struct {
    struct serve_config cfg;
    struct store *store;
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* a run was queued, a run ended, or stopping */
    int stopping;              /* no new claims */
    int drain_expired;         /* in-flight children were killed: their attempt is not counted */
    int in_flight;
    int running[SERVE_MAX_ROUTES];
    struct serve_worker *workers;
} S;

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int route_index(const char *name) {
    for (int i = 0; i < S.cfg.n_routes; i++)
        if (strcmp(S.cfg.routes[i].name, name) == 0) return i;
    return -1;
}

/* ---- a growing text buffer for JSON ---- */

struct sbuf { char *p; size_t len, cap; int oom; };

static void sb_add(struct sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        while (ncap < b->len + n + 1) ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (np == NULL) { b->oom = 1; return; }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_lit(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(struct sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string; bytes >= 0x80 pass through (the decoder keeps them as they are). */
static void sb_str(struct sbuf *b, const char *s, size_t n) {
    sb_lit(b, "\"");
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_add(b, s + run, i - run);
        char esc[8];
        if (c == '"' || c == '\\') snprintf(esc, sizeof esc, "\\%c", c);
        else snprintf(esc, sizeof esc, "\\u%04x", c);
        sb_lit(b, esc);
        run = i + 1;
    }
    sb_add(b, s + run, n - run);
    sb_lit(b, "\"");
}

static void sb_cstr(struct sbuf *b, const char *s) { sb_str(b, s, strlen(s)); }

/* ---- HTTP ---- */

struct serve_request {
    char *body;
    size_t len, cap;
    int too_large;
};

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *content_type, const char *body,
                             const char *extra_header, const char *extra_value) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", content_type);
    if (extra_header) MHD_add_response_header(resp, extra_header, extra_value);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

#define NOT_A_HOOK (-2)   /* reply_error's route for paths outside /hooks/: not counted */

/* {"error":{"message":...}} with the status; counted for the route (-1: an unknown one). */
static enum MHD_Result reply_error(struct MHD_Connection *c, int route, int status, const char *msg) {
    if (route != NOT_A_HOOK) serve_metrics_request(route, status);
    struct sbuf b = {0};
    sb_lit(&b, "{\"error\":{\"message\":");
    sb_cstr(&b, msg);
    sb_lit(&b, "}}\n");
    enum MHD_Result ret;
    if (b.oom) ret = MHD_NO;
    else if (status == 401) ret = reply(c, status, "application/json", b.p, "WWW-Authenticate", "Bearer");
    else if (status == 503) ret = reply(c, status, "application/json", b.p, "Retry-After", "30");
    else ret = reply(c, status, "application/json", b.p, NULL, NULL);
    free(b.p);
    return ret;
}

static int delivery_id_ok(const char *s, size_t n) {
    if (n == 0 || n > DELIVERY_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
    return 1;
}

/* The delivery id: the configured header, else PagerDuty's event.id, else a random one
 * (no de-duplication possible). Returns a malloc'd id, or NULL with *why set. */
static char *delivery_id(struct MHD_Connection *c, const struct serve_route *r, const char *body, size_t len,
                         const char **why) {
    if (r->delivery_header) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, r->delivery_header);
        if (v == NULL) { *why = "the delivery id header is missing"; return NULL; }
        if (!delivery_id_ok(v, strlen(v))) { *why = "the delivery id must be 1-200 printable characters"; return NULL; }
        return strdup(v);
    }
    if (r->verifier == VERIFY_PAGERDUTY && r->json) {
        const char *ev;
        size_t evlen;
        if (jt_find(body, len, "event", &ev, &evlen) == 1) {
            char *id = jt_string(ev, evlen, "id");
            if (id && delivery_id_ok(id, strlen(id))) return id;
            free(id);
        }
        *why = "a PagerDuty webhook needs event.id (1-200 printable characters)";
        return NULL;
    }
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) { *why = "random number generator failed"; return NULL; }
    char *id = malloc(2 * sizeof raw + 1);
    if (id) for (size_t i = 0; i < sizeof raw; i++) snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return id;
}

/* The event as the script sees it (run_id and attempt are added when it runs). */
static char *event_json(struct MHD_Connection *c, const struct serve_route *r, const char *id, const char *body,
                        size_t len, double now) {
    struct sbuf b = {0};
    char when[32];
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sb_lit(&b, "{\"route\":");
    sb_cstr(&b, r->name);
    sb_lit(&b, ",\"delivery_id\":");
    sb_cstr(&b, id);
    sb_lit(&b, ",\"received_at\":");
    sb_cstr(&b, when);
    sb_lit(&b, ",\"headers\":{");
    static const char *const always[] = {"content-type", "user-agent"};
    int n = 0;
    for (int i = 0; i < 2 + r->n_pass_headers; i++) {
        const char *name = i < 2 ? always[i] : r->pass_headers[i - 2];
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
        if (v == NULL) continue;
        if (n++) sb_lit(&b, ",");
        sb_cstr(&b, name);
        sb_lit(&b, ":");
        sb_cstr(&b, v);
    }
    sb_lit(&b, "},\"body\":");
    sb_str(&b, body, len);
    if (r->json) {
        sb_lit(&b, ",\"payload\":");   /* already checked to be a JSON object */
        sb_add(&b, body, len);
    }
    sb_lit(&b, "}");
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

static enum MHD_Result handle_hook(struct MHD_Connection *c, int ri, const char *body, size_t len) {
    const struct serve_route *r = &S.cfg.routes[ri];
    const char *hv = MHD_lookup_connection_value(c, MHD_HEADER_KIND, serve_verify_header(r));
    switch (serve_verify(r, hv, body, len)) {
    case VERIFY_OK: break;
    case VERIFY_MISSING:
        if (r->verifier == VERIFY_BEARER) return reply_error(c, ri, 401, "missing Authorization: Bearer");
        return reply_error(c, ri, 400, "missing signature header");
    case VERIFY_MALFORMED: return reply_error(c, ri, 400, "malformed credential header");
    default: return reply_error(c, ri, 403, "signature or token does not match");
    }
    const char *v;
    size_t vlen;
    if (r->json && jt_find(body, len, "\x01", &v, &vlen) < 0)
        return reply_error(c, ri, 400, "the body is not a JSON object");
    const char *why = NULL;
    char *id = delivery_id(c, r, body, len, &why);
    if (id == NULL) return reply_error(c, ri, why && strstr(why, "random") ? 503 : 400, why ? why : "out of memory");
    double now = wall_now();
    char *input = event_json(c, r, id, body, len, now);
    if (input == NULL) { free(id); return reply_error(c, ri, 503, "out of memory"); }
    int64_t run_id = 0;
    int rc = store_insert(S.store, r->name, id, input, r->max_attempts, now, &run_id);
    free(input);
    free(id);
    if (rc == STORE_FULL) return reply_error(c, ri, 503, "the run store is full; nothing was stored");
    if (rc == STORE_ERROR) return reply_error(c, ri, 503, "the run store failed; nothing was stored");
    if (rc == STORE_OK) {
        pthread_mutex_lock(&S.mu);
        pthread_cond_signal(&S.wake);
        pthread_mutex_unlock(&S.mu);
    }
    char msg[96];
    snprintf(msg, sizeof msg, "{\"run\":%lld,\"status\":\"%s\"}\n", (long long)run_id,
             rc == STORE_OK ? "queued" : "duplicate");
    serve_metrics_request(ri, rc == STORE_OK ? 202 : 200);
    return reply(c, rc == STORE_OK ? 202 : 200, "application/json", msg, NULL, NULL);
}

static enum MHD_Result handle_get(struct MHD_Connection *c, const char *url) {
    if (strcmp(url, "/healthz") == 0) return reply(c, 200, "text/plain", "ok\n", NULL, NULL);
    if (strcmp(url, "/metrics") == 0) {
        long depth = 0;
        double oldest = 0;
        store_queue_stats(S.store, wall_now(), &depth, &oldest);
        pthread_mutex_lock(&S.mu);
        int in_flight = S.in_flight;
        pthread_mutex_unlock(&S.mu);
        char *text = serve_metrics_text(depth, oldest, in_flight);
        if (text == NULL) return MHD_NO;
        enum MHD_Result ret = reply(c, 200, "text/plain; version=0.0.4", text, NULL, NULL);
        free(text);
        return ret;
    }
    return reply_error(c, NOT_A_HOOK, 404, "not found");
}

static enum MHD_Result serve_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)cls;
    (void)version;
    struct serve_request *req = *con_cls;
    int is_hook = strncmp(url, "/hooks/", 7) == 0;
    int ri = is_hook ? route_index(url + 7) : -1;
    if (ri >= 0 && S.cfg.routes[ri].cron) ri = -1;   /* schedules have no URL */
    if (req == NULL) {
        /* headers are in: refuse what needs no body before reading it */
        if (!is_hook) {
            if (strcmp(method, "GET") != 0)
                return reply_error(c, NOT_A_HOOK, strcmp(url, "/healthz") && strcmp(url, "/metrics") ? 404 : 405, "not found");
            return handle_get(c, url);
        }
        if (ri < 0) return reply_error(c, -1, 404, "no such route");
        if (strcmp(method, "POST") != 0) return reply_error(c, ri, 405, "webhooks are POST requests");
        req = calloc(1, sizeof *req);
        if (req == NULL) return MHD_NO;
        *con_cls = req;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)S.cfg.max_body) {
            req->too_large = 1;
            return reply_error(c, ri, 413, "the body is larger than max_body");
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (req->too_large) return MHD_YES;
        if (req->len + n > S.cfg.max_body) {   /* chunked: discard the rest, then answer 413 */
            req->too_large = 1;
            free(req->body);
            req->body = NULL;
            req->len = req->cap = 0;
            return MHD_YES;
        }
        if (req->len + n + 1 > req->cap) {
            size_t ncap = req->cap ? req->cap : 4096;
            while (ncap < req->len + n + 1) ncap *= 2;
            char *nb = realloc(req->body, ncap);
            if (nb == NULL) return MHD_NO;
            req->body = nb;
            req->cap = ncap;
        }
        memcpy(req->body + req->len, upload_data, n);
        req->len += n;
        return MHD_YES;
    }
    if (req->too_large) return reply_error(c, ri, 413, "the body is larger than max_body");
    return handle_hook(c, ri, req->body ? req->body : "", req->len);
}

static void serve_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    (void)toe;
    struct serve_request *req = *con_cls;
    if (req) { free(req->body); free(req); }
    *con_cls = NULL;
}

/* ---- workers ---- */

/* The routes with a free slot (called under mu). */
static int free_routes(const char **names) {
    int n = 0;
    for (int i = 0; i < S.cfg.n_routes; i++)
        if (S.running[i] < S.cfg.routes[i].concurrency) names[n++] = S.cfg.routes[i].name;
    return n;
}

/* Equal jitter: half the capped exponential delay, plus a random part of the other half. */
static double backoff(const struct serve_route *r, int attempt) {
    double d = r->retry_base * pow(2, attempt - 1);
    if (d > r->retry_max) d = r->retry_max;
    unsigned int rnd = 0;
    RAND_bytes((unsigned char *)&rnd, sizeof rnd);
    return d / 2 + d / 2 * (rnd / 4294967296.0);
}

static void log_run(const struct store_claimed *run, const char *outcome, const struct serve_run_result *res,
                    double retry_in) {
    struct sbuf b = {0};
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sb_lit(&b, "{\"time\":");
    sb_cstr(&b, when);
    sb_printf(&b, ",\"run\":%lld,\"route\":", (long long)run->id);
    sb_cstr(&b, run->route);
    sb_lit(&b, ",\"delivery_id\":");
    sb_cstr(&b, run->delivery_id);
    sb_printf(&b, ",\"attempt\":%d,\"outcome\":\"%s\",\"exit_code\":%d,\"seconds\":%.3f", run->attempt, outcome,
              res->exit_code, res->seconds);
    if (retry_in >= 0) sb_printf(&b, ",\"retry_in\":%.3f", retry_in);
    sb_lit(&b, "}\n");
    if (!b.oom) fputs(b.p, stderr);
    free(b.p);
}

static void execute(struct serve_worker *w, struct store_claimed *run) {
    int ri = route_index(run->route);
    const struct serve_route *r = &S.cfg.routes[ri];
    /* run_id and attempt join the stored event */
    struct sbuf in = {0};
    sb_printf(&in, "{\"run_id\":%lld,\"attempt\":%d,", (long long)run->id, run->attempt);
    sb_lit(&in, run->input + 1);
    struct serve_run_result res;
    if (in.oom) {
        memset(&res, 0, sizeof res);
        res.exit_code = -1;
        res.output = strdup("out of memory");
    } else {
        serve_run(r, run->id, in.p, &w->pid, &res);
    }
    for (int i = 0; i < res.n_pagerduty; i++) serve_metrics_pagerduty(ri, res.pagerduty[i].status, res.pagerduty[i].count);
    serve_metrics_rate_limit_wait(ri, res.rate_limit_wait);
    free(in.p);
    double now = wall_now();
    pthread_mutex_lock(&S.mu);
    int drained = S.drain_expired;
    pthread_mutex_unlock(&S.mu);
    const char *error = res.exit_code == 0 ? NULL : (res.output && *res.output ? res.output : "the run failed");
    int saved;
    if (drained && res.exit_code != 0) {
        /* stopped by the drain deadline: queued again, the attempt not counted */
        saved = store_finish(S.store, run->id, "queued", now, now, res.exit_code, NULL, "stopped when the server shut down", 1);
        log_run(run, "requeued", &res, -1);
    } else if (res.exit_code == 0) {
        saved = store_finish(S.store, run->id, "done", now, now, 0, res.result, NULL, 0);
        serve_metrics_run(ri, "done", res.seconds);
        log_run(run, "done", &res, -1);
    } else if (res.exit_code == 2 || run->attempt >= run->max_attempts) {
        /* exit 2 is bad input: trying again cannot help */
        saved = store_finish(S.store, run->id, "dead", now, now, res.exit_code, NULL, error, 0);
        serve_metrics_run(ri, "dead", res.seconds);
        log_run(run, "dead", &res, -1);
    } else {
        double delay = backoff(r, run->attempt);
        saved = store_finish(S.store, run->id, "queued", now, now + delay, res.exit_code, NULL, error, 0);
        serve_metrics_run(ri, "retry", res.seconds);
        log_run(run, "retry", &res, delay);
    }
    /* the run stays `running` in the store; the next start-up queues it again */
    if (saved != 0) fprintf(stderr, "vsrun serve: cannot record the end of run %lld (store full or failing)\n", (long long)run->id);
    serve_run_result_free(&res);
}

static void *worker_main(void *arg) {
    struct serve_worker *w = arg;
    pthread_mutex_lock(&S.mu);
    while (!S.stopping) {
        struct store_claimed run;
        const char *names[SERVE_MAX_ROUTES];
        int n = free_routes(names);
        int got = n ? store_claim(S.store, wall_now(), names, n, &run) : 0;
        if (got == 1) {
            int ri = route_index(run.route);
            S.running[ri]++;
            S.in_flight++;
            pthread_mutex_unlock(&S.mu);
            execute(w, &run);
            store_claimed_free(&run);
            pthread_mutex_lock(&S.mu);
            S.running[ri]--;
            S.in_flight--;
            pthread_cond_broadcast(&S.wake);
            continue;
        }
        /* nothing claimable (or a store error): sleep until the next retry is due, at most
         * 1 s (so `vsrun runs retry` from another process is noticed). Runs already due but
         * not claimed wait for a busy route: a run ending wakes us. */
        double now = wall_now(), due = got == 0 && n ? store_next_due(S.store) : -1;
        double wait = due <= now ? 1.0 : due - now;
        if (wait > 1.0) wait = 1.0;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = until.tv_nsec + (long long)(wait * 1e9);
        until.tv_sec += ns / 1000000000LL;
        until.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&S.wake, &S.mu, &until);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

/* A schedule queued a run: wake a worker. */
static void schedule_queued(void) {
    pthread_mutex_lock(&S.mu);
    pthread_cond_signal(&S.wake);
    pthread_mutex_unlock(&S.mu);
}

/* Extends this server's leases on a shared store once a second until the workers are done
 * (so a run draining after SIGTERM keeps its lease). */
static int heartbeat_stop;
static pthread_cond_t heartbeat_wake = PTHREAD_COND_INITIALIZER;

static void *heartbeat_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&S.mu);
    while (!heartbeat_stop) {
        pthread_mutex_unlock(&S.mu);
        store_heartbeat(S.store, wall_now());
        pthread_mutex_lock(&S.mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        if (!heartbeat_stop) pthread_cond_timedwait(&heartbeat_wake, &S.mu, &until);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

/* ---- the command ---- */

static const char serve_help[] =
    "usage: vsrun serve --config FILE [--store STORE] [--port N] [--bind ADDR]\n"
    "Serves POST /hooks/NAME for each route of the config (a Lua file returning a table;\n"
    "see docs/serve.md), GET /healthz and GET /metrics, and fires its cron schedules.\n"
    "A webhook is verified on its raw body, stored, then answered 202 (200 for a delivery\n"
    "id already stored); its run\n"
    "executes `vsrun [route options] SCRIPT --input-file -` with the event as input, and\n"
    "is retried with backoff up to max_attempts, then kept as dead.\n"
    "  --config FILE   the config (required)\n"
    "  --store STORE   a SQLite file, or postgresql://... shared by any number of replicas\n"
    "                  (default: the config's store, else $VSRUN_HOME/serve.db). Connections\n"
    "                  stay in each machine's vault unless VSRUN_VAULT names a PostgreSQL\n"
    "                  vault (`vsrun auth push --help`); serve says so at start-up\n"
    "  --port N        override the config's port (0: any free port)\n"
    "  --bind ADDR     override the config's bind address (numeric IPv4/IPv6)\n"
    "Prints its URL on stdout when ready and one JSON line per finished attempt on stderr.\n"
    "SIGTERM/SIGINT stop accepting, wait drain_seconds for the runs in flight, then exit 0.\n"
    "Exit codes: 2 usage or config error, 6 cannot listen, 1 cannot open the store.\n"
    "Inspect runs with: vsrun runs list|show ID|retry ID\n";

static struct MHD_Daemon *serve_listen(int *port_out) {
    union { struct sockaddr sa; struct sockaddr_in in4; struct sockaddr_in6 in6; } addr;
    memset(&addr, 0, sizeof addr);
    int ipv6 = strchr(S.cfg.bind, ':') != NULL;
    if (ipv6) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons((uint16_t)S.cfg.port);
        if (inet_pton(AF_INET6, S.cfg.bind, &addr.in6.sin6_addr) != 1) return NULL;
    } else {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons((uint16_t)S.cfg.port);
        if (inet_pton(AF_INET, S.cfg.bind, &addr.in4.sin_addr) != 1) return NULL;
    }
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)S.cfg.port, NULL, NULL, serve_access, NULL, MHD_OPTION_SOCK_ADDR, &addr.sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SERVE_POLL_THREADS, MHD_OPTION_NOTIFY_COMPLETED, serve_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S.cfg.request_timeout, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)SERVE_CONN_LIMIT, MHD_OPTION_END);
    if (d == NULL) return NULL;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port_out = di ? di->port : S.cfg.port;
    return d;
}

/* Waits for the runs in flight until the deadline, then kills what is left. */
static void serve_drain(void) {
    pthread_mutex_lock(&S.mu);
    S.stopping = 1;
    pthread_cond_broadcast(&S.wake);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)S.cfg.drain_seconds;
    while (S.in_flight > 0) {
        if (pthread_cond_timedwait(&S.wake, &S.mu, &until) == ETIMEDOUT) break;
    }
    if (S.in_flight > 0) {
        fprintf(stderr, "vsrun serve: drain deadline passed: stopping %d run(s); they run again after restart\n",
                S.in_flight);
        S.drain_expired = 1;
        for (int i = 0; i < S.cfg.workers; i++) serve_run_stop(&S.workers[i].pid);
    }
    pthread_mutex_unlock(&S.mu);
    for (int i = 0; i < S.cfg.workers; i++) pthread_join(S.workers[i].thread, NULL);
}

enum { SV_CONFIG = 1, SV_STORE, SV_PORT, SV_BIND };
static const struct opt serve_options[] = {
    {"--config", NULL, SV_CONFIG, OPT_VALUE},
    {"--store", NULL, SV_STORE, OPT_VALUE},
    {"--port", NULL, SV_PORT, OPT_VALUE},
    {"--bind", NULL, SV_BIND, OPT_VALUE},
    {NULL, NULL, 0, 0},
};

int cmd_serve(int argc, char **argv) {
    const char *config = NULL, *store = NULL, *port = NULL, *bind = NULL;
    struct opt_parser op;
    opt_init(&op, "vsrun serve", argc, argv, serve_options, NULL);
    for (int id; (id = opt_next(&op)) != OPT_END;) {
        switch (id) {
        case OPT_ERROR: return EXIT_USAGE;
        case OPT_HELP: fputs(serve_help, stdout); return EXIT_OK;
        case OPT_ARG: return util_usage("vsrun serve", "unexpected argument '%s'", op.value);
        case SV_CONFIG: config = op.value; break;
        case SV_STORE: store = op.value; break;
        case SV_PORT: port = op.value; break;
        case SV_BIND: bind = op.value; break;
        }
    }
    if (config == NULL) return util_usage("vsrun serve", "--config FILE is required");
    char err[1024];
    memset(&S, 0, sizeof S);
    secrets_keep();  /* runs get VSRUN_KEY even when the config's secret() opened the vault */
    if (serve_config_load(config, &S.cfg, err, sizeof err) != 0) {
        fprintf(stderr, "vsrun serve: %s: %s\n", config, err);
        return EXIT_USAGE;
    }
    int code = EXIT_OK;
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*port == '\0' || *end || p < 0 || p > 65535) { code = util_usage("vsrun serve", "--port needs 0 to 65535, got '%s'", port); goto out_config; }
        S.cfg.port = (int)p;
    }
    if (bind) {
        free(S.cfg.bind);
        S.cfg.bind = strdup(bind);
    }
    unsigned char probe[16];
    if (S.cfg.bind == NULL || (inet_pton(AF_INET, S.cfg.bind, probe) != 1 && inet_pton(AF_INET6, S.cfg.bind, probe) != 1)) {
        code = util_usage("vsrun serve", "bind needs a numeric IPv4 or IPv6 address, got '%s'", S.cfg.bind ? S.cfg.bind : "");
        goto out_config;
    }
    char store_path[4096];
    if (store) snprintf(store_path, sizeof store_path, "%s", store);
    else if (S.cfg.store) snprintf(store_path, sizeof store_path, "%s", S.cfg.store);
    else if (store_default_path(store_path, sizeof store_path, err, sizeof err) != 0) {
        fprintf(stderr, "vsrun serve: %s\n", err);
        code = EXIT_SCRIPT;
        goto out_config;
    }
    int recovered = 0;
    S.store = store_open_server(store_path, S.cfg.store_max_mb, &recovered, err, sizeof err);
    if (S.store == NULL) {
        fprintf(stderr, "vsrun serve: cannot open the store: %s\n", err);
        code = EXIT_SCRIPT;
        goto out_config;
    }
    if (recovered) fprintf(stderr, "vsrun serve: %d run(s) left running by a stopped server were queued again\n", recovered);
    /* A shared queue does not imply shared connections: moving them is the operator's
     * choice (`vsrun auth push`), so say which vault the runs read, once. */
    const char *vault = getenv("VSRUN_VAULT");
    if (store_is_shared(S.store) && (vault == NULL || *vault == '\0'))
        fprintf(stderr, "vsrun serve: note: VSRUN_VAULT is not set: runs use this machine's vault for PagerDuty "
                        "connections, not the store's database (to share one across replicas: vsrun auth push, "
                        "then VSRUN_VAULT=postgresql://...)\n");

    char tmpdir[4096];
    const char *tbase = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/vsrun-serve-XXXXXX", tbase && *tbase ? tbase : "/tmp");
    if (mkdtemp(tmpdir) == NULL || serve_run_init(tmpdir) != 0) {
        fprintf(stderr, "vsrun serve: cannot prepare %s: %s\n", tmpdir, strerror(errno));
        code = EXIT_SCRIPT;
        goto out_store;
    }
    serve_metrics_init(&S.cfg);

    /* SIGINT/SIGTERM blocked before any thread exists (they inherit the mask): only the
     * sigwait below receives them; children get an empty mask (serve_run.c). */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    pthread_mutex_init(&S.mu, NULL);
    pthread_cond_init(&S.wake, NULL);

    int bound_port = 0;
    S.daemon = serve_listen(&bound_port);
    if (S.daemon == NULL) {
        fprintf(stderr, "vsrun serve: cannot listen on %s port %d\n", S.cfg.bind, S.cfg.port);
        code = EXIT_NETWORK;
        goto out_signals;
    }
    pthread_t heartbeat;
    heartbeat_stop = 0;
    int have_heartbeat = store_is_shared(S.store) && pthread_create(&heartbeat, NULL, heartbeat_main, NULL) == 0;
    S.workers = calloc((size_t)S.cfg.workers, sizeof *S.workers);
    int started = 0;
    for (; S.workers && started < S.cfg.workers; started++)
        if (pthread_create(&S.workers[started].thread, NULL, worker_main, &S.workers[started]) != 0) break;
    int sched_failed = 0;
    struct serve_scheduler *sched = started == S.cfg.workers ? serve_scheduler_start(&S.cfg, S.store, schedule_queued, &sched_failed) : NULL;
    if (started < S.cfg.workers || sched_failed) {
        fprintf(stderr, "vsrun serve: cannot start the workers\n");
        S.cfg.workers = started;
        code = EXIT_SCRIPT;
    } else {
        if (strchr(S.cfg.bind, ':')) printf("http://[%s]:%d\n", S.cfg.bind, bound_port);
        else printf("http://%s:%d\n", S.cfg.bind, bound_port);
        fflush(stdout);
        int sig = 0;
        sigwait(&stop_signals, &sig);
    }
    /* stop accepting first: a request in a handler finishes (stored and answered) */
    MHD_stop_daemon(S.daemon);
    serve_scheduler_stop(sched);
    serve_drain();
    if (have_heartbeat) {
        pthread_mutex_lock(&S.mu);
        heartbeat_stop = 1;
        pthread_cond_broadcast(&heartbeat_wake);
        pthread_mutex_unlock(&S.mu);
        pthread_join(heartbeat, NULL);
    }
    free(S.workers);
out_signals:
    pthread_cond_destroy(&S.wake);
    pthread_mutex_destroy(&S.mu);
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
    serve_run_cleanup();
    rmdir(tmpdir);
out_store:
    store_close(S.store);
out_config:
    serve_config_free(&S.cfg);
    return code;
}
