/* The run store of `vsrun serve` and `vsrun runs`: every accepted event as a run (queued →
 * running → done | dead). An event is acknowledged only after store_insert committed it.
 *   - SQLite (a file path): WAL mode; one server per file (an flock on FILE.lock); a run
 *     left `running` by a server that died is queued again by store_open_server.
 *   - PostgreSQL (postgresql://...; host/store_pg.c): any number of servers; a running run
 *     holds a lease that store_heartbeat extends; an expired lease is taken over.
 * Every function is safe to call from several threads (one connection, one mutex). */
#ifndef VSRUN_STORE_H
#define VSRUN_STORE_H
#include <stddef.h>
#include <stdint.h>

#include "store_claimed.h"

struct store;

/* The default store: $VSRUN_HOME/serve.db (the vault directory, created 0700). */
int store_default_path(char *out, size_t outlen, char *err, size_t errlen);

/* Opens (creating) the store for `vsrun runs`. max_mb > 0 caps the database size (a full
 * store refuses inserts with STORE_FULL). NULL + err on failure. */
struct store *store_open(const char *path, double max_mb, char *err, size_t errlen);
/* The same for the server: takes the store's lock (refusing a second server) and queues
 * again the runs a dead server left running (their attempt is not counted); *recovered
 * says how many. */
struct store *store_open_server(const char *path, double max_mb, int *recovered, char *err, size_t errlen);
void store_close(struct store *st);

/* Records a new queued run. STORE_DUPLICATE when (route, delivery_id) exists (*id is the
 * existing run), STORE_FULL when the store is full, STORE_ERROR otherwise. */
int store_insert(struct store *st, const char *route, const char *delivery_id, const char *input,
                 int max_attempts, double now, int64_t *id);

/* Claims the oldest due queued run of one of `routes` (those with a free slot): status →
 * running, attempts + 1. PostgreSQL also takes over runs whose lease expired (a dead
 * replica's; that attempt is not counted). Returns 1 claimed, 0 none due, -1 error. */
int store_claim(struct store *st, double now, const char *const *routes, int n_routes, struct store_claimed *out);
/* Ends an attempt: status "done", "dead" or "queued" (a retry at next_at); result may be
 * NULL. uncount: the attempt did not count (the server stopped it while draining). */
int store_finish(struct store *st, int64_t id, const char *status, double now, double next_at, int exit_code,
                 const char *result, const char *error, int uncount);
/* The earliest next_at of a queued run, or -1 when none is queued. */
double store_next_due(struct store *st);
/* Queue depth and the age of the oldest queued run (0 when empty). */
int store_queue_stats(struct store *st, double now, long *depth, double *oldest_age);

/* vsrun runs: prints runs (newest first) as text or JSON lines; shows one run as JSON;
 * retry queues a dead or done run again with its attempts reset. Return 0, 1 not found,
 * -1 error. */
int store_print_list(struct store *st, const char *status, long limit, int as_json);
int store_print_run(struct store *st, int64_t id);
int store_retry(struct store *st, int64_t id, double now);

/* Extends the leases of this server's running runs (PostgreSQL; a no-op for SQLite). Call
 * about once a second. */
void store_heartbeat(struct store *st, double now);
/* 1 for a PostgreSQL store (many servers may share it). */
int store_is_shared(const struct store *st);

#endif
