/* OAuth 2.0 for PagerDuty connections (oauth.h): authorization code + PKCE login, the
 * refresh grant, revoke, Get User `me`. Storage and locking are the caller's. Token,
 * refresh token, code, verifier and client secret live only in C buffers that are
 * cleansed after use; error messages name URLs and OAuth error codes, never values. */
#include "oauth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "http.h"
#include "jsontext.h"
#include "oauth_callback.h"
#include "util.h"
#include "vault.h"

#define MAX_BODY ((size_t)1 << 20)

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wipe_free(char *s) {
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void oauth_reconnect_message(const char *name, char *err, size_t errlen) {
    snprintf(err, errlen, "PagerDuty connection '%s' was lost \xe2\x80\x94 run `vsrun auth reconnect %s`", name, name);
}

/* --- small helpers ---------------------------------------------------------------------- */

/* 32 random bytes → 43 characters */
static int random_b64url(char out[44]) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) return -1;
    util_base64url(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static void pkce_challenge(const char *verifier, char out[44]) {
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), h);
    util_base64url(h, sizeof h, out);
}

/* Appends name=value, form/query-encoded ('+' and every reserved byte escaped). */
static void sb_param(struct util_buf *b, const char *name, const char *value) {
    static const char hex[] = "0123456789ABCDEF";
    if (b->len && b->p[b->len - 1] != '?') util_buf_add(b, "&", 1);
    util_buf_str(b, name);
    util_buf_add(b, "=", 1);
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        if (isalnum(*s) || *s == '-' || *s == '.' || *s == '_' || *s == '~') util_buf_add(b, (const char *)s, 1);
        else {
            char e[3] = {'%', hex[*s >> 4], hex[*s & 15]};
            util_buf_add(b, e, 3);
        }
    }
}

/* Removes any of the given secrets from a message the server wrote. */
static void redact(char *msg, const char *const *secrets, int n) {
    for (int i = 0; i < n; i++) {
        const char *s = secrets[i];
        size_t k = s ? strlen(s) : 0;
        if (k < 4) continue;
        char *hit;
        while ((hit = strstr(msg, s)) != NULL) { /* the marker is shorter than the secret */
            memcpy(hit, "***", 3);
            memmove(hit + 3, hit + k, strlen(hit + k) + 1);
        }
    }
}

/* Joins base (without trailing slashes) and path. */
static void join_url(char *out, size_t n, const char *base, const char *path) {
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') bl--;
    snprintf(out, n, "%.*s%s", (int)bl, base, path);
}

/* --- HTTP through blocking libcurl calls ------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    struct util_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > MAX_BODY) return 0;
    util_buf_add(b, data, n);
    return b->failed ? 0 : n;
}

/* Asked by curl while a transfer runs: nonzero aborts it (the caller's deadline, Ctrl-C). */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return cred_should_stop(ud);
}

/* Sends one request. form (POST body), bearer and w may be NULL. Returns the HTTP status,
 * or CRED_NETWORK / CRED_TIMEOUT (w said stop) with err set. body receives the response. */
static long http_call(const char *url, const char *form, const char *bearer, const struct cred_wait *w,
                      struct util_buf *body, char *err, size_t errlen) {
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "cannot start an HTTP request");
        return CRED_NETWORK;
    }
    struct curl_slist *hdr = NULL;
    struct util_buf auth = {0};
    hdr = curl_slist_append(hdr, bearer ? "Accept: application/vnd.pagerduty+json;version=2" : "Accept: application/json");
    if (bearer) {
        util_buf_str(&auth, "Authorization: Bearer ");
        util_buf_str(&auth, bearer);
        if (!auth.failed) hdr = curl_slist_append(hdr, auth.p);
        util_buf_free(&auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    http_secret_transport(h, url);  /* secrets in every request here: no clear-text proxy */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vsrun/0.1");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (w && w->stop) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)w);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    if (form) {
        /* not COPYPOSTFIELDS: curl reads our buffer, which the caller cleanses */
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    for (struct curl_slist *s = hdr; s; s = s->next) OPENSSL_cleanse(s->data, strlen(s->data));
    curl_slist_free_all(hdr);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errlen, "stopped waiting for %s (--timeout or Ctrl-C)", url);
        return CRED_TIMEOUT;
    }
    if (rc != CURLE_OK) {
        char where[300];
        snprintf(where, sizeof where, "%s", url);
        char *q = strchr(where, '?');
        if (q) *q = '\0';
        snprintf(err, errlen, "cannot reach %s: %s", where, curl_easy_strerror(rc));
        return CRED_NETWORK;
    }
    if (!body->p) util_buf_str(body, "");
    return status;
}

/* --- the token endpoint ----------------------------------------------------------------- */

struct grant {
    char *access_token, *refresh_token;
    double expires_in;
    char scope[128];
    char error[64];
    char description[200];
};

static void grant_clear(struct grant *g) {
    wipe_free(g->access_token);
    wipe_free(g->refresh_token);
    memset(g, 0, sizeof *g);
}

/* Reads the token endpoint's answer. 0 = tokens in g; -1 = refused (g->error set, err
 * explains); CRED_NETWORK (a 5xx: the grant is not lost). secrets are redacted from any
 * server text. */
static int token_parse(const char *url, long status, const char *b, size_t n, struct grant *g,
                       const char *const *secrets, int nsecrets, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    if (status >= 500) { /* the identity server failed: transient, the grant is not lost */
        snprintf(err, errlen, "%s answered HTTP %ld", url, status);
        return CRED_NETWORK;
    }
    if (b == NULL) b = "", n = 0;
    int rc = -1;
    if (status == 200) {
        g->access_token = jt_string(b, n, "access_token");
        g->refresh_token = jt_string(b, n, "refresh_token");
        char type[32] = "bearer";
        jt_string_to(b, n, "token_type", type, sizeof type);
        if (jt_number(b, n, "expires_in", &g->expires_in) != 0) g->expires_in = 0;
        jt_string_to(b, n, "scope", g->scope, sizeof g->scope);
        if (g->access_token && *g->access_token && strcasecmp(type, "bearer") == 0) rc = 0;
        else snprintf(err, errlen, "%s answered 200 without a bearer access token", url);
    } else {
        jt_string_to(b, n, "error", g->error, sizeof g->error);
        jt_string_to(b, n, "error_description", g->description, sizeof g->description);
        for (char *p = g->error; *p; p++) if (!isgraph((unsigned char)*p)) *p = '?';
        for (char *p = g->description; *p; p++) if (*p < 0x20 || *p == 0x7f) *p = ' ';
        redact(g->description, secrets, nsecrets);
        redact(g->error, secrets, nsecrets);
        if (g->error[0])
            snprintf(err, errlen, "PagerDuty refused the token request (HTTP %ld): %s%s%s%s", status, g->error,
                     g->description[0] ? " (" : "", g->description, g->description[0] ? ")" : "");
        else
            snprintf(err, errlen, "PagerDuty refused the token request: HTTP %ld from %s", status, url);
    }
    if (rc != 0) {
        wipe_free(g->access_token);
        wipe_free(g->refresh_token);
        g->access_token = g->refresh_token = NULL;
    }
    return rc;
}

/* POSTs form to {identity}/oauth/token and reads the answer (token_parse), or returns
 * CRED_NETWORK / CRED_TIMEOUT. */
static int token_request(const char *identity_url, const char *form, const struct cred_wait *w, struct grant *g,
                         const char *const *secrets, int nsecrets, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    char url[512];
    join_url(url, sizeof url, identity_url, "/oauth/token");
    struct util_buf body = {0};
    long status = http_call(url, form, NULL, w, &body, err, errlen);
    int rc = status < 0 ? (int)status : token_parse(url, status, body.p, body.len, g, secrets, nsecrets, err, errlen);
    util_buf_free(&body);
    return rc;
}

/* Applies a grant to the record: rotated tokens, expiry, last refresh. The scope stays the
 * one the login asked for: a granted scope is not stored, so reconnect cannot widen it. */
static int apply_grant(struct vault_record *r, const struct grant *g) {
    if (vault_set_secret(&r->access_token, g->access_token) != 0) return -1;
    if (g->refresh_token && *g->refresh_token && vault_set_secret(&r->refresh_token, g->refresh_token) != 0) return -1;
    double now = wall_now();
    r->token_lifetime = g->expires_in > 0 ? g->expires_in : 0;
    r->expires_at = g->expires_in > 0 ? now + g->expires_in : 0;
    r->last_refresh = now;
    return 0;
}

long oauth_get_me(const char *api_url, const char *token, char *name, size_t namelen, char *email, size_t emaillen,
                  char *id, size_t idlen, char *err, size_t errlen) {
    char url[512];
    join_url(url, sizeof url, api_url, "/users/me");
    struct util_buf body = {0};
    long status = http_call(url, NULL, token, NULL, &body, err, errlen);
    if (status == 200) {
        const char *u;
        size_t ulen;
        if (jt_find(body.p, body.len, "user", &u, &ulen) == 1) {
            jt_string_to(u, ulen, "name", name, namelen);
            jt_string_to(u, ulen, "email", email, emaillen);
            jt_string_to(u, ulen, "id", id, idlen);
        } else {
            snprintf(err, errlen, "%s answered without a user", url);
            status = 502;
        }
    } else if (status > 0) {
        snprintf(err, errlen, "GET %s answered HTTP %ld", url, status);
    }
    util_buf_free(&body);
    return status;
}

/* --- login ------------------------------------------------------------------------------ */

/* Opens url with $BROWSER, else xdg-open. Returns 0 when a browser command was started. */
static int open_browser(const char *url) {
    const char *browser = getenv("BROWSER");
    int use_xdg = 0;
    if (!browser || !*browser) {
        const char *path = getenv("PATH");
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
        for (char *dir = strtok(buf, ":"); dir && !use_xdg; dir = strtok(NULL, ":")) {
            char cand[4200];
            snprintf(cand, sizeof cand, "%s/xdg-open", dir);
            use_xdg = access(cand, X_OK) == 0;
        }
        if (!use_xdg) return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        closefrom(3);
        setsid();
        if (use_xdg) execlp("xdg-open", "xdg-open", url, (char *)NULL);
        else execl("/bin/sh", "sh", "-c", "$BROWSER \"$1\"", "vsrun-browser", url, (char *)NULL);
        _exit(127);
    }
    return 0;
}

enum cred_status oauth_login_run(const struct oauth_login *o, struct vault_record *r, char *err, size_t errlen) {
    char verifier[44], challenge[44], state[44];
    if (random_b64url(verifier) != 0 || random_b64url(state) != 0) {
        snprintf(err, errlen, "cannot get random bytes");
        return -1;
    }
    pkce_challenge(verifier, challenge);
    int rc = -1;
    struct util_buf url = {0}, form = {0};
    struct callback_result res = {0};
    struct grant g = {0};
    struct oauth_callback *cb = callback_start(state, err, errlen);
    if (!cb) goto out;
    char redirect[64];
    snprintf(redirect, sizeof redirect, "http://127.0.0.1:%u/callback", callback_port(cb));
    char base[512];
    join_url(base, sizeof base, o->identity_url, "/oauth/authorize?");
    util_buf_str(&url, base);
    sb_param(&url, "client_id", o->client_id);
    sb_param(&url, "redirect_uri", redirect);
    sb_param(&url, "response_type", "code");
    sb_param(&url, "scope", o->scope);
    sb_param(&url, "code_challenge", challenge);
    sb_param(&url, "code_challenge_method", "S256");
    sb_param(&url, "state", state);
    if (url.failed) goto out;
    int opened = !o->no_browser && open_browser(url.p) == 0;
    if (opened)
        fprintf(stderr, "Opening the browser to connect '%s' to PagerDuty. If it does not open, visit:\n\n  %s\n\n", o->name, url.p);
    else
        fprintf(stderr, "Open this address in a browser to connect '%s' to PagerDuty:\n\n  %s\n\n", o->name, url.p);
    if (o->no_browser)
        fprintf(stderr, "On another machine? After approving, paste the address the browser ends on\n"
                        "(http://127.0.0.1:%u/callback?...) here and press Enter.\n", callback_port(cb));
    fprintf(stderr, "Waiting for the sign-in (up to %.0f s)...\n", o->timeout_sec);
    callback_wait(cb, o->timeout_sec, o->no_browser, &res);
    switch (res.outcome) {
    case CALLBACK_CODE:
        break;
    case CALLBACK_TIMEOUT:
        snprintf(err, errlen, "login timed out after %.0f s without a sign-in (use --timeout SEC for more time)", o->timeout_sec);
        rc = CRED_TIMEOUT;
        goto out;
    case CALLBACK_DENIED:
        snprintf(err, errlen, "PagerDuty did not authorize the connection: %s%s%s%s", res.error,
                 res.error_description[0] ? " (" : "", res.error_description, res.error_description[0] ? ")" : "");
        goto out;
    case CALLBACK_BAD_STATE:
        snprintf(err, errlen, "login aborted: the callback's state does not match this login (a stale or forged sign-in link); nothing was exchanged");
        goto out;
    case CALLBACK_NO_CODE:
        snprintf(err, errlen, "login failed: the callback carried no authorization code");
        goto out;
    default:
        snprintf(err, errlen, "login failed: the callback listener stopped");
        goto out;
    }
    /* the code is valid for 30 seconds: exchange at once */
    sb_param(&form, "grant_type", "authorization_code");
    sb_param(&form, "client_id", o->client_id);
    sb_param(&form, "code", res.code);
    sb_param(&form, "redirect_uri", redirect);
    sb_param(&form, "code_verifier", verifier);
    if (o->client_secret) sb_param(&form, "client_secret", o->client_secret);
    if (form.failed) goto out;
    const char *secrets[] = {res.code, verifier, o->client_secret};
    rc = token_request(o->identity_url, form.p, NULL, &g, secrets, 3, err, errlen);
    if (rc != 0) goto out;
    rc = -1;
    if (!g.refresh_token || !*g.refresh_token) {
        snprintf(err, errlen, "PagerDuty issued no refresh token; the connection could not be kept");
        goto out;
    }
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", o->name);
    snprintf(r->client_id, sizeof r->client_id, "%s", o->client_id);
    snprintf(r->region, sizeof r->region, "%s", o->region);
    snprintf(r->api_url, sizeof r->api_url, "%s", o->api_url);
    snprintf(r->identity_url, sizeof r->identity_url, "%s", o->identity_url);
    snprintf(r->scope, sizeof r->scope, "%s", o->scope);
    if (apply_grant(r, &g) != 0 || (o->client_secret && vault_set_secret(&r->client_secret, o->client_secret) != 0)) goto out;
    r->created_at = r->last_refresh;
    r->connected = 1;
    long st = oauth_get_me(r->api_url, r->access_token, r->user_name, sizeof r->user_name, r->user_email,
                           sizeof r->user_email, r->user_id, sizeof r->user_id, err, errlen);
    if (st != 200) {
        char inner[300];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "signed in, but Get User `me` failed (%s); nothing was saved", inner);
        vault_record_clear(r);
        rc = st == CRED_NETWORK ? CRED_NETWORK : -1;
        goto out;
    }
    rc = 0;
out:
    if (cb) callback_free(cb);
    callback_result_clear(&res);
    grant_clear(&g);
    util_buf_free(&url);
    util_buf_free(&form);
    OPENSSL_cleanse(verifier, sizeof verifier);
    OPENSSL_cleanse(state, sizeof state);
    return rc;
}

int oauth_revoke(const struct vault_record *r, char *err, size_t errlen) {
    char url[512];
    join_url(url, sizeof url, r->identity_url, "/oauth/revoke");
    const char *tokens[2] = {r->refresh_token, r->access_token};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!tokens[i] || !*tokens[i]) continue;
        struct util_buf form = {0}, body = {0};
        sb_param(&form, "client_id", r->client_id);
        sb_param(&form, "token", tokens[i]);
        sb_param(&form, "token_type_hint", i == 0 ? "refresh_token" : "access_token");
        if (r->client_secret) sb_param(&form, "client_secret", r->client_secret);
        long st = form.failed ? CRED_NETWORK : http_call(url, form.p, NULL, NULL, &body, err, errlen);
        if (st >= 0 && st != 200 && st != 204) {
            snprintf(err, errlen, "POST %s answered HTTP %ld", url, st);
            rc = -1;
        } else if (st < 0) rc = -1;
        util_buf_free(&form);
        util_buf_free(&body);
    }
    return rc;
}

/* --- the refresh grant ------------------------------------------------------------------ */

int oauth_refresh_form(const struct vault_record *r, struct util_buf *form, char *url, size_t urllen, char *err,
                       size_t errlen) {
    join_url(url, urllen, r->identity_url, "/oauth/token");
    sb_param(form, "grant_type", "refresh_token");
    sb_param(form, "client_id", r->client_id);
    sb_param(form, "refresh_token", r->refresh_token ? r->refresh_token : "");
    if (r->client_secret) sb_param(form, "client_secret", r->client_secret);
    if (form->failed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

enum cred_status oauth_refresh_answer(struct vault_record *r, long status, const char *body, size_t len, char *err,
                                      size_t errlen) {
    char url[512];
    join_url(url, sizeof url, r->identity_url, "/oauth/token");
    struct grant g = {0};
    const char *secrets[] = {r->refresh_token, r->access_token, r->client_secret};
    int rc = token_parse(url, status, body, len, &g, secrets, 3, err, errlen);
    if (rc == -1 && strcmp(g.error, "invalid_grant") == 0) {
        r->connected = 0;
        vault_set_secret(&r->access_token, NULL);
        vault_set_secret(&r->refresh_token, NULL);
        oauth_reconnect_message(r->name, err, errlen);
        rc = CRED_RECONNECT;
    } else if (rc == 0) {
        if (apply_grant(r, &g) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = CRED_FAILED;
        } else
            r->generation++;
    }
    grant_clear(&g);
    return (enum cred_status)rc;
}

enum cred_status oauth_refresh_grant(struct vault_record *r, const struct cred_wait *w, char *err, size_t errlen) {
    if (!r->refresh_token || !*r->refresh_token) {
        oauth_reconnect_message(r->name, err, errlen);
        return CRED_RECONNECT;
    }
    struct util_buf form = {0}, body = {0};
    char url[512];
    if (oauth_refresh_form(r, &form, url, sizeof url, err, errlen) != 0) {
        util_buf_free(&form);
        return CRED_FAILED;
    }
    long status = http_call(url, form.p, NULL, w, &body, err, errlen);
    util_buf_free(&form);
    enum cred_status rc = status < 0 ? (enum cred_status)status : oauth_refresh_answer(r, status, body.p, body.len, err, errlen);
    util_buf_free(&body);
    return rc;
}
