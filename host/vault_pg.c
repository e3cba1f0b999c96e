/* Connection records in PostgreSQL (see vault_pg.h). */
#include "vault_pg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>



static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static PGconn *conn;
static int in_txn;

static const char schema[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(7152002);"   /* replicas create the table one at a time */
    "CREATE TABLE IF NOT EXISTS vsrun_connections ("
    " name TEXT PRIMARY KEY,"
    " record BYTEA NOT NULL,"          /* sealed: AES-256-GCM, the name authenticated */
    " generation BIGINT NOT NULL,"     /* not secret: lets an operator see refreshes */
    " updated_at TIMESTAMPTZ NOT NULL DEFAULT now());"
    "COMMIT;";

int vault_pg_is_url(const char *s) {
    return s && (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0);
}

/* libpq's message, first line only (it names host and port, never a password) */
static void pg_err(char *err, size_t errlen, const char *what) {
    const char *m = conn ? PQerrorMessage(conn) : "out of memory";
    snprintf(err, errlen, "PostgreSQL vault: %s: %.*s", what, (int)strcspn(m, "\n"), m);
}

/* libpq prints notices ("relation ... already exists, skipping") on stderr: not ours to show */
static void quiet(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

/* -1, or VAULT_PG_UNREACHABLE when the failure was the connection's */
static int failed(void) { return conn && PQstatus(conn) == CONNECTION_OK ? -1 : VAULT_PG_UNREACHABLE; }

static int ensure_conn(const char *url, char *err, size_t errlen) {
    if (conn && PQstatus(conn) == CONNECTION_OK) return 0;
    if (conn && !in_txn) {
        PQreset(conn);   /* a server restart between runs of a long process */
        if (PQstatus(conn) == CONNECTION_OK) return 0;
    }
    if (conn) {
        pg_err(err, errlen, "connection lost");
        PQfinish(conn);
        conn = NULL;
        in_txn = 0;
        return VAULT_PG_UNREACHABLE;
    }
    conn = PQconnectdb(url);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        pg_err(err, errlen, "cannot connect");
        PQfinish(conn);
        conn = NULL;
        return VAULT_PG_UNREACHABLE;
    }
    PQsetNoticeProcessor(conn, quiet, NULL);
    PGresult *r = PQexec(conn, schema);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        pg_err(err, errlen, "cannot create the table vsrun_connections");
        PQfinish(conn);
        conn = NULL;
        return -1;
    }
    return 0;
}

static int pg_ok(PGresult *r) {
    return r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
}

/* Ends the record's transaction after its one statement r (cleared here): COMMIT when r
 * succeeded, else ROLLBACK. COMMIT's answer is what makes a write durable; no answer means
 * unknown. 1 when committed, else 0 + err. */
static int end_txn(PGresult *r, const char *failed_what, const char *commit_what, char *err, size_t errlen) {
    int ok = pg_ok(r);
    PQclear(r);
    if (!ok) {
        pg_err(err, errlen, failed_what);
        PQclear(PQexec(conn, "ROLLBACK"));
    } else {
        PGresult *c = PQexec(conn, "COMMIT");
        ok = pg_ok(c);
        PQclear(c);
        if (!ok) pg_err(err, errlen, commit_what);
    }
    in_txn = 0;
    return ok;
}

int vault_pg_get(const char *url, const char *name, unsigned char **data, size_t *len, char *err, size_t errlen) {
    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&mu);
    int rc = ensure_conn(url, err, errlen);
    if (rc != 0) goto out;
    rc = -1;
    const char *params[1] = {name};
    PGresult *r = PQexecParams(conn, "SELECT record FROM vsrun_connections WHERE name = $1", 1, NULL, params, NULL,
                               NULL, 1 /* binary: the bytes as stored */);
    if (!pg_ok(r)) {
        pg_err(err, errlen, "cannot read a connection");
        rc = failed();
    } else if (PQntuples(r) == 0) rc = VAULT_NOT_FOUND;
    else {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        *data = malloc(n ? n : 1);
        if (*data) {
            memcpy(*data, PQgetvalue(r, 0, 0), n);
            *len = n;
            rc = 0;
        } else snprintf(err, errlen, "out of memory");
    }
    PQclear(r);
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

int vault_pg_lock_try(const char *url, const char *name, char *err, size_t errlen) {
    pthread_mutex_lock(&mu);
    int rc = 0;
    if (!in_txn) {
        if ((rc = ensure_conn(url, err, errlen)) != 0) goto out;
        PGresult *b = PQexec(conn, "BEGIN");
        int ok = pg_ok(b);
        PQclear(b);
        if (!ok) {
            pg_err(err, errlen, "cannot begin a transaction");
            rc = failed();
            goto out;
        }
        in_txn = 1;
    }
    const char *params[1] = {name};
    /* the key: a 64-bit hash of the name, in a namespace of its own */
    PGresult *r = PQexecParams(conn, "SELECT pg_try_advisory_xact_lock(hashtextextended('vsrun.connection:' || $1, 0))",
                               1, NULL, params, NULL, NULL, 0);
    if (!pg_ok(r) || PQntuples(r) != 1) {
        pg_err(err, errlen, "cannot take the connection's lock");
        rc = failed();
        PQclear(r);
        PQclear(PQexec(conn, "ROLLBACK"));
        in_txn = 0;
        goto out;
    }
    rc = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? 0 : 1;
    PQclear(r);
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

int vault_pg_put_commit(const char *name, const unsigned char *data, size_t len, unsigned generation, char *err,
                        size_t errlen) {
    pthread_mutex_lock(&mu);
    int rc = -1;
    if (!conn || !in_txn) {
        snprintf(err, errlen, "PostgreSQL vault: write outside the record's lock");
        goto out;
    }
    char gen[16];
    snprintf(gen, sizeof gen, "%u", generation);
    const char *params[3] = {name, (const char *)data, gen};
    int lens[3] = {0, (int)len, 0}, formats[3] = {0, 1, 0};
    PGresult *r = PQexecParams(conn,
                               "INSERT INTO vsrun_connections (name, record, generation) VALUES ($1, $2, $3)"
                               " ON CONFLICT (name) DO UPDATE SET record = excluded.record,"
                               " generation = excluded.generation, updated_at = now()",
                               3, NULL, params, lens, formats, 0);
    int ok = end_txn(r, "cannot write the connection", "cannot commit the connection", err, errlen);
    rc = ok ? 0 : failed();
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

int vault_pg_delete_commit(const char *name, char *err, size_t errlen) {
    pthread_mutex_lock(&mu);
    int rc = -1;
    if (!conn || !in_txn) {
        snprintf(err, errlen, "PostgreSQL vault: delete outside the record's lock");
        goto out;
    }
    const char *params[1] = {name};
    PGresult *r = PQexecParams(conn, "DELETE FROM vsrun_connections WHERE name = $1", 1, NULL, params, NULL, NULL, 0);
    int gone = pg_ok(r) && strcmp(PQcmdTuples(r), "0") == 0;
    int ok = end_txn(r, "cannot delete the connection", "cannot commit the deletion", err, errlen);
    rc = !ok ? failed() : gone ? VAULT_NOT_FOUND : 0;
out:
    pthread_mutex_unlock(&mu);
    return rc;
}

void vault_pg_unlock(void) {
    pthread_mutex_lock(&mu);
    if (conn && in_txn) PQclear(PQexec(conn, "ROLLBACK"));
    in_txn = 0;
    pthread_mutex_unlock(&mu);
}

int vault_pg_list(const char *url, char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen) {
    pthread_mutex_lock(&mu);
    int count = ensure_conn(url, err, errlen);
    if (count != 0) goto out;
    PGresult *r = PQexec(conn, "SELECT name FROM vsrun_connections ORDER BY name");
    if (!pg_ok(r)) {
        pg_err(err, errlen, "cannot list connections");
        count = failed();
    } else {
        count = 0;
        for (int i = 0; i < PQntuples(r) && count < max; i++)
            if (vault_check_name(PQgetvalue(r, i, 0), NULL, 0) == 0)
                snprintf(names[count++], VAULT_NAME_MAX, "%s", PQgetvalue(r, i, 0));
    }
    PQclear(r);
out:
    pthread_mutex_unlock(&mu);
    return count;
}

void vault_pg_close(void) {
    pthread_mutex_lock(&mu);
    PQfinish(conn);
    conn = NULL;
    in_txn = 0;
    pthread_mutex_unlock(&mu);
}
