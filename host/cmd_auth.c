/* vsrun auth login|status|list|logout|reconnect|default: the user's side of connections.
 * It sits on the credential layer (connection.h): the OAuth protocol is in oauth.c, storage
 * in records.c (the file vault, or the PostgreSQL table VSRUN_VAULT names: the store a run
 * uses). Nothing here prints a secret. */
#include "cmd_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cmd_auth_push.h"
#include "connection.h"
#include "exitcodes.h"
#include "oauth.h"
#include "options.h"
#include "records.h"
#include "util.h"
#include "vault.h"

#define DEFAULT_NAME "pagerduty"
#define DEFAULT_TIMEOUT 300.0

static const char auth_help[] =
    "usage: vsrun auth login [--connection NAME] [--region us|eu] [--client-id ID]\n"
    "                        [--client-secret-file F] [--scope write|read]\n"
    "                        [--api-url URL --identity-url URL] [--no-browser] [--timeout SEC]\n"
    "       vsrun auth status [NAME] [--check]\n"
    "       vsrun auth list\n"
    "       vsrun auth logout NAME\n"
    "       vsrun auth reconnect NAME [--no-browser] [--timeout SEC]\n"
    "       vsrun auth default NAME          (or: vsrun auth --default NAME)\n"
    "       vsrun auth push NAME [--to postgresql://...]\n"
    "\n"
    "Connect vsrun to PagerDuty once through the browser; scripts then name the connection\n"
    "(--connection NAME, or the default) and never see a token. Tokens are kept encrypted in\n"
    "the vault and refreshed automatically.\n"
    "\n"
    "login      opens PagerDuty's sign-in page ($BROWSER, else xdg-open, else prints the\n"
    "           address), waits for the redirect to http://127.0.0.1:<port>/callback, and\n"
    "           stores the connection (default name 'pagerduty'; the first one becomes the\n"
    "           default). --no-browser prints the address and also accepts the address the\n"
    "           browser ends on, pasted here (for SSH sessions). --timeout defaults to 300 s.\n"
    "           --region eu sends API calls to https://api.eu.pagerduty.com; sign-in always\n"
    "           uses https://identity.pagerduty.com. --scope read makes a read-only connection.\n"
    "status     user, region, scope, token expiry, last refresh; --check makes a live\n"
    "           Get User `me` call and reports Healthy or Unhealthy with the fix.\n"
    "logout     revokes the tokens at PagerDuty (best effort) and deletes the connection.\n"
    "reconnect  signs in again with the connection's stored settings (after a revoke, an\n"
    "           expired refresh token, or exit code 3 from a script).\n"
    "push       moves the connection into a PostgreSQL vault shared by replicas on several\n"
    "           machines (--to, else $VSRUN_VAULT); runs with VSRUN_VAULT set to that URL\n"
    "           use it and refresh it once for all (`vsrun auth push --help`).\n"
    "\n"
    "With VSRUN_VAULT=postgresql://... set, login, status, list, logout and reconnect act on\n"
    "that shared vault (the store runs use), under the advisory lock a refresh takes: login\n"
    "and reconnect write the row (sealed with VSRUN_KEY or VSRUN_PASSPHRASE, checked before\n"
    "the browser opens), logout revokes and deletes it for every replica. The default is the\n"
    "only row there (`auth default` is the file vault's).\n"
    "\n"
    "Registering a PagerDuty app (once per organisation):\n"
    "  In PagerDuty: Integrations > App Registration > New App, enable OAuth 2.0 with\n"
    "  Classic User OAuth, and add the redirect URL http://127.0.0.1/callback (vsrun\n"
    "  listens on a random local port; loopback redirects match on any port). Copy the\n"
    "  client id. A confidential app also has a client secret: keep it in a 0600 file.\n"
    "  The client id comes from --client-id, else VSRUN_CLIENT_ID, else the vault's config\n"
    "  file (saved by the first login); the secret file from --client-secret-file, else\n"
    "  VSRUN_CLIENT_SECRET_FILE.\n"
    "\n"
    "Machines without a browser (CI, servers):\n"
    "  - run `vsrun auth login --no-browser` on the server itself: open the printed address\n"
    "    in any browser, sign in, and paste the address the browser ends on back into the\n"
    "    server's terminal. The server gets its own grant.\n"
    "  - do not copy a vault between machines: every refresh rotates the refresh token, so\n"
    "    after one refresh on each machine both copies are dead (exit 3). `auth status`\n"
    "    says when a record was written on another machine.\n"
    "  - or set PAGERDUTY_TOKEN to a PagerDuty REST API key (and PAGERDUTY_FROM for account\n"
    "    keys); scripts then use it instead of a connection.\n"
    "\n"
    "The vault: $VSRUN_HOME (else $XDG_CONFIG_HOME/vsrun, else ~/.config/vsrun), mode 0700,\n"
    "one AES-256-GCM sealed file per connection. The key: VSRUN_KEY (base64 of 32 bytes),\n"
    "else VSRUN_PASSPHRASE (scrypt), else the key file created on first use (mode 0600).\n"
    "\n"
    "Exit codes: 0 success, 1 error, 2 usage, 3 reconnect needed, 6 network, 7 timeout.\n";

/* "vsrun auth: ..." and where to look; printf-checked (util.h) */
#define usage(...) util_usage("vsrun auth", __VA_ARGS__)

static int fail(int code, const char *msg) {
    fprintf(stderr, "vsrun auth: %s\n", msg);
    return code;
}

static int exit_for(int rc) { return cred_exit_code((enum cred_status)rc); }

/* Options of one subcommand: an option table (see options.h) whose ids are slots: a value
 * option with id k fills vals[k - 1], a flag sets flagv[k - 1]. */
struct opts {
    const struct opt *table;
    const char **vals;
    int *flagv;
    const char *pos[2];         /* positional arguments */
    int npos;
};

#define AUTH_HELP (-1)   /* parse printed the help: exit 0 */

static int parse(int argc, char **argv, struct opts *o, int maxpos) {
    struct opt_parser p;
    opt_init(&p, "vsrun auth", argc, argv, o->table, NULL);
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        if (id == OPT_ERROR) return EXIT_USAGE;
        if (id == OPT_HELP) {
            fputs(auth_help, stdout);
            return AUTH_HELP;
        }
        if (id == OPT_ARG) {
            if (o->npos >= maxpos) return usage("unexpected argument '%s'", p.value);
            o->pos[o->npos++] = p.value;
        } else if (p.opt->flags & OPT_VALUE) {
            o->vals[id - 1] = p.value;
        } else {
            o->flagv[id - 1] = 1;
        }
    }
    return 0;
}

/* parse's result as the exit code: the help is a success */
#define PARSED(rc) ((rc) == AUTH_HELP ? EXIT_OK : (rc))

static int parse_timeout(const char *s, double *out) {
    char *end;
    errno = 0;
    double d = s ? strtod(s, &end) : DEFAULT_TIMEOUT;
    if (s && (errno || end == s || *end || !(d > 0) || d > 86400)) return -1;
    *out = d;
    return 0;
}

/* "in 3 h 12 min", "5 min ago" */
static void relative(double when, char *out, size_t n) {
    double d = when - (double)time(NULL);
    long a = (long)(d < 0 ? -d : d);
    char span[40];
    if (d < 1 && a < 5) { /* a moment ago (when has fractions, time() does not) */
        snprintf(out, n, "just now");
        return;
    }
    if (a < 90) snprintf(span, sizeof span, "%ld s", a);
    else if (a < 5400) snprintf(span, sizeof span, "%ld min", a / 60);
    else if (a < 2 * 86400) snprintf(span, sizeof span, "%ld h %ld min", a / 3600, a % 3600 / 60);
    else snprintf(span, sizeof span, "%ld days", a / 86400);
    snprintf(out, n, d >= 0 ? "in %.39s" : "%.39s ago", span);
}

static void utc(double when, char *out, size_t n) {
    time_t t = (time_t)when;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M UTC", &tm);
}

static int read_secret_file(const char *path, char **out, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read the client secret file %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
    int rc = 0;
    if (n == 0 || strpbrk(buf, "\n\r")) {
        snprintf(err, errlen, "the client secret file %s must hold the secret on one line", path);
        rc = -1;
    } else if (!(*out = strdup(buf))) rc = -1;
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

static int resolve_name(const char *given, char *out, size_t n) {
    char err[512];
    if (given) {
        if (vault_check_name(given, err, sizeof err) != 0) return fail(EXIT_USAGE, err);
        snprintf(out, n, "%s", given);
        return 0;
    }
    enum cred_status rc = connection_default_name(out, n, err, sizeof err);
    return rc == CRED_OK ? 0 : fail(exit_for(rc), err);
}

static void print_connected(const struct vault_record *r, const char *verb) {
    printf("%s '%s' as %s <%s> (region %s, scope %s).\n", verb, r->name, r->user_name[0] ? r->user_name : "?",
           r->user_email[0] ? r->user_email : "?", r->region, r->scope[0] ? r->scope : "?");
    if (r->scope[0] && !strstr(r->scope, "read") && !strstr(r->scope, "write"))
        fprintf(stderr, "vsrun auth: warning: PagerDuty granted only '%s'; API calls will be refused (403). "
                        "Check the app's scopes in PagerDuty.\n", r->scope);
}

/* A short hash naming this machine (/etc/machine-id, else the host name; VSRUN_MACHINE_ID
 * overrides both, for tests and for containers cloned with one machine-id). Stored at login
 * so `auth status` can tell a record that was copied from another machine. */
static void machine_tag(char *out, size_t outlen) {
    char id[256] = "";
    const char *env = getenv("VSRUN_MACHINE_ID");
    if (env && *env) {
        snprintf(id, sizeof id, "%s", env);
    } else {
        FILE *f = fopen("/etc/machine-id", "r");
        if (f) {
            if (!fgets(id, sizeof id, f)) id[0] = '\0';
            fclose(f);
        }
        if (id[0] == '\0' || id[0] == '\n') gethostname(id, sizeof id - 1);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(id, strlen(id), md, &mdlen, EVP_sha256(), NULL)) return;
    for (unsigned i = 0; i < 8 && 2 * i + 2 < outlen; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A record store's result (records.h) as an exit code */
static int store_exit(int rc) {
    return rc == VAULT_PG_UNREACHABLE ? EXIT_NETWORK : rc == VAULT_CONFIG ? EXIT_USAGE : EXIT_SCRIPT;
}

/* VSRUN_VAULT's table, or NULL for the file vault; -1 + a message when VSRUN_VAULT is bad */
static int shared_store(const char **url) {
    char err[512];
    if (records_shared_url(url, err, sizeof err) == 0) return 0;
    fail(EXIT_USAGE, err);
    return -1;
}

/* Runs the browser login and saves the record. keep: the record being reconnected, or NULL. */
static int login_and_save(struct oauth_login *lo, const struct vault_record *keep) {
    char err[1024];
    struct vault_record r;
    memset(&r, 0, sizeof r);
    const char *shared;
    if (shared_store(&shared) != 0) return EXIT_USAGE;
    /* before the browser opens: a grant the shared table could not hold would be wasted */
    if (records_check_key(lo->name, err, sizeof err) != 0) return fail(EXIT_USAGE, err);
    int rc = oauth_login_run(lo, &r, err, sizeof err);
    if (rc != 0) return fail(exit_for(rc), err);
    if (keep) {
        r.created_at = keep->created_at;
        r.generation = keep->generation + 1; /* running processes see the change */
    }
    /* Under the record's lock (a refresh running now must not write its record over this
     * one), re-read: a connection logged in again has its old grant withdrawn once the new
     * one is saved, and running processes see a newer generation. */
    enum cred_status st;
    struct records_lock *lock = connection_lock_stored(lo->name, NULL, &st, err, sizeof err);
    if (!lock) {
        vault_record_clear(&r);
        return fail(exit_for(st), err);
    }
    struct vault_record prev;
    int prc = records_load(lo->name, &prev, err, sizeof err);
    if (prc == VAULT_PG_UNREACHABLE) {
        records_unlock(lock);
        vault_record_clear(&r);
        return fail(EXIT_NETWORK, err);
    }
    int had_prev = prc == 0;
    if (!had_prev) memset(&prev, 0, sizeof prev);
    if (had_prev && prev.generation >= r.generation) r.generation = prev.generation + 1;
    if (keep) {
        vault_record_clear(&prev); /* reconnect: the old grant is already gone */
        had_prev = 0;
    }
    /* the file vault's configured default; a shared table's default is its only row */
    int first = 0;
    char def[VAULT_NAME_MAX];
    if (!shared && (vault_config_get("default", def, sizeof def) != 0 || !*def)) first = 1;
    machine_tag(r.machine, sizeof r.machine);
    int saved = records_save_begin(lock, err, sizeof err);
    if (saved == 0) saved = records_save_finish(lock, &r, err, sizeof err);
    records_unlock(lock);
    if (saved != 0) {
        vault_record_clear(&r);
        vault_record_clear(&prev);
        return fail(store_exit(saved), err);
    }
    if (had_prev && oauth_revoke(&prev, err, sizeof err) != 0)
        fprintf(stderr, "vsrun auth: could not revoke the replaced connection's tokens: %s\n", err);
    vault_record_clear(&prev);
    if (first && vault_config_set("default", r.name, err, sizeof err) != 0) fprintf(stderr, "vsrun auth: %s\n", err);
    char cid[256];
    if (vault_config_get("client_id", cid, sizeof cid) != 0 && vault_config_set("client_id", lo->client_id, err, sizeof err) != 0)
        fprintf(stderr, "vsrun auth: %s\n", err);
    print_connected(&r, keep ? "Reconnected" : "Connected");
    if (shared) printf("Stored in the shared vault (VSRUN_VAULT), generation %u.\n", r.generation);
    if (first) printf("'%s' is the default connection.\n", r.name);
    vault_record_clear(&r);
    return EXIT_OK;
}

static int cmd_login(int argc, char **argv) {
    static const struct opt table[] = {
        {"--connection", NULL, 1, OPT_VALUE}, {"--region", NULL, 2, OPT_VALUE}, {"--client-id", NULL, 3, OPT_VALUE},
        {"--client-secret-file", NULL, 4, OPT_VALUE}, {"--scope", NULL, 5, OPT_VALUE}, {"--api-url", NULL, 6, OPT_VALUE},
        {"--identity-url", NULL, 7, OPT_VALUE}, {"--timeout", NULL, 8, OPT_VALUE}, {"--no-browser", NULL, 1, 0},
        {NULL, NULL, 0, 0}};
    const char *v[8] = {0};
    int f[1] = {0};
    struct opts o = {table, v, f, {0}, 0};
    int rc = parse(argc, argv, &o, 0);
    if (rc) return PARSED(rc);
    char err[1024];
    const char *name = v[0] ? v[0] : DEFAULT_NAME;
    if (vault_check_name(name, err, sizeof err) != 0) return fail(EXIT_USAGE, err);
    const char *region = v[1] ? v[1] : "us";
    if (strcmp(region, "us") != 0 && strcmp(region, "eu") != 0) return usage("--region must be 'us' or 'eu', got '%s'", region);
    const char *scope = v[4] ? v[4] : "write";
    if (strcmp(scope, "write") != 0 && strcmp(scope, "read") != 0) return usage("--scope must be 'write' or 'read', got '%s'", scope);
    double timeout;
    if (parse_timeout(v[7], &timeout) != 0) return usage("--timeout needs seconds (up to 86400), got '%s'", v[7]);
    const char *api = v[5] ? v[5] : strcmp(region, "eu") == 0 ? OAUTH_EU_API : OAUTH_US_API;
    const char *identity = v[6] ? v[6] : OAUTH_US_IDENTITY;
    char api_norm[256], identity_norm[256];
    if (connection_check_url("--api-url", api, api_norm, sizeof api_norm, err, sizeof err) != 0 ||
        connection_check_url("--identity-url", identity, identity_norm, sizeof identity_norm, err, sizeof err) != 0)
        return fail(EXIT_USAGE, err);
    api = api_norm;
    identity = identity_norm;
    char cid[256] = "";
    const char *client_id = v[2];
    if (!client_id || !*client_id) client_id = getenv("VSRUN_CLIENT_ID");
    if ((!client_id || !*client_id) && vault_config_get("client_id", cid, sizeof cid) == 0 && *cid) client_id = cid;
    if (!client_id || !*client_id)
        return fail(EXIT_USAGE, "no OAuth client id: pass --client-id ID or set VSRUN_CLIENT_ID "
                                "(register a PagerDuty app first; see `vsrun auth --help`)");
    if (strlen(client_id) >= 256 || strpbrk(client_id, " \t\r\n")) return usage("invalid client id '%s'", client_id);
    const char *secret_file = v[3] ? v[3] : getenv("VSRUN_CLIENT_SECRET_FILE");
    char *secret = NULL;
    if (secret_file && *secret_file && read_secret_file(secret_file, &secret, err, sizeof err) != 0)
        return fail(EXIT_USAGE, err);
    struct oauth_login lo = {name, region, client_id, secret, scope, api, identity, f[0], timeout};
    rc = login_and_save(&lo, NULL);
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    return rc;
}

static int cmd_reconnect(int argc, char **argv) {
    static const struct opt table[] = {{"--timeout", NULL, 1, OPT_VALUE}, {"--no-browser", NULL, 1, 0}, {NULL, NULL, 0, 0}};
    const char *v[1] = {0};
    int f[1] = {0};
    struct opts o = {table, v, f, {0}, 0};
    int rc = parse(argc, argv, &o, 1);
    if (rc) return PARSED(rc);
    if (o.npos != 1) return usage("reconnect needs the connection's NAME");
    double timeout;
    if (parse_timeout(v[0], &timeout) != 0) return usage("--timeout needs seconds (up to 86400), got '%s'", v[0]);
    char err[1024];
    struct vault_record old;
    if (vault_check_name(o.pos[0], err, sizeof err) != 0) return fail(EXIT_USAGE, err);
    rc = connection_load_stored(o.pos[0], &old, err, sizeof err);
    if (rc == CRED_MISSING) {
        snprintf(err, sizeof err, "no connection named '%s' (see `vsrun auth list`)", o.pos[0]);
        return fail(EXIT_USAGE, err);
    }
    if (rc != CRED_OK) {
        fprintf(stderr, "vsrun auth: %s\n(run `vsrun auth logout %s`, then `vsrun auth login --connection %s`)\n", err, o.pos[0], o.pos[0]);
        return exit_for(rc);
    }
    /* exactly the scope the login asked for: a reconnect never widens a connection. Records
     * from before the requested scope was stored keep what was granted; unknown is read. */
    const char *scope = strcmp(old.scope, "write") == 0 || strcmp(old.scope, "read") == 0 ? old.scope
                      : strstr(old.scope, "write") ? "write" : "read";
    if (strcmp(old.scope, scope) != 0 && !strstr(old.scope, scope))
        fprintf(stderr, "vsrun auth: the scope of '%s' was not recorded; reconnecting read-only "
                        "(for write access: vsrun auth login --connection %s --scope write)\n", old.name, old.name);
    struct oauth_login lo = {old.name, old.region, old.client_id, old.client_secret, scope, old.api_url, old.identity_url, f[0], timeout};
    rc = login_and_save(&lo, &old);
    vault_record_clear(&old);
    return rc;
}

static int cmd_default(int argc, char **argv) {
    struct opts o = {0};
    int rc = parse(argc, argv, &o, 1);
    if (rc) return PARSED(rc);
    char err[1024];
    const char *shared;
    if (shared_store(&shared) != 0) return EXIT_USAGE;
    if (shared)
        return fail(EXIT_USAGE, "with VSRUN_VAULT set, the default connection is the only one in the shared vault; "
                                "with several, pass --connection NAME");
    if (o.npos == 0) {
        char def[VAULT_NAME_MAX];
        if (vault_config_get("default", def, sizeof def) == 0 && *def) printf("%s\n", def);
        else printf("(no default connection)\n");
        return EXIT_OK;
    }
    struct vault_record r;
    if (vault_check_name(o.pos[0], err, sizeof err) != 0) return fail(EXIT_USAGE, err);
    rc = connection_load_record(o.pos[0], &r, err, sizeof err);
    vault_record_clear(&r);
    if (rc == CRED_MISSING) {
        snprintf(err, sizeof err, "no connection named '%s' (see `vsrun auth list`)", o.pos[0]);
        return fail(EXIT_USAGE, err);
    }
    if (rc != CRED_OK) return fail(exit_for(rc), err);
    if (vault_config_set("default", o.pos[0], err, sizeof err) != 0) return fail(EXIT_SCRIPT, err);
    printf("Scripts now use '%s' when no --connection is given.\n", o.pos[0]);
    return EXIT_OK;
}

static int cmd_list(int argc, char **argv) {
    struct opts o = {0};
    int rc = parse(argc, argv, &o, 0);
    if (rc) return PARSED(rc);
    char err[1024], names[256][VAULT_NAME_MAX], def[VAULT_NAME_MAX] = "";
    const char *shared;
    if (shared_store(&shared) != 0) return EXIT_USAGE;
    int n = records_list(names, 256, err, sizeof err);
    if (n < 0) return fail(store_exit(n), err);
    if (n == 0) {
        if (shared) printf("No connections in the shared vault (VSRUN_VAULT). Move one there with `vsrun auth push NAME`.\n");
        else printf("No connections. Run `vsrun auth login` to connect to PagerDuty.\n");
        return EXIT_OK;
    }
    if (shared) printf("In the shared vault (VSRUN_VAULT):\n");
    if (!shared) vault_config_get("default", def, sizeof def);
    else if (n == 1) snprintf(def, sizeof def, "%s", names[0]);   /* the only row is the default */
    printf("  %-20s %-32s %-6s %-12s %s\n", "NAME", "USER", "REGION", "STATE", "TOKEN EXPIRES");
    for (int i = 0; i < n; i++) {
        struct vault_record r;
        int lrc = records_load(names[i], &r, err, sizeof err);
        char user[300] = "?", exp[64] = "-";
        const char *state = "damaged", *region = "?";
        if (lrc == 0) {
            snprintf(user, sizeof user, "%s", r.user_email[0] ? r.user_email : r.user_name);
            state = r.connected ? "connected" : "disconnected";
            region = r.region;
            if (r.expires_at > 0 && r.connected) relative(r.expires_at, exp, sizeof exp);
        }
        printf("%c %-20s %-32s %-6s %-12s %s\n", strcmp(def, names[i]) == 0 ? '*' : ' ', names[i], user, region, state, exp);
        if (lrc != 0) fprintf(stderr, "vsrun auth: %s\n", err);
        vault_record_clear(&r);
    }
    return EXIT_OK;
}

/* --check: a live Get User `me`; refreshes once on 401. Prints the Health line. */
static int health_check(const char *name, char *out, size_t n) {
    char err[1024];
    struct connection *c = NULL;
    int rc = connection_open(name, NULL, &c, err, sizeof err);
    int code = EXIT_OK;
    if (rc != CRED_OK) {
        snprintf(out, n, "Health:       Unhealthy \xe2\x80\x94 %s\n", err);
        code = exit_for(rc);
        goto out;
    }
    char uname[256] = "", email[256] = "", id[64] = "";
    long st = oauth_get_me(c->api_url, c->token, uname, sizeof uname, email, sizeof email, id, sizeof id, err, sizeof err);
    if (st == 401) {
        rc = connection_refresh(c, NULL, err, sizeof err);
        if (rc != 0) {
            snprintf(out, n, "Health:       Unhealthy \xe2\x80\x94 %s\n", err);
            code = exit_for(rc);
            goto out;
        }
        st = oauth_get_me(c->api_url, c->token, uname, sizeof uname, email, sizeof email, id, sizeof id, err, sizeof err);
    }
    if (st == 200) snprintf(out, n, "Health:       Healthy (Get User `me` answered as %s)\n", email[0] ? email : uname);
    else if (st == CRED_NETWORK) {
        snprintf(out, n, "Health:       Unhealthy \xe2\x80\x94 %s\n              fix: check the network or proxy, then retry\n", err);
        code = EXIT_NETWORK;
    } else if (st == 401 || st == 403) {
        snprintf(out, n, "Health:       Unhealthy \xe2\x80\x94 PagerDuty refused the token (HTTP %ld)\n              fix: vsrun auth reconnect %s\n", st, name);
        code = st == 401 ? EXIT_RECONNECT : EXIT_PERMISSION;
    } else {
        snprintf(out, n, "Health:       Unhealthy \xe2\x80\x94 %s\n              fix: retry later\n", err);
        code = EXIT_SCRIPT;
    }
out:
    connection_free(c);
    return code;
}

static int cmd_status(int argc, char **argv) {
    static const struct opt table[] = {{"--check", NULL, 1, 0}, {NULL, NULL, 0, 0}};
    int f[1] = {0};
    struct opts o = {table, NULL, f, {0}, 0};
    int rc = parse(argc, argv, &o, 1);
    if (rc) return PARSED(rc);
    char name[VAULT_NAME_MAX], def[VAULT_NAME_MAX] = "", err[1024];
    if ((rc = resolve_name(o.npos ? o.pos[0] : NULL, name, sizeof name)) != 0) return rc;
    /* the live check first: it may refresh the token shown below */
    int code = EXIT_OK;
    char health[4096] = "";
    if (f[0]) {
        code = health_check(name, health, sizeof health);
    }
    const char *shared;
    if (shared_store(&shared) != 0) return EXIT_USAGE;
    struct vault_record r;
    rc = connection_load_stored(name, &r, err, sizeof err);
    if (rc == CRED_MISSING) {
        snprintf(err, sizeof err, "no connection named '%s'%s (see `vsrun auth list`)", name, shared ? " in the shared vault" : "");
        return fail(EXIT_USAGE, err);
    }
    if (rc != CRED_OK) return fail(exit_for(rc), err);
    if (!shared) vault_config_get("default", def, sizeof def);
    else if (connection_default_name(def, sizeof def, err, sizeof err) != CRED_OK) def[0] = '\0';
    char when[64], abs[64];
    printf("Connection:   %s%s\n", r.name, strcmp(def, r.name) == 0 ? " (default)" : "");
    printf("State:        %s\n", r.connected ? "connected" : "disconnected \xe2\x80\x94 run `vsrun auth reconnect` to sign in again");
    if (!r.connected && r.newest_generation > r.generation)
        printf("Restored:     this record is an older copy (generation %u; vsrun had saved generation %u).\n"
               "              Its refresh token was already used, so PagerDuty refused it: restoring a\n"
               "              vault backup does not bring a connection back. Run `vsrun auth reconnect %s`.\n",
               r.generation, r.newest_generation, r.name);
    printf("User:         %s <%s>\n", r.user_name[0] ? r.user_name : "?", r.user_email[0] ? r.user_email : "?");
    printf("Region:       %s (API %s)\n", r.region, r.api_url);
    printf("Scope:        %s\n", r.scope[0] ? r.scope : "?");
    if (!r.connected) printf("Access token: none\n");
    else if (r.expires_at > 0) {
        relative(r.expires_at, when, sizeof when);
        utc(r.expires_at, abs, sizeof abs);
        printf("Access token: %s %s (%s), refreshed automatically\n", r.expires_at < (double)time(NULL) ? "expired" : "expires", when, abs);
    } else printf("Access token: no expiry given\n");
    relative(r.last_refresh, when, sizeof when);
    utc(r.last_refresh, abs, sizeof abs);
    printf("Last refresh: %s (%s)\n", when, abs);
    /* a shared row is meant for every machine: the copy warning is the file vault's */
    if (shared) printf("Stored:       the shared vault (VSRUN_VAULT), generation %u\n", r.generation);
    char here[sizeof r.machine];
    machine_tag(here, sizeof here);
    if (!shared && r.machine[0] && strcmp(r.machine, here) != 0)
        printf("Copied:       this record was written on another machine. Refreshes rotate the refresh\n"
               "              token, so only one copy keeps working: log in here with\n"
               "              `vsrun auth login --no-browser --connection %s` instead.\n", r.name);
    if (f[0]) fputs(health, stdout);
    else printf("Health:       not checked (add --check for a live call)\n");
    if (!r.connected && code == EXIT_OK) code = EXIT_RECONNECT;
    vault_record_clear(&r);
    return code;
}

static int cmd_logout(int argc, char **argv) {
    struct opts o = {0};
    int rc = parse(argc, argv, &o, 1);
    if (rc) return PARSED(rc);
    if (o.npos != 1) return usage("logout needs the connection's NAME");
    const char *name = o.pos[0];
    char err[1024];
    if (vault_check_name(name, err, sizeof err) != 0) return fail(EXIT_USAGE, err);
    const char *shared;
    if (shared_store(&shared) != 0) return EXIT_USAGE;
    /* under the record's lock (the advisory lock for the shared vault), re-read: a refresh
     * running now finishes first, and its record (with the rotated tokens) is the one
     * revoked and deleted; none can write it back afterwards */
    enum cred_status st;
    struct records_lock *lock = connection_lock_stored(name, NULL, &st, err, sizeof err);
    if (!lock) return fail(exit_for(st), err);
    struct vault_record r;
    rc = records_load(name, &r, err, sizeof err);
    if (rc == VAULT_NOT_FOUND || rc == VAULT_PG_UNREACHABLE) {
        records_unlock(lock);
        if (rc == VAULT_PG_UNREACHABLE) return fail(EXIT_NETWORK, err);
        snprintf(err, sizeof err, "no connection named '%s'%s (see `vsrun auth list`)", name, shared ? " in the shared vault" : "");
        return fail(EXIT_USAGE, err);
    }
    if (rc != 0) {
        fprintf(stderr, "vsrun auth: could not revoke: %s\n", err);
    } else if (!r.refresh_token && !r.access_token) {
        printf("Nothing to revoke for '%s' (it was already disconnected).\n", name);
    } else if (oauth_revoke(&r, err, sizeof err) == 0) {
        printf("Revoked the tokens at %s.\n", r.identity_url);
    } else {
        fprintf(stderr, "vsrun auth: could not revoke the tokens at PagerDuty: %s\n"
                        "  (the connection is deleted anyway; an app owner can revoke all tokens under App Registration)\n", err);
    }
    vault_record_clear(&r);
    rc = records_remove(lock, err, sizeof err);
    records_unlock(lock);
    if (rc != 0 && rc != VAULT_NOT_FOUND) return fail(store_exit(rc), err);
    char def[VAULT_NAME_MAX];
    if (!shared && vault_config_get("default", def, sizeof def) == 0 && strcmp(def, name) == 0)
        vault_config_set("default", NULL, err, sizeof err);
    printf("Disconnected '%s'%s.\n", name, shared ? " (its row in the shared vault is deleted)" : "");
    return EXIT_OK;
}

int cmd_auth(int argc, char **argv) {
    if (argc == 0) return usage("what to do? login, status, list, logout, reconnect, default or push");
    const char *sub = argv[0];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs(auth_help, stdout);
        return EXIT_OK;
    }
    if (strcmp(sub, "login") == 0) return cmd_login(argc - 1, argv + 1);
    if (strcmp(sub, "status") == 0) return cmd_status(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) return cmd_list(argc - 1, argv + 1);
    if (strcmp(sub, "logout") == 0 || strcmp(sub, "disconnect") == 0) return cmd_logout(argc - 1, argv + 1);
    if (strcmp(sub, "reconnect") == 0) return cmd_reconnect(argc - 1, argv + 1);
    if (strcmp(sub, "default") == 0 || strcmp(sub, "--default") == 0) return cmd_default(argc - 1, argv + 1);
    if (strcmp(sub, "push") == 0) return cmd_auth_push(argc - 1, argv + 1);
    if (strncmp(sub, "--default=", 10) == 0) {
        char *one[1] = {argv[0] + 10};
        return cmd_default(1, one);
    }
    return usage("unknown command '%s' (login, status, list, logout, reconnect, default, push)", sub);
}
