/* The SQLite run store (see store.h). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_pg.h"
#include "vault.h"

struct store {
    struct store_pg *pg;       /* a PostgreSQL store: every call goes there */
    sqlite3 *db;
    pthread_mutex_t mu;
    int lock_fd;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY,"
    " route TEXT NOT NULL,"
    " delivery_id TEXT NOT NULL,"
    " status TEXT NOT NULL,"            /* queued running done dead */
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " max_attempts INTEGER NOT NULL,"
    " received_at REAL NOT NULL,"
    " next_at REAL NOT NULL,"
    " started_at REAL, finished_at REAL,"
    " exit_code INTEGER, result TEXT, error TEXT,"
    " input TEXT NOT NULL,"
    " UNIQUE (route, delivery_id));"
    "CREATE INDEX IF NOT EXISTS runs_due ON runs (status, next_at);";

static void store_seterr(char *err, size_t errlen, const char *what, const char *detail) {
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, detail);
}

int store_default_path(char *out, size_t outlen, char *err, size_t errlen) {
    char home[4096];
    if (vault_home(home, sizeof home, 1, err, errlen) != 0) return -1;
    if ((size_t)snprintf(out, outlen, "%s/serve.db", home) >= outlen) {
        store_seterr(err, errlen, "store path", "too long");
        return -1;
    }
    return 0;
}

struct store *store_open(const char *path, double max_mb, char *err, size_t errlen) {
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL) { store_seterr(err, errlen, "store", "out of memory"); return NULL; }
    st->lock_fd = -1;
    pthread_mutex_init(&st->mu, NULL);
    if (store_pg_is_url(path)) {
        st->pg = store_pg_open(path, err, errlen);
        if (st->pg == NULL) { store_close(st); return NULL; }
        return st;
    }
    int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    char *msg = NULL;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(st->db, 5000);
        /* WAL: readers (vsrun runs) never block the server; FULL: a commit is on disk
         * before the event is acknowledged. */
        rc = sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, schema, NULL, NULL, &msg);
    if (rc == SQLITE_OK && max_mb > 0) {
        int page = 4096;
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW) page = sqlite3_column_int(s, 0);
            sqlite3_finalize(s);
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA max_page_count=%lld", (long long)(max_mb * 1048576.0 / page) + 1);
        rc = sqlite3_exec(st->db, pragma, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK) {
        store_seterr(err, errlen, path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        store_close(st);
        return NULL;
    }
    return st;
}

struct store *store_open_server(const char *path, double max_mb, int *recovered, char *err, size_t errlen) {
    *recovered = 0;
    if (store_pg_is_url(path)) return store_open(path, max_mb, err, errlen);   /* leases, no lock */
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { store_seterr(err, errlen, lock, strerror(errno)); return NULL; }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        store_seterr(err, errlen, path, "another vsrun serve is using this store");
        close(fd);
        return NULL;
    }
    struct store *st = store_open(path, max_mb, err, errlen);
    if (st == NULL) { close(fd); return NULL; }
    st->lock_fd = fd;
    /* Runs a dead server left running: its attempt ended without a verdict, so it is not
     * counted (at-least-once: the pipeline may run again). */
    char *msg = NULL;
    if (sqlite3_exec(st->db, "UPDATE runs SET status='queued', attempts=attempts-1 WHERE status='running'", NULL,
                     NULL, &msg) != SQLITE_OK) {
        store_seterr(err, errlen, path, msg ? msg : "recovery failed");
        sqlite3_free(msg);
        store_close(st);
        return NULL;
    }
    *recovered = sqlite3_changes(st->db);
    return st;
}

void store_close(struct store *st) {
    if (st == NULL) return;
    store_pg_close(st->pg);
    if (st->db) sqlite3_close(st->db);
    if (st->lock_fd >= 0) close(st->lock_fd);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static int store_result_code(int rc) {
    return rc == SQLITE_FULL ? STORE_FULL : STORE_ERROR;
}

int store_insert(struct store *st, const char *route, const char *delivery_id, const char *input,
                 int max_attempts, double now, int64_t *id) {
    if (st->pg) return store_pg_insert(st->pg, route, delivery_id, input, max_attempts, now, id);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int ret = STORE_ERROR;
    int rc = sqlite3_prepare_v2(st->db,
                                "INSERT INTO runs (route, delivery_id, status, max_attempts, received_at, next_at, input)"
                                " VALUES (?, ?, 'queued', ?, ?, ?, ?) ON CONFLICT (route, delivery_id) DO NOTHING",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, route, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, delivery_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, max_attempts);
        sqlite3_bind_double(s, 4, now);
        sqlite3_bind_double(s, 5, now);
        sqlite3_bind_text(s, 6, input, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1) {
        *id = sqlite3_last_insert_rowid(st->db);
        ret = STORE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = sqlite3_prepare_v2(st->db, "SELECT id FROM runs WHERE route = ? AND delivery_id = ?", -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(s, 1, route, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, delivery_id, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW) {
                *id = sqlite3_column_int64(s, 0);
                ret = STORE_DUPLICATE;
            }
        }
        sqlite3_finalize(s);
    } else {
        ret = store_result_code(rc);
    }
    pthread_mutex_unlock(&st->mu);
    return ret;
}

static char *store_dup_column(sqlite3_stmt *s, int col) {
    const unsigned char *t = sqlite3_column_text(s, col);
    return strdup(t ? (const char *)t : "");
}

static int store_route_in(const char *route, const char *const *routes, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(routes[i], route) == 0) return 1;
    return 0;
}

int store_claim(struct store *st, double now, const char *const *routes, int n_routes, struct store_claimed *out) {
    if (st->pg) return store_pg_claim(st->pg, now, routes, n_routes, out);
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int found = 0, failed = 0;
    /* A bounded look-ahead: runs of a route at its concurrency limit are skipped. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, route, input, delivery_id, attempts, max_attempts FROM runs"
                           " WHERE status = 'queued' AND next_at <= ? ORDER BY next_at, id LIMIT 256",
                           -1, &s, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&st->mu);
        return -1;
    }
    sqlite3_bind_double(s, 1, now);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *route = (const char *)sqlite3_column_text(s, 1);
        if (!route || !store_route_in(route, routes, n_routes)) continue;
        out->id = sqlite3_column_int64(s, 0);
        out->route = store_dup_column(s, 1);
        out->input = store_dup_column(s, 2);
        out->delivery_id = store_dup_column(s, 3);
        out->attempt = sqlite3_column_int(s, 4) + 1;
        out->max_attempts = sqlite3_column_int(s, 5);
        found = 1;
        break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) failed = 1;
    sqlite3_finalize(s);
    if (found) {
        if (!out->route || !out->input || !out->delivery_id) failed = 1;
        else if (sqlite3_prepare_v2(st->db,
                                    "UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?"
                                    " WHERE id = ?", -1, &s, NULL) == SQLITE_OK) {
            sqlite3_bind_double(s, 1, now);
            sqlite3_bind_int64(s, 2, out->id);
            if (sqlite3_step(s) != SQLITE_DONE) failed = 1;
            sqlite3_finalize(s);
        } else {
            failed = 1;
        }
    }
    pthread_mutex_unlock(&st->mu);
    if (failed) { store_claimed_free(out); return -1; }
    return found;
}

int store_finish(struct store *st, int64_t id, const char *status, double now, double next_at, int exit_code,
                 const char *result, const char *error, int uncount) {
    if (st->pg) return store_pg_finish(st->pg, id, status, now, next_at, exit_code, result, error, uncount);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "UPDATE runs SET status = ?, finished_at = ?, next_at = ?, exit_code = ?,"
                                " result = ?, error = ?, attempts = attempts - ? WHERE id = ?",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 2, now);
        sqlite3_bind_double(s, 3, next_at);
        sqlite3_bind_int(s, 4, exit_code);
        if (result) sqlite3_bind_text(s, 5, result, -1, SQLITE_STATIC);
        else sqlite3_bind_null(s, 5);
        if (error) sqlite3_bind_text(s, 6, error, -1, SQLITE_STATIC);
        else sqlite3_bind_null(s, 6);
        sqlite3_bind_int(s, 7, uncount ? 1 : 0);
        sqlite3_bind_int64(s, 8, id);
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc == SQLITE_DONE ? 0 : -1;
}

double store_next_due(struct store *st) {
    if (st->pg) return store_pg_next_due(st->pg);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    double due = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT min(next_at) FROM runs WHERE status = 'queued'", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        due = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return due;
}

int store_queue_stats(struct store *st, double now, long *depth, double *oldest_age) {
    if (st->pg) return store_pg_queue_stats(st->pg, now, depth, oldest_age);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT count(*), min(received_at) FROM runs WHERE status = 'queued'", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        *depth = (long)sqlite3_column_int64(s, 0);
        *oldest_age = sqlite3_column_type(s, 1) == SQLITE_NULL ? 0 : now - sqlite3_column_double(s, 1);
        ret = 0;
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

/* One run as a JSON object; input and result are JSON texts stored as they are. */
#define STORE_RUN_JSON                                                                                           \
    "json_object('id', id, 'route', route, 'delivery_id', delivery_id, 'status', status, 'attempts', attempts," \
    " 'max_attempts', max_attempts, 'received_at', received_at, 'started_at', started_at, 'finished_at',"      \
    " finished_at, 'next_at', CASE status WHEN 'queued' THEN next_at END, 'exit_code', exit_code,"              \
    " 'result', json(result), 'error', error"

int store_print_list(struct store *st, const char *status, long limit, int as_json) {
    if (st->pg) return store_pg_print_list(st->pg, status, limit, as_json);
    sqlite3_stmt *s = NULL;
    const char *sql = as_json ? "SELECT " STORE_RUN_JSON ") FROM runs WHERE (?1 IS NULL OR status = ?1)"
                                " ORDER BY id DESC LIMIT ?2"
                              : "SELECT id, status, attempts, route, delivery_id,"
                                " strftime('%Y-%m-%dT%H:%M:%SZ', received_at, 'unixepoch') FROM runs"
                                " WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2";
    pthread_mutex_lock(&st->mu);
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        if (status) sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, limit);
        if (!as_json) printf("%-8s %-8s %-8s %-16s %-20s %s\n", "ID", "STATUS", "ATTEMPTS", "ROUTE", "RECEIVED", "DELIVERY");
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (as_json) printf("%s\n", sqlite3_column_text(s, 0));
            else
                printf("%-8lld %-8s %-8d %-16s %-20s %s\n", (long long)sqlite3_column_int64(s, 0),
                       sqlite3_column_text(s, 1), sqlite3_column_int(s, 2), sqlite3_column_text(s, 3),
                       sqlite3_column_text(s, 5), sqlite3_column_text(s, 4));
        }
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_print_run(struct store *st, int64_t id) {
    if (st->pg) return store_pg_print_run(st->pg, id);
    sqlite3_stmt *s = NULL;
    int ret = -1;
    pthread_mutex_lock(&st->mu);
    if (sqlite3_prepare_v2(st->db, "SELECT " STORE_RUN_JSON ", 'input', json(input)) FROM runs WHERE id = ?", -1, &s,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, id);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) { printf("%s\n", sqlite3_column_text(s, 0)); ret = 0; }
        else if (rc == SQLITE_DONE) ret = 1;
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

int store_retry(struct store *st, int64_t id, double now) {
    if (st->pg) return store_pg_retry(st->pg, id, now);
    sqlite3_stmt *s = NULL;
    int ret = -1;
    pthread_mutex_lock(&st->mu);
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET status = 'queued', attempts = 0, next_at = ?, error = NULL"
                           " WHERE id = ? AND status IN ('dead', 'done')",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_double(s, 1, now);
        sqlite3_bind_int64(s, 2, id);
        if (sqlite3_step(s) == SQLITE_DONE) ret = sqlite3_changes(st->db) == 1 ? 0 : 1;
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return ret;
}

void store_heartbeat(struct store *st, double now) {
    if (st->pg) store_pg_heartbeat(st->pg, now);
}

int store_is_shared(const struct store *st) { return st->pg != NULL; }
