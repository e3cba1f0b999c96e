/* host/oauth.c and the credential layer (host/connection.c) against the real sandbox
 * (served in-process by host/server.c over a real socket): login through a scripted
 * browser, open, refresh with generations, a refresh whose save fails, invalid_grant, the
 * early refresh inside the leeway, and the minimum interval between forced refreshes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "check.h"
#include "connection.h"
#include "oauth.h"
#include "secrets.h"
#include "server.h"
#include "vault.h"

static char home[256];

static int login(const char *url, const char *name, struct vault_record *r, char *err, size_t errlen) {
    struct oauth_login lo = {name, "us", "vsrun-sandbox-public-client", NULL, "write", url, url, 0, 20};
    return oauth_login_run(&lo, r, err, errlen);
}

static void free_conn(struct connection **c) {
    connection_free(*c);
    *c = NULL;
}

static int open_conn(const char *name, struct connection **c, char *err, size_t errlen) {
    free_conn(c);
    return connection_open(name, NULL, c, err, errlen);
}

/* Makes the next record write fail at the rename: the record's path becomes a non-empty
 * directory just before it. */
static void block_rename(void) {
    char path[512], saved[512], inner[600];
    snprintf(path, sizeof path, "%s/t.conn", home);
    snprintf(saved, sizeof saved, "%s/t.conn.saved", home);
    snprintf(inner, sizeof inner, "%s/t.conn/x", home);
    if (rename(path, saved) != 0 || mkdir(path, 0700) != 0) perror("block_rename");
    FILE *f = fopen(inner, "w");
    if (f) fclose(f);
}

static void unblock_rename(void) {
    char path[512], saved[512], inner[600];
    snprintf(path, sizeof path, "%s/t.conn", home);
    snprintf(saved, sizeof saved, "%s/t.conn.saved", home);
    snprintf(inner, sizeof inner, "%s/t.conn/x", home);
    unlink(inner);
    rmdir(path);
    if (rename(saved, path) != 0) perror("unblock_rename");
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(home, sizeof home, "/tmp/vsrun-oauth-test-XXXXXX");
    if (!mkdtemp(home)) return 1;
    setenv("VSRUN_HOME", home, 1);
    setenv("VSRUN_KEY", "q6gW0pFZ3yJ9sT1m0c8r7XkLz5a2Hn4b6dEeVvYuIoU=", 1);
    /* the scripted browser: follows authorize -> 302 -> our callback */
    setenv("BROWSER", "curl -s -L -o /dev/null", 1);
    secrets_capture_env();
    char err[1024];
    struct server_config cfg = {.module = "sandbox", .args_json = "{\"token_ttl\":3600}"};
    struct server *srv = server_start(&cfg, err, sizeof err);
    CHECK(srv != NULL, "oauth sandbox started");
    if (!srv) return check_done();
    const char *url = server_url(srv);

    struct vault_record r;
    memset(&r, 0, sizeof r);
    int rc = login(url, "t", &r, err, sizeof err);
    CHECK(rc == 0 && r.access_token && r.refresh_token && r.connected && r.generation == 0, "oauth login through the browser");
    CHECK(r.expires_at > (double)time(NULL) + 3500 && r.token_lifetime == 3600 && strcmp(r.scope, "write") == 0 &&
              r.user_email[0] && strcmp(r.api_url, url) == 0,
          "oauth login fills expiry, the scope asked for, user, URLs");
    CHECK(vault_save(&r, err, sizeof err) == 0, "oauth record saved");
    char first_token[256];
    snprintf(first_token, sizeof first_token, "%s", r.access_token ? r.access_token : "");
    vault_record_clear(&r);

    struct connection *c = NULL, *stale = NULL, *d = NULL;
    CHECK(open_conn("t", &c, err, sizeof err) == CRED_OK && c->kind == CONN_OAUTH && c->token &&
              strcmp(c->token, first_token) == 0 && c->generation == 0 && strcmp(c->api_url, url) == 0,
          "oauth load fills the connection");
    CHECK(open_conn(NULL, &stale, err, sizeof err) == CRED_OK && strcmp(stale->token, first_token) == 0,
          "oauth load of the only connection when none is named");


    /* refresh after a 401: a new token, the generation moves, the rotated token is stored */
    CHECK(connection_refresh(c, NULL, err, sizeof err) == CRED_OK && c->token && strcmp(c->token, first_token) != 0 &&
              c->generation == 1,
          "oauth refresh gives a new token and generation");
    /* a second forced refresh within the minimum interval is not made (a script answered
     * by 401s cannot rotate tokens at will): the connection keeps its token and generation */
    char kept[256];
    snprintf(kept, sizeof kept, "%s", c->token);
    CHECK(connection_refresh(c, NULL, err, sizeof err) == CRED_OK && strcmp(c->token, kept) == 0 && c->generation == 1,
          "oauth forced refresh within the minimum interval keeps the token");
    connection_min_forced_refresh = 0;
    CHECK(vault_load("t", &r, err, sizeof err) == 0 && r.generation == 1 && strcmp(r.access_token, c->token) == 0,
          "oauth refresh saved the rotated tokens");
    vault_record_clear(&r);
    /* a caller that saw generation 0 gets the stored token instead of refreshing again */
    CHECK(connection_refresh(stale, NULL, err, sizeof err) == CRED_OK && strcmp(stale->token, c->token) == 0 && stale->generation == 1,
          "oauth stale caller reuses another refresh");

    /* a refresh whose save fails: an error, and the new token is not used */
    char before[256];
    snprintf(before, sizeof before, "%s", c->token);
    vault_before_rename_hook = block_rename;
    rc = connection_refresh(c, NULL, err, sizeof err);
    vault_before_rename_hook = NULL;
    unblock_rename();
    CHECK(rc == CRED_FAILED && strstr(err, "could not save it") && strcmp(c->token, before) == 0 && c->generation == 1,
          "oauth refresh with a failed save keeps the old token");
    CHECK(!strstr(err, "pdsbx"), "oauth save error holds no token");
    /* the server rotated the refresh token the vault could not keep: the grant is gone */
    rc = connection_refresh(c, NULL, err, sizeof err);
    CHECK(rc == CRED_RECONNECT && strcmp(err, "PagerDuty connection 't' was lost \xe2\x80\x94 run `vsrun auth reconnect t`") == 0,
          "oauth invalid_grant returns -2 with the reconnect message");
    CHECK(vault_load("t", &r, err, sizeof err) == 0 && r.connected == 0 && r.access_token == NULL, "oauth invalid_grant marks the record disconnected");
    vault_record_clear(&r);
    CHECK(open_conn("t", &d, err, sizeof err) == CRED_RECONNECT && strstr(err, "was lost") && d == NULL,
          "oauth load of a disconnected connection returns -2");

    /* early refresh: a token inside the leeway is refreshed when loaded */
    memset(&r, 0, sizeof r);
    CHECK(login(url, "u", &r, err, sizeof err) == 0, "oauth second login");
    r.expires_at = (double)time(NULL) + 60; /* 5 min leeway for a 1 h token */
    vault_save(&r, err, sizeof err);
    snprintf(before, sizeof before, "%s", r.access_token);
    vault_record_clear(&r);
    CHECK(open_conn("u", &d, err, sizeof err) == CRED_OK && strcmp(d->token, before) != 0 && d->generation == 1 &&
              d->expires_at > (double)time(NULL) + 3500,
          "oauth load refreshes inside the leeway");
    CHECK(open_conn("nosuch", &d, err, sizeof err) == CRED_MISSING && strstr(err, "no PagerDuty connection named 'nosuch'"),
          "oauth load of an unknown name");
    CHECK(open_conn(NULL, &d, err, sizeof err) == CRED_CONFIG && strstr(err, "several PagerDuty connections and no default"),
          "oauth no default among several");
    vault_config_set("default", "u", err, sizeof err);
    CHECK(open_conn(NULL, &d, err, sizeof err) == CRED_OK && strcmp(d->name, "u") == 0, "oauth default connection");

    /* a URL read back from the vault is checked again: a record whose API URL is plain http
     * to another host is a configuration error, and no token goes there */
    CHECK(vault_load("u", &r, err, sizeof err) == 0, "oauth record for the URL check");
    char good_api[256];
    snprintf(good_api, sizeof good_api, "%s", r.api_url);
    snprintf(r.api_url, sizeof r.api_url, "http://api.example.com");
    CHECK(vault_save(&r, err, sizeof err) == 0, "oauth record with a bad API URL saved");
    vault_record_clear(&r);
    CHECK(open_conn("u", &d, err, sizeof err) == CRED_CONFIG && d == NULL && strstr(err, "its API URL must use https://"),
          "oauth a bad API URL read back from the vault is a config error");
    CHECK(connection_load_record("u", &r, err, sizeof err) == CRED_CONFIG && r.access_token == NULL,
          "oauth connection_load_record checks the URL and clears the record");
    CHECK(vault_load("u", &r, err, sizeof err) == 0, "oauth record reloaded");
    snprintf(r.api_url, sizeof r.api_url, "%s", good_api);
    CHECK(vault_save(&r, err, sizeof err) == 0, "oauth record URL restored");
    vault_record_clear(&r);

    /* revoke: the sandbox then refuses the refresh token */
    CHECK(vault_load("u", &r, err, sizeof err) == 0 && oauth_revoke(&r, err, sizeof err) == 0, "oauth revoke");
    vault_record_clear(&r);
    CHECK(open_conn("u", &d, err, sizeof err) == CRED_OK, "oauth load after revoke (token not yet known dead)");
    CHECK(connection_refresh(d, NULL, err, sizeof err) == CRED_RECONNECT, "oauth refresh after revoke needs a reconnect");
    free_conn(&d);

    free_conn(&c);
    free_conn(&stale);
    server_stop(srv);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    if (system(cmd) != 0) perror("rm");
    secrets_wipe();
    curl_global_cleanup();
    return check_done();
}
