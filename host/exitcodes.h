/* Process exit codes: the one source. `vsrun help exit-codes` prints this table;
 * tests/cli/exit_codes_test.sh checks README.md, docs/vsrun.1, docs/api.md, `vsrun --help`
 * and `vsrun auth --help` against it (each row must name its keyword). */
#ifndef VSRUN_EXITCODES_H
#define VSRUN_EXITCODES_H

/* X(name, code, keyword, meaning) */
#define VSRUN_EXIT_CODES(X)                                                                          \
    X(EXIT_OK, 0, "success", "success")                                                              \
    X(EXIT_SCRIPT, 1, "error", "the script raised an error (or a test failed under vsrun test)")     \
    X(EXIT_USAGE, 2, "usage",                                                                        \
      "usage: bad option, missing file, bad input; configuration (region, API URL, vault key)")      \
    X(EXIT_RECONNECT, 3, "reconnect",                                                                \
      "a PagerDuty connection must be reconnected (vsrun auth reconnect NAME)")                      \
    X(EXIT_PERMISSION, 4, "permission",                                                              \
      "permission denied (scope or role; http to a host --allow-net does not grant or to a\n"       \
      "  PagerDuty credential origin)")                                                              \
    X(EXIT_RATE_LIMIT, 5, "rate limit", "rate limited past the retry budget")                        \
    X(EXIT_NETWORK, 6, "network", "network or timeout errors that retries did not cure")             \
    X(EXIT_LIMIT, 7, "timeout",                                                                      \
      "limit reached: --timeout or --max-memory (or inputs that do not fit in it),\n"                \
      "  or interrupted (Ctrl-C)")

#define VSRUN_EXIT_ENUM(name, code, keyword, meaning) name = code,
enum { VSRUN_EXIT_CODES(VSRUN_EXIT_ENUM) };
#undef VSRUN_EXIT_ENUM

#endif
