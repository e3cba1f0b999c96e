#include "secrets.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static const char *const secret_names[SECRET_COUNT] = {"VSRUN_KEY", "VSRUN_PASSPHRASE", "PAGERDUTY_TOKEN"};
static char *secret_values[SECRET_COUNT];

void secrets_capture_env(void) {
    for (int i = 0; i < SECRET_COUNT; i++) {
        const char *v = getenv(secret_names[i]);
        if (v && *v && secret_values[i] == NULL) secret_values[i] = strdup(v);
        if (v) {
            OPENSSL_cleanse((void *)v, strlen(v)); /* the copy in environ too */
            unsetenv(secret_names[i]);
        }
    }
}

const char *secrets_get(enum secret_id id) {
    return id < SECRET_COUNT ? secret_values[id] : NULL;
}

void secrets_wipe(void) {
    for (int i = 0; i < SECRET_COUNT; i++) {
        if (secret_values[i]) {
            OPENSSL_cleanse(secret_values[i], strlen(secret_values[i]));
            free(secret_values[i]);
            secret_values[i] = NULL;
        }
    }
}
