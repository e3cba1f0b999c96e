/* libFuzzer target: vault record decoding through the real vault_load path (file read,
 * header checks, AES-256-GCM open with a fixed VSRUN_KEY, record JSON) in a temporary
 * VSRUN_HOME. The first byte picks the mode:
 *   even: the rest is written as the sealed record file itself (header, nonce, tag fuzzed);
 *   odd:  the rest is the plaintext, sealed here per the layout in vault.h, so the fuzzer
 *         reaches the record JSON behind the tag.
 * Every input must load or be rejected cleanly; a loaded record must be well formed.
 * With VAULT_FUZZ_WRITE_SEED=DIR set, writes one valid sealed record (made by vault_save)
 * into DIR as a seed and exits. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "secrets.h"
#include "vault.h"

#define NAME "fuzzconn"
/* base64 of 32 fixed bytes 0x01..0x20 */
#define KEY_B64 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

static char home[256], path[512];
static unsigned char key[32];

static void write_file(const unsigned char *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n) abort();
    fclose(f);
    chmod(path, 0600);
}

static void write_seed(const char *dir) {
    struct vault_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", NAME);
    vault_set_secret(&r.access_token, "pdus+_0XBPWQQ_example-access");
    vault_set_secret(&r.refresh_token, "pdus+_0XBPWQQ_example-refresh");
    r.expires_at = 1790000000;
    r.token_lifetime = 3600;
    r.generation = 3;
    r.connected = 1;
    snprintf(r.client_id, sizeof r.client_id, "client-123");
    snprintf(r.region, sizeof r.region, "us");
    snprintf(r.api_url, sizeof r.api_url, "https://api.pagerduty.com");
    snprintf(r.identity_url, sizeof r.identity_url, "https://identity.pagerduty.com");
    snprintf(r.scope, sizeof r.scope, "openid read write");
    snprintf(r.user_name, sizeof r.user_name, "Ana \"Ops\" L\xc3\xb3pez");
    char err[256];
    if (vault_save(&r, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); exit(1); }
    vault_record_clear(&r);
    FILE *in = fopen(path, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    char out[600];
    snprintf(out, sizeof out, "%s/valid_record", dir);
    FILE *o = fopen(out, "wb");
    fputc(0, o);   /* mode byte: raw file */
    fwrite(buf, 1, n, o);
    fclose(o);
    exit(0);
}

static void cleanup(void) {
    unlink(path);
    rmdir(home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    snprintf(home, sizeof home, "/tmp/vsrun-vault-fuzz-XXXXXX");
    if (!mkdtemp(home)) abort();
    setenv("VSRUN_HOME", home, 1);
    setenv("VSRUN_KEY", KEY_B64, 1);
    secrets_capture_env();
    for (int i = 0; i < 32; i++) key[i] = (unsigned char)(i + 1);
    snprintf(path, sizeof path, "%s/%s.conn", home, NAME);
    atexit(cleanup);
    const char *seed = getenv("VAULT_FUZZ_WRITE_SEED");
    if (seed) write_seed(seed);
    return 0;
}

/* Seals plain as vault.h describes: header (raw key), nonce, ciphertext, tag; AAD = header + name. */
static void write_sealed(const unsigned char *plain, size_t n) {
    unsigned char *file = malloc(28 + 12 + n + 16);
    memset(file, 0, 40);
    memcpy(file, "VSRV\x01\x01", 6);
    for (int i = 0; i < 12; i++) file[28 + i] = (unsigned char)(0xa0 + i);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    if (!c || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, file + 28) != 1 ||
        EVP_EncryptUpdate(c, NULL, &len, file, 28) != 1 ||
        EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)NAME, (int)strlen(NAME)) != 1 ||
        (n && EVP_EncryptUpdate(c, file + 40, &len, plain, (int)n) != 1) ||
        EVP_EncryptFinal_ex(c, file + 40 + n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, file + 40 + n) != 1)
        abort();
    EVP_CIPHER_CTX_free(c);
    write_file(file, 40 + n + 16);
    free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 64 * 1024) return 0;
    if (data[0] & 1) write_sealed(data + 1, size - 1);
    else write_file(data + 1, size - 1);
    struct vault_record r;
    char err[512];
    int rc = vault_load(NAME, &r, err, sizeof err);
    if (rc == 0) {
        /* a record that opened is well formed: its own name, terminated fixed fields */
        if (strcmp(r.name, NAME) != 0 || memchr(r.region, 0, sizeof r.region) == NULL ||
            memchr(r.user_email, 0, sizeof r.user_email) == NULL)
            abort();
    } else if ((rc != -1 && rc != VAULT_CONFIG) || err[0] == '\0') {
        abort();   /* the file exists: rejection is -1 (damaged) or VAULT_CONFIG (key), with a message */
    }
    vault_record_clear(&r);
    return 0;
}
