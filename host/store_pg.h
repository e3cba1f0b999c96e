/* The PostgreSQL run store (`--store postgresql://...`): the same contract as store.h, for
 * any number of `vsrun serve` replicas on one database. Runs are claimed with
 * SELECT ... FOR UPDATE SKIP LOCKED; a claimed run carries a lease (owner, expiry) that a
 * heartbeat extends while it runs, and a replica that dies stops extending it, so another
 * replica takes the run over once the lease expired. Used only through store.c. */
#ifndef VSRUN_STORE_PG_H
#define VSRUN_STORE_PG_H
#include <stddef.h>
#include <stdint.h>

#include "store_claimed.h"

#define STORE_PG_LEASE_SECONDS 5.0     /* heartbeats every second extend it */

struct store_pg;

int store_pg_is_url(const char *s);
struct store_pg *store_pg_open(const char *url, char *err, size_t errlen);
void store_pg_close(struct store_pg *pg);
int store_pg_insert(struct store_pg *pg, const char *route, const char *delivery_id, const char *input,
                    int max_attempts, double now, int64_t *id);
int store_pg_claim(struct store_pg *pg, double now, const char *const *routes, int n_routes, struct store_claimed *out);
int store_pg_finish(struct store_pg *pg, int64_t id, const char *status, double now, double next_at, int exit_code,
                    const char *result, const char *error, int uncount);
/* Extends the leases of this replica's running runs. */
int store_pg_heartbeat(struct store_pg *pg, double now);
double store_pg_next_due(struct store_pg *pg);
int store_pg_queue_stats(struct store_pg *pg, double now, long *depth, double *oldest_age);
int store_pg_print_list(struct store_pg *pg, const char *status, long limit, int as_json);
int store_pg_print_run(struct store_pg *pg, int64_t id);
int store_pg_retry(struct store_pg *pg, int64_t id, double now);

#endif
