#include "secrets.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char *const secret_names[SECRET_COUNT] = {"VSRUN_KEY", "VSRUN_PASSPHRASE", "PAGERDUTY_TOKEN"};
static char *secret_values[SECRET_COUNT];
static unsigned generation;
static int keep_text;      /* secrets_keep: the text outlives its first use */

/* Wipes the value of every NAME=value entry: the environment may hold a name twice, and
 * /proc/self/environ shows the original strings, which unsetenv leaves in place. */
static void cleanse_env_entries(const char *name) {
    size_t n = strlen(name);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') explicit_bzero(*e + n + 1, strlen(*e + n + 1));
}

void secrets_capture_env(void) {
    generation++;
    for (int i = 0; i < SECRET_COUNT; i++) {
        const char *v = getenv(secret_names[i]);
        /* an empty VSRUN_KEY or VSRUN_PASSPHRASE is kept: the vault refuses it rather than
         * falling back to a key file (a CI secret that was not set) */
        if (v && (*v || i != SECRET_PAGERDUTY_TOKEN) && secret_values[i] == NULL) secret_values[i] = strdup(v);
        if (v) {
            cleanse_env_entries(secret_names[i]);
            unsetenv(secret_names[i]); /* removes every entry of the name */
        }
    }
}

static void wipe_one(int i) {
    if (secret_values[i]) {
        explicit_bzero(secret_values[i], strlen(secret_values[i]));
        free(secret_values[i]);
        secret_values[i] = NULL;
    }
}

void secrets_used(enum secret_id id) {
    if (id < SECRET_COUNT && !keep_text) wipe_one(id);
}

void secrets_keep(void) { keep_text = 1; }

const char *secrets_get(enum secret_id id) {
    return id < SECRET_COUNT ? secret_values[id] : NULL;
}

unsigned secrets_generation(void) { return generation; }

void secrets_wipe(void) {
    generation++;
    for (int i = 0; i < SECRET_COUNT; i++) wipe_one(i);
}
