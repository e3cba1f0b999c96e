/* Webhook verification (see serve_verify.h). */
#include "serve_verify.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define SIG_LEN 32

const char *serve_verify_header(const struct serve_route *r) {
    switch (r->verifier) {
    case VERIFY_PAGERDUTY: return "x-pagerduty-signature";
    case VERIFY_BEARER: return "authorization";
    default: return r->hmac_header;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes exactly 64 hex digits; 0 or -1. */
static int unhex_sig(const char *s, size_t n, unsigned char out[SIG_LEN]) {
    if (n != 2 * SIG_LEN) return -1;
    for (size_t i = 0; i < SIG_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* 1 when sig equals HMAC-SHA256(secret, body) for any secret. Every secret is tried, so the
 * time does not depend on which one matched. */
static int any_secret_signs(const struct serve_route *r, const unsigned char sig[SIG_LEN], const char *body, size_t len) {
    int match = 0;
    for (int i = 0; i < r->n_secrets; i++) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        if (HMAC(EVP_sha256(), r->secrets[i], (int)strlen(r->secrets[i]), (const unsigned char *)body, len, mac,
                 &mlen) != NULL &&
            mlen == SIG_LEN)
            match |= CRYPTO_memcmp(mac, sig, SIG_LEN) == 0;
        OPENSSL_cleanse(mac, sizeof mac);
    }
    return match;
}

static size_t trim(const char **s, size_t n) {
    while (n && (**s == ' ' || **s == '\t')) { (*s)++; n--; }
    while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t')) n--;
    return n;
}

static enum verify_result verify_pagerduty(const struct serve_route *r, const char *h, const char *body, size_t len) {
    int parsed = 0, match = 0;
    const char *p = h;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *item = p;
        n = trim(&item, n);
        unsigned char sig[SIG_LEN];
        /* versions other than v1 are skipped, as PagerDuty asks of receivers */
        if (n > 3 && strncmp(item, "v1=", 3) == 0 && unhex_sig(item + 3, n - 3, sig) == 0) {
            parsed++;
            match |= any_secret_signs(r, sig, body, len);
        }
        if (!comma) break;
        p = comma + 1;
    }
    if (!parsed) return VERIFY_MALFORMED;
    return match ? VERIFY_OK : VERIFY_MISMATCH;
}

/* Tokens are compared as SHA-256 digests so the comparison takes the same time whatever
 * their lengths. */
static enum verify_result verify_bearer(const struct serve_route *r, const char *h) {
    if (strncasecmp(h, "Bearer ", 7) != 0) return VERIFY_MALFORMED;
    const char *tok = h + 7;
    size_t n = strlen(tok);
    n = trim(&tok, n);
    if (n == 0) return VERIFY_MALFORMED;
    unsigned char got[SHA256_DIGEST_LENGTH], want[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, n, got);
    int match = 0;
    for (int i = 0; i < r->n_secrets; i++) {
        SHA256((const unsigned char *)r->secrets[i], strlen(r->secrets[i]), want);
        match |= CRYPTO_memcmp(got, want, sizeof got) == 0;
    }
    OPENSSL_cleanse(want, sizeof want);
    return match ? VERIFY_OK : VERIFY_MISMATCH;
}

static enum verify_result verify_hmac(const struct serve_route *r, const char *h, const char *body, size_t len) {
    size_t plen = strlen(r->hmac_prefix);
    const char *v = h;
    size_t n = trim(&v, strlen(h));
    if (n < plen || strncasecmp(v, r->hmac_prefix, plen) != 0) return VERIFY_MALFORMED;
    unsigned char sig[SIG_LEN];
    if (unhex_sig(v + plen, n - plen, sig) != 0) return VERIFY_MALFORMED;
    return any_secret_signs(r, sig, body, len) ? VERIFY_OK : VERIFY_MISMATCH;
}

enum verify_result serve_verify(const struct serve_route *r, const char *header_value, const char *body, size_t len) {
    if (header_value == NULL) return VERIFY_MISSING;
    switch (r->verifier) {
    case VERIFY_PAGERDUTY: return verify_pagerduty(r, header_value, body, len);
    case VERIFY_BEARER: return verify_bearer(r, header_value);
    default: return verify_hmac(r, header_value, body, len);
    }
}
