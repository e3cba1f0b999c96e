/* HTTP client: one curl multi per script state drives every transfer. Transfers are added
 * by http_start (Lua: http_core.start) and completed by the scheduler's I/O driver
 * (http_core.poll / http_core.cancel). Bodies and headers are buffered in C; no Lua runs
 * inside curl callbacks. The multi and every in-flight handle belong to a userdata whose
 * __gc frees them, so a script that dies with transfers in flight leaks nothing. */
#include "http.h"
#include "checked_number.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <openssl/crypto.h>

#include "http_policy.h"
#include "modules.h"
#include "secret_auth.h"
#include "util.h"
#include "vm.h"

#define HTTP_USER_AGENT "vsrun/0.1.0"
#define HTTP_DEFAULT_TIMEOUT 60.0
#define HTTP_DEFAULT_CONNECT_TIMEOUT 10.0
#define HTTP_DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)
#define HTTP_MAX_HEADER_BYTES ((size_t)256 * 1024)
#define HTTP_DEFAULT_MAX_PER_HOST 8
#define HTTP_DEFAULT_MAX_TOTAL 64
#define HTTP_POLL_SLICE_MS 100    /* waits are sliced so --timeout and Ctrl-C end the script */
#define HTTP_EASY_POOL 16         /* idle easy handles kept for reuse */
#define HTTP_CTX_KEY "vsrun.http_ctx.instance"
#define HTTP_CTX_MT "vsrun.http_ctx"

struct http_buf {
    char *p;
    size_t len, cap;
};

struct http_ctx;

struct http_transfer {
    long id;
    struct http_ctx *ctx;
    CURL *easy;
    struct curl_slist *req_headers;
    int has_secret;            /* cleanse req_headers before freeing them */
    int refused_socket;        /* the socket would have reached a credential origin */
    char *req_body;
    size_t req_body_len;
    struct http_buf body;      /* response body */
    struct http_buf headers;   /* response headers as "name\0value\0" pairs */
    size_t max_body;
    int too_large;
    int attempt;
    char method[16];
    char *url;
    double started;
    char errbuf[CURL_ERROR_SIZE];
    void (*on_done)(void *ud, const struct http_answer *a);  /* a C caller's answer (http.h) */
    void *done_ud;
    struct http_transfer *prev, *next;
};

struct http_ctx {
    CURLM *multi;
    CURLSH *token_share;       /* the connection pool of credential transfers only */
    struct http_transfer *head;
    long next_id;
    long active;
    CURL *pool[HTTP_EASY_POOL];
    int n_pool;
    int verbose;
    const char *ca_file;       /* from CURL_CA_BUNDLE / SSL_CERT_FILE, or NULL */
    const char *ca_dir;        /* from SSL_CERT_DIR, or NULL */
};

static int http_buf_add(struct http_buf *b, const char *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* ---- redaction ---- */

/* Query parameter names that may carry a secret; matched as substrings, case-insensitive. */
static const char *const http_secret_words[] = {
    "token", "key", "secret", "pass", "pwd", "code", "sig", "auth", "session", "cookie",
    "credential", "jwt", "assertion", "verifier", "otp", "private", NULL};

static int http_hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int http_secret_name(const char *name, size_t len) {
    char low[128];
    if (len >= sizeof low) return 1;  /* too long to check: assume the worst */
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof low - 1; i++) {
        int c = (unsigned char)name[i];
        if (c == '%' && i + 2 < len && http_hexval(name[i + 1]) >= 0 && http_hexval(name[i + 2]) >= 0) {
            c = http_hexval(name[i + 1]) * 16 + http_hexval(name[i + 2]);
            i += 2;
        }
        low[n++] = (char)tolower(c);
    }
    low[n] = '\0';
    if (strcmp(low, "incident_key") == 0) return 0;  /* a de-duplication key, needed to debug duplicates */
    for (const char *const *w = http_secret_words; *w; w++)
        if (strstr(low, *w)) return 1;
    return 0;
}

/* A path segment that looks like a credential: webhook URLs carry theirs in the path
 * (hooks.slack.com/services/T…/B…/SECRET, discord.com/api/webhooks/ID/SECRET,
 * api.telegram.org/botID:SECRET/…). Long and random-looking: 16+ characters mixing letters
 * and digits, or 20+ mixing upper and lower case. PagerDuty IDs (7-14) stay readable. */
static int http_secret_segment(const char *s, size_t n) {
    int digit = 0, upper = 0, lower = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        digit |= isdigit(c) != 0;
        upper |= isupper(c) != 0;
        lower |= islower(c) != 0;
    }
    return (n >= 16 && digit && (upper || lower)) || (n >= 20 && upper && lower);
}

/* Adds the path url[from, to) with secret-looking segments, and any segment after one named
 * like a secret (/token/VALUE), replaced by REDACTED. */
static void http_add_redacted_path(luaL_Buffer *b, const char *url, size_t from, size_t to) {
    int after_secret_name = 0;
    size_t p = from;
    while (p < to) {
        if (url[p] == '/') { luaL_addchar(b, '/'); p++; continue; }
        size_t n = 0;
        while (p + n < to && url[p + n] != '/') n++;
        if (after_secret_name || http_secret_segment(url + p, n)) luaL_addstring(b, "REDACTED");
        else luaL_addlstring(b, url + p, n);
        after_secret_name = http_secret_name(url + p, n);
        p += n;
    }
}

void http_push_redacted_url(lua_State *L, const char *url) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t end = strcspn(url, "#");  /* the fragment is never sent; drop it */
    const char *scheme = strstr(url, "://");
    size_t i = 0;
    if (scheme && (size_t)(scheme - url) < end) {
        size_t auth = (size_t)(scheme - url) + 3;
        size_t auth_end = auth + strcspn(url + auth, "/?#");
        const char *at = memrchr(url + auth, '@', auth_end - auth);  /* the last @ ends userinfo */
        luaL_addlstring(&b, url, auth);
        if (at) {
            luaL_addstring(&b, "REDACTED@");
            auth = (size_t)(at - url) + 1;
        }
        luaL_addlstring(&b, url + auth, auth_end - auth);
        i = auth_end;
    }
    const char *q = memchr(url + i, '?', end - i);
    size_t qpos = q ? (size_t)(q - url) : end;
    http_add_redacted_path(&b, url, i, qpos);
    if (q) {
        luaL_addchar(&b, '?');
        size_t p = qpos + 1;
        while (p < end) {
            size_t plen = strcspn(url + p, "&#");
            if (p + plen > end) plen = end - p;
            const char *eq = memchr(url + p, '=', plen);
            size_t nlen = eq ? (size_t)(eq - (url + p)) : plen;
            if (eq && http_secret_name(url + p, nlen)) {
                luaL_addlstring(&b, url + p, nlen);
                luaL_addstring(&b, "=REDACTED");
            } else if (!eq && plen > 0) {
                luaL_addstring(&b, "REDACTED");  /* a bare value (?SECRET): no name to judge it by */
            } else {
                luaL_addlstring(&b, url + p, plen);
            }
            p += plen;
            if (p < end && url[p] == '&') { luaL_addchar(&b, '&'); p++; }
        }
    }
    luaL_pushresult(&b);
}

/* ---- transfers ---- */

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *ud) {
    struct http_transfer *t = ud;
    size_t n = size * nmemb;
    if (t->body.len + n > t->max_body) {
        t->too_large = 1;
        return 0;  /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return http_buf_add(&t->body, data, n) == 0 ? n : 0;
}

static size_t http_on_header(char *data, size_t size, size_t nmemb, void *ud) {
    struct http_transfer *t = ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {  /* a new response (after 1xx): start over */
        t->headers.len = 0;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (colon == NULL) return n;                    /* the blank line, or folded junk */
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
    if (t->headers.len + nlen + (size_t)(end - v) + 2 > HTTP_MAX_HEADER_BYTES) {
        t->too_large = 1;
        return 0;
    }
    size_t start = t->headers.len;
    if (http_buf_add(&t->headers, data, nlen) != 0 || http_buf_add(&t->headers, "", 1) != 0 ||
        http_buf_add(&t->headers, v, (size_t)(end - v)) != 0 || http_buf_add(&t->headers, "", 1) != 0)
        return 0;
    for (size_t i = start; i < start + nlen; i++)
        t->headers.p[i] = (char)tolower((unsigned char)t->headers.p[i]);
    return n;
}

static void http_release_easy(struct http_ctx *ctx, CURL *easy) {
    if (easy == NULL) return;
    curl_easy_setopt(easy, CURLOPT_SHARE, NULL);  /* curl_easy_reset keeps a share */
    if (ctx->n_pool < HTTP_EASY_POOL) {
        curl_easy_reset(easy);
        ctx->pool[ctx->n_pool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

static void http_buf_wipe(struct http_buf *b) {
    if (b->p) OPENSSL_cleanse(b->p, b->cap);
}

/* Detaches and frees a transfer (in flight or finished). */
static void http_free_transfer(struct http_ctx *ctx, struct http_transfer *t) {
    if (t->on_done) {  /* no answer will come: the C caller learns it once */
        t->on_done(t->done_ud, NULL);
        t->on_done = NULL;
    }
    if (t->easy) {
        curl_multi_remove_handle(ctx->multi, t->easy);
        http_release_easy(ctx, t->easy);
        t->easy = NULL;
        ctx->active--;
    }
    if (t->has_secret) {
        for (struct curl_slist *h = t->req_headers; h; h = h->next) OPENSSL_cleanse(h->data, strlen(h->data));
        if (t->req_body) OPENSSL_cleanse(t->req_body, t->req_body_len);
        http_buf_wipe(&t->body);
        http_buf_wipe(&t->headers);
    }
    curl_slist_free_all(t->req_headers);
    free(t->req_body);
    free(t->body.p);
    free(t->headers.p);
    free(t->url);
    if (t->prev) t->prev->next = t->next;
    else if (ctx->head == t) ctx->head = t->next;
    if (t->next) t->next->prev = t->prev;
    free(t);
}

static const char *const http_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};

static int http_valid_method(const char *m) {
    for (const char *const *p = http_methods; *p; p++)
        if (strcmp(m, *p) == 0) return 1;
    return 0;
}

static int http_valid_url(const char *u) {
    size_t skip;
    if (strncasecmp(u, "http://", 7) == 0) skip = 7;
    else if (strncasecmp(u, "https://", 8) == 0) skip = 8;
    else return 0;
    if (u[skip] == '\0' || u[skip] == '/') return 0;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= ' ' || *p == 0x7f) return 0;
    return 1;
}

static int http_valid_header(const struct http_header *h) {
    if (h->name == NULL || h->value == NULL || h->name[0] == '\0') return 0;
    for (const unsigned char *p = (const unsigned char *)h->name; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ':') return 0;
    for (const char *p = h->value; *p; p++)
        if (*p == '\r' || *p == '\n') return 0;
    return 1;
}

static struct http_ctx *http_ctx_get(lua_State *L);

static int http_loopback_port(const struct sockaddr *sa, long *port) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uint32_t a = ntohl(in->sin_addr.s_addr);
        *port = ntohs(in->sin_port);
        return (a >> 24) == 127 || a == 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const struct in6_addr *a = &in6->sin6_addr;
        *port = ntohs(in6->sin6_port);
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* A script's socket: names were checked before the transfer, but any host name may resolve
 * to loopback, so the address itself must not be a credential origin's. */
static curl_socket_t http_open_script_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
    struct http_transfer *t = ud;
    long port = 0;
    (void)purpose;
    if (http_loopback_port(&a->addr, &port) && http_policy_loopback_port_guarded(port)) {
        t->refused_socket = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

void http_secret_transport(void *curl_easy, const char *url) {
    CURL *e = curl_easy;
    if (strncasecmp(url, "https://", 8) == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);  /* a proxy sees CONNECT host:443, then TLS */
    } else {
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");         /* clear text (loopback only): never a proxy */
        curl_easy_setopt(e, CURLOPT_PROXY, "");
    }
}

/* Builds the easy handle of t from req. Returns NULL or a static error message. */
static const char *http_setup(struct http_ctx *ctx, struct http_transfer *t, const struct http_request *req) {
    CURL *e = t->easy;
    int has_expect = 0;
    t->has_secret = req->secret_body;
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (!http_valid_header(h)) return "invalid header name or value (no CR/LF, no ':' in names)";
        if (strcasecmp(h->name, "expect") == 0) has_expect = 1;
        size_t nlen = strlen(h->name), vlen = strlen(h->value);
        char *line = malloc(nlen + vlen + 3);
        if (line == NULL) return "out of memory";
        /* "Name;" is curl's spelling of a header with an empty value */
        if (vlen == 0) snprintf(line, nlen + 2, "%s;", h->name);
        else snprintf(line, nlen + vlen + 3, "%s: %s", h->name, h->value);
        struct curl_slist *nl = curl_slist_append(t->req_headers, line);
        if (h->secret) {
            t->has_secret = 1;
            OPENSSL_cleanse(line, nlen + vlen + 2);
        }
        free(line);
        if (nl == NULL) return "out of memory";
        t->req_headers = nl;
    }
    if (!has_expect) {  /* no 100-continue round trip for large bodies */
        struct curl_slist *nl = curl_slist_append(t->req_headers, "Expect:");
        if (nl == NULL) return "out of memory";
        t->req_headers = nl;
    }
    if (req->body && req->body_len > 0) {
        t->req_body = malloc(req->body_len);
        if (t->req_body == NULL) return "out of memory";
        memcpy(t->req_body, req->body, req->body_len);
        t->req_body_len = req->body_len;
    }
    double timeout = req->timeout > 0 ? req->timeout : HTTP_DEFAULT_TIMEOUT;
    double ctimeout = req->connect_timeout > 0 ? req->connect_timeout : HTTP_DEFAULT_CONNECT_TIMEOUT;
    if (ctimeout > timeout) ctimeout = timeout;

    curl_easy_setopt(e, CURLOPT_URL, t->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* never on: the script gets the 3xx. curl would follow with custom headers other than
     * Authorization and Cookie (an X-Api-Key secret) to whatever host the server names */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ctx->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, ctx->ca_file);
    if (ctx->ca_dir) curl_easy_setopt(e, CURLOPT_CAPATH, ctx->ca_dir);
    curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000.0));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(ctimeout * 1000.0));
    if (strcmp(t->method, "HEAD") != 0)  /* a HEAD's Content-Length describes a body never sent */
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->req_headers);
    /* Script requests and credential transfers never share a connection: a script that
     * left a half-written request on a kept-alive connection would otherwise have the next
     * PagerDuty request, Authorization and all, complete it (request smuggling). */
    curl_easy_setopt(e, CURLOPT_SHARE, t->has_secret ? ctx->token_share : NULL);
    if (t->has_secret) http_secret_transport(e, t->url);
    else if (req->no_proxy) curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    if (req->script && !req->no_proxy) {
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_open_script_socket);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    }

    const char *m = t->method;
    int wants_body = t->req_body != NULL || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
                     strcmp(m, "PATCH") == 0;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (wants_body) {
        /* POSTFIELDS with an explicit size also sends Content-Length: 0 for an empty body */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req_body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req_body ? t->req_body : "");
        if (strcmp(m, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }
    return NULL;
}

static const char *http_last_error = "";

const char *http_start_error(void) { return http_last_error; }

static long http_fail(const char *why) {
    http_last_error = why;
    return -1;
}

long http_start(lua_State *L, const struct http_request *req) {
    struct http_ctx *ctx = http_ctx_get(L);
    const char *err = NULL;
    if (req->method == NULL || !http_valid_method(req->method)) err = "unsupported HTTP method";
    else if (req->url == NULL || !http_valid_url(req->url)) err = "URL must be http:// or https:// with a host and no spaces";
    else if (req->timeout < 0 || req->connect_timeout < 0) err = "timeouts must be positive";
    if (err) return http_fail(err);
    struct http_transfer *t = calloc(1, sizeof *t);
    if (t == NULL) return http_fail("out of memory");
    t->ctx = ctx;
    t->max_body = req->max_body ? req->max_body : HTTP_DEFAULT_MAX_BODY;
    t->attempt = req->attempt > 0 ? req->attempt : 1;
    t->on_done = req->on_done;
    t->done_ud = req->done_ud;
    snprintf(t->method, sizeof t->method, "%s", req->method);
    t->url = strdup(req->url);
    if (ctx->n_pool > 0) t->easy = ctx->pool[--ctx->n_pool];
    else t->easy = curl_easy_init();
    /* linked before setup so one free path handles every failure */
    t->next = ctx->head;
    if (ctx->head) ctx->head->prev = t;
    ctx->head = t;
    if (t->url == NULL || t->easy == NULL) err = "out of memory";
    else err = http_setup(ctx, t, req);
    if (err == NULL && curl_multi_add_handle(ctx->multi, t->easy) != CURLM_OK) err = "cannot add the transfer";
    if (err) {
        if (t->easy) { http_release_easy(ctx, t->easy); t->easy = NULL; }
        t->on_done = NULL;  /* the caller learns it from the -1 */
        http_free_transfer(ctx, t);
        return http_fail(err);
    }
    ctx->active++;
    t->id = ++ctx->next_id;
    t->started = util_monotonic();
    return t->id;
}

/* ---- results ---- */

static const char *http_error_kind(struct http_transfer *t, CURLcode rc) {
    if (t->refused_socket) return "permission_denied";
    if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) return "too_large";
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    default:
        return "network";
    }
}

static void http_push_headers(lua_State *L, struct http_transfer *t) {
    lua_newtable(L);
    size_t p = 0;
    while (p < t->headers.len) {
        const char *name = t->headers.p + p;
        p += strlen(name) + 1;
        const char *value = t->headers.p + p;
        p += strlen(value) + 1;
        if (lua_getfield(L, -1, name) == LUA_TSTRING) {  /* repeated header: join, as RFC 9110 allows */
            lua_pushliteral(L, ", ");
            lua_pushstring(L, value);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
            lua_pushstring(L, value);
        }
        lua_setfield(L, -2, name);
    }
}

void http_push_parsed_headers(lua_State *L, const char *raw, size_t n) {
    struct http_transfer t;
    memset(&t, 0, sizeof t);
    size_t p = 0;
    while (p < n && !t.too_large) {
        const char *nl = memchr(raw + p, '\n', n - p);
        size_t len = nl ? (size_t)(nl - (raw + p)) + 1 : n - p;
        if (http_on_header((char *)raw + p, 1, len, &t) != len) break;
        p += len;
    }
    http_push_headers(L, &t);
    free(t.headers.p);
}

static void http_log(struct http_ctx *ctx, lua_State *L, struct http_transfer *t, const char *outcome, double elapsed) {
    if (!ctx->verbose) return;
    http_push_redacted_url(L, t->url);
    char retry[32] = "";
    if (t->attempt > 1) snprintf(retry, sizeof retry, ", retry %d", t->attempt - 1);
    fprintf(stderr, "vsrun http: %s %s -> %s (%.0f ms, %zu bytes%s)\n", t->method, lua_tostring(L, -1), outcome,
            elapsed * 1000.0, t->body.len, retry);
    fflush(stderr);
    lua_pop(L, 1);
}

/* Pushes the result table of finished transfer t. A transfer started with on_done hands
 * its answer to C instead: Lua gets the outcome without headers or body. */
static void http_push_result(lua_State *L, struct http_ctx *ctx, struct http_transfer *t, CURLcode rc) {
    int for_c = t->on_done != NULL;
    double elapsed = util_monotonic() - t->started;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t pretransfer = 0;
    long request_size = 0;
    curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_size);
    lua_createtable(L, 0, 8);
    if (status > 0) {
        lua_pushinteger(L, status);
        lua_setfield(L, -2, "status");
    }
    if (!for_c) {
        http_push_headers(L, t);
        lua_setfield(L, -2, "headers");
    }
    /* sent: the request may have reached the server (what a non-idempotent retry must know) */
    lua_pushboolean(L, pretransfer > 0 || request_size > 0 || status > 0);
    lua_setfield(L, -2, "sent");
    lua_pushnumber(L, elapsed);
    lua_setfield(L, -2, "elapsed");
    char outcome[32];
    struct http_answer a = {status, t->body.p ? t->body.p : "", t->body.len, NULL, NULL};
    if (rc == CURLE_OK) {
        if (!for_c) {
            lua_pushlstring(L, t->body.p ? t->body.p : "", t->body.len);
            lua_setfield(L, -2, "body");
        }
        snprintf(outcome, sizeof outcome, "%ld", status);
    } else {
        const char *kind = http_error_kind(t, rc);
        lua_pushstring(L, kind);
        lua_setfield(L, -2, "error_kind");
        if (t->refused_socket)
            lua_pushliteral(L, "the host resolves to the loopback port that receives your PagerDuty "
                               "credential, so http never connects there: use the pagerduty module");
        else if (strcmp(kind, "too_large") == 0)
            lua_pushfstring(L, "response larger than the limit of %I bytes (max_body)", (lua_Integer)t->max_body);
        else if (t->errbuf[0])
            lua_pushstring(L, t->errbuf);
        else
            lua_pushstring(L, curl_easy_strerror(rc));
        lua_setfield(L, -2, "error_message");
        snprintf(outcome, sizeof outcome, "%s", kind);
        a.error_kind = kind;
    }
    if (for_c) {
        lua_getfield(L, -1, "error_message");  /* anchored by the result table */
        a.error_message = lua_tostring(L, -1);
        t->on_done(t->done_ud, &a);
        t->on_done = NULL;
        lua_pop(L, 1);
    }
    http_log(ctx, L, t, outcome, elapsed);
}

/* Moves finished transfers into the flat array at index out (after n entries). */
static int http_collect(lua_State *L, struct http_ctx *ctx, int out, int n) {
    CURLMsg *m;
    int queued;
    while ((m = curl_multi_info_read(ctx->multi, &queued)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        struct http_transfer *t = NULL;
        CURLcode rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t == NULL) continue;
        lua_pushinteger(L, t->id);
        lua_rawseti(L, out, ++n);
        http_push_result(L, ctx, t, rc);
        lua_rawseti(L, out, ++n);
        http_free_transfer(ctx, t);
    }
    return n;
}

/* ---- the I/O driver and the Lua API ---- */

static struct http_ctx *http_ctx_of(lua_State *L) {
    return luaL_checkudata(L, lua_upvalueindex(1), HTTP_CTX_MT);
}

/* poll(timeout_sec): blocks until a transfer finishes or timeout_sec passes (-1 = until
 * one finishes); returns { id1, result1, id2, result2, ... }. */
static int http_poll(lua_State *L) {
    struct http_ctx *ctx = http_ctx_of(L);
    double timeout = luaL_optnumber(L, 1, -1);
    double start = util_monotonic();
    lua_newtable(L);
    int out = lua_gettop(L);
    for (;;) {
        vm_check_limits(L);
        int running = 0;
        curl_multi_perform(ctx->multi, &running);
        if (http_collect(L, ctx, out, 0) > 0) break;
        long wait = HTTP_POLL_SLICE_MS;
        if (timeout >= 0) {
            double left = timeout - (util_monotonic() - start);
            if (left <= 0) break;
            if (left * 1000.0 < (double)wait) wait = (long)(left * 1000.0) + 1;
        } else if (ctx->active == 0) {
            break;  /* nothing can finish: let the scheduler see it */
        }
        long deadline = vm_deadline_ms(L);
        if (deadline >= 0 && deadline < wait) wait = deadline;
        curl_multi_poll(ctx->multi, NULL, 0, (int)wait, NULL);
    }
    return 1;
}

static struct http_transfer *http_find(struct http_ctx *ctx, long id) {
    for (struct http_transfer *t = ctx->head; t; t = t->next)
        if (t->id == id) return t;
    return NULL;
}

/* cancel(id): aborts a transfer and frees it; its result is never delivered. */
static int http_cancel(lua_State *L) {
    struct http_ctx *ctx = http_ctx_of(L);
    struct http_transfer *t = http_find(ctx, (long)luaL_checkinteger(L, 1));
    if (t) {
        http_log(ctx, L, t, "cancelled", util_monotonic() - t->started);
        http_free_transfer(ctx, t);
    }
    return 0;
}

/* An optional positive field, at most max (see checked_number.h); 0 when absent. */
static double http_opt_number(lua_State *L, int idx, const char *field, double max) {
    double v = 0;
    if (lua_getfield(L, idx, field) != LUA_TNIL) {
        int ok;
        v = lua_tonumberx(L, -1, &ok);
        if (!ok || !checked_positive(v, max)) luaL_error(L, "http: %s must be a positive number up to %I", field, (lua_Integer)max);
    }
    lua_pop(L, 1);
    return v;
}

/* auth = { secret = NAME, header = NAME, prefix = "Bearer " | nil } of a script request:
 * checks the fields and whether the script's own headers already name that header. The
 * header goes last in hs with an empty value until the secret is resolved. 0 or raises. */
static int http_auth_header(lua_State *L, struct http_header *hs, size_t n, const char **name, const char **prefix) {
    if (lua_getfield(L, 1, "auth") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    lua_getfield(L, -1, "secret");
    lua_getfield(L, -2, "header");
    lua_getfield(L, -3, "prefix");
    *name = lua_tostring(L, -3);
    hs[n].name = lua_tostring(L, -2);
    *prefix = lua_isnil(L, -1) ? "" : lua_tostring(L, -1);
    if (*name == NULL || hs[n].name == NULL || *prefix == NULL)
        return luaL_error(L, "http: auth needs a secret name and a header name");
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(hs[i].name, hs[n].name) == 0)
            return luaL_error(L, "http: header '%s' is set by auth: do not set it in headers too", hs[n].name);
    hs[n].value = "";
    hs[n].secret = 1;
    return 1;  /* the strings stay anchored by the auth table, itself on the stack */
}

/* start{ method, url, headers = { [name] = value }, body, timeout, connect_timeout,
 * max_body, attempt, auth } -> id | nil, error kind, message (refused by http_policy or by
 * the secret's origin: nothing sent). This is the script's entry point: its only secret
 * header is a named secret (auth), whose value is looked up here and never enters Lua. */
static int http_lua_start(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    struct http_request req = {0};
    lua_getfield(L, 1, "method");
    req.method = lua_tostring(L, -1);
    lua_getfield(L, 1, "url");
    req.url = lua_tostring(L, -1);
    if (lua_getfield(L, 1, "body") == LUA_TSTRING) req.body = lua_tolstring(L, -1, &req.body_len);
    req.timeout = http_opt_number(L, 1, "timeout", CHECKED_MAX_SECONDS);
    req.connect_timeout = http_opt_number(L, 1, "connect_timeout", CHECKED_MAX_SECONDS);
    req.max_body = (size_t)http_opt_number(L, 1, "max_body", CHECKED_MAX_BYTES);
    req.attempt = (int)http_opt_number(L, 1, "attempt", CHECKED_MAX_COUNT);
    size_t n = 0;
    int ht = 0;
    if (lua_getfield(L, 1, "headers") == LUA_TTABLE) {
        ht = lua_gettop(L);
        for (lua_pushnil(L); lua_next(L, ht); lua_pop(L, 1)) n++;
    }
    /* one more slot for the auth header (and its length pair) */
    struct http_header *hs = lua_newuserdatauv(L, (n + 1) * sizeof *hs, 0);
    size_t *lens = lua_newuserdatauv(L, (n + 1) * 2 * sizeof *lens, 0);
    size_t *vlens = lens + n + 1;
    req.headers = hs;
    if (ht) {
        size_t i = 0;
        for (lua_pushnil(L); lua_next(L, ht) && i < n; lua_pop(L, 1)) {
            /* strings only: they stay anchored by the table (a converted number would not) */
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "http: header names and values must be strings");
            hs[i].name = lua_tolstring(L, -2, &lens[i]);
            hs[i].value = lua_tolstring(L, -1, &vlens[i]);
            hs[i].secret = 0;
            i++;
        }
        req.n_headers = i;
    }
    const char *secret_name = NULL, *prefix = NULL;
    if (http_auth_header(L, hs, req.n_headers, &secret_name, &prefix)) {
        lens[req.n_headers] = strlen(hs[req.n_headers].name);
        vlens[req.n_headers] = 0;
        req.n_headers++;
    }
    if (req.method && req.url && http_valid_method(req.method) && http_valid_url(req.url)) {
        struct http_verdict v;
        http_policy_check(L, req.url, req.headers, lens, vlens, req.n_headers, &v);
        if (v.kind) {
            lua_pushnil(L);
            lua_pushstring(L, v.kind);
            lua_pushstring(L, v.why);
            return 3;
        }
        req.no_proxy = v.in_process;
        req.script = !v.loopback_control;  /* its socket goes to the control API's own port */
    }
    /* the secret after the policy: --allow-net and credential origins refuse first */
    char *line = NULL;
    size_t line_len = 0;
    if (secret_name && req.url && http_valid_url(req.url)) {
        const char *kind;
        char why[1024];
        char *value = secret_auth_value(L, secret_name, req.url, &kind, why, sizeof why);
        if (value == NULL) {
            lua_pushnil(L);
            lua_pushstring(L, kind);
            lua_pushstring(L, why);
            return 3;
        }
        line_len = strlen(prefix) + strlen(value);
        line = malloc(line_len + 1);
        if (line) snprintf(line, line_len + 1, "%s%s", prefix, value);
        OPENSSL_cleanse(value, strlen(value));
        free(value);
        if (line == NULL) return luaL_error(L, "http: out of memory");
        hs[req.n_headers - 1].value = line;
    }
    long id = 0;
    /* check_only: the verdict without sending (--dry-run still refuses what it would refuse) */
    int check_only = lua_getfield(L, 1, "check_only") != LUA_TNIL && lua_toboolean(L, -1);
    if (!check_only) id = http_start(L, &req);  /* copies the header and cleanses its copy */
    if (line) {
        OPENSSL_cleanse(line, line_len);
        free(line);
    }
    if (check_only) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (id < 0) return luaL_error(L, "http: %s", http_start_error());
    lua_pushinteger(L, id);
    return 1;
}

/* set_test_secret(name, origin, value): sandbox mode only (vsrun.sandbox.set_secret). */
static int http_set_test_secret(lua_State *L) {
    char err[400];
    if (secret_auth_set_test(L, luaL_checkstring(L, 1), luaL_checkstring(L, 2), luaL_checkstring(L, 3), err, sizeof err) != 0)
        return luaL_error(L, "sandbox.set_secret: %s", err);  /* raised as invalid_argument by vsrun.sandbox */
    return 0;
}

/* configure{ max_per_host = n, max_total = n }: connection caps of the multi. */
static int http_configure(lua_State *L) {
    struct http_ctx *ctx = http_ctx_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    double per_host = http_opt_number(L, 1, "max_per_host", CHECKED_MAX_COUNT);
    double total = http_opt_number(L, 1, "max_total", CHECKED_MAX_COUNT);
    if (per_host > 0) curl_multi_setopt(ctx->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)per_host);
    if (total > 0) {
        curl_multi_setopt(ctx->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)total);
        curl_multi_setopt(ctx->multi, CURLMOPT_MAXCONNECTS, (long)total);
    }
    return 0;
}

static int http_redact(lua_State *L) {
    http_push_redacted_url(L, luaL_checkstring(L, 1));
    return 1;
}

static int http_active(lua_State *L) {
    lua_pushinteger(L, http_ctx_of(L)->active);
    return 1;
}

static int http_ctx_gc(lua_State *L) {
    struct http_ctx *ctx = luaL_checkudata(L, 1, HTTP_CTX_MT);
    while (ctx->head) http_free_transfer(ctx, ctx->head);
    for (int i = 0; i < ctx->n_pool; i++) curl_easy_cleanup(ctx->pool[i]);
    ctx->n_pool = 0;
    if (ctx->multi) curl_multi_cleanup(ctx->multi);
    ctx->multi = NULL;
    if (ctx->token_share) curl_share_cleanup(ctx->token_share);
    ctx->token_share = NULL;
    return 0;
}

static const char *http_env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* libcurl's global set-up, once per process, when the first state opens this module (not
 * at start-up: it costs ~1.5 ms that scripts without HTTP should not pay). pthread_once,
 * because sandbox handler threads open their own states; main.c calls the cleanup. */
static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_FAILED_INIT;
static void http_global_init(void) { http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Creates the state's context, stores it in the registry and leaves it on the stack. */
static struct http_ctx *http_ctx_new(lua_State *L) {
    pthread_once(&http_global_once, http_global_init);
    if (http_global_rc != CURLE_OK) luaL_error(L, "http: cannot initialise libcurl: %s", curl_easy_strerror(http_global_rc));
    struct http_ctx *ctx = lua_newuserdatauv(L, sizeof *ctx, 0);
    memset(ctx, 0, sizeof *ctx);
    if (luaL_newmetatable(L, HTTP_CTX_MT)) {
        lua_pushcfunction(L, http_ctx_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    ctx->multi = curl_multi_init();
    ctx->token_share = curl_share_init();
    if (ctx->multi == NULL || ctx->token_share == NULL ||
        curl_share_setopt(ctx->token_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
        luaL_error(L, "http: cannot initialise libcurl");
    curl_multi_setopt(ctx->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HTTP_DEFAULT_MAX_PER_HOST);
    curl_multi_setopt(ctx->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)HTTP_DEFAULT_MAX_TOTAL);
    curl_multi_setopt(ctx->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_DEFAULT_MAX_TOTAL);
    ctx->verbose = vm_options(L)->verbose;
    /* the curl tool's order: CURL_CA_BUNDLE, then SSL_CERT_FILE */
    ctx->ca_file = http_env("CURL_CA_BUNDLE");
    if (ctx->ca_file == NULL) ctx->ca_file = http_env("SSL_CERT_FILE");
    ctx->ca_dir = http_env("SSL_CERT_DIR");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, HTTP_CTX_KEY);
    return ctx;
}

static struct http_ctx *http_ctx_get(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, HTTP_CTX_KEY) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        luaL_requiref(L, "vsrun.http_core", luaopen_vsrun_http_core, 0);
        lua_pop(L, 1);
        lua_getfield(L, LUA_REGISTRYINDEX, HTTP_CTX_KEY);
    }
    struct http_ctx *ctx = luaL_checkudata(L, -1, HTTP_CTX_MT);
    lua_pop(L, 1);
    return ctx;
}

int luaopen_vsrun_http_core(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"start", http_lua_start}, {"poll", http_poll},         {"cancel", http_cancel},
        {"configure", http_configure}, {"redact_url", http_redact}, {"active", http_active},
        {"set_test_secret", http_set_test_secret},
        {NULL, NULL}};
    if (lua_getfield(L, LUA_REGISTRYINDEX, HTTP_CTX_KEY) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        http_ctx_new(L);
    }
    int ctx = lua_gettop(L);
    luaL_newlibtable(L, fns);
    lua_pushvalue(L, ctx);
    luaL_setfuncs(L, fns, 1);
    int mod = lua_gettop(L);
    /* the scheduler drives transfers through poll/cancel */
    modules_require(L, "vsrun.sched");  /* the built-in one, whatever the global require is */
    lua_getfield(L, -1, "set_io_driver");
    lua_createtable(L, 0, 2);
    lua_getfield(L, mod, "poll");
    lua_setfield(L, -2, "poll");
    lua_getfield(L, mod, "cancel");
    lua_setfield(L, -2, "cancel");
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    lua_pushvalue(L, mod);
    return 1;
}
