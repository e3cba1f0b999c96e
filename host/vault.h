/* The encrypted connection vault, the bottom of the credential stack: $VSRUN_HOME (default
 * $XDG_CONFIG_HOME/vsrun, else ~/.config/vsrun), mode 0700, one AES-256-GCM sealed file per
 * connection (NAME.conn), a lock file per connection (NAME.lock, never deleted), the key
 * file (key) and a small plain config file (config: default connection, client id). See
 * docs/connections.md for the security model.
 *
 * Sealed file layout (all authenticated):
 *   0  "VSRV"  4  version (1)  5  algorithm (1 = AES-256-GCM)
 *   6  kdf (0 = raw key from VSRUN_KEY or the key file, 1 = scrypt over VSRUN_PASSPHRASE)
 *   7  scrypt log2(N)  8  scrypt r  9  scrypt p  10  key source (0 not recorded, 1 VSRUN_KEY,
 *   2 key file, 3 VSRUN_PASSPHRASE)  11  zero  12  salt (16 bytes)
 *   28 nonce (12)  40 ciphertext  ... tag (16)
 * The associated data is the 28-byte header followed by the connection name, so a record
 * renamed to another connection, or with any header byte changed, does not open. */
#ifndef VSRUN_VAULT_H
#define VSRUN_VAULT_H
#include <stddef.h>

#define VAULT_NAME_MAX 64
#define VAULT_NOT_FOUND (-2)
#define VAULT_CONFIG (-3)         /* no usable key (missing, empty, malformed, another source) */
#define VAULT_PASSPHRASE_MIN 12   /* characters; shorter passphrases are refused for new records */

struct vault_record {
    char name[VAULT_NAME_MAX];
    char *access_token;       /* secrets: malloc'd, cleansed by vault_record_clear */
    char *refresh_token;
    char *client_secret;      /* confidential clients only, else NULL */
    double expires_at;        /* access token expiry, unix seconds; 0 = unknown */
    double token_lifetime;    /* expires_in of the last grant, seconds */
    double last_refresh;      /* when the last token grant (login or refresh) happened */
    double created_at;
    unsigned generation;      /* bumped by every refresh */
    int connected;            /* 0: the grant is gone, `vsrun auth reconnect NAME` */
    char client_id[256];
    char region[8];           /* "us" | "eu" */
    char api_url[256];
    char identity_url[256];
    char scope[128];          /* as asked at login ("read" | "write"); reconnect asks the same */
    char user_id[64];
    char user_name[256];
    char user_email[256];
    char machine[20];         /* hash of the machine that logged in: a copied vault is noticed */
    unsigned newest_generation; /* set when the grant was lost and vsrun had saved a newer
                                   generation than this record's: a restored older copy */
};

/* Connection names: 1-63 of [A-Za-z0-9._-], not starting with '.' or '-'. 0 or -1 + err. */
int vault_check_name(const char *name, char *err, size_t errlen);

/* The vault directory, created 0700 when `create` and missing. Refuses a directory that is
 * not ours or that group/others can access (naming the chmod that fixes it). Returns 0,
 * VAULT_NOT_FOUND (missing and !create) or -1 + err. */
int vault_home(char *out, size_t outlen, int create, char *err, size_t errlen);

/* Seals and writes r atomically (temp file, fchmod 0600, fsync, rename, fsync directory).
 * 0, VAULT_CONFIG (no usable key, or the directory cannot be written) or -1 + err. */
int vault_save(const struct vault_record *r, char *err, size_t errlen);
/* vault_save in two steps, so a refresh proves the record can be written (and derives the
 * key) before it spends a refresh token, and the step after PagerDuty's answer is short:
 * begin creates the temp file and the key (same results as vault_save); finish seals,
 * writes, fsyncs and renames, and frees p; abort drops p. */
struct vault_pending;
int vault_save_begin(const char *name, struct vault_pending **p, char *err, size_t errlen);
int vault_save_finish(struct vault_pending *p, const struct vault_record *r, char *err, size_t errlen);
void vault_save_abort(struct vault_pending *p);
/* The same sealed bytes without a file, for a record store elsewhere (host/vault_pg.c):
 * seal_begin derives the key first (VAULT_CONFIG when unusable, and when `portable` and
 * the key is this machine's key file, which other machines lack); seal_finish seals r into
 * a malloc'd buffer the caller cleanses and frees, and frees p (vault_save_abort drops it).
 * vault_open_bytes checks and opens bytes read elsewhere exactly as vault_load opens a file. */
int vault_seal_begin(const char *name, int portable, struct vault_pending **p, char *err, size_t errlen);
int vault_seal_finish(struct vault_pending *p, const struct vault_record *r, unsigned char **out, size_t *outlen,
                      char *err, size_t errlen);
int vault_open_bytes(const char *name, const unsigned char *data, size_t len, struct vault_record *r, char *err,
                     size_t errlen);
/* Reads and opens record `name` into r (which the caller clears with vault_record_clear).
 * 0, VAULT_NOT_FOUND, VAULT_CONFIG (no usable key; a record sealed with another key source
 * or by a newer vsrun is named as such) or -1 + err ("vault record 'NAME' is damaged or
 * was written with another key" for every other integrity failure). */
int vault_load(const char *name, struct vault_record *r, char *err, size_t errlen);
/* The generation of the last record vsrun saved under NAME (noted in NAME.lock by every
 * save), or 0. A record older than it was restored from a copy: its refresh token is dead. */
unsigned vault_last_saved_generation(const char *name);
/* Deletes the record (not its lock file). 0, VAULT_NOT_FOUND or -1 + err. */
int vault_remove(const char *name, char *err, size_t errlen);
/* Fills names with up to max record names, sorted; returns the count or -1 + err. */
int vault_list(char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen);

/* The lock of record NAME: vault_lock_open opens NAME.lock (an fd, or -1 + err);
 * vault_lock_try takes it without blocking: 0 taken, 1 held by another, -1 error. The
 * caller retries in slices (host/connection.c), so a wait honours --timeout and Ctrl-C.
 * vault_unlock releases and closes. */
int vault_lock_open(const char *name, char *err, size_t errlen);
int vault_lock_try(int fd);
void vault_unlock(int fd);

/* The config file (key=value lines, no secrets): "default", "client_id". */
int vault_config_get(const char *key, char *out, size_t outlen);
int vault_config_set(const char *key, const char *value, char *err, size_t errlen); /* NULL deletes */

/* Replaces a secret field (cleansing the old value); value NULL clears it. 0 or -1. */
int vault_set_secret(char **slot, const char *value);
/* Cleanses and frees the record's secrets and zeroes it. */
void vault_record_clear(struct vault_record *r);

/* Named secrets for other services (an LLM API key, a Slack webhook URL): NAME.secret,
 * sealed like a connection but a distinct kind: its associated data is "secret:NAME" and
 * its JSON says "kind":"secret", so neither kind of record opens as the other. The value
 * is attached in C to requests to `origin` only (host/secret_auth.c). */
#define VAULT_ORIGIN_MAX 300
struct vault_secret {
    char name[VAULT_NAME_MAX];
    char origin[VAULT_ORIGIN_MAX];  /* scheme://host[:port], normalised (secret_auth.h) */
    double created_at;
    char *value;                    /* malloc'd, cleansed by vault_secret_clear */
};
/* Same results as vault_save / vault_load / vault_remove / vault_list. */
int vault_secret_save(const struct vault_secret *s, char *err, size_t errlen);
int vault_secret_load(const char *name, struct vault_secret *s, char *err, size_t errlen);
int vault_secret_remove(const char *name, char *err, size_t errlen);
int vault_secret_list(char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen);
/* The lock of secret NAME (NAME.secret.lock), taken by set and delete; as vault_lock_open. */
int vault_secret_lock_open(const char *name, char *err, size_t errlen);
void vault_secret_clear(struct vault_secret *s);

/* Test hook: called after the temp file is written and synced, before the rename. */
extern void (*vault_before_rename_hook)(void);

#endif
