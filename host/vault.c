/* The encrypted connection vault (layout and rules in vault.h and docs/connections.md). */
#include "vault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "jsontext.h"
#include "secrets.h"

#define VAULT_MAGIC "VSRV"
#define VAULT_VERSION 1
#define VAULT_ALG_AES256GCM 1
#define VAULT_KDF_RAW 0
#define VAULT_KDF_SCRYPT 1
/* header byte 10: which key sealed the record, so a mismatch is named, not called damage.
 * 0: written before vsrun recorded it. The byte is authenticated and reveals no secret. */
#define VAULT_SRC_UNKNOWN 0
#define VAULT_SRC_ENV 1
#define VAULT_SRC_FILE 2
#define VAULT_SRC_PASSPHRASE 3
#define HEADER_LEN 28
#define SALT_OFF 12
#define SALT_LEN 16
#define NONCE_LEN 12
#define TAG_LEN 16
#define KEY_LEN 32
#define MAX_RECORD ((size_t)1 << 20)
/* scrypt cost for new records: N = 2^17, r = 8, p = 1 (128 MB), OWASP's minimum. Older
 * records keep the parameters in their header (2^15 before) and stay readable. Headers
 * asking for more than SCRYPT_MAXMEM are refused, so a crafted file cannot exhaust memory. */
#define SCRYPT_LOG2N 17
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MAXMEM ((uint64_t)128 << 20)

void (*vault_before_rename_hook)(void);

static void seterr(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
    if (err && errlen) snprintf(err, errlen, fmt, a, b);
}

static void damaged(char *err, size_t errlen, const char *name) {
    seterr(err, errlen, "vault record '%s' is damaged or was written with another key%s", name, "");
}

static const char *source_name(int src) {
    switch (src) {
    case VAULT_SRC_ENV: return "VSRUN_KEY";
    case VAULT_SRC_FILE: return "the key file";
    case VAULT_SRC_PASSPHRASE: return "VSRUN_PASSPHRASE";
    default: return "another key";
    }
}

int vault_check_name(const char *name, char *err, size_t errlen) {
    size_t n = name ? strlen(name) : 0;
    int ok = n > 0 && n < VAULT_NAME_MAX && name[0] != '.' && name[0] != '-';
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        seterr(err, errlen, "invalid connection name '%s': use 1-63 letters, digits, '.', '_' or '-'%s",
               name ? name : "", "");
        return -1;
    }
    return 0;
}

/* --- the directory --------------------------------------------------------------------- */

static int mkdirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST) return -1;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Refuses files and directories that are not ours or that group/others can reach. */
static int check_owner_mode(const struct stat *st, const char *path, int is_dir, char *err, size_t errlen) {
    if (st->st_uid != geteuid()) {
        seterr(err, errlen, "%s is owned by another user; vsrun refuses to use it%s", path, "");
        return -1;
    }
    if (st->st_mode & 077) {
        seterr(err, errlen, is_dir ? "%s is accessible by group or others; fix it with: chmod 700 %s"
                                   : "%s is accessible by group or others; fix it with: chmod 600 %s",
               path, path);
        return -1;
    }
    return 0;
}

int vault_home(char *out, size_t outlen, int create, char *err, size_t errlen) {
    const char *home = getenv("VSRUN_HOME");
    int n;
    if (home && *home) n = snprintf(out, outlen, "%s", home);
    else if ((home = getenv("XDG_CONFIG_HOME")) && *home) n = snprintf(out, outlen, "%s/vsrun", home);
    else if ((home = getenv("HOME")) && *home) n = snprintf(out, outlen, "%s/.config/vsrun", home);
    else {
        seterr(err, errlen, "cannot find the vault: set VSRUN_HOME (or HOME)%s%s", "", "");
        return -1;
    }
    if (n < 0 || (size_t)n >= outlen - 80) {
        seterr(err, errlen, "vault path too long: %s%s", out, "");
        return -1;
    }
    while (n > 1 && out[n - 1] == '/') out[--n] = '\0';
    struct stat st;
    if (lstat(out, &st) != 0) {
        if (errno != ENOENT) {
            seterr(err, errlen, "cannot use the vault %s: %s", out, strerror(errno));
            return -1;
        }
        if (!create) return VAULT_NOT_FOUND;
        if (mkdirs(out) != 0 || lstat(out, &st) != 0) {
            seterr(err, errlen, "cannot create the vault %s: %s", out, strerror(errno));
            return -1;
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        seterr(err, errlen, "the vault %s is not a directory%s", out, "");
        return -1;
    }
    return check_owner_mode(&st, out, 1, err, errlen);
}

static int vault_path(char *out, size_t outlen, const char *name, const char *suffix, int create, char *err, size_t errlen) {
    char dir[4096];
    int rc = vault_home(dir, sizeof dir, create, err, errlen);
    if (rc != 0) return rc;
    if (name && vault_check_name(name, err, errlen) != 0) return -1;
    snprintf(out, outlen, "%s/%s%s", dir, name ? name : "", suffix);
    return 0;
}

/* fsyncs the directory so a rename survives a crash */
static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Writes data to path atomically: a 0600 temp file next to it, fsync, rename, fsync dir. */
static int atomic_write(const char *path, const unsigned char *data, size_t len, char *err, size_t errlen) {
    char dir[4200], tmp[4300];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return -1;
    *slash = '\0';
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, slash + 1);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int ok = fchmod(fd, 0600) == 0;
    size_t off = 0;
    while (ok && off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ok = 0;
        else off += (size_t)w;
    }
    ok = ok && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (ok && vault_before_rename_hook) vault_before_rename_hook();
    if (ok && rename(tmp, path) != 0) { saved = errno; ok = 0; }
    if (!ok) {
        unlink(tmp);
        seterr(err, errlen, "cannot write %s: %s", path, strerror(saved ? saved : EIO));
        return -1;
    }
    sync_dir(dir);
    return 0;
}

/* A record write in two steps (vault.h): begin makes the temp file and the key, finish
 * seals, writes, fsyncs and renames. */
struct vault_pending {
    int fd;
    char path[4200], tmp[4400], dir[4200];
    unsigned char header[28], key[32];
};

/* Reads a whole regular file opened without following links, checking owner and mode.
 * O_NONBLOCK: opening a FIFO planted in the vault directory must not hang; it is then
 * refused as not a regular file. Returns 0, VAULT_NOT_FOUND or -1. */
static int read_private_file(const char *path, unsigned char **data, size_t *len, size_t max, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return VAULT_NOT_FOUND;
        seterr(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        seterr(err, errlen, "%s is not a regular file%s", path, "");
        close(fd);
        return -1;
    }
    if (check_owner_mode(&st, path, 0, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    if ((size_t)st.st_size > max) {
        seterr(err, errlen, "%s is too large%s", path, "");
        close(fd);
        return -1;
    }
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) {
        seterr(err, errlen, "out of memory reading %s%s", path, "");
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* --- keys ------------------------------------------------------------------------------ */

/* Decodes VSRUN_KEY (standard base64 of exactly 32 bytes; whitespace ignored). */
static int decode_env_key(const char *b64, unsigned char key[KEY_LEN]) {
    char clean[64];
    size_t n = 0;
    for (const char *p = b64; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') continue;
        if (n >= sizeof clean - 2) { OPENSSL_cleanse(clean, sizeof clean); return -1; }
        clean[n++] = *p;
    }
    if (n == 43) clean[n++] = '=';
    clean[n] = '\0';
    unsigned char out[48];
    int rc = -1;
    if (n == 44 && clean[43] == '=' && clean[42] != '=' && EVP_DecodeBlock(out, (unsigned char *)clean, 44) == 33) {
        memcpy(key, out, KEY_LEN);
        rc = 0;
    }
    OPENSSL_cleanse(clean, sizeof clean);
    OPENSSL_cleanse(out, sizeof out);
    return rc;
}

/* The key file: raw 32 bytes, 0600. Created on first write with O_CREAT|O_EXCL|O_NOFOLLOW
 * under a temporary name and linked into place, so a concurrent reader never sees a
 * half-written key and two first writers agree on one key. */
static int key_file(unsigned char key[KEY_LEN], int create, char *err, size_t errlen) {
    char path[4200];
    int rc = vault_path(path, sizeof path, NULL, "key", create, err, errlen);
    if (rc != 0) {
        if (rc == VAULT_NOT_FOUND) seterr(err, errlen, "no vault key: set VSRUN_KEY or VSRUN_PASSPHRASE%s%s", "", "");
        return rc == VAULT_NOT_FOUND ? VAULT_CONFIG : -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        unsigned char *data = NULL;
        size_t len = 0;
        rc = read_private_file(path, &data, &len, 4096, err, errlen);
        if (rc == 0) {
            int good = len == KEY_LEN;
            if (good) memcpy(key, data, KEY_LEN);
            OPENSSL_cleanse(data, len);
            free(data);
            if (!good) {
                seterr(err, errlen, "the vault key file %s is damaged (expected 32 bytes)%s", path, "");
                return -1;
            }
            return 0;
        }
        if (rc != VAULT_NOT_FOUND) return -1;
        if (!create) {
            seterr(err, errlen, "no vault key: %s is missing (set VSRUN_KEY or VSRUN_PASSPHRASE, or restore the key file)%s", path, "");
            return VAULT_CONFIG;
        }
        char tmp[4300];
        snprintf(tmp, sizeof tmp, "%s.new.%d", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            seterr(err, errlen, "cannot create the vault key %s: %s", tmp, strerror(errno));
            return -1;
        }
        unsigned char fresh[KEY_LEN];
        int ok = RAND_bytes(fresh, KEY_LEN) == 1 && write(fd, fresh, KEY_LEN) == KEY_LEN && fsync(fd) == 0;
        OPENSSL_cleanse(fresh, sizeof fresh);
        ok = close(fd) == 0 && ok;
        int linked = ok && link(tmp, path) == 0;
        int lerr = errno;
        unlink(tmp);
        if (!ok || (!linked && lerr != EEXIST)) {
            seterr(err, errlen, "cannot create the vault key %s: %s", path, strerror(ok ? lerr : EIO));
            return -1;
        }
        /* loop: read back whichever key won */
    }
    seterr(err, errlen, "cannot create the vault key %s%s", path, "");
    return -1;
}

static int scrypt_derive(const char *pass, const unsigned char *salt, unsigned log2n, unsigned r, unsigned p,
                         unsigned char key[KEY_LEN]) {
    if (log2n < 10 || log2n > 22 || r < 1 || r > 32 || p < 1 || p > 16) return -1;
    if ((uint64_t)128 * r * ((uint64_t)1 << log2n) * p > SCRYPT_MAXMEM) return -1;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx) return -1;
    uint64_t n = (uint64_t)1 << log2n, maxmem = SCRYPT_MAXMEM + (1 << 20);
    uint32_t rr = r, pp = p;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, strlen(pass)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int rc = EVP_KDF_derive(ctx, key, KEY_LEN, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(ctx);
    return rc;
}

/* One derived passphrase key is remembered (with its salt), so a refresh's read and write
 * run scrypt once; and the key decoded from VSRUN_KEY, whose text is then wiped (the
 * passphrase is kept: another record may have another salt). Wiped at exit. */
static struct {
    int valid;
    unsigned char pass_hash[32];
    unsigned char salt[SALT_LEN];
    unsigned char key[KEY_LEN];
    int env_valid;
    unsigned char env_key[KEY_LEN];
    unsigned generation;      /* secrets_generation() the keys came from */
} kcache;

static void kcache_wipe(void) { OPENSSL_cleanse(&kcache, sizeof kcache); }

/* Forgets keys derived from secrets that were since wiped or captured anew. */
static void kcache_check(void) {
    if (kcache.generation == secrets_generation()) return;
    kcache_wipe();
    kcache.generation = secrets_generation();
}

static void kcache_register_wipe(void) {
    static int registered;
    if (!registered) registered = atexit(kcache_wipe) == 0;
}

static void bad_env_key(char *err, size_t errlen) {
    const char *env = secrets_get(SECRET_VSRUN_KEY);
    if (env && *env == '\0')
        seterr(err, errlen, "VSRUN_KEY is set but empty: set it to the vault key (make one with: openssl rand -base64 32), or unset it%s%s", "", "");
    else
        seterr(err, errlen, "VSRUN_KEY must be the base64 of 32 bytes (make one with: openssl rand -base64 32)%s%s", "", "");
}

/* The key from VSRUN_KEY: 0 with key filled, 1 when VSRUN_KEY is not set, -1 if malformed
 * (or empty). */
static int env_key(unsigned char key[KEY_LEN]) {
    kcache_check();
    if (!kcache.env_valid) {
        const char *env = secrets_get(SECRET_VSRUN_KEY);
        if (!env) return 1;
        if (decode_env_key(env, kcache.env_key) != 0) return -1;
        kcache_register_wipe();
        kcache.env_valid = 1;
        secrets_used(SECRET_VSRUN_KEY);
    }
    memcpy(key, kcache.env_key, KEY_LEN);
    return 0;
}

static int passphrase_key(const char *pass, const unsigned char *salt, unsigned log2n, unsigned r, unsigned p,
                          unsigned char key[KEY_LEN]) {
    kcache_check();
    unsigned char h[32];
    SHA256((const unsigned char *)pass, strlen(pass), h);
    int std = log2n == SCRYPT_LOG2N && r == SCRYPT_R && p == SCRYPT_P;
    if (std && kcache.valid && CRYPTO_memcmp(h, kcache.pass_hash, 32) == 0 && memcmp(salt, kcache.salt, SALT_LEN) == 0) {
        memcpy(key, kcache.key, KEY_LEN);
        OPENSSL_cleanse(h, sizeof h);
        return 0;
    }
    if (scrypt_derive(pass, salt, log2n, r, p, key) != 0) {
        OPENSSL_cleanse(h, sizeof h);
        return -1;
    }
    if (std) {
        kcache_register_wipe();
        memcpy(kcache.pass_hash, h, 32);
        memcpy(kcache.salt, salt, SALT_LEN);
        memcpy(kcache.key, key, KEY_LEN);
        kcache.valid = 1;
    }
    OPENSSL_cleanse(h, sizeof h);
    return 0;
}

/* Fills the header (and key) for a new write. VAULT_CONFIG when the key is unusable. */
static int key_for_write(unsigned char header[HEADER_LEN], unsigned char key[KEY_LEN], char *err, size_t errlen) {
    memset(header, 0, HEADER_LEN);
    memcpy(header, VAULT_MAGIC, 4);
    header[4] = VAULT_VERSION;
    header[5] = VAULT_ALG_AES256GCM;
    const char *pass = secrets_get(SECRET_VSRUN_PASSPHRASE);
    int env = env_key(key); /* also drops stale remembered keys */
    if (env < 0) goto badkey;
    if (env == 0) {
        header[6] = VAULT_KDF_RAW;
        header[10] = VAULT_SRC_ENV;
        return 0;
    }
    if (pass && *pass == '\0') {
        seterr(err, errlen, "VSRUN_PASSPHRASE is set but empty: set it to the passphrase, or unset it%s%s", "", "");
        return VAULT_CONFIG;
    }
    if (pass && strlen(pass) < VAULT_PASSPHRASE_MIN) {
        char min[16];
        snprintf(min, sizeof min, "%d", VAULT_PASSPHRASE_MIN);
        seterr(err, errlen, "VSRUN_PASSPHRASE is too short: use at least %s characters%s", min, "");
        return VAULT_CONFIG;
    }
    if (pass) {
        header[6] = VAULT_KDF_SCRYPT;
        header[10] = VAULT_SRC_PASSPHRASE;
        header[7] = SCRYPT_LOG2N;
        header[8] = SCRYPT_R;
        header[9] = SCRYPT_P;
        unsigned char h[32];
        SHA256((const unsigned char *)pass, strlen(pass), h);
        int cached = kcache.valid && CRYPTO_memcmp(h, kcache.pass_hash, 32) == 0;
        OPENSSL_cleanse(h, sizeof h);
        if (cached) memcpy(header + SALT_OFF, kcache.salt, SALT_LEN);
        else if (RAND_bytes(header + SALT_OFF, SALT_LEN) != 1) {
            seterr(err, errlen, "cannot get random bytes for the vault salt%s%s", "", "");
            return -1;
        }
        if (passphrase_key(pass, header + SALT_OFF, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P, key) != 0) {
            seterr(err, errlen, "cannot derive the vault key from VSRUN_PASSPHRASE%s%s", "", "");
            return -1;
        }
        return 0;
    }
    header[6] = VAULT_KDF_RAW;
    header[10] = VAULT_SRC_FILE;
    return key_file(key, 1, err, errlen);
badkey:
    bad_env_key(err, errlen);
    return VAULT_CONFIG;
}

/* --- sealing --------------------------------------------------------------------------- */

static int gcm(int enc, const unsigned char key[KEY_LEN], const unsigned char *nonce, const unsigned char *header,
               const char *name, const unsigned char *in, size_t inlen, unsigned char *out, unsigned char *tag) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || inlen > INT32_MAX) { EVP_CIPHER_CTX_free(ctx); return -1; }
    int ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1;
    int len = 0, fin = 0;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &len, header, HEADER_LEN) == 1;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)name, (int)strlen(name)) == 1;
    ok = ok && EVP_CipherUpdate(ctx, out, &len, in, (int)inlen) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + len, &fin) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

static void record_to_json(const struct vault_record *r, struct jt_writer *w) {
    jt_begin(w);
    jt_add_string(w, "name", r->name);
    jt_add_string(w, "state", r->connected ? "connected" : "disconnected");
    jt_add_string(w, "access_token", r->access_token);
    jt_add_string(w, "refresh_token", r->refresh_token);
    jt_add_string(w, "client_secret", r->client_secret);
    jt_add_number(w, "expires_at", r->expires_at);
    jt_add_number(w, "token_lifetime", r->token_lifetime);
    jt_add_number(w, "last_refresh", r->last_refresh);
    jt_add_number(w, "created_at", r->created_at);
    jt_add_number(w, "generation", r->generation);
    jt_add_string(w, "client_id", r->client_id);
    jt_add_string(w, "region", r->region);
    jt_add_string(w, "api_url", r->api_url);
    jt_add_string(w, "identity_url", r->identity_url);
    jt_add_string(w, "scope", r->scope);
    jt_add_string(w, "user_id", r->user_id);
    jt_add_string(w, "user_name", r->user_name);
    jt_add_string(w, "user_email", r->user_email);
    jt_add_string(w, "machine", r->machine);
    if (r->newest_generation) jt_add_number(w, "newest_generation", r->newest_generation);
}

static int record_from_json(const char *s, size_t n, struct vault_record *r) {
    char state[32] = "";
    double gen = 0;
    if (jt_string_to(s, n, "name", r->name, sizeof r->name) != 0) return -1;
    jt_string_to(s, n, "state", state, sizeof state);
    r->connected = strcmp(state, "connected") == 0;
    r->access_token = jt_string(s, n, "access_token");
    r->refresh_token = jt_string(s, n, "refresh_token");
    r->client_secret = jt_string(s, n, "client_secret");
    jt_number(s, n, "expires_at", &r->expires_at);
    jt_number(s, n, "token_lifetime", &r->token_lifetime);
    jt_number(s, n, "last_refresh", &r->last_refresh);
    jt_number(s, n, "created_at", &r->created_at);
    jt_number(s, n, "generation", &gen);
    r->generation = gen >= 0 && gen < 4e9 ? (unsigned)gen : 0;
    jt_string_to(s, n, "client_id", r->client_id, sizeof r->client_id);
    jt_string_to(s, n, "region", r->region, sizeof r->region);
    jt_string_to(s, n, "api_url", r->api_url, sizeof r->api_url);
    jt_string_to(s, n, "identity_url", r->identity_url, sizeof r->identity_url);
    jt_string_to(s, n, "scope", r->scope, sizeof r->scope);
    jt_string_to(s, n, "user_id", r->user_id, sizeof r->user_id);
    jt_string_to(s, n, "user_name", r->user_name, sizeof r->user_name);
    jt_string_to(s, n, "user_email", r->user_email, sizeof r->user_email);
    jt_string_to(s, n, "machine", r->machine, sizeof r->machine);
    double newest = 0;
    jt_number(s, n, "newest_generation", &newest);
    r->newest_generation = newest >= 0 && newest < 4e9 ? (unsigned)newest : 0;
    return 0;
}

void vault_save_abort(struct vault_pending *p) {
    if (p == NULL) return;
    if (p->fd >= 0) {
        close(p->fd);
        unlink(p->tmp);
    }
    OPENSSL_cleanse(p, sizeof *p);
    free(p);
}

/* suffix: ".conn" for connections, ".secret" for named secrets (vault.h) */
static int save_begin_kind(const char *name, const char *suffix, struct vault_pending **out, char *err, size_t errlen) {
    *out = NULL;
    struct vault_pending *p = calloc(1, sizeof *p);
    if (!p) {
        seterr(err, errlen, "out of memory%s%s", "", "");
        return -1;
    }
    p->fd = -1;
    int rc = vault_path(p->path, sizeof p->path, name, suffix, 1, err, errlen);
    if (rc == 0) rc = key_for_write(p->header, p->key, err, errlen);
    if (rc != 0) {
        vault_save_abort(p);
        return rc == VAULT_CONFIG ? VAULT_CONFIG : -1;
    }
    snprintf(p->dir, sizeof p->dir, "%s", p->path);
    char *slash = strrchr(p->dir, '/');
    *slash = '\0';
    snprintf(p->tmp, sizeof p->tmp, "%s/.%s.XXXXXX", p->dir, slash + 1);
    p->fd = mkstemp(p->tmp);
    if (p->fd < 0 || fchmod(p->fd, 0600) != 0) {
        seterr(err, errlen, "cannot write in the vault %s: %s", p->dir, strerror(errno));
        vault_save_abort(p);
        return VAULT_CONFIG;
    }
    *out = p;
    return 0;
}

int vault_save_begin(const char *name, struct vault_pending **out, char *err, size_t errlen) {
    return save_begin_kind(name, ".conn", out, err, errlen);
}

/* NAME.lock holds the generation of the last record saved (not a secret). */
static void note_generation(const char *conn_path, unsigned generation) {
    char lock[4300];
    snprintf(lock, sizeof lock, "%.*s.lock", (int)(strlen(conn_path) - 5), conn_path);
    int fd = open(lock, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) return;
    char text[16];
    int n = snprintf(text, sizeof text, "%u\n", generation);
    if (pwrite(fd, text, (size_t)n, 0) == n) (void)!ftruncate(fd, n);
    close(fd);
}

unsigned vault_last_saved_generation(const char *name) {
    char path[4200];
    if (vault_path(path, sizeof path, name, ".lock", 0, NULL, 0) != 0) return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    char text[16] = "";
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 0;
    text[n] = '\0';
    unsigned long g = strtoul(text, NULL, 10);
    return g < 4000000000UL ? (unsigned)g : 0;
}

/* Seals plain with p's header and key (aad_name authenticated with the header) into a new
 * buffer (*out, *outlen; the caller cleanses and frees it). 0 or -1 + err. seal: a record. */
static int seal_text(const struct vault_pending *p, const char *aad_name, const char *plain, unsigned char **out,
                     size_t *outlen, char *err, size_t errlen) {
    size_t plen = plain ? strlen(plain) : 0, flen = HEADER_LEN + NONCE_LEN + plen + TAG_LEN;
    unsigned char *file = plain ? malloc(flen) : NULL;
    int ok = 0;
    if (!file) {
        seterr(err, errlen, "out of memory%s%s", "", "");
    } else {
        unsigned char *nonce = file + HEADER_LEN, *ct = nonce + NONCE_LEN;
        memcpy(file, p->header, HEADER_LEN);
        ok = RAND_bytes(nonce, NONCE_LEN) == 1 &&
             gcm(1, p->key, nonce, p->header, aad_name, (const unsigned char *)plain, plen, ct, ct + plen) == 0;
        if (!ok) {
            seterr(err, errlen, "cannot seal vault record '%s'%s", aad_name, "");
            OPENSSL_cleanse(file, flen);
            free(file);
            file = NULL;
        }
    }
    *out = file;
    *outlen = ok ? flen : 0;
    return ok ? 0 : -1;
}

static int seal(const struct vault_pending *p, const struct vault_record *r, unsigned char **out, size_t *outlen,
                char *err, size_t errlen) {
    struct jt_writer w;
    record_to_json(r, &w);
    int rc = seal_text(p, r->name, jt_end(&w), out, outlen, err, errlen);
    jt_free(&w);
    return rc;
}

/* Writes the sealed bytes to p's temp file, fsyncs and renames it into place; cleanses and
 * frees file. 1 when done, 0 with err set. Does not free p. */
static int write_sealed(struct vault_pending *p, unsigned char *file, size_t flen, char *err, size_t errlen) {
    int ok = file != NULL, saved = 0;
    if (ok) {
        size_t off = 0;
        while (ok && off < flen) {
            ssize_t n = write(p->fd, file + off, flen - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { saved = errno; ok = 0; }
            else off += (size_t)n;
        }
        if (ok && fsync(p->fd) != 0) { saved = errno; ok = 0; }
        if (close(p->fd) != 0 && ok) { saved = errno; ok = 0; }
        p->fd = -1;
        if (ok && vault_before_rename_hook) vault_before_rename_hook();
        if (ok && rename(p->tmp, p->path) != 0) { saved = errno; ok = 0; }
        if (ok) {
            sync_dir(p->dir);
        } else {
            unlink(p->tmp);
            if (saved) seterr(err, errlen, "cannot write %s: %s", p->path, strerror(saved));
        }
        OPENSSL_cleanse(file, flen);
        free(file);
    }
    return ok;
}

int vault_save_finish(struct vault_pending *p, const struct vault_record *r, char *err, size_t errlen) {
    unsigned char *file = NULL;
    size_t flen = 0;
    int ok = seal(p, r, &file, &flen, err, errlen) == 0 && write_sealed(p, file, flen, err, errlen);
    if (ok) note_generation(p->path, r->generation);
    vault_save_abort(p);
    return ok ? 0 : -1;
}

int vault_seal_begin(const char *name, int portable, struct vault_pending **out, char *err, size_t errlen) {
    *out = NULL;
    if (vault_check_name(name, err, errlen) != 0) return -1;
    struct vault_pending *p = calloc(1, sizeof *p);
    if (!p) {
        seterr(err, errlen, "out of memory%s%s", "", "");
        return -1;
    }
    p->fd = -1;   /* no file: vault_save_abort has nothing to unlink */
    int rc = key_for_write(p->header, p->key, err, errlen);
    if (rc == 0 && portable && p->header[10] == VAULT_SRC_FILE) {
        seterr(err, errlen, "a shared vault needs VSRUN_KEY or VSRUN_PASSPHRASE (the key file of this machine is not "
                            "on the others)%s%s", "", "");
        rc = VAULT_CONFIG;
    }
    if (rc != 0) {
        vault_save_abort(p);
        return rc == VAULT_CONFIG ? VAULT_CONFIG : -1;
    }
    *out = p;
    return 0;
}

int vault_seal_finish(struct vault_pending *p, const struct vault_record *r, unsigned char **out, size_t *outlen,
                      char *err, size_t errlen) {
    int rc = seal(p, r, out, outlen, err, errlen);
    vault_save_abort(p);
    return rc;
}

int vault_save(const struct vault_record *r, char *err, size_t errlen) {
    struct vault_pending *p;
    int rc = vault_save_begin(r->name, &p, err, errlen);
    return rc != 0 ? rc : vault_save_finish(p, r, err, errlen);
}

int vault_load(const char *name, struct vault_record *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    char path[4200];
    int rc = vault_path(path, sizeof path, name, ".conn", 0, err, errlen);
    if (rc != 0) return rc;
    unsigned char *data = NULL;
    size_t len = 0;
    rc = read_private_file(path, &data, &len, MAX_RECORD, err, errlen);
    if (rc != 0) return rc;
    rc = vault_open_bytes(name, data, len, r, err, errlen);
    free(data);
    return rc;
}

/* Opens sealed bytes (the header and aad_name authenticated): 0 with the malloc'd plain
 * text in *plain_out (the caller cleanses and frees it), VAULT_CONFIG or -1 + err. */
static int open_text(const char *name, const char *aad_name, const unsigned char *data, size_t len, char **plain_out,
                     size_t *plain_len, char *err, size_t errlen) {
    *plain_out = NULL;
    int rc = -1;
    if (len > MAX_RECORD) {
        damaged(err, errlen, name);
        return -1;
    }
    unsigned char key[KEY_LEN];
    unsigned char *plain = NULL;
    size_t clen = 0;
    if (len >= HEADER_LEN && memcmp(data, VAULT_MAGIC, 4) == 0 && data[4] > VAULT_VERSION) {
        seterr(err, errlen, "vault record '%s' was written by a newer vsrun (format %s); upgrade vsrun to read it", name,
               data[4] == 2 ? "2" : "> 2");
        goto out;
    }
    if (len < HEADER_LEN + NONCE_LEN + TAG_LEN || memcmp(data, VAULT_MAGIC, 4) != 0 || data[4] != VAULT_VERSION ||
        data[5] != VAULT_ALG_AES256GCM || data[10] > VAULT_SRC_PASSPHRASE || data[11] != 0 ||
        (data[6] == VAULT_KDF_RAW && (data[7] | data[8] | data[9])) || data[6] > VAULT_KDF_SCRYPT) {
        damaged(err, errlen, name);
        goto out;
    }
    if (data[6] == VAULT_KDF_SCRYPT) {
        const char *pass = secrets_get(SECRET_VSRUN_PASSPHRASE);
        if (!pass || !*pass) {
            seterr(err, errlen, "vault record '%s' is sealed with a passphrase: set VSRUN_PASSPHRASE%s", name, "");
            rc = VAULT_CONFIG;
            goto out;
        }
        if (passphrase_key(pass, data + SALT_OFF, data[7], data[8], data[9], key) != 0) {
            damaged(err, errlen, name);
            goto out;
        }
    } else {
        int env = env_key(key);
        if (env < 0) {
            bad_env_key(err, errlen);
            rc = VAULT_CONFIG;
            goto out;
        }
        if (env == 1 && data[10] == VAULT_SRC_ENV) {
            seterr(err, errlen, "vault record '%s' was sealed with VSRUN_KEY, but this run has the key file: set VSRUN_KEY%s", name, "");
            rc = VAULT_CONFIG;
            goto out;
        }
        if (env == 1 && (rc = key_file(key, 0, err, errlen)) != 0) {
            if (rc != VAULT_CONFIG) rc = -1;
            goto out;
        }
        rc = -1;
    }
    /* the key source this run has, against the one the header names */
    int have = data[6] == VAULT_KDF_SCRYPT ? VAULT_SRC_PASSPHRASE : secrets_get(SECRET_VSRUN_KEY) || kcache.env_valid ? VAULT_SRC_ENV : VAULT_SRC_FILE;
    clen = len - HEADER_LEN - NONCE_LEN - TAG_LEN;
    plain = malloc(clen + 1);
    if (!plain) goto out;
    const unsigned char *ct = data + HEADER_LEN + NONCE_LEN;
    unsigned char tag[TAG_LEN];
    memcpy(tag, ct + clen, TAG_LEN);
    if (gcm(0, key, data + HEADER_LEN, data, aad_name, ct, clen, plain, tag) != 0) {
        if (data[10] != VAULT_SRC_UNKNOWN && data[10] != have) {
            /* the authenticated header did not open either, so this is a hint, not a proof */
            char why[160];
            snprintf(why, sizeof why, "was sealed with %s, but this run has %s", source_name(data[10]), source_name(have));
            seterr(err, errlen, "vault record '%s' %s", name, why);
            rc = VAULT_CONFIG;
        } else
            damaged(err, errlen, name);
        goto out;
    }
    plain[clen] = '\0';
    *plain_out = (char *)plain;
    *plain_len = clen;
    plain = NULL;
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof key);
    if (plain) {
        OPENSSL_cleanse(plain, clen + 1);
        free(plain);
    }
    return rc;
}

static void free_plain(char *plain, size_t len) {
    if (plain) {
        OPENSSL_cleanse(plain, len);
        free(plain);
    }
}

int vault_open_bytes(const char *name, const unsigned char *data, size_t len, struct vault_record *r, char *err,
                     size_t errlen) {
    memset(r, 0, sizeof *r);
    char *plain;
    size_t plen;
    int rc = open_text(name, name, data, len, &plain, &plen, err, errlen);
    if (rc != 0) return rc;
    if (record_from_json(plain, plen, r) != 0 || strcmp(r->name, name) != 0) {
        vault_record_clear(r);
        damaged(err, errlen, name);
        rc = -1;
    }
    free_plain(plain, plen);
    return rc;
}

static int remove_kind(const char *name, const char *suffix, char *err, size_t errlen) {
    char path[4200];
    int rc = vault_path(path, sizeof path, name, suffix, 0, err, errlen);
    if (rc != 0) return rc;
    if (unlink(path) != 0) {
        if (errno == ENOENT) return VAULT_NOT_FOUND;
        seterr(err, errlen, "cannot delete %s: %s", path, strerror(errno));
        return -1;
    }
    /* NAME.lock stays: a process waiting on it and a new one on a fresh file would both
     * believe they held the lock */
    *strrchr(path, '/') = '\0';
    sync_dir(path);
    return 0;
}

int vault_remove(const char *name, char *err, size_t errlen) { return remove_kind(name, ".conn", err, errlen); }

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

static int list_kind(const char *suffix, char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen) {
    size_t slen = strlen(suffix);
    char dir[4096];
    int rc = vault_home(dir, sizeof dir, 0, err, errlen);
    if (rc == VAULT_NOT_FOUND) return 0;
    if (rc != 0) return -1;
    DIR *d = opendir(dir);
    if (!d) {
        seterr(err, errlen, "cannot read the vault %s: %s", dir, strerror(errno));
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len <= slen || len - slen >= VAULT_NAME_MAX || strcmp(e->d_name + len - slen, suffix) != 0) continue;
        memcpy(names[n], e->d_name, len - slen);
        names[n][len - slen] = '\0';
        if (vault_check_name(names[n], NULL, 0) == 0) n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    return n;
}

int vault_list(char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen) {
    return list_kind(".conn", names, max, err, errlen);
}

static int lock_open_kind(const char *name, const char *suffix, char *err, size_t errlen) {
    char path[4200];
    int rc = vault_path(path, sizeof path, name, suffix, 1, err, errlen);
    if (rc != 0) return rc == VAULT_NOT_FOUND ? -1 : rc;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
        errno = EINVAL;
    }
    if (fd < 0) {
        seterr(err, errlen, "cannot open the lock file %s: %s", path, strerror(errno));
        return -1;
    }
    return fd;
}

int vault_lock_open(const char *name, char *err, size_t errlen) { return lock_open_kind(name, ".lock", err, errlen); }

int vault_lock_try(int fd) {
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        return errno == EWOULDBLOCK ? 1 : -1;
    }
    return 0;
}

void vault_unlock(int fd) {
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* --- config ---------------------------------------------------------------------------- */

int vault_config_get(const char *key, char *out, size_t outlen) {
    char path[4200];
    if (vault_path(path, sizeof path, NULL, "config", 0, NULL, 0) != 0) return -1;
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_private_file(path, &data, &len, 65536, NULL, 0) != 0) return -1;
    int rc = -1;
    size_t klen = strlen(key);
    for (char *line = (char *)data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == '=' && strlen(line + klen + 1) < outlen) {
            strcpy(out, line + klen + 1);
            rc = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return rc;
}

int vault_config_set(const char *key, const char *value, char *err, size_t errlen) {
    char path[4200];
    if (vault_path(path, sizeof path, NULL, "config", 1, err, errlen) != 0) return -1;
    if (value && strchr(value, '\n')) {
        seterr(err, errlen, "invalid value for %s%s", key, "");
        return -1;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = read_private_file(path, &data, &len, 65536, err, errlen);
    if (rc == -1) return -1;
    size_t cap = len + strlen(key) + (value ? strlen(value) : 0) + 4;
    char *out = malloc(cap);
    if (!out) { free(data); return -1; }
    size_t o = 0, klen = strlen(key);
    for (char *line = data ? (char *)data : ""; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (!(strncmp(line, key, klen) == 0 && line[klen] == '=') && *line)
            o += (size_t)snprintf(out + o, cap - o, "%s\n", line);
        line = nl ? nl + 1 : NULL;
    }
    if (value) o += (size_t)snprintf(out + o, cap - o, "%s=%s\n", key, value);
    rc = atomic_write(path, (unsigned char *)out, o, err, errlen);
    free(out);
    free(data);
    return rc;
}

/* --- records --------------------------------------------------------------------------- */

int vault_set_secret(char **slot, const char *value) {
    char *copy = NULL;
    if (value && !(copy = strdup(value))) return -1;
    if (*slot) {
        OPENSSL_cleanse(*slot, strlen(*slot));
        free(*slot);
    }
    *slot = copy;
    return 0;
}

void vault_record_clear(struct vault_record *r) {
    vault_set_secret(&r->access_token, NULL);
    vault_set_secret(&r->refresh_token, NULL);
    vault_set_secret(&r->client_secret, NULL);
    OPENSSL_cleanse(r, sizeof *r);
}

/* --- named secrets for other services ------------------------------------------------- */

/* The associated data of a secret record: ':' is never in a connection name, so a secret
 * file renamed to NAME.conn (or a connection to NAME.secret) fails authentication. */
static void secret_aad(char out[VAULT_NAME_MAX + 8], const char *name) { snprintf(out, VAULT_NAME_MAX + 8, "secret:%s", name); }

int vault_secret_save(const struct vault_secret *s, char *err, size_t errlen) {
    if (s->value == NULL || vault_check_name(s->name, err, errlen) != 0) return -1;
    struct vault_pending *p;
    int rc = save_begin_kind(s->name, ".secret", &p, err, errlen);
    if (rc != 0) return rc;
    struct jt_writer w;
    jt_begin(&w);
    jt_add_string(&w, "kind", "secret");
    jt_add_string(&w, "name", s->name);
    jt_add_string(&w, "origin", s->origin);
    jt_add_number(&w, "created_at", s->created_at);
    jt_add_string(&w, "value", s->value);
    char aad[VAULT_NAME_MAX + 8];
    secret_aad(aad, s->name);
    unsigned char *file = NULL;
    size_t flen = 0;
    int ok = seal_text(p, aad, jt_end(&w), &file, &flen, err, errlen) == 0 && write_sealed(p, file, flen, err, errlen);
    jt_free(&w);
    vault_save_abort(p);
    return ok ? 0 : -1;
}

int vault_secret_load(const char *name, struct vault_secret *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    char path[4200], aad[VAULT_NAME_MAX + 8], kind[16] = "", *plain;
    int rc = vault_path(path, sizeof path, name, ".secret", 0, err, errlen);
    if (rc != 0) return rc;
    unsigned char *data = NULL;
    size_t len = 0, plen = 0;
    rc = read_private_file(path, &data, &len, MAX_RECORD, err, errlen);
    if (rc != 0) return rc;
    secret_aad(aad, name);
    rc = open_text(name, aad, data, len, &plain, &plen, err, errlen);
    free(data);
    if (rc != 0) return rc;
    jt_string_to(plain, plen, "kind", kind, sizeof kind);
    if (strcmp(kind, "secret") != 0 || jt_string_to(plain, plen, "name", s->name, sizeof s->name) != 0 ||
        strcmp(s->name, name) != 0 || jt_string_to(plain, plen, "origin", s->origin, sizeof s->origin) != 0 ||
        (s->value = jt_string(plain, plen, "value")) == NULL) {
        vault_secret_clear(s);
        damaged(err, errlen, name);
        rc = -1;
    } else {
        jt_number(plain, plen, "created_at", &s->created_at);
    }
    free_plain(plain, plen);
    return rc;
}

int vault_secret_remove(const char *name, char *err, size_t errlen) { return remove_kind(name, ".secret", err, errlen); }

int vault_secret_list(char names[][VAULT_NAME_MAX], int max, char *err, size_t errlen) {
    return list_kind(".secret", names, max, err, errlen);
}

int vault_secret_lock_open(const char *name, char *err, size_t errlen) {
    return lock_open_kind(name, ".secret.lock", err, errlen);
}

void vault_secret_clear(struct vault_secret *s) {
    vault_set_secret(&s->value, NULL);
    OPENSSL_cleanse(s, sizeof *s);
}
