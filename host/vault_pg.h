/* Connection records in PostgreSQL (VSRUN_VAULT=postgresql://...), for replicas on several
 * machines: the table vsrun_connections(name, record, generation, updated_at) holds the
 * same sealed bytes a file vault keeps in NAME.conn (host/vault.h seals and opens them; this
 * file only moves bytes). A record's writers serialize on a transaction-scoped advisory
 * lock keyed by its name. One libpq connection per process, opened on first use; the table
 * is created then. Messages never contain the URL (it may carry a password). */
#ifndef VSRUN_VAULT_PG_H
#define VSRUN_VAULT_PG_H
#include <stddef.h>

#include "vault.h"

#define VAULT_PG_UNREACHABLE (-4)   /* the database cannot be reached (a network error) */

int vault_pg_is_url(const char *s);
/* Record NAME's sealed bytes (malloc'd, *len) read without any lock: 0, VAULT_NOT_FOUND,
 * VAULT_PG_UNREACHABLE or -1 + err (so for every call below that returns -1). Inside a locked transaction it reads that transaction's view. */
int vault_pg_get(const char *url, const char *name, unsigned char **data, size_t *len, char *err, size_t errlen);
/* Opens a transaction (unless one is open) and tries pg_try_advisory_xact_lock on a key
 * derived from NAME: 0 taken, 1 held by another process (call again: the transaction stays
 * open), -1 + err (no transaction left open). */
int vault_pg_lock_try(const char *url, const char *name, char *err, size_t errlen);
/* In the locked transaction: writes NAME's record (insert or replace) and commits, which
 * releases the lock. 0, or -1 + err with the transaction rolled back. */
int vault_pg_put_commit(const char *name, const unsigned char *data, size_t len, unsigned generation, char *err,
                        size_t errlen);
/* In the locked transaction: deletes NAME's row and commits, which releases the lock. 0,
 * VAULT_NOT_FOUND (nothing deleted, committed all the same), or -1 + err rolled back. */
int vault_pg_delete_commit(const char *name, char *err, size_t errlen);
/* Ends the transaction (if any) without writing: the lock is released. */
void vault_pg_unlock(void);
/* Up to max names, sorted: the count, or -1 + err. */
int vault_pg_list(const char *url, char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen);
/* Closes the connection (at exit, and in tests). */
void vault_pg_close(void);

#endif
