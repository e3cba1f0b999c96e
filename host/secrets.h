/* Secrets taken from the environment at start-up (VSRUN_KEY, VSRUN_PASSPHRASE,
 * PAGERDUTY_TOKEN): copied into C memory and removed from the environment before any
 * script runs, so neither os.getenv nor a child process can see them. */
#ifndef VSRUN_SECRETS_H
#define VSRUN_SECRETS_H

enum secret_id { SECRET_VSRUN_KEY, SECRET_VSRUN_PASSPHRASE, SECRET_PAGERDUTY_TOKEN, SECRET_COUNT };

void secrets_capture_env(void);
/* The value, or NULL when unset. Owned by this module; do not free. */
const char *secrets_get(enum secret_id id);
/* Wipes every captured secret (at exit). */
void secrets_wipe(void);

#endif
