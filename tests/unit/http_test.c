/* The C API of host/http.c (what host/pagerduty.c uses): http_start with a secret header
 * against the server binding, its validation, and URL redaction. */
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lauxlib.h>

#include "check.h"
#include "http.h"
#include "vm.h"

static const char *eval(lua_State *L, const char *code) {
    lua_settop(L, 0);
    if (luaL_loadstring(L, code) != LUA_OK || vm_pcall(L, 0, 1) != LUA_OK) return lua_tostring(L, -1);
    return lua_tostring(L, -1);
}

static const char *base_url;
static const char *header_value = "Bearer unit-test-token";
static const char *bad_value = "x\r\nInjected: 1";
static int bad_request;

/* runs under lua_pcall: http_start raises on an invalid request */
static int start_from_c(lua_State *L) {
    lua_pushfstring(L, "%s/from-c?x=1", base_url);
    struct http_header hs[2] = {
        {"Authorization", bad_request ? bad_value : header_value, 1},
        {"X-Plain", "visible", 0},
    };
    struct http_request req = {
        .method = "POST", .url = lua_tostring(L, -1), .headers = hs, .n_headers = 2,
        .body = "{\"a\":1}", .body_len = 7, .timeout = 10, .attempt = 1,
    };
    long id = http_start(L, &req);
    if (id < 0) return luaL_error(L, "refused: %s", http_start_error());
    lua_pushinteger(L, id);
    return 1;
}

/* ---- a raw far end that notes which requests share a connection ---- */

#define RAW_MAX 16
static volatile int raw_stop;  /* set by the main thread */
static struct {
    int listen_fd, port, n;
    int fd[RAW_MAX];
    int token[RAW_MAX], script[RAW_MAX], requests[RAW_MAX];
} raw;

static void *raw_serve(void *unused) {
    (void)unused;
    char buf[8192];
    while (!raw_stop) {
        struct pollfd p[RAW_MAX + 1];
        p[0] = (struct pollfd){raw.listen_fd, POLLIN, 0};
        for (int i = 0; i < raw.n; i++) p[i + 1] = (struct pollfd){raw.fd[i], POLLIN, 0};
        int polled = raw.n;  /* a connection accepted below is read on the next round */
        if (poll(p, (nfds_t)polled + 1, 50) <= 0) continue;
        if ((p[0].revents & POLLIN) && raw.n < RAW_MAX) raw.fd[raw.n++] = accept(raw.listen_fd, NULL, NULL);
        for (int i = 0; i < polled; i++) {
            if (!(p[i + 1].revents & POLLIN) || raw.fd[i] < 0) continue;
            ssize_t got = read(raw.fd[i], buf, sizeof buf - 1);
            if (got <= 0) { close(raw.fd[i]); raw.fd[i] = -1; continue; }
            buf[got] = '\0';  /* requests here are small GETs: one read holds whole ones */
            raw.token[i] |= strstr(buf, "raw-token") != NULL;  /* a header or a token request's form */
            raw.script[i] |= strstr(buf, "X-Script") != NULL;
            for (char *q = buf; (q = strstr(q, "\r\n\r\n")) != NULL; q += 4) {
                raw.requests[i]++;
                const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                if (write(raw.fd[i], ok, sizeof ok - 1) < 0) break;
            }
        }
    }
    for (int i = 0; i < raw.n; i++) if (raw.fd[i] >= 0) close(raw.fd[i]);
    return NULL;
}

/* The answers a C caller got through on_done (host/pagerduty.c's token request does this). */
static struct {
    int calls, nulls;
    long status;
    char body[512];
} answers;

static void on_answer(void *ud, const struct http_answer *a) {
    (void)ud;
    answers.calls++;
    if (a == NULL) { answers.nulls++; return; }
    answers.status = a->status;
    snprintf(answers.body, sizeof answers.body, "%.*s", (int)a->body_len, a->body);
}

/* start_raw(kind): a request to the raw far end: 1 with the token header, 2 a token request
 * (the secret in its body, the answer to C), 0 a script's GET */
static int start_raw(lua_State *L) {
    int kind = (int)lua_tointeger(L, 1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/r", raw.port);
    struct http_header h = kind == 1 ? (struct http_header){"Authorization", "Bearer raw-token", 1}
                                     : (struct http_header){"X-Script", "1", 0};
    struct http_request req = {.method = "GET", .url = url, .headers = &h, .n_headers = 1, .timeout = 10};
    if (kind == 2) {
        static const char form[] = "grant_type=refresh_token&refresh_token=raw-token";
        req.method = "POST";
        req.n_headers = 0;
        req.body = form;
        req.body_len = sizeof form - 1;
        req.secret_body = 1;
        req.on_done = on_answer;
    }
    long id = http_start(L, &req);
    if (id < 0) return luaL_error(L, "refused: %s", http_start_error());
    lua_pushinteger(L, id);
    return 1;
}

/* Runs requests in order (1 = with the token, 0 = a script's), each finished before the next. */
static int raw_sequence(lua_State *L, const int *secret, int n) {
    for (int i = 0; i < n; i++) {
        lua_settop(L, 0);
        lua_pushcfunction(L, start_raw);
        lua_pushinteger(L, secret[i]);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) return -1;
        lua_setglobal(L, "ID");
        const char *r = eval(L, "local hc = require 'vsrun.http_core' "
                                "for _ = 1, 100 do local done = hc.poll(0.1) "
                                "  for i = 1, #done, 2 do if done[i] == ID then return done[i + 1].status end end end");
        if (r == NULL || strcmp(r, "200") != 0) return -1;
    }
    return 0;
}

static void raw_start(void) {
    memset(&raw, 0, sizeof raw);
    raw_stop = 0;
    raw.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(raw.listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(raw.listen_fd, 8) != 0 ||
        getsockname(raw.listen_fd, (struct sockaddr *)&a, &len) != 0)
        return;
    raw.port = ntohs(a.sin_port);
}

/* Separate pools: a connection that carried the token never carries a script's request,
 * so a script's half-written request can never be completed by an authenticated one. */
static void check_pools(lua_State *L) {
    pthread_t th;
    raw_start();
    pthread_create(&th, NULL, raw_serve, NULL);
    static const int plain[] = {0, 0};
    CHECK(raw_sequence(L, plain, 2) == 0 && raw.n == 1 && raw.requests[0] == 2,
          "http unit: two script requests share one kept-alive connection (control: reuse is visible)");
    raw_stop = 1;
    pthread_join(th, NULL);
    close(raw.listen_fd);

    raw_start();
    pthread_create(&th, NULL, raw_serve, NULL);
    static const int mixed[] = {1, 0, 1, 0};
    int rc = raw_sequence(L, mixed, 4);
    raw_stop = 1;
    pthread_join(th, NULL);
    close(raw.listen_fd);
    int shared = 0, token_reqs = 0;
    for (int i = 0; i < raw.n; i++) {
        shared |= raw.token[i] && raw.script[i];
        if (raw.token[i]) token_reqs = raw.requests[i];
    }
    CHECK(rc == 0 && raw.n == 2, "http unit: token and script requests to one origin use two connections");
    CHECK(!shared, "http unit: no connection carries both the token and a script's request");
    CHECK(token_reqs == 2, "http unit: token transfers still reuse their own connection");

    /* the OAuth token request (secret body, answer to C) is a credential transfer too */
    raw_start();
    pthread_create(&th, NULL, raw_serve, NULL);
    static const int token_requests[] = {2, 0, 2, 0};
    rc = raw_sequence(L, token_requests, 4);
    raw_stop = 1;
    pthread_join(th, NULL);
    close(raw.listen_fd);
    shared = 0;
    int token_conns = 0;
    for (int i = 0; i < raw.n; i++) {
        shared |= raw.token[i] && raw.script[i];
        token_conns += raw.token[i];
    }
    CHECK(rc == 0 && token_conns == 1 && raw.n == 2, "http unit: token requests (secret body) run on the credential pool");
    CHECK(!shared, "http unit: no connection carries both a token request and a script's request");
}

/* A transfer with on_done: the answer reaches C once, the Lua result has neither body nor
 * headers, and a cancelled one tells C with NULL. */
static void check_answer_to_c(lua_State *L) {
    static const char form[] = "refresh_token=c-only-secret";
    lua_pushfstring(L, "%s/token", base_url);
    struct http_request req = {.method = "POST", .url = lua_tostring(L, -1), .body = form, .body_len = sizeof form - 1,
                               .timeout = 10, .secret_body = 1, .on_done = on_answer};
    memset(&answers, 0, sizeof answers);
    long id = http_start(L, &req);
    lua_pushinteger(L, id);
    lua_setglobal(L, "ID");
    const char *r = eval(L, "local hc = require 'vsrun.http_core' "
                            "for _ = 1, 100 do local done = hc.poll(0.1) "
                            "  for i = 1, #done, 2 do if done[i] == ID then local res = done[i + 1] "
                            "    return tostring(res.status) .. ' ' .. tostring(res.body) .. ' ' .. tostring(res.headers) end end end "
                            "return 'no result'");
    CHECK(id > 0 && r && strcmp(r, "200 nil nil") == 0, "http unit: an answer for C gives Lua the status only");
    CHECK(answers.calls == 1 && answers.status == 200 && strstr(answers.body, "c-only-secret") != NULL,
          "http unit: on_done got the answer (the far end echoed the secret body)");
    /* control: the same request without on_done hands Lua the body */
    req.on_done = NULL;
    id = http_start(L, &req);
    lua_pushinteger(L, id);
    lua_setglobal(L, "ID");
    r = eval(L, "local hc = require 'vsrun.http_core' "
                "for _ = 1, 100 do local done = hc.poll(0.1) "
                "  for i = 1, #done, 2 do if done[i] == ID then return done[i + 1].body end end end");
    CHECK(r && strstr(r, "c-only-secret") != NULL, "http unit control: without on_done the body is a Lua value");
    req.on_done = on_answer;
    memset(&answers, 0, sizeof answers);
    id = http_start(L, &req);
    lua_pushinteger(L, id);
    lua_setglobal(L, "ID");
    eval(L, "require('vsrun.http_core').cancel(ID)");
    CHECK(answers.calls == 1 && answers.nulls == 1, "http unit: a cancelled answer-to-C transfer calls on_done(NULL) once");
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct vm_options o = {0};
    struct vm *vm = vm_new(&o);
    lua_State *L = vm_lua(vm);

    const char *r = eval(L, "far = require('vsrun.server').start{ file = 'tests/lua/fixtures/http_far_end.lua' } "
                            "return far:url()");
    CHECK(r && strncmp(r, "http://127.0.0.1:", 17) == 0, "http unit: far end started");
    lua_setglobal(L, "BASE");
    lua_getglobal(L, "BASE");
    base_url = lua_tostring(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "http_test.base");  /* keeps the string alive */

    lua_settop(L, 0);
    lua_pushcfunction(L, start_from_c);
    int st = lua_pcall(L, 0, 1, 0);
    CHECK(st == LUA_OK && lua_isinteger(L, -1), "http unit: http_start returns an id");
    lua_setglobal(L, "ID");
    r = eval(L, "local hc = require 'vsrun.http_core' "
                "for _ = 1, 100 do local done = hc.poll(0.1) "
                "  for i = 1, #done, 2 do if done[i] == ID then RES = done[i + 1] return 'done' end end end "
                "return 'no result'");
    CHECK(r && strcmp(r, "done") == 0, "http unit: poll delivers the result");
    r = eval(L, "local seen = require('json').decode(RES.body) "
                "return RES.status .. ' ' .. seen.method .. ' ' .. seen.path .. ' ' .. seen.body .. ' ' "
                ".. seen.headers.authorization .. ' ' .. seen.headers['x-plain']");
    CHECK(r && strcmp(r, "200 POST /from-c {\"a\":1} Bearer unit-test-token visible") == 0,
          "http unit: method, body and headers (secret one included) reach the server");
    r = eval(L, "return require('vsrun.http_core').active()");
    CHECK(r && strcmp(r, "0") == 0, "http unit: the finished transfer is freed");

    bad_request = 1;
    lua_settop(L, 0);
    lua_pushcfunction(L, start_from_c);
    st = lua_pcall(L, 0, 1, 0);
    CHECK(st != LUA_OK && strstr(lua_tostring(L, -1), "invalid header") != NULL,
          "http unit: CR/LF in a header value is refused (-1, no raise)");
    CHECK(strstr(lua_tostring(L, -1), "Injected") == NULL, "http unit: the refusal does not echo the value");

    lua_settop(L, 0);
    http_push_redacted_url(L, "https://h/p?refresh_token=abc&q=1");
    CHECK(strcmp(lua_tostring(L, -1), "https://h/p?refresh_token=REDACTED&q=1") == 0, "http unit: redacted URL");

    check_pools(L);
    check_answer_to_c(L);

    eval(L, "far:stop()");
    vm_free(vm);
    curl_global_cleanup();
    return check_done();
}
