/* The C API of host/server.c (what host/sandbox.c uses): start with args as JSON text, serve
 * real requests from several threads at once, stats, info, on_stop, and the start errors;
 * a silent connection cut at request_timeout; a stop that interrupts a handler looping in Lua. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "check.h"
#include "server.h"

#define FIXTURE "tests/lua/fixtures/echo_server.lua"

struct fetch {
    const char *url;
    long status;
    char body[4096];
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    struct fetch *f = ud;
    size_t k = size * n;
    if (f->len + k < sizeof f->body) {
        memcpy(f->body + f->len, p, k);
        f->len += k;
        f->body[f->len] = '\0';
    }
    return k;
}

static void *get(void *ud) {
    struct fetch *f = ud;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, f->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    curl_easy_cleanup(c);
    return NULL;
}

/* A connection that sends nothing: returns 1 when the server closes it within `wait` s (a
 * liveness bound far above the timeout under test). */
static int closed_by_server(int port, int wait) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int closed = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        closed = poll(&p, 1, wait * 1000) == 1 && recv(fd, &c, 1, 0) <= 0;
    }
    if (fd >= 0) close(fd);
    return closed;
}

/* request_timeout, and server_stop_within with a handler in an endless Lua loop. */
static void wedge_checks(void) {
    char file[] = "/tmp/vsrun_server_spinXXXXXX";
    int fd = mkstemp(file);
    static const char code[] =
        "return function() return function(req)\n"
        "  if req.path == '/spin' then while true do pcall(function() while true do end end) end end\n"
        "  return { status = 200, body = 'ok' }\n"
        "end end\n";
    if (fd < 0 || write(fd, code, sizeof code - 1) != (ssize_t)(sizeof code - 1)) {
        CHECK(0, "write the spinning handler");
        return;
    }
    close(fd);
    char err[512];
    struct server_config cfg = {.file = file, .request_timeout = 0.5};
    struct server *s = server_start(&cfg, err, sizeof err);
    unlink(file);
    CHECK(s != NULL, "server_start with request_timeout");
    if (s == NULL) return;
    CHECK(closed_by_server(server_port(s), 20), "a connection that sends nothing is closed at request_timeout");
    struct server_stats st;
    server_get_stats(s, &st);
    CHECK(st.timed_out == 1, "stats count it as timed_out");
    struct fetch ok = {0}, spin = {0};
    char okurl[128], spinurl[128];
    snprintf(okurl, sizeof okurl, "%s/", server_url(s));
    snprintf(spinurl, sizeof spinurl, "%s/spin", server_url(s));
    ok.url = okurl;
    spin.url = spinurl;
    get(&ok);
    CHECK(ok.status == 200, "a prompt request is answered under a short request_timeout");
    pthread_t t;
    pthread_create(&t, NULL, get, &spin);
    usleep(300 * 1000);
    CHECK(server_stop_within(s, 10) == 0, "a stop interrupts a handler looping in Lua (through pcall)");
    pthread_join(t, NULL);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char err[512];
    char stop_file[] = "/tmp/vsrun_server_unitXXXXXX";
    int fd = mkstemp(stop_file);
    if (fd >= 0) close(fd);
    unlink(stop_file);
    char args[600];
    snprintf(args, sizeof args, "{\"name\":\"unit\",\"stop_file\":\"%s\"}", stop_file);

    struct server_config cfg = {.file = FIXTURE, .args_json = args};
    struct server *s = server_start(&cfg, err, sizeof err);
    CHECK(s != NULL, "server_start with a file and JSON args");
    if (s == NULL) {
        printf("    %s\n", err);
        return check_done();
    }
    CHECK(server_port(s) > 0, "an ephemeral port is chosen");
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%d", server_port(s));
    CHECK(strcmp(server_url(s), want) == 0, "the URL names 127.0.0.1 and the port");
    CHECK(server_info_json(s) && strstr(server_info_json(s), "\"name\":\"echo\""), "info is the module's second value, as JSON");

    /* eight clients at once, two of them delayed: all answered, several in flight together */
    enum { N = 8 };
    struct fetch f[N];
    pthread_t th[N];
    char urls[N][128];
    for (int i = 0; i < N; i++) {
        memset(&f[i], 0, sizeof f[i]);
        snprintf(urls[i], sizeof urls[i], "%s/t%d%s", server_url(s), i, i < 2 ? "?delay=0.3" : "");
        f[i].url = urls[i];
        pthread_create(&th[i], NULL, get, &f[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    int all_ok = 1;
    for (int i = 0; i < N; i++) {
        char path[16];
        snprintf(path, sizeof path, "\"/t%d\"", i);
        all_ok &= f[i].status == 200 && strstr(f[i].body, path) != NULL && strstr(f[i].body, "\"unit\"") != NULL;
    }
    CHECK(all_ok, "eight concurrent requests all answered by the handler, with the args");
    struct server_stats st;
    for (int i = 0; i < 100; i++) {   /* completion is counted just after the client has its reply */
        server_get_stats(s, &st);
        if (st.in_flight == 0) break;
        usleep(10000);
    }
    CHECK(st.requests == N && st.connections == N, "stats count requests and connections");
    CHECK(st.in_flight == 0, "nothing in flight afterwards");
    CHECK(st.max_in_flight >= 2, "the delayed requests were in flight while others were served");

    struct fetch e = {0};
    char eurl[128];
    snprintf(eurl, sizeof eurl, "%s/?fail=1", server_url(s));
    e.url = eurl;
    get(&e);
    CHECK(e.status == 500 && strstr(e.body, "\"message\":\"handler error: "), "a handler error is a 500 with a JSON message");

    server_stop(s);
    FILE *sf = fopen(stop_file, "r");
    char text[64] = "";
    if (sf) {
        if (!fgets(text, sizeof text, sf)) text[0] = '\0';
        fclose(sf);
    }
    unlink(stop_file);
    CHECK(strcmp(text, "stopped after 9 requests") == 0, "on_stop ran after the daemon stopped");

    struct server_config bad1 = {.module = "no.such.module"};
    CHECK(server_start(&bad1, err, sizeof err) == NULL && strstr(err, "module 'no.such.module' not found"), "a missing module is an error");
    struct server_config bad2 = {.module = "json"};
    CHECK(server_start(&bad2, err, sizeof err) == NULL && strstr(err, "must return function"), "a module that is not a server module");
    struct server_config bad3 = {.file = FIXTURE, .bind = "example.com"};
    CHECK(server_start(&bad3, err, sizeof err) == NULL && strstr(err, "not a numeric"), "a host name as bind address");
    struct server_config bad4 = {.file = FIXTURE, .args_json = "{not json"};
    CHECK(server_start(&bad4, err, sizeof err) == NULL, "args that are not JSON");
    struct server_config bad5 = {.file = FIXTURE, .module = "x"};
    CHECK(server_start(&bad5, err, sizeof err) == NULL && strstr(err, "exactly one"), "module and file together");
    wedge_checks();
    curl_global_cleanup();
    return check_done();
}
