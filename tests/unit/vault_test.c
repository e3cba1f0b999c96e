/* The vault on real files: round trip, tamper matrix, truncation, keys, permissions,
 * atomic writes. Each case uses a fresh VSRUN_HOME under a temp directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "check.h"
#include "jsontext.h"
#include "secrets.h"
#include "vault.h"

static char root[256];
static char home[512];
static int home_n;

static const char *KEY_A = "q6gW0pFZ3yJ9sT1m0c8r7XkLz5a2Hn4b6dEeVvYuIoU=";
static const char *KEY_B = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char *TOKEN = "pdus+_0XBPWQQ_canary-access-7f3a";
static const char *REFRESH = "pdus+_1XBPWQQ_canary-refresh-91c2";

/* Switches the key material: secrets.c captures from the environment once. */
static void use_keys(const char *key, const char *pass) {
    secrets_wipe();
    if (key) setenv("VSRUN_KEY", key, 1); else unsetenv("VSRUN_KEY");
    if (pass) setenv("VSRUN_PASSPHRASE", pass, 1); else unsetenv("VSRUN_PASSPHRASE");
    secrets_capture_env();
}

static void fresh_home(void) {
    snprintf(home, sizeof home, "%s/home%d", root, ++home_n);
    setenv("VSRUN_HOME", home, 1);
}

static void path_of(char *out, size_t n, const char *file) { snprintf(out, n, "%s/%s", home, file); }

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const unsigned char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0600);
    if (fd >= 0) {
        if (write(fd, data, len) != (ssize_t)len) perror("write");
        close(fd);
    }
}

static void sample(struct vault_record *r, const char *name) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    vault_set_secret(&r->access_token, TOKEN);
    vault_set_secret(&r->refresh_token, REFRESH);
    r->expires_at = 1790000000.5;
    r->token_lifetime = 2592000;
    r->last_refresh = 1780000000;
    r->created_at = 1770000000;
    r->generation = 7;
    r->connected = 1;
    snprintf(r->client_id, sizeof r->client_id, "client-\"quoted\"\\id");
    snprintf(r->region, sizeof r->region, "eu");
    snprintf(r->api_url, sizeof r->api_url, "https://api.eu.pagerduty.com");
    snprintf(r->identity_url, sizeof r->identity_url, "https://identity.pagerduty.com");
    snprintf(r->scope, sizeof r->scope, "openid write");
    snprintf(r->user_name, sizeof r->user_name, "Zoë O'Brien\n\t");
    snprintf(r->user_email, sizeof r->user_email, "zoe@example.com");
}

static int contains(const unsigned char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0) return 1;
    return 0;
}

static int is_damaged(const char *name, char *err) {
    struct vault_record r;
    int rc = vault_load(name, &r, err, 256);
    vault_record_clear(&r);
    char want[160];
    snprintf(want, sizeof want, "vault record '%s' is damaged or was written with another key", name);
    return rc == -1 && strcmp(err, want) == 0;
}

/* vault_load fails with rc and a message holding want */
static int load_says(const char *name, int rc_want, const char *want, char *err) {
    struct vault_record r;
    int rc = vault_load(name, &r, err, 256);
    vault_record_clear(&r);
    return rc == rc_want && strstr(err, want) != NULL;
}

static void die_now(void) { raise(SIGKILL); }

static void on_hang(int sig) {
    (void)sig;
    static const char msg[] = "FAIL vault FIFO: opening a FIFO in the vault directory hung\n";
    if (write(1, msg, sizeof msg - 1) < 0) _exit(1);
    _exit(1);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/vsrun-vault-test-XXXXXX");
    if (!mkdtemp(root)) return 1;
    char err[512], path[1024];
    struct vault_record r, got;

    /* round trip with VSRUN_KEY */
    use_keys(KEY_A, NULL);
    fresh_home();
    sample(&r, "work");
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault save");
    CHECK(vault_load("work", &got, err, sizeof err) == 0, "vault load");
    CHECK(got.access_token && strcmp(got.access_token, TOKEN) == 0 && strcmp(got.refresh_token, REFRESH) == 0 &&
              got.client_secret == NULL,
          "vault round trip: tokens");
    CHECK(got.expires_at == r.expires_at && got.generation == 7 && got.connected == 1 && got.token_lifetime == r.token_lifetime &&
              strcmp(got.client_id, r.client_id) == 0 && strcmp(got.user_name, r.user_name) == 0 &&
              strcmp(got.region, "eu") == 0 && strcmp(got.api_url, r.api_url) == 0 && strcmp(got.scope, r.scope) == 0,
          "vault round trip: fields");
    vault_record_clear(&got);
    struct stat st;
    path_of(path, sizeof path, "work.conn");
    CHECK(stat(home, &st) == 0 && (st.st_mode & 0777) == 0700, "vault dir created 0700");
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "vault record 0600");
    size_t len1, len2;
    unsigned char *f1 = slurp(path, &len1);
    CHECK(f1 && !contains(f1, len1, "canary") && !contains(f1, len1, "zoe@") && !contains(f1, len1, "api.eu"),
          "vault record holds no plaintext");
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault save again");
    unsigned char *f2 = slurp(path, &len2);
    CHECK(f2 && len1 == len2 && memcmp(f1 + 28, f2 + 28, 12) != 0, "vault fresh nonce per write");
    CHECK(f2 && memcmp(f1, "VSRV\x01\x01\x00", 7) == 0, "vault header magic, version, algorithm");
    free(f2);

    /* tamper matrix: every bit position class, here every byte of the file */
    int all = 1, hdr = 1, nonce = 1, ct = 1, tag = 1;
    for (size_t i = 0; i < len1; i++) {
        unsigned char *m = malloc(len1);
        memcpy(m, f1, len1);
        m[i] ^= (unsigned char)(1u << (i % 8));
        spit(path, m, len1);
        free(m);
        /* the version byte: any higher value reads as "written by a newer vsrun" */
        int ok = i == 4 ? load_says("work", -1, "written by a newer vsrun", err) : is_damaged("work", err);
        if (!ok) all = 0;
        if (i < 28) hdr &= ok;
        else if (i < 40) nonce &= ok;
        else if (i < len1 - 16) ct &= ok;
        else tag &= ok;
    }
    CHECK(hdr, "vault tamper: bit flip in header");
    CHECK(nonce, "vault tamper: bit flip in nonce");
    CHECK(ct, "vault tamper: bit flip in ciphertext");
    CHECK(tag, "vault tamper: bit flip in tag");
    CHECK(all, "vault tamper: every byte");
    /* truncation at every length, and one extra byte */
    int trunc = 1;
    for (size_t n = 0; n < len1; n++) {
        spit(path, f1, n);
        trunc &= is_damaged("work", err);
    }
    CHECK(trunc, "vault truncation at every length");
    unsigned char *longer = malloc(len1 + 1);
    memcpy(longer, f1, len1);
    longer[len1] = 0;
    spit(path, longer, len1 + 1);
    CHECK(is_damaged("work", err), "vault appended byte");
    free(longer);
    /* unknown version (with its tag otherwise intact) */
    unsigned char *v2 = malloc(len1);
    memcpy(v2, f1, len1);
    v2[4] = 2;
    spit(path, v2, len1);
    CHECK(load_says("work", -1, "vault record 'work' was written by a newer vsrun", err), "vault newer version named as such");
    free(v2);
    /* intact again */
    spit(path, f1, len1);
    CHECK(vault_load("work", &got, err, sizeof err) == 0, "vault intact after restore");
    vault_record_clear(&got);
    /* wrong key */
    use_keys(KEY_B, NULL);
    CHECK(is_damaged("work", err), "vault wrong key");
    use_keys("not-base64-of-32-bytes", NULL);
    CHECK(vault_load("work", &got, err, sizeof err) == VAULT_CONFIG && strstr(err, "VSRUN_KEY must be the base64 of 32 bytes") &&
              !strstr(err, "not-base64"),
          "vault malformed VSRUN_KEY is a configuration error");
    vault_record_clear(&got);
    use_keys(KEY_A, NULL);
    /* the name is associated data: a record copied to another name does not open */
    char other[1024];
    path_of(other, sizeof other, "other.conn");
    spit(other, f1, len1);
    CHECK(is_damaged("other", err), "vault wrong name as associated data");
    unlink(other);
    free(f1);
    CHECK(vault_load("missing", &got, err, sizeof err) == VAULT_NOT_FOUND, "vault missing record");
    CHECK(vault_load("../etc", &got, err, sizeof err) == -1 && strstr(err, "invalid connection name"),
          "vault name validation");

    /* permissions */
    chmod(path, 0640);
    CHECK(vault_load("work", &got, err, sizeof err) == -1 && strstr(err, "chmod 600 ") && strstr(err, "work.conn"),
          "vault refuses group-readable record with the chmod");
    chmod(path, 0600);
    chmod(home, 0755);
    char want[1200];
    snprintf(want, sizeof want, "fix it with: chmod 700 %s", home);
    CHECK(vault_load("work", &got, err, sizeof err) == -1 && strstr(err, want), "vault refuses world-readable dir with the chmod");
    CHECK(vault_save(&r, err, sizeof err) == -1, "vault refuses to write into an open dir");
    chmod(home, 0700);
    if (geteuid() == 0) {
        if (chown(path, 65534, 65534) != 0) perror("chown");
        CHECK(vault_load("work", &got, err, sizeof err) == -1 && strstr(err, "owned by another user"),
              "vault refuses a record owned by another user");
        if (chown(path, 0, 0) != 0) perror("chown");
    } else {
        /* not root: a file we cannot chown; check the dir of another user instead (/) */
        setenv("VSRUN_HOME", "/", 1);
        CHECK(vault_load("work", &got, err, sizeof err) == -1 && strstr(err, "owned by another user"),
              "vault refuses a dir owned by another user");
        setenv("VSRUN_HOME", home, 1);
    }
    CHECK(vault_load("work", &got, err, sizeof err) == 0, "vault readable after the fix");
    vault_record_clear(&got);

    /* atomic write: a crash between write and rename leaves the old record */
    struct vault_record r2;
    sample(&r2, "work");
    vault_set_secret(&r2.access_token, "new-token-never-renamed");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        vault_before_rename_hook = die_now;
        vault_save(&r2, err, sizeof err);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "vault crash child killed before rename");
    CHECK(vault_load("work", &got, err, sizeof err) == 0 && strcmp(got.access_token, TOKEN) == 0,
          "vault crash between write and rename keeps the old record");
    vault_record_clear(&got);
    int stale = 0;
    DIR *d = opendir(home);
    struct dirent *e;
    while (d && (e = readdir(d))) stale += strncmp(e->d_name, ".work.conn.", 11) == 0;
    if (d) closedir(d);
    char names[8][VAULT_NAME_MAX];
    CHECK(stale == 1 && vault_list(names, 8, err, sizeof err) == 1 && strcmp(names[0], "work") == 0,
          "vault list ignores the stale temp file");
    CHECK(vault_save(&r2, err, sizeof err) == 0 && vault_load("work", &got, err, sizeof err) == 0 &&
              strcmp(got.access_token, "new-token-never-renamed") == 0,
          "vault next write after a crash");
    vault_record_clear(&got);
    vault_record_clear(&r2);

    /* list, config, remove */
    struct vault_record r3;
    sample(&r3, "alpha");
    vault_save(&r3, err, sizeof err);
    vault_record_clear(&r3);
    CHECK(vault_list(names, 8, err, sizeof err) == 2 && strcmp(names[0], "alpha") == 0 && strcmp(names[1], "work") == 0,
          "vault list sorted");
    char val[64] = "";
    CHECK(vault_config_set("default", "alpha", err, sizeof err) == 0 && vault_config_set("client_id", "cid", err, sizeof err) == 0 &&
              vault_config_set("default", "work", err, sizeof err) == 0 && vault_config_get("default", val, sizeof val) == 0 &&
              strcmp(val, "work") == 0 && vault_config_get("client_id", val, sizeof val) == 0 && strcmp(val, "cid") == 0,
          "vault config set/get");
    CHECK(vault_remove("alpha", err, sizeof err) == 0 && vault_remove("alpha", err, sizeof err) == VAULT_NOT_FOUND &&
              vault_list(names, 8, err, sizeof err) == 1,
          "vault remove");

    /* key file: created 0600 with O_EXCL on first use, refused when open to others */
    use_keys(NULL, NULL);
    fresh_home();
    char keypath[1024];
    path_of(keypath, sizeof keypath, "key");
    CHECK(vault_load("work", &got, err, sizeof err) == VAULT_NOT_FOUND && access(keypath, F_OK) != 0,
          "vault key file not created by a read");
    CHECK(vault_save(&r, err, sizeof err) == 0 && stat(keypath, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 32,
          "vault key file created 0600, 32 bytes");
    CHECK(vault_load("work", &got, err, sizeof err) == 0 && strcmp(got.refresh_token, REFRESH) == 0,
          "vault round trip with key file");
    vault_record_clear(&got);
    chmod(keypath, 0644);
    snprintf(want, sizeof want, "fix it with: chmod 600 %s", keypath);
    CHECK(vault_load("work", &got, err, sizeof err) == -1 && strstr(err, want), "vault refuses readable key file with the chmod");
    chmod(keypath, 0600);
    /* the key file as VSRUN_KEY (headless copy) opens the same records */
    size_t klen;
    unsigned char *kbytes = slurp(keypath, &klen);
    char b64[64];
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)kbytes[i] << 16 | (i + 1 < 32 ? (unsigned)kbytes[i + 1] << 8 : 0) | (i + 2 < 32 ? kbytes[i + 2] : 0);
        b64[o++] = tbl[v >> 18 & 63];
        b64[o++] = tbl[v >> 12 & 63];
        b64[o++] = i + 1 < 32 ? tbl[v >> 6 & 63] : '=';
        b64[o++] = i + 2 < 32 ? tbl[v & 63] : '=';
    }
    b64[o] = '\0';
    free(kbytes);
    use_keys(b64, NULL);
    CHECK(vault_load("work", &got, err, sizeof err) == 0, "vault key file content works as VSRUN_KEY");
    vault_record_clear(&got);
    use_keys(NULL, NULL);
    /* a symlinked key file is not followed */
    fresh_home();
    mkdir(home, 0700);
    char target[1024];
    snprintf(target, sizeof target, "%s/elsewhere", root);
    path_of(keypath, sizeof keypath, "key");
    if (symlink(target, keypath) != 0) perror("symlink");
    CHECK(vault_save(&r, err, sizeof err) == -1 && access(target, F_OK) != 0, "vault key file symlink refused");

    /* first use by several processes at once: they agree on one key */
    fresh_home();
    mkdir(home, 0700);
    fflush(stdout);
    pid_t kids[6];
    for (int i = 0; i < 6; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            struct vault_record k;
            char nm[16];
            snprintf(nm, sizeof nm, "c%d", i);
            sample(&k, nm);
            int krc = vault_save(&k, err, sizeof err);
            vault_record_clear(&k);
            _exit(krc == 0 ? 0 : 1);
        }
    }
    int kids_ok = 1, opened = 1;
    for (int i = 0; i < 6; i++) {
        int ks = 0;
        waitpid(kids[i], &ks, 0);
        kids_ok &= WIFEXITED(ks) && WEXITSTATUS(ks) == 0;
    }
    for (int i = 0; i < 6; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "c%d", i);
        opened &= vault_load(nm, &got, err, sizeof err) == 0;
        vault_record_clear(&got);
    }
    CHECK(kids_ok && opened, "vault concurrent first use agrees on one key file");

    /* passphrase through scrypt */
    use_keys(NULL, "correct horse battery staple");
    fresh_home();
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault save with passphrase");
    path_of(path, sizeof path, "work.conn");
    unsigned char *fp = slurp(path, &len1);
    CHECK(fp && fp[6] == 1 && fp[7] == 17 && fp[8] == 8 && fp[9] == 1 && fp[10] == 3, "vault scrypt N=2^17 r=8 p=1 and the key source in header");
    path_of(keypath, sizeof keypath, "key");
    CHECK(access(keypath, F_OK) != 0, "vault passphrase makes no key file");
    CHECK(vault_load("work", &got, err, sizeof err) == 0 && strcmp(got.access_token, TOKEN) == 0, "vault round trip with passphrase");
    vault_record_clear(&got);
    use_keys(NULL, "wrong horse");
    CHECK(is_damaged("work", err), "vault wrong passphrase");
    use_keys(NULL, NULL);
    CHECK(vault_load("work", &got, err, sizeof err) == VAULT_CONFIG && strstr(err, "set VSRUN_PASSPHRASE"), "vault passphrase needed");
    use_keys(NULL, "correct horse battery staple");
    fp[7] = 30; /* N = 2^30: would need 128 GB; refused before deriving */
    spit(path, fp, len1);
    CHECK(is_damaged("work", err), "vault scrypt memory bounded");
    free(fp);

    /* the VSRUN_KEY text is wiped once the key is decoded; records still open and save
     * with the remembered key */
    use_keys(KEY_A, NULL);
    fresh_home();
    CHECK(vault_save(&r, err, sizeof err) == 0 && secrets_get(SECRET_VSRUN_KEY) == NULL,
          "vault VSRUN_KEY text wiped once the key is decoded");
    CHECK(vault_load("work", &got, err, sizeof err) == 0 && strcmp(got.access_token, TOKEN) == 0,
          "vault opens records after the VSRUN_KEY text is wiped");
    vault_record_clear(&got);
    CHECK(vault_save(&r, err, sizeof err) == 0 && vault_load("work", &got, err, sizeof err) == 0,
          "vault saves again after the VSRUN_KEY text is wiped");
    vault_record_clear(&got);
    use_keys(KEY_B, NULL);
    CHECK(is_damaged("work", err), "vault forgets the decoded key when the secrets change");
    use_keys(NULL, NULL);
    CHECK(load_says("work", VAULT_CONFIG, "vault record 'work' was sealed with VSRUN_KEY, but this run has the key file", err),
          "vault without VSRUN_KEY does not use a forgotten one, and names the key source");
    vault_record_clear(&got);
    /* the other way round: sealed with the key file, opened with VSRUN_KEY */
    use_keys(NULL, NULL);
    fresh_home();
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault key file record saved");
    use_keys(KEY_B, NULL);
    CHECK(load_says("work", VAULT_CONFIG, "vault record 'work' was sealed with the key file, but this run has VSRUN_KEY", err),
          "vault key-file record opened with VSRUN_KEY names both sources");
    /* an empty VSRUN_KEY or VSRUN_PASSPHRASE (a CI secret that was not set) is refused, not
     * replaced by a new key file */
    char keyfile[1024];
    use_keys("", NULL);
    fresh_home();
    path_of(keyfile, sizeof keyfile, "key");
    CHECK(vault_save(&r, err, sizeof err) == VAULT_CONFIG && strstr(err, "VSRUN_KEY is set but empty") && access(keyfile, F_OK) != 0,
          "vault empty VSRUN_KEY refused, no key file made");
    use_keys(NULL, "");
    CHECK(vault_save(&r, err, sizeof err) == VAULT_CONFIG && strstr(err, "VSRUN_PASSPHRASE is set but empty") && access(keyfile, F_OK) != 0,
          "vault empty VSRUN_PASSPHRASE refused, no key file made");
    use_keys(NULL, "short pass");
    CHECK(vault_save(&r, err, sizeof err) == VAULT_CONFIG && strstr(err, "at least 12 characters"),
          "vault passphrase shorter than the minimum refused");
    /* a removed record keeps its lock file: a process still waiting on it and a new one
     * must contend for the same lock */
    use_keys(KEY_A, NULL);
    fresh_home();
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault lock: record saved");
    int lfd = vault_lock_open("work", err, sizeof err);
    CHECK(lfd >= 0 && vault_lock_try(lfd) == 0, "vault lock taken");
    CHECK(vault_remove("work", err, sizeof err) == 0, "vault lock: record removed while locked");
    int lfd2 = vault_lock_open("work", err, sizeof err);
    CHECK(lfd2 >= 0 && vault_lock_try(lfd2) == 1, "vault remove keeps the lock file: a new opener finds the lock held");
    vault_unlock(lfd);
    CHECK(vault_lock_try(lfd2) == 0, "vault lock free once released");
    vault_unlock(lfd2);
    /* a directory that cannot be written is found before anything is spent */
    struct vault_pending *pend = NULL;
    CHECK(vault_save_begin("work", &pend, err, sizeof err) == 0 && pend, "vault save_begin in a writable vault");
    vault_save_abort(pend);
    if (geteuid() != 0) {
        chmod(home, 0500);
        CHECK(vault_save_begin("work", &pend, err, sizeof err) == VAULT_CONFIG && strstr(err, "cannot write in the vault"),
              "vault save_begin refuses a read-only vault");
        chmod(home, 0700);
    }
    /* the passphrase is kept: two records sealed by different runs have different salts,
     * and one run may open both */
    use_keys(NULL, "correct horse battery staple");
    fresh_home();
    vault_record_clear(&r);
    sample(&r, "one");
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault passphrase: first record");
    use_keys(NULL, "correct horse battery staple"); /* another run: a new salt */
    vault_record_clear(&r);
    sample(&r, "two");
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault passphrase: second record");
    use_keys(NULL, "correct horse battery staple");
    CHECK(vault_load("one", &got, err, sizeof err) == 0, "vault passphrase: one run opens the first record");
    vault_record_clear(&got);
    CHECK(vault_load("two", &got, err, sizeof err) == 0, "vault passphrase: and the second, with its own salt");
    vault_record_clear(&got);
    vault_record_clear(&r);
    sample(&r, "work");

    /* a record written by an older vsrun with scrypt N=2^15 (the parameters are in its
     * header, byte 10 is 0) still opens; sealed here by hand with OpenSSL */
    use_keys(NULL, "correct horse battery staple");
    fresh_home();
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault old-format: home created");
    {
        static const char plain[] = "{\"name\":\"old\",\"state\":\"connected\",\"access_token\":\"old-canary-token\"}";
        unsigned char file[28 + 12 + sizeof plain + 16], key[32];
        memset(file, 0, 28);
        memcpy(file, "VSRV\x01\x01\x01\x0f\x08\x01", 10);
        RAND_bytes(file + 12, 16);
        RAND_bytes(file + 28, 12);
        const char *pass = "correct horse battery staple";
        int ok = EVP_PBE_scrypt(pass, strlen(pass), file + 12, 16, 1 << 15, 8, 1, 64 << 20, key, 32) == 1;
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int n = 0, plen = (int)strlen(plain);
        ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
             EVP_EncryptInit_ex(ctx, NULL, NULL, key, file + 28) == 1 &&
             EVP_EncryptUpdate(ctx, NULL, &n, file, 28) == 1 &&
             EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)"old", 3) == 1 &&
             EVP_EncryptUpdate(ctx, file + 40, &n, (const unsigned char *)plain, plen) == 1 &&
             EVP_EncryptFinal_ex(ctx, file + 40 + n, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, file + 40 + plen) == 1;
        EVP_CIPHER_CTX_free(ctx);
        path_of(path, sizeof path, "old.conn");
        spit(path, file, (size_t)(40 + plen + 16));
        CHECK(ok && vault_load("old", &got, err, sizeof err) == 0 && got.access_token &&
                  strcmp(got.access_token, "old-canary-token") == 0,
              "vault a record sealed with scrypt N=2^15 by an older vsrun still opens");
        vault_record_clear(&got);
    }

    /* a FIFO planted in the vault directory is refused, not waited on (alarm: hang guard) */
    signal(SIGALRM, on_hang);
    alarm(30);
    use_keys(KEY_A, NULL);
    fresh_home();
    CHECK(vault_save(&r, err, sizeof err) == 0, "vault FIFO: home created");
    path_of(path, sizeof path, "fifo.conn");
    CHECK(mkfifo(path, 0600) == 0, "vault FIFO: mkfifo");
    CHECK(vault_load("fifo", &got, err, sizeof err) == -1 && strstr(err, "not a regular file"),
          "vault FIFO record refused as not a regular file");
    path_of(path, sizeof path, "config");
    unlink(path);
    CHECK(mkfifo(path, 0600) == 0, "vault FIFO: mkfifo config");
    char def[64];
    CHECK(vault_config_get("default", def, sizeof def) != 0, "vault FIFO config refused");
    alarm(0);

    /* named secrets: a kind of record of its own. A secret file put where a connection is
     * looked for (and the reverse) does not open: the associated data differs. */
    use_keys(KEY_A, NULL);
    fresh_home();
    struct vault_secret sec = {0}, sgot;
    snprintf(sec.name, sizeof sec.name, "work");
    snprintf(sec.origin, sizeof sec.origin, "https://api.example.com");
    sec.created_at = 1700000000;
    vault_set_secret(&sec.value, "sk-canary-secret-value");
    CHECK(vault_secret_save(&sec, err, sizeof err) == 0 && vault_save(&r, err, sizeof err) == 0, "vault secret saved beside a connection");
    CHECK(vault_secret_load("work", &sgot, err, sizeof err) == 0 && strcmp(sgot.value, "sk-canary-secret-value") == 0 &&
              strcmp(sgot.origin, "https://api.example.com") == 0 && sgot.created_at == 1700000000,
          "vault secret round trip (control)");
    vault_secret_clear(&sgot);
    CHECK(vault_list(names, 8, err, sizeof err) == 1 && vault_secret_list(names, 8, err, sizeof err) == 1 &&
              strcmp(names[0], "work") == 0,
          "vault secrets and connections are listed apart");
    char conn_path[1024], secret_path[1024];
    path_of(conn_path, sizeof conn_path, "work.conn");
    path_of(secret_path, sizeof secret_path, "work.secret");
    size_t clen = 0, slen = 0;
    unsigned char *conn_bytes = slurp(conn_path, &clen), *secret_bytes = slurp(secret_path, &slen);
    spit(conn_path, secret_bytes, slen);
    CHECK(vault_load("work", &got, err, sizeof err) == -1 && strstr(err, "damaged"), "vault a secret file does not open as a connection");
    vault_record_clear(&got);
    spit(secret_path, conn_bytes, clen);
    CHECK(vault_secret_load("work", &sgot, err, sizeof err) == -1 && strstr(err, "damaged") && sgot.value == NULL,
          "vault a connection file does not open as a secret");
    char other_path[1024];
    path_of(other_path, sizeof other_path, "other.secret");
    spit(other_path, secret_bytes, slen);
    CHECK(vault_secret_load("other", &sgot, err, sizeof err) == -1, "vault a secret renamed to another name does not open");
    free(conn_bytes);
    free(secret_bytes);
    CHECK(vault_secret_remove("work", err, sizeof err) == 0 && vault_secret_remove("work", err, sizeof err) == VAULT_NOT_FOUND &&
              vault_load("work", &got, err, sizeof err) != VAULT_NOT_FOUND,
          "vault secret remove leaves the connection file");
    vault_record_clear(&got);
    vault_secret_clear(&sec);

    vault_record_clear(&r);
    use_keys(NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) perror("rm");
    return check_done();
}
