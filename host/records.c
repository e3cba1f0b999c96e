/* The connection record store (see records.h): the file vault or a PostgreSQL table. */
#include "records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vault_pg.h"

struct records_lock {
    char name[VAULT_NAME_MAX];
    const char *url;                /* NULL: the file vault */
    int fd;                         /* the file lock */
    struct vault_pending *pending;  /* a prepared write */
};

int records_shared_url(const char **url, char *err, size_t errlen) {
    const char *v = getenv("VSRUN_VAULT");
    *url = NULL;
    if (v == NULL || *v == '\0') return 0;
    if (!vault_pg_is_url(v)) {
        snprintf(err, errlen, "VSRUN_VAULT must be a postgresql:// URL (unset it to use the vault in $VSRUN_HOME)");
        return -1;
    }
    *url = v;
    return 0;
}

int records_load(const char *name, struct vault_record *r, char *err, size_t errlen) {
    const char *url;
    memset(r, 0, sizeof *r);
    if (records_shared_url(&url, err, errlen) != 0) return VAULT_CONFIG;
    if (!url) return vault_load(name, r, err, errlen);
    if (vault_check_name(name, err, errlen) != 0) return -1;
    unsigned char *data;
    size_t len;
    int rc = vault_pg_get(url, name, &data, &len, err, errlen);
    if (rc != 0) return rc;
    rc = vault_open_bytes(name, data, len, r, err, errlen);
    free(data);   /* sealed bytes: nothing secret in the clear */
    return rc;
}

int records_list(char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen) {
    const char *url;
    if (records_shared_url(&url, err, errlen) != 0) return -1;
    return url ? vault_pg_list(url, names, max, err, errlen) : vault_list(names, max, err, errlen);
}

int records_lock_try(const char *name, struct records_lock **lp, char *err, size_t errlen) {
    struct records_lock *l = *lp;
    if (l == NULL) {
        const char *url;
        if (records_shared_url(&url, err, errlen) != 0) return -1;
        if (vault_check_name(name, err, errlen) != 0) return -1;
        l = calloc(1, sizeof *l);
        if (!l) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        snprintf(l->name, sizeof l->name, "%s", name);
        l->url = url;
        l->fd = url ? -1 : vault_lock_open(name, err, errlen);
        if (!url && l->fd < 0) {
            free(l);
            return -1;
        }
        *lp = l;
    }
    int rc = l->url ? vault_pg_lock_try(l->url, name, err, errlen) : vault_lock_try(l->fd);
    if (rc < 0) {
        if (!l->url) snprintf(err, errlen, "cannot lock the vault record '%s'", name);
        records_unlock(l);
        *lp = NULL;
    }
    return rc;
}

int records_save_begin(struct records_lock *l, char *err, size_t errlen) {
    return l->url ? vault_seal_begin(l->name, 1, &l->pending, err, errlen)
                  : vault_save_begin(l->name, &l->pending, err, errlen);
}

int records_save_finish(struct records_lock *l, const struct vault_record *r, char *err, size_t errlen) {
    struct vault_pending *p = l->pending;
    l->pending = NULL;
    if (!l->url) return vault_save_finish(p, r, err, errlen);
    unsigned char *data;
    size_t len;
    if (vault_seal_finish(p, r, &data, &len, err, errlen) != 0) return -1;
    int rc = vault_pg_put_commit(l->name, data, len, r->generation, err, errlen);
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

void records_unlock(struct records_lock *l) {
    if (l == NULL) return;
    vault_save_abort(l->pending);
    if (l->url) vault_pg_unlock();
    else vault_unlock(l->fd);
    free(l);
}

int records_remove(struct records_lock *l, char *err, size_t errlen) {
    return l->url ? vault_pg_delete_commit(l->name, err, errlen) : vault_remove(l->name, err, errlen);
}

int records_check_key(const char *name, char *err, size_t errlen) {
    const char *url;
    if (records_shared_url(&url, err, errlen) != 0) return VAULT_CONFIG;
    if (!url) return 0;
    struct vault_pending *p = NULL;
    int rc = vault_seal_begin(name, 1, &p, err, errlen);
    vault_save_abort(p);
    return rc == 0 ? 0 : VAULT_CONFIG;
}

unsigned records_last_saved_generation(const char *name) {
    const char *v = getenv("VSRUN_VAULT");
    if (v && *v) return 0;   /* a shared table is the only copy: nothing older to restore */
    return vault_last_saved_generation(name);
}
