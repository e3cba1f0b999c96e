/* vsrun secret set|list|delete. The value is read from stdin (a no-echo prompt on a
 * terminal), never from argv, which `ps` shows; it is sealed in the vault (vault.h, a
 * kind of record of its own) and never printed. Origins: host/secret_auth.c. */
#include "cmd_secret.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "exitcodes.h"
#include "options.h"
#include "secret_auth.h"
#include "util.h"
#include "vault.h"

#define SECRET_VALUE_MAX 8192   /* it travels in one request header */

static const char secret_help[] =
    "usage: vsrun secret set NAME --origin ORIGIN     (the value on stdin, or typed at a prompt)\n"
    "       vsrun secret set NAME --webhook\n"
    "       vsrun secret list\n"
    "       vsrun secret delete NAME\n"
    "\n"
    "Named secrets for services other than PagerDuty: an LLM API key, a Slack or other\n"
    "token. Each is bound to one origin (scheme, host and port); a script names it and never\n"
    "sees it:\n"
    "\n"
    "  http.post(url, { auth = { bearer = \"openai\" } })                -- Authorization: Bearer\n"
    "  http.get(url, { auth = { header = \"X-Api-Key\", secret = \"svc\" } })\n"
    "\n"
    "vsrun attaches the value in C, only when the request's URL has exactly the bound origin;\n"
    "any other URL (another host, port or scheme, user@host tricks) is refused before\n"
    "anything is sent. Redirects are never followed with it. The value never appears in Lua,\n"
    "output, -v logs, --dry-run output or errors. Under --sandbox and vsrun test the vault is\n"
    "not read: tests bind stand-ins with sandbox.set_secret.\n"
    "\n"
    "set      reads the value from stdin (one trailing newline is dropped), or prompts without\n"
    "         echo on a terminal; never give it as an argument. Replaces a secret of that name.\n"
    "         ORIGIN is https://HOST[:PORT] (http:// only for 127.0.0.1, [::1], localhost),\n"
    "         with no path, query, user name or trailing dot; an international host name in\n"
    "         its xn-- form. Example:  vsrun secret set openai --origin https://api.openai.com\n"
    "         --webhook instead stores a webhook signing secret or bearer token that a\n"
    "         `vsrun serve` config names with secret(\"NAME\"); http never sends it.\n"
    "list     names, origins and when each was set; never values.\n"
    "delete   removes the secret.\n"
    "\n"
    "Secrets live in the vault beside the connections (see `vsrun auth --help`: $VSRUN_HOME,\n"
    "the same key sources), as NAME.secret, sealed so a secret can never be opened as a\n"
    "PagerDuty connection or the other way round.\n"
    "\n"
    "Exit codes: 0 success, 1 error (no such secret, vault error), 2 usage (bad name or\n"
    "origin, empty value, no vault key).\n";

#define usage(...) util_usage("vsrun secret", __VA_ARGS__)

static int fail(int code, const char *msg) {
    fprintf(stderr, "vsrun secret: %s\n", msg);
    return code;
}

enum { OPT_ORIGIN = 1, OPT_WEBHOOK };
static const struct opt set_options[] = {
    {"--origin", NULL, OPT_ORIGIN, OPT_VALUE}, {"--webhook", NULL, OPT_WEBHOOK, 0}, {NULL, NULL, 0, 0}};
static const struct opt no_options[] = {{NULL, NULL, 0, 0}};

/* Parses argv against table into the positional name (exactly one when want_name) and
 * --origin. Returns -1 to go on, else the exit code (the help is a success). */
static int parse(int argc, char **argv, const struct opt *table, int want_name, const char **name, const char **origin,
                 int *webhook) {
    struct opt_parser p;
    opt_init(&p, "vsrun secret", argc, argv, table, NULL);
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        if (id == OPT_ERROR) return EXIT_USAGE;
        if (id == OPT_HELP) {
            fputs(secret_help, stdout);
            return EXIT_OK;
        }
        if (id == OPT_ORIGIN) *origin = p.value;
        else if (id == OPT_WEBHOOK) *webhook = 1;
        else if (id == OPT_ARG && want_name && *name == NULL) *name = p.value;
        /* not echoed: it may be the value, given where it does not belong */
        else return usage("unexpected argument (a secret's value is read from stdin, never from the command line)");
    }
    if (want_name && *name == NULL) return usage("which secret? give its NAME");
    return -1;
}

static struct termios saved_tty;
static void restore_tty(int sig) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads the value into buf (NUL-terminated): a no-echo prompt on a terminal, else all of
 * stdin. Returns its length, or -1 when it is too long. */
static long read_value(const char *name, char *buf, size_t cap) {
    int tty = isatty(STDIN_FILENO);
    struct termios quiet;
    if (tty && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
        quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        signal(SIGINT, restore_tty);
        signal(SIGTERM, restore_tty);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);  /* before the prompt: nothing typed is echoed */
        fprintf(stderr, "Value for secret '%s' (not echoed): ", name);
    } else {
        tty = 0;
    }
    size_t n = 0;
    for (ssize_t r; n < cap && (r = read(STDIN_FILENO, buf + n, cap - n)) != 0;) {
        if (r < 0) break;
        n += (size_t)r;
        if (tty && memchr(buf, '\n', n)) break;   /* a prompt ends at the line */
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        fputc('\n', stderr);
    }
    if (n >= cap) return -1;
    if (n > 0 && buf[n - 1] == '\n') n--;
    if (n > 0 && buf[n - 1] == '\r') n--;
    buf[n] = '\0';
    return (long)n;
}

static int lock_or_fail(const char *name, int *fd) {
    char err[1024];
    *fd = vault_secret_lock_open(name, err, sizeof err);
    if (*fd < 0) return fail(EXIT_SCRIPT, err);
    for (int tries = 0; vault_lock_try(*fd) != 0; tries++) {
        if (tries == 300) {
            vault_unlock(*fd);
            return fail(EXIT_SCRIPT, "the secret is locked by another vsrun (waited 30 s)");
        }
        usleep(100000);
    }
    return -1;
}

static int secret_set(int argc, char **argv) {
    const char *name = NULL, *origin = NULL;
    int webhook = 0;
    int rc = parse(argc, argv, set_options, 1, &name, &origin, &webhook);
    if (rc >= 0) return rc;
    char err[1024];
    struct vault_secret s = {0};
    if (vault_check_name(name, err, sizeof err) != 0)
        return usage("invalid secret name '%s': use 1-63 letters, digits, '.', '_' or '-'", name);
    if (webhook && origin) return usage("give --origin (a secret http sends) or --webhook (one vsrun serve verifies with), not both");
    if (!webhook && origin == NULL)
        return usage("give the origin the secret may be sent to: --origin https://HOST[:PORT] (or --webhook)");
    /* a webhook secret has no origin: http never sends it */
    if (origin && secret_origin_normalise(origin, s.origin, sizeof s.origin, err, sizeof err) != 0) return usage("%s", err);
    char *buf = malloc(SECRET_VALUE_MAX + 2);
    if (buf == NULL) return fail(EXIT_SCRIPT, "out of memory");
    long n = read_value(name, buf, SECRET_VALUE_MAX + 1);
    const char *bad = n < 0 ? "the value is too long (at most 8192 bytes)"
                    : n == 0 ? "the value is empty: give it on stdin (printf %s \"$KEY\" | vsrun secret set ...)"
                    : strlen(buf) != (size_t)n || strpbrk(buf, "\r\n") ? "the value must be one line without NUL bytes"
                    : NULL;
    if (bad) {
        OPENSSL_cleanse(buf, SECRET_VALUE_MAX + 2);
        free(buf);
        return usage("%s", bad);
    }
    snprintf(s.name, sizeof s.name, "%s", name);
    s.value = buf;
    s.created_at = (double)time(NULL);
    int fd;
    rc = lock_or_fail(name, &fd);
    if (rc < 0) {
        rc = vault_secret_save(&s, err, sizeof err);
        vault_unlock(fd);
        rc = rc == 0 ? EXIT_OK : fail(rc == VAULT_CONFIG ? EXIT_USAGE : EXIT_SCRIPT, err);
        if (rc == EXIT_OK && webhook) printf("Secret '%s' stored, for vsrun serve's secret(\"%s\"); http never sends it\n", name, name);
        else if (rc == EXIT_OK) printf("Secret '%s' stored; it is sent only to %s\n", name, s.origin);
    }
    OPENSSL_cleanse(buf, SECRET_VALUE_MAX + 2);
    free(buf);
    return rc;
}

static int secret_list(int argc, char **argv) {
    const char *name = NULL, *origin = NULL;
    int webhook = 0;
    int rc = parse(argc, argv, no_options, 0, &name, &origin, &webhook);
    if (rc >= 0) return rc;
    char err[1024], names[256][VAULT_NAME_MAX];
    int n = vault_secret_list(names, 256, err, sizeof err);
    if (n < 0) return fail(EXIT_SCRIPT, err);
    if (n == 0) {
        printf("No secrets. Store one with: vsrun secret set NAME --origin https://HOST\n");
        return EXIT_OK;
    }
    printf("%-24s %-40s %s\n", "NAME", "ORIGIN", "SET (UTC)");
    int status = EXIT_OK;
    for (int i = 0; i < n; i++) {
        struct vault_secret s;
        char when[32] = "?";
        if (vault_secret_load(names[i], &s, err, sizeof err) != 0) {
            printf("%-24s %-40s %s\n", names[i], "(unreadable)", "?");
            fprintf(stderr, "vsrun secret: %s\n", err);
            status = EXIT_SCRIPT;
            continue;
        }
        time_t t = (time_t)s.created_at;
        struct tm tm;
        if (t > 0 && gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-24s %-40s %s\n", s.name, s.origin[0] ? s.origin : "(webhook: serve only)", when);
        vault_secret_clear(&s);
    }
    return status;
}

static int secret_delete(int argc, char **argv) {
    const char *name = NULL, *origin = NULL;
    int webhook = 0;
    int rc = parse(argc, argv, no_options, 1, &name, &origin, &webhook);
    if (rc >= 0) return rc;
    char err[1024];
    if (vault_check_name(name, err, sizeof err) != 0) return usage("invalid secret name '%s'", name);
    int fd;
    if ((rc = lock_or_fail(name, &fd)) >= 0) return rc;
    rc = vault_secret_remove(name, err, sizeof err);
    vault_unlock(fd);
    if (rc == VAULT_NOT_FOUND) {
        fprintf(stderr, "vsrun secret: no secret named '%s' (see vsrun secret list)\n", name);
        return EXIT_SCRIPT;
    }
    if (rc != 0) return fail(EXIT_SCRIPT, err);
    printf("Secret '%s' deleted\n", name);
    return EXIT_OK;
}

int cmd_secret(int argc, char **argv) {
    if (argc == 0) return usage("what to do? set, list or delete");
    const char *sub = argv[0];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs(secret_help, stdout);
        return EXIT_OK;
    }
    if (strcmp(sub, "set") == 0) return secret_set(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) return secret_list(argc - 1, argv + 1);
    if (strcmp(sub, "delete") == 0) return secret_delete(argc - 1, argv + 1);
    return usage("unknown command '%s' (set, list, delete)", sub);
}
