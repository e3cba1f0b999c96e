/* Secrets taken from the environment at start-up (VSRUN_KEY, VSRUN_PASSPHRASE,
 * PAGERDUTY_TOKEN): copied into C memory and removed from the environment before any
 * script runs, so neither os.getenv nor a child process can see them. */
#ifndef VSRUN_SECRETS_H
#define VSRUN_SECRETS_H

enum secret_id { SECRET_VSRUN_KEY, SECRET_VSRUN_PASSPHRASE, SECRET_PAGERDUTY_TOKEN, SECRET_COUNT };

void secrets_capture_env(void);
/* The value, or NULL when unset (VSRUN_KEY and VSRUN_PASSPHRASE set to "" give "", which
 * the vault refuses). Owned by this module; do not free. */
const char *secrets_get(enum secret_id id);
/* Wipes the secret's text: the vault calls it once it has decoded (and remembered) the
 * key from VSRUN_KEY. VSRUN_PASSPHRASE is kept until exit: each vault record has its own
 * salt, so a run that opens several connections may derive another key from it. */
void secrets_used(enum secret_id id);
/* From now on secrets_used keeps the text (until secrets_wipe): vsrun serve hands
 * VSRUN_KEY to every run, and its config may open the vault first (secret(NAME)). */
void secrets_keep(void);
/* Changes whenever the secrets are captured or wiped, not when one is used: keys derived
 * from an older generation are stale. */
unsigned secrets_generation(void);
/* Wipes every captured secret (at exit). */
void secrets_wipe(void);

#endif
