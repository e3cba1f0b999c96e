/* The one set of outcomes of the credential layer (host/vault.c, host/oauth.c,
 * host/connection.c), with the exit code and the Lua error kind each maps to. It sits at
 * the bottom of the stack so every layer can return it without including the one above. */
#ifndef VSRUN_CRED_STATUS_H
#define VSRUN_CRED_STATUS_H

#include "exitcodes.h"

enum cred_status {
    CRED_OK = 0,
    CRED_FAILED = -1,     /* anything else; the message says what */
    CRED_RECONNECT = -2,  /* the grant is gone: vsrun auth reconnect NAME (exit 3) */
    CRED_NETWORK = -3,    /* the identity server failed or could not be reached (exit 6) */
    CRED_TIMEOUT = -4,    /* --timeout, Ctrl-C or a login timeout ended the wait (exit 7) */
    CRED_CONFIG = -5,     /* bad region, URL or vault key: the message names the fix (exit 2) */
    CRED_MISSING = -6,    /* no such connection: vsrun auth login (exit 3, as documented) */
};

/* Lets a long wait (the vault lock, a token request) end early: stop returns nonzero once
 * the caller's deadline passed or the user pressed Ctrl-C. NULL stop: wait without limit. */
struct cred_wait {
    int (*stop)(void *ud);
    void *ud;
};

static inline int cred_should_stop(const struct cred_wait *w) {
    return w && w->stop && w->stop(w->ud);
}

static inline int cred_exit_code(enum cred_status s) {
    switch (s) {
    case CRED_OK: return EXIT_OK;
    case CRED_RECONNECT: case CRED_MISSING: return EXIT_RECONNECT;
    case CRED_NETWORK: return EXIT_NETWORK;
    case CRED_TIMEOUT: return EXIT_LIMIT;
    case CRED_CONFIG: return EXIT_USAGE;
    default: return EXIT_SCRIPT;
    }
}

/* The error kind a script sees (lua/vsrun/errors.lua). */
static inline const char *cred_error_kind(enum cred_status s) {
    switch (s) {
    case CRED_RECONNECT: case CRED_MISSING: return "reconnect_required";
    case CRED_NETWORK: return "network";
    case CRED_TIMEOUT: return "timeout";
    case CRED_CONFIG: return "config";
    default: return "connection";
    }
}

#endif
