/* Where a run's connection records live: the file vault ($VSRUN_HOME, host/vault.c), or a
 * PostgreSQL table shared by replicas on several machines when VSRUN_VAULT is a
 * postgresql:// URL (host/vault_pg.c). Both hold the same sealed bytes; this is the one
 * interface host/connection.c and the `vsrun auth` commands (other than push, which moves
 * a record from the file vault into the table) read, lock and write them through. */
#ifndef VSRUN_RECORDS_H
#define VSRUN_RECORDS_H
#include <stddef.h>

#include "vault.h"
#include "vault_pg.h"   /* VAULT_PG_UNREACHABLE: every call may also return it */

/* VSRUN_VAULT when set: a postgresql:// URL, else NULL (the file vault). -1 + err when it
 * is set to anything else. */
int records_shared_url(const char **url, char *err, size_t errlen);

/* Reads and opens record NAME without taking its lock: vault_load's results. */
int records_load(const char *name, struct vault_record *r, char *err, size_t errlen);
/* Up to max names, sorted (vault_list's results). */
int records_list(char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen);

/* Record NAME's lock: a file lock (NAME.lock), or a PostgreSQL transaction holding an
 * advisory lock. try: 0 taken, 1 held by another (call again), -1 + err. While it is held,
 * records_load reads the locked state; save_begin prepares a write before a refresh token is
 * spent (the temp file, or the key only); save_finish writes (rename, or UPDATE + COMMIT)
 * and releases nothing else; unlock drops an unfinished write and releases. */
struct records_lock;
int records_lock_try(const char *name, struct records_lock **l, char *err, size_t errlen);
int records_save_begin(struct records_lock *l, char *err, size_t errlen);
int records_save_finish(struct records_lock *l, const struct vault_record *r, char *err, size_t errlen);
void records_unlock(struct records_lock *l);
/* While the lock is held: deletes the record (a file vault keeps NAME.lock; the table's
 * DELETE commits, releasing the lock). 0, VAULT_NOT_FOUND, or -1 + err. */
int records_remove(struct records_lock *l, char *err, size_t errlen);
/* Whether a record NAME could be sealed for this store, checked before a login makes a
 * grant: the table needs VSRUN_KEY or VSRUN_PASSPHRASE (other machines lack this one's key
 * file). 0, or VAULT_CONFIG + err. The file vault: always 0 (its save says why it fails). */
int records_check_key(const char *name, char *err, size_t errlen);
/* The last generation saved here (a restored older copy is older): files only, else 0. */
unsigned records_last_saved_generation(const char *name);

#endif
