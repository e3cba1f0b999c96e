/* The server binding: libmicrohttpd hands requests to a Lua handler in the server's own Lua
 * state. See server.h and docs/internals.md "The server binding".
 *
 * Threads. The daemon runs one thread per connection (MHD_USE_THREAD_PER_CONNECTION with
 * its internal listening thread). That is what lets a handler's `delay` and `stall` simply
 * sleep: only that connection's thread waits, every other connection keeps being served.
 * A thread pool would need suspend/resume and timers for the same effect. The Lua state is
 * shared by all connection threads under `lua_lock`, so the handler runs one request at a
 * time; sleeps happen after the lock is released. Nothing crosses between the script's
 * state and the server's state except copied strings (args and info as JSON text).
 *
 * Wedging. A client must not be able to hold the server: connections are limited in total
 * and per client address; a watchdog thread cuts any connection that has not delivered a
 * complete request within request_timeout of its accept (or of its previous response), which
 * trickling bytes does not reset (MHD's own timeout is an idle one); and a stop interrupts a
 * handler stuck in Lua (a count hook) and is bounded for one stuck in C (server_stop_within). */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <microhttpd.h>

#include "modules.h"
#include "util.h"
#include "vm.h"

#define SERVER_HANDLER_KEY "vsrun.server.handler"
#define SERVER_ON_STOP_KEY "vsrun.server.on_stop"
#define SERVER_OUTBOX_KEY "vsrun.server.outbox"
#define SERVER_OUTBOX_MAX 64                       /* requests sent at once */
#define SERVER_OUTBOX_MAX_TIMEOUT 60.0             /* seconds one outbound request may take */
#define SERVER_MAX_SLEEP 3600.0
#define SERVER_IDLE_TIMEOUT 120u                   /* seconds an idle keep-alive connection lives */
#define SERVER_CONN_MEMORY ((size_t)256 * 1024)    /* per-connection buffer: request line + headers */
#define SERVER_MAX_CONNECTIONS 256u                /* one thread each */
#define SERVER_MAX_PER_IP 128u                     /* a client process uses at most 64 (host/http.c) */
#define SERVER_HOOK_COUNT 1000                     /* Lua instructions between stop checks */
#define SERVER_WATCHDOG_NS (200L * 1000 * 1000)    /* how often the watchdog looks */

struct server {
    struct MHD_Daemon *daemon;
    struct vm *vm;
    pthread_mutex_t lua_lock;   /* the Lua state */
    pthread_mutex_t lock;       /* everything below, and sleeps */
    pthread_cond_t wake;        /* broadcast on stop so sleeping delays end at once */
    int stopping;
    int interrupt;              /* a handler still running must end: read by the hook (atomic) */
    int shut_down;              /* server_shutdown finished (server_stop_within waits for it) */
    struct server_conn *conns;  /* every open connection, for the watchdog */
    double request_timeout;
    pthread_t watchdog;
    int has_watchdog;
    pthread_t outbox;           /* sends the module's outbound requests (server_outbox_thread) */
    int has_outbox;
    pthread_cond_t outbox_wake; /* signalled after a handler that queued outbound requests */
    int outbox_kick;
    struct server_stats stats;
    unsigned long next_conn_id;
    size_t max_body;
    int port;
    char url[96];
    char *info_json;
    char last_error[256];       /* first line of the last handler error, logged once */
    char *script_dir;
    char *lib_dirs[VM_MAX_LIBS];
};

/* One TCP connection (MHD's socket context). */
struct server_conn {
    unsigned long id;
    int fd;
    double deadline;            /* a complete request must be in by then; 0 = none (being answered) */
    struct server_conn *prev, *next;
    char remote[INET6_ADDRSTRLEN];
    char *raw_uri;              /* of the request being read: MHD only gives us the decoded path */
};

/* One request (MHD's con_cls), from its headers to its completion. */
struct server_request {
    struct server_conn *conn;
    char *body;
    size_t len, cap;
    int too_large;
};

struct server_header {
    char *name, *value;
};

/* The handler's answer, copied out of Lua. */
struct server_reply {
    int status;
    struct server_header *headers;
    size_t n_headers, cap_headers;
    char *body;
    size_t body_len;
    double delay, stall;
    long long truncate;         /* -1 = no truncation */
    long long stall_after;      /* -1 = half the body */
    int reset;
    int wake_outbox;            /* the handler queued outbound requests: call the outbox now */
};

/* A body sent through a content reader, for truncate and stall. */
struct server_body {
    struct server *s;
    char *data;
    size_t len, send_until, stall_at;
    double stall;
    int stalled;
    int reset;                  /* with truncate: end with an RST instead of a FIN */
    int fd;
};

/* ---- small helpers ---- */

static void server_reply_free(struct server_reply *rep) {
    for (size_t i = 0; i < rep->n_headers; i++) {
        free(rep->headers[i].name);
        free(rep->headers[i].value);
    }
    free(rep->headers);
    free(rep->body);
    memset(rep, 0, sizeof *rep);
}

/* The CLOCK_MONOTONIC time sec seconds from now, for pthread_cond_timedwait. */
static struct timespec monotonic_after(double sec) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long ns = (long long)t.tv_nsec + (long long)((sec - (double)(long long)sec) * 1e9);
    t.tv_sec += (time_t)sec + (time_t)(ns / 1000000000LL);
    t.tv_nsec = (long)(ns % 1000000000LL);
    return t;
}

/* Sleeps sec seconds unless the server stops first; returns -1 when stopping. */
static int server_sleep(struct server *s, double sec) {
    if (sec > SERVER_MAX_SLEEP) sec = SERVER_MAX_SLEEP;
    struct timespec until = monotonic_after(sec);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping)
        if (pthread_cond_timedwait(&s->wake, &s->lock, &until) == ETIMEDOUT) break;
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stopping ? -1 : 0;
}

static char *server_strndup(const char *p, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* Appends s as a JSON string body (quoted, escaped) to buf of size cap. */
static void server_json_string(char *buf, size_t cap, const char *s) {
    size_t n = strlen(buf);
    if (n + 2 >= cap) return;
    buf[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') { buf[n++] = '\\'; buf[n++] = (char)ch; }
        else if (ch < 0x20) n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", ch);
        else buf[n++] = (char)ch;
    }
    buf[n++] = '"';
    buf[n] = '\0';
}

/* A plain JSON error reply the host itself makes (413, 500). */
static void server_error_reply(struct server_reply *rep, int status, const char *message) {
    server_reply_free(rep);
    rep->status = status;
    rep->truncate = rep->stall_after = -1;
    char text[640] = "{\"error\":{\"message\":";
    server_json_string(text, sizeof text - 8, message);
    strcat(text, "}}");
    rep->body = strdup(text);
    rep->body_len = rep->body ? strlen(rep->body) : 0;
    rep->headers = calloc(1, sizeof *rep->headers);
    if (rep->headers) {
        rep->headers[0].name = strdup("Content-Type");
        rep->headers[0].value = strdup("application/json");
        if (rep->headers[0].name && rep->headers[0].value) rep->n_headers = rep->cap_headers = 1;
        else { free(rep->headers[0].name); free(rep->headers[0].value); }
    }
}

/* ---- building the request table ---- */

static int server_hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Pushes the form-decoded text ('+' is a space, %XX a byte; bad escapes stay as they are). */
static void server_push_decoded(lua_State *L, const char *p, size_t n) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '+') luaL_addchar(&b, ' ');
        else if (p[i] == '%' && i + 2 < n && (hi = server_hex(p[i + 1])) >= 0 &&
                 (lo = server_hex(p[i + 2])) >= 0) {
            luaL_addchar(&b, (char)(hi * 16 + lo));
            i += 2;
        } else luaL_addchar(&b, p[i]);
    }
    luaL_pushresult(&b);
}

static int server_ends_with_brackets(lua_State *L, int idx) {
    size_t n;
    const char *k = lua_tolstring(L, idx, &n);
    return n >= 2 && k[n - 2] == '[' && k[n - 1] == ']';
}

/* query = { name = value | { values... } }: a repeated name, or one ending in "[]", gives a
 * list in the order sent; names are kept raw ("statuses[]"). */
static void server_push_query(lua_State *L, const char *qs, size_t qlen) {
    lua_newtable(L);
    int t = lua_gettop(L);
    const char *p = qs, *end = qs + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        size_t n = amp ? (size_t)(amp - p) : (size_t)(end - p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t klen = eq ? (size_t)(eq - p) : n;
            server_push_decoded(L, p, klen);
            if (eq) server_push_decoded(L, eq + 1, n - klen - 1);
            else lua_pushliteral(L, "");
            /* stack: key value */
            lua_pushvalue(L, -2);
            int old = lua_rawget(L, t);
            if (old == LUA_TNIL) {
                lua_pop(L, 1);
                if (server_ends_with_brackets(L, -2)) {
                    lua_createtable(L, 1, 0);
                    lua_insert(L, -2);
                    lua_rawseti(L, -2, 1);
                }
                lua_rawset(L, t);
            } else if (old == LUA_TTABLE) {
                lua_insert(L, -2);
                lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
                lua_pop(L, 2);
            } else {
                lua_createtable(L, 2, 0);
                lua_insert(L, -2);
                lua_rawseti(L, -2, 1);
                lua_insert(L, -2);
                lua_rawseti(L, -2, 2);
                lua_rawset(L, t);
            }
        }
        p += n;
        if (p < end) p++;
    }
}

static enum MHD_Result server_header_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    lua_State *L = cls;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *k = key; *k; k++)
        luaL_addchar(&b, (*k >= 'A' && *k <= 'Z') ? (char)(*k + 32) : *k);
    luaL_pushresult(&b);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, -3) == LUA_TSTRING) {  /* repeated header: joined as HTTP allows */
        lua_pushliteral(L, ", ");
        lua_pushstring(L, value ? value : "");
        lua_concat(L, 3);
    } else {
        lua_pop(L, 1);
        lua_pushstring(L, value ? value : "");
    }
    lua_rawset(L, -3);
    return MHD_YES;
}

struct server_dispatch {
    struct server *s;
    struct MHD_Connection *c;
    struct server_request *r;
    const char *path, *method;
    struct server_reply *rep;
};

static void server_push_request(lua_State *L, struct server_dispatch *d) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, d->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, d->path);
    lua_setfield(L, -2, "path");
    const char *raw = d->r->conn->raw_uri;
    const char *q = raw ? strchr(raw, '?') : NULL;
    const char *qs = q ? q + 1 : "";
    size_t qlen = strcspn(qs, "#");
    lua_pushlstring(L, qs, qlen);
    lua_setfield(L, -2, "query_string");
    server_push_query(L, qs, qlen);
    lua_setfield(L, -2, "query");
    lua_newtable(L);
    MHD_get_connection_values(d->c, MHD_HEADER_KIND, server_header_cb, L);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, d->r->body ? d->r->body : "", d->r->len);
    lua_setfield(L, -2, "body");
    lua_pushinteger(L, (lua_Integer)d->r->conn->id);
    lua_setfield(L, -2, "connection");
    lua_pushstring(L, d->r->conn->remote);
    lua_setfield(L, -2, "remote");
}

/* ---- reading the handler's reply ---- */

static char *server_copy_field(lua_State *L, int idx, size_t *len) {
    size_t n;
    const char *p = lua_tolstring(L, idx, &n);
    char *d = server_strndup(p, n);
    if (d == NULL) luaL_error(L, "out of memory");
    if (len) *len = n;
    return d;
}

static int server_bad_header_text(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') return 1;
    return 0;
}

static void server_add_header(lua_State *L, struct server_reply *rep, int name_idx, int value_idx) {
    size_t nlen, vlen;
    const char *name = lua_tolstring(L, name_idx, &nlen);
    const char *value = lua_tolstring(L, value_idx, &vlen);
    if (nlen == 0 || server_bad_header_text(name, nlen) || strpbrk(name, " :\t"))
        luaL_error(L, "reply header name '%s' is not a valid HTTP header name", name);
    if (server_bad_header_text(value, vlen))
        luaL_error(L, "reply header '%s' has a line break in its value", name);
    if (rep->n_headers == rep->cap_headers) {
        size_t ncap = rep->cap_headers ? rep->cap_headers * 2 : 8;
        struct server_header *nh = realloc(rep->headers, ncap * sizeof *nh);
        if (nh == NULL) luaL_error(L, "out of memory");
        rep->headers = nh;
        rep->cap_headers = ncap;
    }
    struct server_header *h = &rep->headers[rep->n_headers];
    h->name = server_copy_field(L, name_idx, NULL);
    h->value = server_strndup(value, vlen);
    if (h->value == NULL) { free(h->name); luaL_error(L, "out of memory"); }
    rep->n_headers++;
}

static double server_opt_seconds(lua_State *L, int idx, const char *field) {
    int t = lua_getfield(L, idx, field);
    double v = 0;
    if (t != LUA_TNIL) {
        if (t != LUA_TNUMBER) luaL_error(L, "reply field '%s' must be a number of seconds", field);
        v = lua_tonumber(L, -1);
        if (!(v >= 0)) luaL_error(L, "reply field '%s' must not be negative", field);
    }
    lua_pop(L, 1);
    return v;
}

static long long server_opt_bytes(lua_State *L, int idx, const char *field) {
    int t = lua_getfield(L, idx, field);
    long long v = -1;
    if (t != LUA_TNIL) {
        int isint = 0;
        lua_Integer n = t == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
        if (!isint || n < 0) luaL_error(L, "reply field '%s' must be a whole number of bytes", field);
        v = (long long)n;
    }
    lua_pop(L, 1);
    return v;
}

static void server_read_reply(lua_State *L, int idx, struct server_reply *rep) {
    if (!lua_istable(L, idx))
        luaL_error(L, "the handler must return a table { status, headers, body }, got %s", luaL_typename(L, idx));
    int t = lua_getfield(L, idx, "status"), isint = 0;
    lua_Integer status = t == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
    if (t == LUA_TNIL) rep->status = 200;
    else if (isint && status >= 200 && status <= 599) rep->status = (int)status;
    else luaL_error(L, "reply status must be an integer from 200 to 599");
    lua_pop(L, 1);

    t = lua_getfield(L, idx, "body");
    if (t == LUA_TSTRING) rep->body = server_copy_field(L, -1, &rep->body_len);
    else if (t != LUA_TNIL) luaL_error(L, "reply body must be a string, got %s", luaL_typename(L, -1));
    lua_pop(L, 1);

    t = lua_getfield(L, idx, "headers");
    if (t == LUA_TTABLE) {
        int h = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, h)) {
            if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "reply header names must be strings");
            if (lua_type(L, -1) == LUA_TTABLE) {       /* several lines of one header */
                lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
                for (lua_Integer i = 1; i <= n; i++) {
                    lua_rawgeti(L, -1, i);
                    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
                        luaL_error(L, "reply header '%s' values must be strings", lua_tostring(L, -3));
                    lua_pushvalue(L, -1);
                    lua_tostring(L, -1);
                    server_add_header(L, rep, -4, -1);
                    lua_pop(L, 2);
                }
            } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                lua_pushvalue(L, -1);           /* tostring a copy: lua_next needs the key intact */
                lua_tostring(L, -1);
                server_add_header(L, rep, -3, -1);
                lua_pop(L, 1);
            } else if (lua_type(L, -1) != LUA_TBOOLEAN || lua_toboolean(L, -1)) {
                luaL_error(L, "reply header '%s' must be a string", lua_tostring(L, -2));
            }                                    /* false: no such header */
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        luaL_error(L, "reply headers must be a table");
    }
    lua_pop(L, 1);

    rep->delay = server_opt_seconds(L, idx, "delay");
    rep->stall = server_opt_seconds(L, idx, "stall");
    rep->truncate = server_opt_bytes(L, idx, "truncate");
    rep->stall_after = server_opt_bytes(L, idx, "stall_after");
    lua_getfield(L, idx, "reset");
    rep->reset = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "wake_outbox");
    rep->wake_outbox = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

static int server_dispatch_lua(lua_State *L) {
    struct server_dispatch *d = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, SERVER_HANDLER_KEY);
    server_push_request(L, d);
    lua_call(L, 1, 1);
    server_read_reply(L, lua_gettop(L), d->rep);
    return 0;
}

/* Logs a handler error once (repeats of the same first line are not logged again). */
static void server_log_error(struct server *s, const char *msg) {
    size_t first = strcspn(msg, "\n");
    if (first >= sizeof s->last_error) first = sizeof s->last_error - 1;
    if (strncmp(s->last_error, msg, first) == 0 && s->last_error[first] == '\0') return;
    memcpy(s->last_error, msg, first);
    s->last_error[first] = '\0';
    fprintf(stderr, "vsrun server: handler error: %s\n", msg);
    fflush(stderr);
}

/* Runs the handler under the Lua lock; fills rep (a 500 reply when the handler fails). */
static void server_call_handler(struct server_dispatch *d) {
    struct server *s = d->s;
    pthread_mutex_lock(&s->lua_lock);
    if (__atomic_load_n(&s->interrupt, __ATOMIC_ACQUIRE)) {   /* waited for the lock while stopping */
        pthread_mutex_unlock(&s->lua_lock);
        server_error_reply(d->rep, 503, "the server is stopping");
        return;
    }
    lua_State *L = vm_lua(s->vm);
    lua_settop(L, 0);
    lua_pushcfunction(L, server_dispatch_lua);
    lua_pushlightuserdata(L, d);
    if (vm_pcall(L, 1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (msg == NULL) msg = "(error object without a message)";
        server_log_error(s, msg);
        char line[512];
        size_t n = strcspn(msg, "\n");
        snprintf(line, sizeof line, "handler error: %.*s", (int)(n > 400 ? 400 : n), msg);
        server_error_reply(d->rep, 500, line);
    }
    lua_settop(L, 0);
    pthread_mutex_unlock(&s->lua_lock);
    if (d->rep->wake_outbox && __atomic_load_n(&s->has_outbox, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&s->lock);
        s->outbox_kick = 1;
        pthread_cond_signal(&s->outbox_wake);
        pthread_mutex_unlock(&s->lock);
    }
}

/* ---- sending the reply ---- */

/* An abortive close: with SO_LINGER 0, closing the socket sends a TCP RST at once, so the
 * client sees "connection reset by peer". MHD itself would shutdown(SHUT_WR) first (a FIN: a
 * clean end of stream), so the connected socket is closed under MHD by dup2-ing an
 * unconnected socket over its descriptor; MHD's own shutdown and close then act on that one
 * harmlessly. With drain, bytes already handed to the kernel are let out first (up to 1 s),
 * since an RST discards what is still queued. Runs on the connection's own thread. */
static void server_abort_socket(int fd, int drain) {
    if (fd < 0) return;
    for (int i = 0; drain && i < 100; i++) {
        int queued = 0;
        if (ioctl(fd, SIOCOUTQ, &queued) != 0 || queued == 0) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int dummy = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (dummy >= 0) {
        dup2(dummy, fd);
        close(dummy);
    }
}

static ssize_t server_read_body(void *cls, uint64_t pos, char *buf, size_t max) {
    struct server_body *b = cls;
    if (pos >= b->send_until) {   /* truncate: end here, with a FIN, or with an RST under reset */
        if (b->reset) server_abort_socket(b->fd, 1);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (b->stall > 0 && !b->stalled && pos >= b->stall_at) {
        b->stalled = 1;
        if (server_sleep(b->s, b->stall) != 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t end = b->send_until;
    if (b->stall > 0 && !b->stalled && b->stall_at < end) end = b->stall_at;
    size_t n = end - (size_t)pos;
    if (n > max) n = max;
    memcpy(buf, b->data + pos, n);
    return (ssize_t)n;
}

static void server_free_body(void *cls) {
    struct server_body *b = cls;
    free(b->data);
    free(b);
}

static int server_skip_header(const char *name) {   /* MHD writes these itself */
    return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0;
}

static enum MHD_Result server_send(struct server *s, struct MHD_Connection *c, struct server_reply *rep) {
    if (rep->delay > 0 && server_sleep(s, rep->delay) != 0) return MHD_NO;   /* stopping */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci ? ci->connect_fd : -1;
    if (rep->reset && rep->truncate < 0) {   /* no response at all; MHD_NO: MHD drops the connection */
        server_abort_socket(fd, 0);
        return MHD_NO;
    }
    struct MHD_Response *resp;
    int faulty = (rep->truncate >= 0 && (size_t)rep->truncate < rep->body_len) || rep->stall > 0 || rep->reset;
    if (faulty) {
        struct server_body *b = calloc(1, sizeof *b);
        if (b == NULL) return MHD_NO;
        b->s = s;
        b->data = rep->body;
        b->len = rep->body_len;
        b->send_until = rep->truncate >= 0 && (size_t)rep->truncate < b->len ? (size_t)rep->truncate : b->len;
        b->stall = rep->stall;
        b->stall_at = rep->stall_after >= 0 ? (size_t)rep->stall_after : b->len / 2;
        b->reset = rep->reset;
        b->fd = fd;
        rep->body = NULL;
        resp = MHD_create_response_from_callback(b->len, 16 * 1024, server_read_body, b, server_free_body);
        if (resp == NULL) { server_free_body(b); return MHD_NO; }
    } else if (rep->body_len > 0) {
        resp = MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) return MHD_NO;
        rep->body = NULL;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (resp == NULL) return MHD_NO;
    }
    for (size_t i = 0; i < rep->n_headers; i++)
        if (!server_skip_header(rep->headers[i].name))
            MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- MHD callbacks ---- */

static enum MHD_Result server_reply_too_large(struct server *s, struct MHD_Connection *c) {
    struct server_reply rep;
    memset(&rep, 0, sizeof rep);
    char msg[128];
    snprintf(msg, sizeof msg, "request body larger than %zu bytes", s->max_body);
    server_error_reply(&rep, 413, msg);
    enum MHD_Result ret = server_send(s, c, &rep);
    server_reply_free(&rep);
    return ret;
}

static enum MHD_Result server_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                     const char *version, const char *upload_data, size_t *upload_size,
                                     void **con_cls) {
    (void)version;
    struct server *s = cls;
    struct server_request *r = *con_cls;
    if (r == NULL) {   /* headers are in: count the request, then MHD reads the body */
        r = calloc(1, sizeof *r);
        if (r == NULL) return MHD_NO;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->conn = ci ? ci->socket_context : NULL;
        if (r->conn == NULL) { free(r); return MHD_NO; }
        *con_cls = r;
        pthread_mutex_lock(&s->lock);
        s->stats.requests++;
        if (++s->stats.in_flight > s->stats.max_in_flight) s->stats.max_in_flight = s->stats.in_flight;
        pthread_mutex_unlock(&s->lock);
        /* A declared length over the limit is refused before the body is read (a client
         * that sent Expect: 100-continue never sends it). */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > (unsigned long long)s->max_body) {
            r->too_large = 1;
            return server_reply_too_large(s, c);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large) return MHD_YES;
        if (r->len + n > s->max_body) {
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t ncap = r->cap ? r->cap : 4096;
            while (ncap < r->len + n) ncap *= 2;
            char *nb = realloc(r->body, ncap);
            if (nb == NULL) return MHD_NO;
            r->body = nb;
            r->cap = ncap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->lock);
    r->conn->deadline = 0;   /* the request is in: answering it may take as long as it takes */
    pthread_mutex_unlock(&s->lock);
    if (r->too_large) return server_reply_too_large(s, c);
    struct server_reply rep;
    memset(&rep, 0, sizeof rep);
    rep.truncate = rep.stall_after = -1;
    struct server_dispatch d = {s, c, r, url, method, &rep};
    server_call_handler(&d);
    enum MHD_Result ret = server_send(s, c, &rep);
    server_reply_free(&rep);
    return ret;
}

static void server_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                                enum MHD_RequestTerminationCode toe) {
    (void)c;
    (void)toe;
    struct server *s = cls;
    struct server_request *r = *con_cls;
    if (r == NULL) return;
    *con_cls = NULL;
    pthread_mutex_lock(&s->lock);
    s->stats.in_flight--;
    r->conn->deadline = util_monotonic() + s->request_timeout;   /* for the next request on it */
    pthread_mutex_unlock(&s->lock);
    free(r->body);
    free(r);
}

static void server_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code) {
    struct server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct server_conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL) return;   /* the access handler refuses requests without one */
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, conn->remote, sizeof conn->remote);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, conn->remote, sizeof conn->remote);
        }
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn->fd = ci ? ci->connect_fd : -1;
        pthread_mutex_lock(&s->lock);
        conn->id = ++s->next_conn_id;
        s->stats.connections++;
        conn->deadline = util_monotonic() + s->request_timeout;
        conn->next = s->conns;
        if (s->conns) s->conns->prev = conn;
        s->conns = conn;
        pthread_mutex_unlock(&s->lock);
        *socket_context = conn;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct server_conn *conn = *socket_context;
        if (conn) {
            /* MHD closes the socket after this: the watchdog never sees a reused fd */
            pthread_mutex_lock(&s->lock);
            if (conn->prev) conn->prev->next = conn->next;
            else s->conns = conn->next;
            if (conn->next) conn->next->prev = conn->prev;
            pthread_mutex_unlock(&s->lock);
            free(conn->raw_uri);
            free(conn);
        }
        *socket_context = NULL;
    }
}

/* Keeps the raw URI (with its query string) of the request the connection is reading. */
static void *server_on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    (void)cls;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct server_conn *conn = ci ? ci->socket_context : NULL;
    if (conn) {
        free(conn->raw_uri);
        conn->raw_uri = strdup(uri ? uri : "");
    }
    return NULL;
}

/* ---- what keeps a client from wedging the server ---- */

/* Cuts every connection past its deadline: a shutdown wakes its thread, which sees the end of
 * the stream and closes it. Runs until the server stops. */
static void *server_watchdog(void *arg) {
    struct server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += SERVER_WATCHDOG_NS;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
        double now = util_monotonic();
        for (struct server_conn *c = s->conns; c; c = c->next)
            if (c->deadline > 0 && now >= c->deadline && c->fd >= 0) {
                c->deadline = 0;
                shutdown(c->fd, SHUT_RDWR);
                s->stats.timed_out++;
            }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void server_shutdown(struct server *s);

static const char server_key = 0;   /* its address: the registry key of the struct server */

/* The server state's count hook: once a stop interrupts the handler, it raises at every
 * instruction (so a pcall in the handler cannot swallow it); otherwise the vm's own limits. */
static void server_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &server_key);
    struct server *s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (s && __atomic_load_n(&s->interrupt, __ATOMIC_ACQUIRE)) {
        lua_sethook(L, server_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "the server is stopping");
    }
    vm_check_limits(L);
}

/* ---- outbound requests: the module's outbox ----
 * A module may return a fourth value, outbox(results) -> sends [, wait]. A thread of its own
 * calls it under the Lua lock (after a handler whose reply says wake_outbox = true, after
 * each batch it sent, and once `wait` seconds have passed),
 * then sends the requests with libcurl outside the lock, all at once, and hands their
 * results to the next call. So a handler only queues (the sandbox's webhooks): the request
 * that changed something never waits for a delivery, and a slow receiver holds only this
 * thread, never the Lua state. sends = { { id = n, url = "http(s)://...", body = "...",
 * headers = { "Name: value", ... }, timeout = sec } } (POSTs, no proxy, no redirects);
 * results = { { id = n, status = HTTP status or 0, error = message (no answer) } }. */

struct server_send {
    lua_Integer id;
    CURL *easy;
    struct curl_slist *headers;
    char *url, *body;
    size_t body_len;
    double timeout;
    long status;
    char error[CURL_ERROR_SIZE];
};

struct server_outbox_call {
    struct server_send *done;   /* the previous batch, with its results */
    size_t n_done;
    struct server_send *next;   /* filled by the call: the next batch */
    size_t n_next;
    double wait;                /* seconds until the outbox wants another call; < 0: when woken */
};

static void server_sends_free(struct server_send *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (v[i].easy) curl_easy_cleanup(v[i].easy);
        curl_slist_free_all(v[i].headers);
        free(v[i].url);
        free(v[i].body);
    }
    free(v);
}

/* Reads one entry of the outbox's answer (at the top of the stack) into d. A URL that is not
 * http(s) or a header that is not one "Name: value" line is refused without raising: the
 * entry comes back with that error and is never sent. */
static void server_read_send(lua_State *L, struct server_send *d) {
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_getfield(L, -1, "id");
    d->id = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    size_t n;
    lua_getfield(L, -1, "url");
    const char *url = luaL_checklstring(L, -1, &n);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        snprintf(d->error, sizeof d->error, "refused: the url must be http:// or https://");
    if ((d->url = server_strndup(url, n)) == NULL) luaL_error(L, "out of memory");
    lua_pop(L, 1);
    lua_getfield(L, -1, "body");
    const char *body = luaL_optlstring(L, -1, "", &n);
    if ((d->body = server_strndup(body, n)) == NULL) luaL_error(L, "out of memory");
    d->body_len = n;
    lua_pop(L, 1);
    lua_getfield(L, -1, "timeout");
    d->timeout = luaL_optnumber(L, -1, 5);
    if (!(d->timeout > 0) || d->timeout > SERVER_OUTBOX_MAX_TIMEOUT) d->timeout = SERVER_OUTBOX_MAX_TIMEOUT;
    lua_pop(L, 1);
    if (lua_getfield(L, -1, "headers") == LUA_TTABLE) {
        lua_Integer nh = luaL_len(L, -1);
        for (lua_Integer i = 1; i <= nh; i++) {
            lua_rawgeti(L, -1, i);
            const char *h = luaL_checklstring(L, -1, &n);
            if (server_bad_header_text(h, n) || strchr(h, ':') == NULL) {
                snprintf(d->error, sizeof d->error, "refused: header %d is not 'Name: value' on one line", (int)i);
            } else {
                struct curl_slist *l = curl_slist_append(d->headers, h);
                if (l == NULL) luaL_error(L, "out of memory");
                d->headers = l;
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* Protected, under the Lua lock: outbox(results) -> the next batch in c. */
static int server_outbox_lua(lua_State *L) {
    struct server_outbox_call *c = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, SERVER_OUTBOX_KEY);
    lua_createtable(L, (int)c->n_done, 0);
    for (size_t i = 0; i < c->n_done; i++) {
        struct server_send *d = &c->done[i];
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, d->id);
        lua_setfield(L, -2, "id");
        lua_pushinteger(L, d->status);
        lua_setfield(L, -2, "status");
        if (d->error[0]) {
            lua_pushstring(L, d->error);
            lua_setfield(L, -2, "error");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    c->wait = -1;
    lua_call(L, 1, 2);                  /* 1: sends, 2: wait */
    if (lua_isnumber(L, 2)) c->wait = lua_tonumber(L, 2);
    if (lua_isnil(L, 1)) return 0;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    if (n > SERVER_OUTBOX_MAX) return luaL_error(L, "outbox: at most %d requests at once", SERVER_OUTBOX_MAX);
    if (n <= 0) return 0;
    if ((c->next = calloc((size_t)n, sizeof *c->next)) == NULL) return luaL_error(L, "out of memory");
    for (lua_Integer i = 1; i <= n; i++) {
        c->n_next = (size_t)i;          /* freed by the caller even if this raises */
        lua_rawgeti(L, 1, i);
        server_read_send(L, &c->next[i - 1]);
        lua_pop(L, 1);
    }
    return 0;
}

static size_t server_discard(char *p, size_t size, size_t n, void *u) {
    (void)p;
    (void)u;
    return size * n;
}

/* Sends a batch at once; every entry ends with a status or an error (also when stopping). */
static void server_outbox_send(struct server *s, CURLM *multi, struct server_send *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        struct server_send *d = &v[i];
        if (d->error[0]) continue;   /* refused by server_read_send */
        if ((d->easy = curl_easy_init()) == NULL) {
            snprintf(d->error, sizeof d->error, "out of memory");
            continue;
        }
        curl_easy_setopt(d->easy, CURLOPT_URL, d->url);
        curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->body);
        curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body_len);
        curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, d->headers);
        curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, (long)(d->timeout * 1000));
        curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(d->easy, CURLOPT_PROXY, "");          /* never a proxy: the sandbox is offline */
        curl_easy_setopt(d->easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->error);
        curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, server_discard);
        curl_easy_setopt(d->easy, CURLOPT_PRIVATE, d);
        if (curl_multi_add_handle(multi, d->easy) != CURLM_OK) {
            snprintf(d->error, sizeof d->error, "cannot start the request");
            curl_easy_cleanup(d->easy);
            d->easy = NULL;
        }
    }
    int running = 1;
    while (running) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) break;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) continue;
            struct server_send *d = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            if (m->data.result == CURLE_OK) {
                curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &d->status);
                d->error[0] = '\0';
            } else if (d->error[0] == '\0') {
                snprintf(d->error, sizeof d->error, "%s", curl_easy_strerror(m->data.result));
            }
            curl_multi_remove_handle(multi, m->easy_handle);
        }
        if (!running || __atomic_load_n(&s->interrupt, __ATOMIC_ACQUIRE)) break;
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (size_t i = 0; i < n; i++)   /* those still going when the server stops */
        if (v[i].easy && v[i].status == 0 && v[i].error[0] == '\0') {
            curl_multi_remove_handle(multi, v[i].easy);
            snprintf(v[i].error, sizeof v[i].error, "the server stopped");
        }
}

/* The outbox thread: call the outbox, send what it gave, repeat; idle until a handler ran
 * or the outbox's `wait` passed. Ends when the server stops. */
static void *server_outbox_thread(void *arg) {
    struct server *s = arg;
    CURLM *multi = curl_multi_init();
    struct server_outbox_call c;
    memset(&c, 0, sizeof c);
    while (!__atomic_load_n(&s->interrupt, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&s->lua_lock);
        if (__atomic_load_n(&s->interrupt, __ATOMIC_ACQUIRE)) {
            pthread_mutex_unlock(&s->lua_lock);
            break;
        }
        lua_State *L = vm_lua(s->vm);
        lua_settop(L, 0);
        lua_pushcfunction(L, server_outbox_lua);
        lua_pushlightuserdata(L, &c);
        if (vm_pcall(L, 1, 0) != LUA_OK) {
            server_log_error(s, lua_tostring(L, -1) ? lua_tostring(L, -1) : "outbox error");
            server_sends_free(c.next, c.n_next);
            c.next = NULL;
            c.n_next = 0;
            c.wait = 1;
        }
        lua_settop(L, 0);
        pthread_mutex_unlock(&s->lua_lock);
        server_sends_free(c.done, c.n_done);
        c.done = c.next;
        c.n_done = c.n_next;
        c.next = NULL;
        c.n_next = 0;
        if (c.n_done > 0) {
            if (multi) server_outbox_send(s, multi, c.done, c.n_done);
            else for (size_t i = 0; i < c.n_done; i++) snprintf(c.done[i].error, sizeof c.done[i].error, "out of memory");
            continue;
        }
        double wait = c.wait < 0 || c.wait > SERVER_MAX_SLEEP ? SERVER_MAX_SLEEP : c.wait;
        struct timespec until = monotonic_after(wait);
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && !s->outbox_kick)
            if (pthread_cond_timedwait(&s->outbox_wake, &s->lock, &until) == ETIMEDOUT) break;
        s->outbox_kick = 0;
        pthread_mutex_unlock(&s->lock);
    }
    server_sends_free(c.done, c.n_done);
    if (multi) curl_multi_cleanup(multi);
    return NULL;
}

/* ---- start and stop ---- */

struct server_init {
    const struct server_config *cfg;
    char *info_json;
    int has_outbox;
};

/* Runs in the server's state, protected: loads the module, calls it with the args, keeps
 * the handler (and on_stop) in the registry and encodes info as JSON. */
static int server_init_lua(lua_State *L) {
    struct server_init *in = lua_touserdata(L, 1);
    const struct server_config *cfg = in->cfg;
    lua_settop(L, 0);
    const char *what = cfg->file ? cfg->file : cfg->module;
    if (cfg->file) {
        if (luaL_loadfilex(L, cfg->file, "t") != LUA_OK) return lua_error(L);
        lua_call(L, 0, 1);
    } else {
        lua_getglobal(L, "require");
        lua_pushstring(L, cfg->module);
        lua_call(L, 1, 1);
    }
    if (!lua_isfunction(L, 1))
        return luaL_error(L, "%s must return function(args) return handler end, not a %s", what, luaL_typename(L, 1));
    modules_require(L, "json");                               /* 2: json */
    if (cfg->args_json) {
        lua_getfield(L, 2, "decode");
        lua_pushstring(L, cfg->args_json);
        lua_call(L, 1, 1);
    } else {
        lua_newtable(L);
    }                                                /* 3: args */
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 3);
    lua_call(L, 1, 4);                               /* 4: handler, 5: info, 6: on_stop, 7: outbox */
    if (!lua_isfunction(L, 4))
        return luaL_error(L, "%s: the module function must return a handler function, not a %s", what, luaL_typename(L, 4));
    if (!lua_isnil(L, 5) && !lua_istable(L, 5))
        return luaL_error(L, "%s: the second value (info) must be a table", what);
    if (!lua_isnil(L, 6) && !lua_isfunction(L, 6))
        return luaL_error(L, "%s: the third value (on_stop) must be a function", what);
    if (!lua_isnil(L, 7) && !lua_isfunction(L, 7))
        return luaL_error(L, "%s: the fourth value (outbox) must be a function", what);
    in->has_outbox = lua_isfunction(L, 7);
    lua_pushvalue(L, 7);
    lua_setfield(L, LUA_REGISTRYINDEX, SERVER_OUTBOX_KEY);
    lua_pushvalue(L, 4);
    lua_setfield(L, LUA_REGISTRYINDEX, SERVER_HANDLER_KEY);
    lua_pushvalue(L, 6);
    lua_setfield(L, LUA_REGISTRYINDEX, SERVER_ON_STOP_KEY);
    if (lua_istable(L, 5)) {
        lua_getfield(L, 2, "encode");
        lua_pushvalue(L, 5);
        lua_call(L, 1, 1);
        in->info_json = strdup(lua_tostring(L, -1));
        if (in->info_json == NULL) return luaL_error(L, "out of memory");
    }
    return 0;
}

static void server_free(struct server *s) {
    if (s->vm) vm_free(s->vm);
    pthread_mutex_destroy(&s->lua_lock);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->outbox_wake);
    free(s->info_json);
    free(s->script_dir);
    for (int i = 0; i < VM_MAX_LIBS; i++) free(s->lib_dirs[i]);
    free(s);
}

/* The server's state: a sandboxed-run state with the script's require path. */
static struct vm *server_new_vm(struct server *s, const struct vm_options *from) {
    struct vm_options o;
    memset(&o, 0, sizeof o);
    o.sandbox_mode = 1;
    if (from) {
        o.verbose = from->verbose;
        if (from->script_dir) o.script_dir = s->script_dir = strdup(from->script_dir);
        for (int i = 0; i < from->n_lib_dirs && i < VM_MAX_LIBS; i++)
            if ((s->lib_dirs[i] = strdup(from->lib_dirs[i])) != NULL) o.lib_dirs[o.n_lib_dirs++] = s->lib_dirs[i];
    }
    struct vm *vm = vm_new(&o);
    if (vm) {   /* before the module loads: coroutines copy their creator's hook */
        lua_State *L = vm_lua(vm);
        lua_pushlightuserdata(L, s);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &server_key);
        lua_sethook(L, server_hook, LUA_MASKCOUNT, SERVER_HOOK_COUNT);
    }
    return vm;
}

struct server *server_start(const struct server_config *cfg, char *err, size_t errlen) {
    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    memset(&addr, 0, sizeof addr);
    int ipv6 = 0;
    if (cfg->port < 0 || cfg->port > 65535) {
        snprintf(err, errlen, "port %d is out of range", cfg->port);
        return NULL;
    }
    if (inet_pton(AF_INET, bind, &addr.in4.sin_addr) == 1) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons((uint16_t)cfg->port);
    } else if (inet_pton(AF_INET6, bind, &addr.in6.sin6_addr) == 1) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons((uint16_t)cfg->port);
        ipv6 = 1;
    } else {
        snprintf(err, errlen, "bind address '%s' is not a numeric IPv4 or IPv6 address", bind);
        return NULL;
    }
    if ((cfg->module == NULL) == (cfg->file == NULL)) {
        snprintf(err, errlen, "give exactly one of module or file");
        return NULL;
    }
    struct server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lua_lock, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_cond_init(&s->outbox_wake, &ca);
    pthread_condattr_destroy(&ca);
    s->max_body = cfg->max_body ? cfg->max_body : SERVER_DEFAULT_MAX_BODY;
    s->request_timeout = cfg->request_timeout > 0 ? cfg->request_timeout : SERVER_DEFAULT_REQUEST_TIMEOUT;

    s->vm = server_new_vm(s, cfg->vm);
    if (s->vm == NULL) {
        snprintf(err, errlen, "out of memory");
        server_free(s);
        return NULL;
    }
    lua_State *L = vm_lua(s->vm);
    struct server_init in = {cfg, NULL, 0};
    lua_pushcfunction(L, server_init_lua);
    lua_pushlightuserdata(L, &in);
    if (vm_pcall(L, 1, 0) != LUA_OK) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error starting the handler");
        free(in.info_json);
        server_free(s);
        return NULL;
    }
    lua_settop(L, 0);
    s->info_json = in.info_json;

    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (ipv6) flags |= MHD_USE_IPv6;
    errno = 0;
    s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, server_access, s,
                                 MHD_OPTION_SOCK_ADDR, &addr.sa,
                                 MHD_OPTION_NOTIFY_CONNECTION, server_on_connection, s,
                                 MHD_OPTION_NOTIFY_COMPLETED, server_on_completed, s,
                                 MHD_OPTION_URI_LOG_CALLBACK, server_on_uri, s,
                                 MHD_OPTION_CONNECTION_TIMEOUT, SERVER_IDLE_TIMEOUT,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, SERVER_CONN_MEMORY,
                                 MHD_OPTION_CONNECTION_LIMIT, SERVER_MAX_CONNECTIONS,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, SERVER_MAX_PER_IP,
                                 MHD_OPTION_END);
    if (s->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s port %d%s%s", bind, cfg->port, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        server_free(s);
        return NULL;
    }
    if (pthread_create(&s->watchdog, NULL, server_watchdog, s) != 0) {
        snprintf(err, errlen, "cannot start the connection watchdog thread");
        MHD_stop_daemon(s->daemon);
        server_free(s);
        return NULL;
    }
    s->has_watchdog = 1;
    if (in.has_outbox) {   /* curl_global_init is thread-safe (libcurl >= 7.84) and counted */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || pthread_create(&s->outbox, NULL, server_outbox_thread, s) != 0) {
            snprintf(err, errlen, "cannot start the outbox thread");
            server_shutdown(s);
            server_free(s);
            return NULL;
        }
        __atomic_store_n(&s->has_outbox, 1, __ATOMIC_RELEASE);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    /* a wildcard bind is reached through loopback */
    const char *host = strcmp(bind, "0.0.0.0") == 0 ? "127.0.0.1" : strcmp(bind, "::") == 0 ? "::1" : bind;
    snprintf(s->url, sizeof s->url, ipv6 ? "http://[%s]:%d" : "http://%s:%d", host, s->port);
    return s;
}

const char *server_url(const struct server *s) { return s->url; }
int server_port(const struct server *s) { return s->port; }
const char *server_info_json(const struct server *s) { return s->info_json; }

void server_get_stats(struct server *s, struct server_stats *out) {
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

static int server_on_stop_lua(lua_State *L) {  /* protected: the module's on_stop, if any */
    if (lua_getfield(L, LUA_REGISTRYINDEX, SERVER_ON_STOP_KEY) == LUA_TFUNCTION) lua_call(L, 0, 0);
    return 0;
}

/* Wakes sleeping delays and the watchdog, and makes a running handler end. */
static void server_begin_stop(struct server *s) {
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    __atomic_store_n(&s->interrupt, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&s->wake);
    pthread_cond_broadcast(&s->outbox_wake);
    pthread_mutex_unlock(&s->lock);
}

/* Everything a stop waits for: the watchdog, every connection thread (so every handler),
 * then the module's on_stop. */
static void server_shutdown(struct server *s) {
    server_begin_stop(s);
    if (s->has_watchdog) pthread_join(s->watchdog, NULL);
    s->has_watchdog = 0;
    MHD_stop_daemon(s->daemon);   /* joins every connection thread */
    s->daemon = NULL;
    if (s->has_outbox) pthread_join(s->outbox, NULL);
    s->has_outbox = 0;
    lua_State *L = vm_lua(s->vm);
    __atomic_store_n(&s->interrupt, 0, __ATOMIC_RELEASE);   /* on_stop itself runs normally */
    lua_sethook(L, server_hook, LUA_MASKCOUNT, SERVER_HOOK_COUNT);
    lua_settop(L, 0);
    lua_pushcfunction(L, server_on_stop_lua);
    if (vm_pcall(L, 0, 0) != LUA_OK) {
        fprintf(stderr, "vsrun server: on_stop error: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
        lua_pop(L, 1);
    }
}

void server_stop(struct server *s) {
    if (s == NULL) return;
    server_shutdown(s);
    server_free(s);
}

static void *server_shutdown_thread(void *arg) {
    struct server *s = arg;
    server_shutdown(s);
    pthread_mutex_lock(&s->lock);
    s->shut_down = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int server_stop_within(struct server *s, double seconds) {
    if (s == NULL) return 0;
    server_begin_stop(s);
    pthread_t t;
    if (pthread_create(&t, NULL, server_shutdown_thread, s) != 0) {
        server_stop(s);
        return 0;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long long ns = (long long)until.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
    until.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&s->lock);
    while (!s->shut_down)
        if (pthread_cond_timedwait(&s->wake, &s->lock, &until) == ETIMEDOUT) break;
    int done = s->shut_down;
    pthread_mutex_unlock(&s->lock);
    if (!done) {   /* a handler stuck in C: leave it all running, the caller exits */
        pthread_detach(t);
        return -1;
    }
    pthread_join(t, NULL);
    server_free(s);
    return 0;
}

/* ---- module vsrun.server: the binding for Lua scripts and tests ---- */

#define SERVER_MT "vsrun.server"

struct server_ud {
    struct server *s;
    struct server_stats final;   /* stats at :stop(), still readable afterwards */
    char url[96];
    int port;
};

static struct server_ud *server_check(lua_State *L) {
    return luaL_checkudata(L, 1, SERVER_MT);
}

static int server_opt_int(lua_State *L, int t, const char *field, lua_Integer def, lua_Integer lo, lua_Integer hi) {
    int ty = lua_getfield(L, t, field);
    lua_Integer v = def;
    if (ty != LUA_TNIL) {
        if (!lua_isinteger(L, -1)) return (int)luaL_error(L, "server.start: %s must be an integer", field);
        v = lua_tointeger(L, -1);
        if (v < lo || v > hi) return (int)luaL_error(L, "server.start: %s is out of range", field);
    }
    lua_pop(L, 1);
    return (int)v;
}

static const char *server_opt_str(lua_State *L, int t, const char *field) {
    int ty = lua_getfield(L, t, field);
    if (ty != LUA_TNIL && ty != LUA_TSTRING) luaL_error(L, "server.start: %s must be a string", field);
    const char *v = lua_tostring(L, -1);
    lua_pop(L, 1);   /* still referenced by the options table */
    return v;
}

/* server.start{ module = name | file = path, args = table, port = 0, bind = "127.0.0.1",
 * max_body = bytes, request_timeout = seconds } -> server */
static int server_l_start(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (vm_options(L)->strict) return luaL_error(L, "server.start is not available under --strict");
    struct server_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.module = server_opt_str(L, 1, "module");
    cfg.file = server_opt_str(L, 1, "file");
    cfg.bind = server_opt_str(L, 1, "bind");
    cfg.port = server_opt_int(L, 1, "port", 0, 0, 65535);
    lua_getfield(L, 1, "max_body");
    if (!lua_isnil(L, -1)) {
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0)
            return luaL_error(L, "server.start: max_body must be a positive integer");
        cfg.max_body = (size_t)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "request_timeout");
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1) || !(lua_tonumber(L, -1) > 0) || lua_tonumber(L, -1) > 86400)
            return luaL_error(L, "server.start: request_timeout must be a number of seconds from 0 to 86400");
        cfg.request_timeout = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    if ((cfg.module == NULL) == (cfg.file == NULL))
        return luaL_error(L, "server.start: give exactly one of module = name or file = path");
    int ty = lua_getfield(L, 1, "args");
    if (ty == LUA_TTABLE) {   /* deep copy into the server's state, as JSON text */
        modules_require(L, "json");
        lua_getfield(L, -1, "encode");
        lua_pushvalue(L, -3);
        lua_call(L, 1, 1);
        cfg.args_json = lua_tostring(L, -1);   /* kept on the stack until the start */
    } else if (ty != LUA_TNIL) {
        return luaL_error(L, "server.start: args must be a table");
    }
    cfg.vm = vm_options(L);
    struct server_ud *ud = lua_newuserdatauv(L, sizeof *ud, 0);
    memset(ud, 0, sizeof *ud);
    luaL_setmetatable(L, SERVER_MT);
    char err[1024];
    ud->s = server_start(&cfg, err, sizeof err);
    if (ud->s == NULL) return luaL_error(L, "server.start: %s", err);
    snprintf(ud->url, sizeof ud->url, "%s", server_url(ud->s));
    ud->port = server_port(ud->s);
    return 1;
}

static int server_l_url(lua_State *L) {
    lua_pushstring(L, server_check(L)->url);
    return 1;
}

static int server_l_port(lua_State *L) {
    lua_pushinteger(L, server_check(L)->port);
    return 1;
}

static int server_l_stats(lua_State *L) {
    struct server_ud *ud = server_check(L);
    struct server_stats st = ud->final;
    if (ud->s) server_get_stats(ud->s, &st);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)st.timed_out);
    lua_setfield(L, -2, "timed_out");
    lua_pushinteger(L, (lua_Integer)st.requests);
    lua_setfield(L, -2, "requests");
    lua_pushinteger(L, (lua_Integer)st.connections);
    lua_setfield(L, -2, "connections");
    lua_pushinteger(L, (lua_Integer)st.in_flight);
    lua_setfield(L, -2, "in_flight");
    lua_pushinteger(L, (lua_Integer)st.max_in_flight);
    lua_setfield(L, -2, "max_in_flight");
    return 1;
}

/* :info() -> the module's info table (a copy), or nil */
static int server_l_info(lua_State *L) {
    struct server_ud *ud = server_check(L);
    const char *info = ud->s ? server_info_json(ud->s) : NULL;
    if (info == NULL) {
        lua_pushnil(L);
        return 1;
    }
    modules_require(L, "json");
    lua_getfield(L, -1, "decode");
    lua_pushstring(L, info);
    lua_call(L, 1, 1);
    return 1;
}

static int server_l_stop(lua_State *L) {
    struct server_ud *ud = server_check(L);
    if (ud->s) {
        server_get_stats(ud->s, &ud->final);
        struct server *s = ud->s;
        ud->s = NULL;
        server_stop(s);
    }
    return 0;
}

static int server_l_tostring(lua_State *L) {
    struct server_ud *ud = server_check(L);
    lua_pushfstring(L, "vsrun.server (%s%s)", ud->url, ud->s ? "" : ", stopped");
    return 1;
}

int luaopen_vsrun_server(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"url", server_l_url},   {"port", server_l_port}, {"stats", server_l_stats},
        {"info", server_l_info}, {"stop", server_l_stop}, {NULL, NULL}};
    if (luaL_newmetatable(L, SERVER_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, server_l_stop);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, server_l_stop);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, server_l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"start", server_l_start}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
