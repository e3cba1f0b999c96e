/* vsrun auth push (see cmd_auth_push.h). The record moves: two live copies of one grant
 * would rotate each other's refresh token dead, so the file copy is deleted once the row
 * is committed. It is sealed again, with VSRUN_KEY or VSRUN_PASSPHRASE only (the other
 * machines have no copy of this machine's key file). */
#include "cmd_auth_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "connection.h"
#include "exitcodes.h"
#include "options.h"
#include "util.h"
#include "vault.h"
#include "vault_pg.h"

#define LOCK_WAIT_SECONDS 60.0

#define usage(...) util_usage("vsrun auth push", __VA_ARGS__)

static int fail(int code, const char *msg) {
    fprintf(stderr, "vsrun auth push: %s\n", msg);
    return code;
}

static const char push_help[] =
    "usage: vsrun auth push NAME [--to postgresql://USER@HOST:PORT/DB]\n"
    "\n"
    "Moves connection NAME from this machine's vault into the table vsrun_connections of a\n"
    "PostgreSQL database (default: $VSRUN_VAULT), where every run with VSRUN_VAULT set to\n"
    "that URL finds it, on any machine, and refreshes it under a lock the replicas share.\n"
    "The record is sealed with VSRUN_KEY or VSRUN_PASSPHRASE (give the replicas the same),\n"
    "then deleted here. Keep the password out of the URL: libpq reads PGPASSWORD or ~/.pgpass.\n";

/* Takes the row's advisory lock, polling in 20 ms slices for up to LOCK_WAIT_SECONDS. */
static int pg_lock(const char *url, const char *name, char *err, size_t errlen) {
    double until = util_monotonic() + LOCK_WAIT_SECONDS;
    for (;;) {
        int rc = vault_pg_lock_try(url, name, err, errlen);
        if (rc <= 0) return rc;
        if (util_monotonic() > until) {
            vault_pg_unlock();
            snprintf(err, errlen, "another vsrun holds the lock of '%s' in the shared vault; try again", name);
            return -1;
        }
        struct timespec slice = {0, 20000000L};
        nanosleep(&slice, NULL);
    }
}

int cmd_auth_push(int argc, char **argv) {
    static const struct opt table[] = {{"--to", NULL, 1, OPT_VALUE}, {NULL, NULL, 0, 0}};
    struct opt_parser p;
    const char *name = NULL, *url = getenv("VSRUN_VAULT");
    opt_init(&p, "vsrun auth push", argc, argv, table, NULL);
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        if (id == OPT_ERROR) return EXIT_USAGE;
        if (id == OPT_HELP) {
            fputs(push_help, stdout);
            return EXIT_OK;
        }
        if (id == OPT_ARG) {
            if (name) return usage("unexpected argument '%s'", p.value);
            name = p.value;
        } else url = p.value;
    }
    char err[1024] = "";
    if (!name) return usage("push needs the connection's NAME");
    if (vault_check_name(name, err, sizeof err) != 0) return fail(EXIT_USAGE, err);
    if (!url || !*url) return usage("where to? pass --to postgresql://... (or set VSRUN_VAULT)");
    if (!vault_pg_is_url(url)) return usage("--to must be a postgresql:// URL");

    /* the file record's lock first, so no refresh here changes it while it moves */
    int lock = connection_lock(name, NULL, err, sizeof err);
    if (lock < 0) return fail(cred_exit_code((enum cred_status)lock), err);
    struct vault_record r;
    struct vault_pending *seal = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    int code = EXIT_SCRIPT;
    enum cred_status st = connection_load_record(name, &r, err, sizeof err);
    if (st != CRED_OK) {
        code = st == CRED_MISSING ? EXIT_USAGE : cred_exit_code(st);
        goto out;
    }
    int vrc = vault_seal_begin(name, 1, &seal, err, sizeof err);
    if (vrc != 0) {
        code = vrc == VAULT_CONFIG ? EXIT_USAGE : EXIT_SCRIPT;
        goto out;
    }
    vrc = vault_seal_finish(seal, &r, &data, &len, err, sizeof err);
    seal = NULL;
    if (vrc != 0) goto out;
    if (pg_lock(url, name, err, sizeof err) != 0) {
        code = EXIT_NETWORK;
        goto out;
    }
    unsigned char *old = NULL;
    size_t old_len = 0;
    int had = vault_pg_get(url, name, &old, &old_len, err, sizeof err) == 0;
    free(old);
    if (vault_pg_put_commit(name, data, len, r.generation, err, sizeof err) != 0) {
        code = EXIT_NETWORK;
        goto out;
    }
    /* committed: now the shared row is the one copy */
    if (vault_remove(name, err, sizeof err) != 0)
        fprintf(stderr, "vsrun auth push: warning: could not delete the local copy (delete it: two copies kill "
                        "each other's refresh token): %s\n", err);
    char def[VAULT_NAME_MAX];
    if (vault_config_get("default", def, sizeof def) == 0 && strcmp(def, name) == 0)
        vault_config_set("default", NULL, err, sizeof err);
    printf("%s '%s' in the shared vault (generation %u); the copy in this machine's vault is deleted.\n"
           "Runs use it with VSRUN_VAULT set to that URL and the same VSRUN_KEY or VSRUN_PASSPHRASE.\n",
           had ? "Replaced" : "Stored", name, r.generation);
    code = EXIT_OK;
out:
    if (code != EXIT_OK) fail(code, err);
    vault_save_abort(seal);
    vault_pg_unlock();
    vault_pg_close();
    if (data) {
        OPENSSL_cleanse(data, len);
        free(data);
    }
    vault_record_clear(&r);
    connection_unlock(lock);
    return code;
}
