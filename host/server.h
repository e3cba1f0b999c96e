/* An HTTP server (libmicrohttpd) whose requests are answered by a Lua handler running in
 * the server's own Lua state. Used by the sandbox (host/sandbox.c), tests (module
 * vsrun.server) and anything else that needs a local far end. See docs/internals.md. */
#ifndef VSRUN_SERVER_H
#define VSRUN_SERVER_H
#include <stddef.h>

#include "vm.h"

#define SERVER_DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)
#define SERVER_DEFAULT_REQUEST_TIMEOUT 30.0

struct server;

struct server_config {
    const char *module;       /* module name to require in the server's state, or NULL */
    const char *file;         /* or: path of a Lua file returning the module function */
    const char *args_json;    /* JSON text given (decoded) to the module function; NULL = {} */
    const char *bind;         /* numeric IPv4 or IPv6 address; NULL = 127.0.0.1 */
    int port;                 /* 0 = an ephemeral port */
    size_t max_body;          /* request bodies above this get 413; 0 = default */
    double request_timeout;   /* seconds a connection has to send each complete request (from
                                 its accept or its previous response; trickling does not
                                 extend it); then it is closed. 0 = default */
    const struct vm_options *vm; /* require path (--lib, script dir) for the server's state; may be NULL */
};

struct server_stats {
    unsigned long requests;      /* requests received */
    unsigned long connections;   /* TCP connections accepted */
    unsigned long in_flight;     /* requests received and not yet completed */
    unsigned long max_in_flight; /* the most in flight at once */
    unsigned long timed_out;     /* connections cut for not sending a request in time */
};

/* Starts serving; returns NULL with a message in err on failure. */
struct server *server_start(const struct server_config *cfg, char *err, size_t errlen);
const char *server_url(const struct server *s);        /* "http://127.0.0.1:PORT" */
int server_port(const struct server *s);
/* JSON text of the `info` table the module function returned (second value), or NULL. */
const char *server_info_json(const struct server *s);
void server_get_stats(struct server *s, struct server_stats *out);
/* Stops the daemon (waking sleeping delays), runs the module's on_stop, closes its Lua
 * state and frees s. */
void server_stop(struct server *s);
/* The same, but waits at most `seconds` for the handlers to end (one stuck in Lua is
 * interrupted; one stuck in a C function cannot be). Returns 0 when stopped and freed, or
 * -1 when not: then the server is left running and the caller must end the process. */
int server_stop_within(struct server *s, double seconds);

#endif
