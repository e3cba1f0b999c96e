/* The one-shot loopback listener that receives the OAuth redirect:
 * http://127.0.0.1:<ephemeral>/callback (never localhost, never 0.0.0.0). Only a callback
 * with the login's state decides it: with a code it succeeds; a missing code or an error=
 * reply ends it. Then the listener closes. Any process on the machine can reach the port, so
 * a callback with a missing or wrong state is answered with an error page and ignored: the
 * listener keeps waiting for the right one until the timeout. A redirect URL pasted on stdin
 * (--no-browser over SSH) is typed by the user, so there a wrong state does end the login. */
#ifndef VSRUN_OAUTH_CALLBACK_H
#define VSRUN_OAUTH_CALLBACK_H
#include <stddef.h>

enum callback_outcome {
    CALLBACK_CODE,          /* got a code with the right state */
    CALLBACK_DENIED,        /* error=... with the right state (e.g. access_denied) */
    CALLBACK_BAD_STATE,     /* a pasted URL whose state is missing or not ours */
    CALLBACK_NO_CODE,       /* right state, but neither code nor error */
    CALLBACK_TIMEOUT,
    CALLBACK_FAILED,        /* the listener could not run */
};

struct callback_result {
    enum callback_outcome outcome;
    char *code;                  /* secret: malloc'd, cleansed by callback_result_clear */
    char error[64];              /* error= value (sanitised) */
    char error_description[200];
};

struct oauth_callback;

/* Starts listening; state is the expected value (copied). NULL + err on failure. */
struct oauth_callback *callback_start(const char *state, char *err, size_t errlen);
unsigned callback_port(const struct oauth_callback *cb);
/* Waits for the deciding callback (or a pasted URL when read_stdin), at most timeout_sec,
 * then closes the listener. */
void callback_wait(struct oauth_callback *cb, double timeout_sec, int read_stdin, struct callback_result *res);
/* Stops the listener (if still running) and frees cb. */
void callback_free(struct oauth_callback *cb);
void callback_result_clear(struct callback_result *res);
/* Judges a pasted redirect address against the expected state without a listener, by the
 * rules callback_wait applies to a pasted line (for tests and fuzzing). Returns 0 with res
 * filled (clear it with callback_result_clear) when it looked like a redirect, else -1. */
int callback_judge_url(const char *state, const char *url, struct callback_result *res);

#endif
