/* One-shot OAuth redirect listener on 127.0.0.1 (see oauth_callback.h). */
#include "oauth_callback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "util.h"

struct oauth_callback {
    struct MHD_Daemon *daemon;
    unsigned port;
    char state[128];
    pthread_mutex_t lock;
    int done;                    /* the deciding callback arrived */
    struct callback_result res;
};

/* Keeps printable ASCII only, so a hostile error= value cannot inject terminal escapes. */
static void copy_clean(char *out, size_t outlen, const char *in) {
    size_t o = 0;
    for (; in && *in && o + 1 < outlen; in++)
        out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[o] = '\0';
}

static int state_matches(const struct oauth_callback *cb, const char *state) {
    size_t n = strlen(cb->state);
    return state && strlen(state) == n && CRYPTO_memcmp(state, cb->state, n) == 0;
}

/* Judges one callback (under cb->lock). Returns the outcome it recorded, or -1 when a
 * decision was already made (the listener is closing). */
static int judge(struct oauth_callback *cb, const char *state, const char *code, const char *error, const char *desc) {
    if (cb->done) return -1;
    cb->done = 1;
    struct callback_result *r = &cb->res;
    if (!state_matches(cb, state)) r->outcome = CALLBACK_BAD_STATE;
    else if (error && *error) {
        r->outcome = CALLBACK_DENIED;
        copy_clean(r->error, sizeof r->error, error);
        copy_clean(r->error_description, sizeof r->error_description, desc);
    } else if (code && *code) {
        r->outcome = CALLBACK_CODE;
        r->code = strdup(code);
        if (!r->code) r->outcome = CALLBACK_FAILED;
    } else r->outcome = CALLBACK_NO_CODE;
    return (int)r->outcome;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *text) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Connection", "close");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version; (void)upload; (void)con_cls;
    struct oauth_callback *cb = cls;
    if (*upload_size) { *upload_size = 0; return MHD_YES; }
    if (strcmp(url, "/callback") != 0) return respond(conn, 404, "<p>Not found.</p>");
    if (strcmp(method, "GET") != 0) return respond(conn, 405, "<p>Method not allowed.</p>");
    const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    const char *code = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "code");
    const char *error = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "error");
    const char *desc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "error_description");
    /* Anyone on the machine can reach this port: a callback without our state (forged, or
     * from a stale sign-in tab) is answered and ignored, so it cannot end the login. */
    pthread_mutex_lock(&cb->lock);
    int ours = state_matches(cb, state);
    int outcome = !ours ? (cb->done ? -1 : CALLBACK_BAD_STATE) : judge(cb, state, code, error, desc);
    pthread_mutex_unlock(&cb->lock);
    if (outcome == CALLBACK_BAD_STATE) {
        fprintf(stderr, "vsrun: ignored a callback without this login's state (a stale or forged link); still waiting\n");
        fflush(stderr);
    }
    switch (outcome) {
    case CALLBACK_CODE:
        return respond(conn, 200, "<!doctype html><title>vsrun</title><p>vsrun is connected to PagerDuty. You can close this window.</p>");
    case CALLBACK_DENIED:
        return respond(conn, 200, "<!doctype html><title>vsrun</title><p>The authorization was declined. You can close this window.</p>");
    case CALLBACK_BAD_STATE:
        return respond(conn, 400, "<!doctype html><title>vsrun</title><p>This sign-in link does not belong to the running vsrun login; nothing was done.</p>");
    case -1:
        return respond(conn, 409, "<!doctype html><title>vsrun</title><p>This login has already finished.</p>");
    default:
        return respond(conn, 400, "<!doctype html><title>vsrun</title><p>The redirect carried no authorization code.</p>");
    }
}

struct oauth_callback *callback_start(const char *state, char *err, size_t errlen) {
    struct oauth_callback *cb = calloc(1, sizeof *cb);
    if (!cb || strlen(state) >= sizeof cb->state) {
        free(cb);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(cb->state, sizeof cb->state, "%s", state);
    pthread_mutex_init(&cb->lock, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cb->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC, 0, NULL, NULL, on_request, cb,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_END);
    const union MHD_DaemonInfo *info = cb->daemon ? MHD_get_daemon_info(cb->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info || !info->port) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1 for the login callback: %s", strerror(errno));
        callback_free(cb);
        return NULL;
    }
    cb->port = info->port;
    return cb;
}

unsigned callback_port(const struct oauth_callback *cb) { return cb->port; }

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a query value in place ('+' is a space, %XX a byte). */
static void url_decode(char *s) {
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') *o++ = ' ';
        else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else *o++ = *s;
    }
    *o = '\0';
}

/* A pasted redirect URL: takes code, state, error, error_description from its query.
 * Returns 0 when it looked like a redirect (had a query with state), else -1. */
static int judge_pasted(struct oauth_callback *cb, char *line) {
    char *q = strchr(line, '?');
    if (!q) return -1;
    char *hash = strchr(q, '#');
    if (hash) *hash = '\0';
    char *state = NULL, *code = NULL, *error = NULL, *desc = NULL;
    for (char *tok = strtok(q + 1, "&"); tok; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        url_decode(eq + 1);
        if (strcmp(tok, "state") == 0) state = eq + 1;
        else if (strcmp(tok, "code") == 0) code = eq + 1;
        else if (strcmp(tok, "error") == 0) error = eq + 1;
        else if (strcmp(tok, "error_description") == 0) desc = eq + 1;
    }
    if (!state && !code && !error) return -1;
    pthread_mutex_lock(&cb->lock);
    judge(cb, state, code, error, desc);
    pthread_mutex_unlock(&cb->lock);
    return 0;
}

int callback_judge_url(const char *state, const char *url, struct callback_result *res) {
    memset(res, 0, sizeof *res);
    struct oauth_callback cb;
    memset(&cb, 0, sizeof cb);
    if (strlen(state) >= sizeof cb.state) return -1;
    snprintf(cb.state, sizeof cb.state, "%s", state);
    pthread_mutex_init(&cb.lock, NULL);
    size_t n = strlen(url);
    char *line = malloc(n + 1);
    int rc = -1;
    if (line) {
        memcpy(line, url, n + 1);
        rc = judge_pasted(&cb, line);
        OPENSSL_cleanse(line, n);
        free(line);
    }
    pthread_mutex_destroy(&cb.lock);
    *res = cb.res;
    return rc;
}

/* Closes the listening socket at once, lets the deciding response finish, then stops. */
static void stop_listener(struct oauth_callback *cb) {
    if (!cb->daemon) return;
    MHD_socket fd = MHD_quiesce_daemon(cb->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double until = util_monotonic() + 2;
    while (util_monotonic() < until) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(cb->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0) break;
        usleep(10000);
    }
    MHD_stop_daemon(cb->daemon);
    cb->daemon = NULL;
}

void callback_wait(struct oauth_callback *cb, double timeout_sec, int read_stdin, struct callback_result *res) {
    double deadline = util_monotonic() + timeout_sec;
    char line[8192];
    size_t used = 0;
    int stdin_open = read_stdin;
    for (;;) {
        pthread_mutex_lock(&cb->lock);
        int done = cb->done;
        pthread_mutex_unlock(&cb->lock);
        if (done) break;
        double left = deadline - util_monotonic();
        if (left <= 0) {
            pthread_mutex_lock(&cb->lock);
            if (!cb->done) {
                cb->done = 1;
                cb->res.outcome = CALLBACK_TIMEOUT;
            }
            pthread_mutex_unlock(&cb->lock);
            break;
        }
        int ms = left < 0.05 ? (int)(left * 1000) + 1 : 50;
        if (!stdin_open) {
            poll(NULL, 0, ms);
            continue;
        }
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0) continue;
        ssize_t n = read(0, line + used, sizeof line - 1 - used);
        if (n <= 0) {
            stdin_open = 0; /* EOF: keep waiting for the browser */
            continue;
        }
        used += (size_t)n;
        line[used] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            char *start = line;
            while (*start == ' ' || *start == '\t') start++;
            size_t l = strlen(start);
            while (l && (start[l - 1] == '\r' || start[l - 1] == ' ')) start[--l] = '\0';
            if (*start && judge_pasted(cb, start) != 0)
                fprintf(stderr, "vsrun: that is not the redirect address; paste the whole address (http://127.0.0.1:%u/callback?...) from the browser\n", cb->port);
            size_t rest = used - (size_t)(nl + 1 - line);
            OPENSSL_cleanse(line, (size_t)(nl + 1 - line));
            memmove(line, nl + 1, rest);
            used = rest;
            line[used] = '\0';
        }
        if (used == sizeof line - 1) used = 0; /* overlong garbage */
    }
    OPENSSL_cleanse(line, sizeof line);
    stop_listener(cb);
    pthread_mutex_lock(&cb->lock);
    *res = cb->res;
    memset(&cb->res, 0, sizeof cb->res);
    pthread_mutex_unlock(&cb->lock);
}

void callback_free(struct oauth_callback *cb) {
    if (!cb) return;
    stop_listener(cb);
    callback_result_clear(&cb->res);
    pthread_mutex_destroy(&cb->lock);
    OPENSSL_cleanse(cb->state, sizeof cb->state);
    free(cb);
}

void callback_result_clear(struct callback_result *res) {
    if (res->code) {
        OPENSSL_cleanse(res->code, strlen(res->code));
        free(res->code);
    }
    memset(res, 0, sizeof *res);
}
