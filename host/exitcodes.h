/* Process exit codes (documented in --help, README and vsrun.1). */
#ifndef VSRUN_EXITCODES_H
#define VSRUN_EXITCODES_H

enum {
    EXIT_OK = 0,
    EXIT_SCRIPT = 1,      /* the script raised an error; a test failed under vsrun test */
    EXIT_USAGE = 2,       /* bad option, missing file, bad input */
    EXIT_RECONNECT = 3,   /* a PagerDuty connection must be reconnected */
    EXIT_PERMISSION = 4,  /* permission denied (scope or role) */
    EXIT_RATE_LIMIT = 5,  /* rate limited past the retry budget */
    EXIT_NETWORK = 6,     /* network errors or timeouts that retries did not cure */
    EXIT_LIMIT = 7,       /* --timeout or --max-memory reached, or interrupted */
};

#endif
