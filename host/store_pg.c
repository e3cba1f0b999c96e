/* The PostgreSQL run store (see store_pg.h). One connection per process, one mutex. */
#include "store_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#define PG_SCHEMA_LOCK 7152001      /* advisory lock key: replicas create the schema one at a time */
#define PG_ROUTES_TEXT 4608         /* SERVE_MAX_ROUTES names of at most 64 characters, quoted */

struct store_pg {
    PGconn *conn;
    pthread_mutex_t mu;
    char owner[64];                 /* this replica's lease owner id */
};

static const char pg_schema[] =
    "CREATE TABLE IF NOT EXISTS vsrun_runs ("
    " id BIGSERIAL PRIMARY KEY,"
    " route TEXT NOT NULL,"
    " delivery_id TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL,"
    " received_at DOUBLE PRECISION NOT NULL,"
    " next_at DOUBLE PRECISION NOT NULL,"
    " started_at DOUBLE PRECISION, finished_at DOUBLE PRECISION,"
    " exit_code INTEGER, result TEXT, error TEXT,"
    " input TEXT NOT NULL,"
    " lease_owner TEXT, lease_until DOUBLE PRECISION,"
    " UNIQUE (route, delivery_id));"
    "CREATE INDEX IF NOT EXISTS vsrun_runs_due ON vsrun_runs (status, next_at);";

int store_pg_is_url(const char *s) {
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* Runs a statement with text parameters; reconnects once if the connection broke. */
static PGresult *pg_exec(struct store_pg *pg, const char *sql, int n, const char *const *params) {
    PGresult *r = PQexecParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        PQclear(r);
        PQreset(pg->conn);
        if (PQstatus(pg->conn) != CONNECTION_OK) return NULL;
        r = PQexecParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0);
    }
    return r;
}

static int pg_ok(PGresult *r) {
    return r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
}

struct store_pg *store_pg_open(const char *url, char *err, size_t errlen) {
    struct store_pg *pg = calloc(1, sizeof *pg);
    if (pg == NULL) { snprintf(err, errlen, "out of memory"); return NULL; }
    pthread_mutex_init(&pg->mu, NULL);
    unsigned char rnd[6];
    char host[32] = "host";
    gethostname(host, sizeof host - 1);
    RAND_bytes(rnd, sizeof rnd);
    snprintf(pg->owner, sizeof pg->owner, "%.24s-%d-%02x%02x%02x%02x%02x%02x", host, (int)getpid(), rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5]);
    pg->conn = PQconnectdb(url);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password */
        snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(pg->conn));
        size_t n = strlen(err);
        while (n && (err[n - 1] == '\n' || err[n - 1] == ' ')) err[--n] = '\0';
        store_pg_close(pg);
        return NULL;
    }
    PGresult *r = PQexec(pg->conn, "SET client_min_messages = warning");
    PQclear(r);
    char lock[128];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d)", PG_SCHEMA_LOCK);
    r = PQexec(pg->conn, lock);
    int ok = pg_ok(r);
    PQclear(r);
    if (ok) {
        r = PQexec(pg->conn, pg_schema);
        ok = pg_ok(r);
        if (!ok) snprintf(err, errlen, "PostgreSQL: %s", PQresultErrorMessage(r));
        PQclear(r);
        snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%d)", PG_SCHEMA_LOCK);
        PQclear(PQexec(pg->conn, lock));
    } else {
        snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(pg->conn));
    }
    if (!ok) { store_pg_close(pg); return NULL; }
    return pg;
}

void store_pg_close(struct store_pg *pg) {
    if (pg == NULL) return;
    PQfinish(pg->conn);
    pthread_mutex_destroy(&pg->mu);
    free(pg);
}

int store_pg_insert(struct store_pg *pg, const char *route, const char *delivery_id, const char *input,
                    int max_attempts, double now, int64_t *id) {
    char attempts[16], t[32];
    snprintf(attempts, sizeof attempts, "%d", max_attempts);
    snprintf(t, sizeof t, "%.6f", now);
    const char *p[] = {route, delivery_id, attempts, t, input};
    pthread_mutex_lock(&pg->mu);
    /* a conflicting row is returned too (the no-op update), so one round trip says which */
    PGresult *r = pg_exec(pg,
                          "INSERT INTO vsrun_runs (route, delivery_id, status, max_attempts, received_at, next_at, input)"
                          " VALUES ($1, $2, 'queued', $3, $4, $4, $5)"
                          " ON CONFLICT (route, delivery_id) DO UPDATE SET route = EXCLUDED.route"
                          " RETURNING id, (xmax = 0) AS inserted",
                          5, p);
    int ret = STORE_ERROR;
    if (pg_ok(r) && PQntuples(r) == 1) {
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        ret = strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? STORE_OK : STORE_DUPLICATE;
    } else if (r) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && (strcmp(state, "53100") == 0 || strcmp(state, "53200") == 0)) ret = STORE_FULL;   /* disk full, out of memory */
    }
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ret;
}

static char *pg_dup(PGresult *r, int col) { return strdup(PQgetvalue(r, 0, col)); }

int store_pg_claim(struct store_pg *pg, double now, const char *const *routes, int n_routes, struct store_claimed *out) {
    memset(out, 0, sizeof *out);
    /* the routes as a text[] literal: {"a","b"} (names are [A-Za-z0-9_-]) */
    char arr[PG_ROUTES_TEXT];
    size_t o = 0;
    arr[o++] = '{';
    for (int i = 0; i < n_routes && o + strlen(routes[i]) + 4 < sizeof arr; i++)
        o += (size_t)snprintf(arr + o, sizeof arr - o, "%s\"%s\"", i ? "," : "", routes[i]);
    arr[o++] = '}';
    arr[o] = '\0';
    char t[32], lease[32];
    snprintf(t, sizeof t, "%.6f", now);
    snprintf(lease, sizeof lease, "%.6f", now + STORE_PG_LEASE_SECONDS);
    const char *p[] = {t, lease, pg->owner, arr};
    pthread_mutex_lock(&pg->mu);
    /* a queued run that is due, or a running one whose lease expired (its replica died:
     * that attempt is not counted) */
    PGresult *r = pg_exec(pg,
                          "UPDATE vsrun_runs SET"
                          " attempts = CASE WHEN status = 'running' THEN attempts ELSE attempts + 1 END,"
                          " status = 'running', started_at = $1, lease_owner = $3, lease_until = $2"
                          " WHERE id = (SELECT id FROM vsrun_runs"
                          "  WHERE ((status = 'queued' AND next_at <= $1) OR (status = 'running' AND lease_until < $1))"
                          "  AND route = ANY($4::text[])"
                          "  ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                          " RETURNING id, route, input, delivery_id, attempts, max_attempts",
                          4, p);
    int ret = -1;
    if (pg_ok(r)) {
        ret = PQntuples(r) == 1;
        if (ret) {
            out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            out->route = pg_dup(r, 1);
            out->input = pg_dup(r, 2);
            out->delivery_id = pg_dup(r, 3);
            out->attempt = atoi(PQgetvalue(r, 0, 4));
            out->max_attempts = atoi(PQgetvalue(r, 0, 5));
            if (!out->route || !out->input || !out->delivery_id) { store_claimed_free(out); ret = -1; }
        }
    }
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ret;
}

int store_pg_finish(struct store_pg *pg, int64_t id, const char *status, double now, double next_at, int exit_code,
                    const char *result, const char *error, int uncount) {
    char sid[32], t[32], nt[32], code[16], unc[4];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    snprintf(t, sizeof t, "%.6f", now);
    snprintf(nt, sizeof nt, "%.6f", next_at);
    snprintf(code, sizeof code, "%d", exit_code);
    snprintf(unc, sizeof unc, "%d", uncount ? 1 : 0);
    const char *p[] = {status, t, nt, code, result, error, unc, sid, pg->owner};
    pthread_mutex_lock(&pg->mu);
    /* only while the lease is ours: a run taken over belongs to the replica that took it */
    PGresult *r = pg_exec(pg,
                          "UPDATE vsrun_runs SET status = $1, finished_at = $2::float8, next_at = $3::float8,"
                          " exit_code = $4::int, result = $5, error = $6, attempts = attempts - $7::int,"
                          " lease_owner = NULL, lease_until = NULL"
                          " WHERE id = $8::bigint AND lease_owner = $9",
                          9, p);
    int ok = pg_ok(r);
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ok ? 0 : -1;
}

int store_pg_heartbeat(struct store_pg *pg, double now) {
    char lease[32];
    snprintf(lease, sizeof lease, "%.6f", now + STORE_PG_LEASE_SECONDS);
    const char *p[] = {lease, pg->owner};
    pthread_mutex_lock(&pg->mu);
    PGresult *r = pg_exec(pg, "UPDATE vsrun_runs SET lease_until = $1::float8 WHERE lease_owner = $2 AND status = 'running'",
                          2, p);
    int ok = pg_ok(r);
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ok ? 0 : -1;
}

/* One number from a one-row query, or `dflt`. */
static double pg_scalar(struct store_pg *pg, const char *sql, int n, const char *const *p, double dflt) {
    pthread_mutex_lock(&pg->mu);
    PGresult *r = pg_exec(pg, sql, n, p);
    double v = dflt;
    if (pg_ok(r) && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) v = strtod(PQgetvalue(r, 0, 0), NULL);
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return v;
}

double store_pg_next_due(struct store_pg *pg) {
    return pg_scalar(pg,
                     "SELECT min(t) FROM (SELECT min(next_at) AS t FROM vsrun_runs WHERE status = 'queued'"
                     " UNION ALL SELECT min(lease_until) FROM vsrun_runs WHERE status = 'running') AS d",
                     0, NULL, -1);
}

int store_pg_queue_stats(struct store_pg *pg, double now, long *depth, double *oldest_age) {
    char t[32];
    snprintf(t, sizeof t, "%.6f", now);
    const char *p[] = {t};
    pthread_mutex_lock(&pg->mu);
    PGresult *r = pg_exec(pg, "SELECT count(*), coalesce($1::float8 - min(received_at), 0) FROM vsrun_runs WHERE status = 'queued'",
                          1, p);
    int ret = -1;
    if (pg_ok(r) && PQntuples(r) == 1) {
        *depth = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        *oldest_age = strtod(PQgetvalue(r, 0, 1), NULL);
        ret = 0;
    }
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ret;
}

#define PG_RUN_JSON                                                                                              \
    "jsonb_build_object('id', id, 'route', route, 'delivery_id', delivery_id, 'status', status, 'attempts',"    \
    " attempts, 'max_attempts', max_attempts, 'received_at', received_at, 'started_at', started_at,"           \
    " 'finished_at', finished_at, 'next_at', CASE status WHEN 'queued' THEN next_at END, 'exit_code',"        \
    " exit_code, 'result', result::jsonb, 'error', error"

int store_pg_print_list(struct store_pg *pg, const char *status, long limit, int as_json) {
    char lim[32];
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *p[] = {status, lim};
    const char *sql = as_json ? "SELECT " PG_RUN_JSON ")::text FROM vsrun_runs WHERE ($1::text IS NULL OR status = $1)"
                                " ORDER BY id DESC LIMIT $2::bigint"
                              : "SELECT id, status, attempts, route, delivery_id,"
                                " to_char(to_timestamp(received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                                " FROM vsrun_runs WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2::bigint";
    pthread_mutex_lock(&pg->mu);
    PGresult *r = pg_exec(pg, sql, 2, p);
    int ok = pg_ok(r);
    if (ok) {
        if (!as_json) printf("%-8s %-8s %-8s %-16s %-20s %s\n", "ID", "STATUS", "ATTEMPTS", "ROUTE", "RECEIVED", "DELIVERY");
        for (int i = 0; i < PQntuples(r); i++) {
            if (as_json) printf("%s\n", PQgetvalue(r, i, 0));
            else
                printf("%-8s %-8s %-8s %-16s %-20s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                       PQgetvalue(r, i, 3), PQgetvalue(r, i, 5), PQgetvalue(r, i, 4));
        }
    }
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ok ? 0 : -1;
}

int store_pg_print_run(struct store_pg *pg, int64_t id) {
    char sid[32];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    const char *p[] = {sid};
    pthread_mutex_lock(&pg->mu);
    PGresult *r = pg_exec(pg, "SELECT " PG_RUN_JSON ", 'input', input::jsonb)::text FROM vsrun_runs WHERE id = $1::bigint", 1, p);
    int ret = -1;
    if (pg_ok(r)) {
        ret = PQntuples(r) == 1 ? 0 : 1;
        if (ret == 0) printf("%s\n", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ret;
}

int store_pg_retry(struct store_pg *pg, int64_t id, double now) {
    char sid[32], t[32];
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    snprintf(t, sizeof t, "%.6f", now);
    const char *p[] = {t, sid};
    pthread_mutex_lock(&pg->mu);
    PGresult *r = pg_exec(pg,
                          "UPDATE vsrun_runs SET status = 'queued', attempts = 0, next_at = $1::float8, error = NULL"
                          " WHERE id = $2::bigint AND status IN ('dead', 'done')",
                          2, p);
    int ret = -1;
    if (pg_ok(r)) ret = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : 1;
    PQclear(r);
    pthread_mutex_unlock(&pg->mu);
    return ret;
}
