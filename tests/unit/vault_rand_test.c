/* The vault when the random-number generator fails while choosing a passphrase salt: the
 * caller gets a clear error (never an unset buffer) and nothing is written. The failure is
 * real: OpenSSL's RAND_bytes is routed to a RAND method whose bytes() fails (the legacy
 * RAND_METHOD hook, still honoured by OpenSSL 3 for every RAND_bytes call). A file of its
 * own, so the swapped generator touches no other test. */
#define OPENSSL_SUPPRESS_DEPRECATED 1  /* RAND_METHOD is the one in-process way to make RAND_bytes fail */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "check.h"
#include "secrets.h"
#include "vault.h"

static int failing_calls;

static int failing_bytes(unsigned char *buf, int num) {
    (void)buf; (void)num;
    failing_calls++;
    return 0;
}

static int failing_status(void) { return 0; }

static const RAND_METHOD failing_rand = {
    .bytes = failing_bytes,
    .pseudorand = failing_bytes,
    .status = failing_status,
};

static char home[256];

static void record(struct vault_record *r, const char *name) {
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    vault_set_secret(&r->access_token, "pdus+_0XBPWQQ_canary-access-rand");
    vault_set_secret(&r->refresh_token, "pdus+_1XBPWQQ_canary-refresh-rand");
    r->connected = 1;
    snprintf(r->client_id, sizeof r->client_id, "client");
    snprintf(r->region, sizeof r->region, "us");
    snprintf(r->api_url, sizeof r->api_url, "https://api.pagerduty.com");
    snprintf(r->identity_url, sizeof r->identity_url, "https://identity.pagerduty.com");
    snprintf(r->scope, sizeof r->scope, "read");
}

/* err filled with a non-NUL pattern first: a path that returns without writing err leaves
 * no terminator inside it, which this notices. */
static int clear_message(const char *err, size_t n, const char *want) {
    return memchr(err, '\0', n) != NULL && strstr(err, want) != NULL;
}

static int exists(const char *file) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", home, file);
    return access(p, F_OK) == 0;
}

int main(void) {
    snprintf(home, sizeof home, "/tmp/vsrun-vault-rand-XXXXXX");
    if (!mkdtemp(home)) return 1;
    setenv("VSRUN_HOME", home, 1);
    unsetenv("VSRUN_KEY");
    setenv("VSRUN_PASSPHRASE", "a passphrase nobody used yet", 1);
    secrets_capture_env();

    const RAND_METHOD *real = RAND_get_rand_method();
    char err[512];
    struct vault_record r;
    record(&r, "work");

    /* vault_save: the salt is the first random bytes a passphrase record needs */
    CHECK(RAND_set_rand_method(&failing_rand) == 1, "vault rand: failing generator installed");
    memset(err, 'x', sizeof err);
    int rc = vault_save(&r, err, sizeof err);
    CHECK(rc != 0, "vault rand: save fails when the salt cannot be drawn");
    CHECK(failing_calls > 0, "vault rand: the failing generator was asked (the failure is real)");
    CHECK(clear_message(err, sizeof err, "cannot get random bytes for the vault salt"),
          "vault rand: save says the salt had no random bytes (err set, terminated)");
    CHECK(!exists("work.conn"), "vault rand: no record written");

    /* vault_save_begin (a refresh's first step) goes the same way, before any token is spent */
    struct vault_pending *p = NULL;
    memset(err, 'x', sizeof err);
    rc = vault_save_begin("work", &p, err, sizeof err);
    CHECK(rc != 0 && p == NULL, "vault rand: save_begin fails when the salt cannot be drawn");
    CHECK(clear_message(err, sizeof err, "cannot get random bytes for the vault salt"),
          "vault rand: save_begin says the salt had no random bytes (err set, terminated)");
    vault_save_abort(p);

    /* control: the same calls with the real generator succeed, so the failures above came
     * from the generator alone */
    CHECK(RAND_set_rand_method(real) == 1, "vault rand: real generator back");
    int before = failing_calls;
    memset(err, 'x', sizeof err);
    CHECK(vault_save(&r, err, sizeof err) == 0 && exists("work.conn"), "vault rand control: save works with the real generator");
    CHECK(failing_calls == before, "vault rand control: the failing generator is out of the way");

    vault_record_clear(&r);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", home);
    return check_done();
}
