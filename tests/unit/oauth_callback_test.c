/* host/oauth_callback.c: the rules for a pasted redirect address (callback_judge_url), the
 * parser the oauth_callback fuzz target drives; and the listener over a real socket, where a
 * callback without the login's state is answered 400 and ignored. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "check.h"
#include "oauth_callback.h"

#define ST "s-123_abc"

static size_t discard(char *p, size_t size, size_t n, void *ud) {
    (void)p; (void)ud;
    return size * n;
}

/* GET http://127.0.0.1:port/callback?query; returns the status (0 when none). */
static long get_callback(unsigned port, const char *query) {
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/callback?%s", port, query);
    CURL *c = curl_easy_init();
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void listener_checks(void) {
    char err[256];
    struct oauth_callback *cb = callback_start(ST, err, sizeof err);
    CHECK(cb != NULL, "listener starts");
    if (!cb) return;
    unsigned port = callback_port(cb);
    int all_400 = get_callback(port, "code=forged&state=wrong") == 400 && get_callback(port, "code=forged") == 400 &&
                  get_callback(port, "error=access_denied&state=wrong") == 400;
    CHECK(all_400, "listener: callbacks without our state are answered 400");
    CHECK(get_callback(port, "code=real&state=" ST) == 200, "listener: then ours is accepted");
    struct callback_result r;
    memset(&r, 0, sizeof r);
    callback_wait(cb, 5, 0, &r);
    CHECK(r.outcome == CALLBACK_CODE && r.code && strcmp(r.code, "real") == 0,
          "listener: the login gets the real code, the forged ones were ignored");
    callback_result_clear(&r);
    callback_free(cb);

    cb = callback_start(ST, err, sizeof err);
    if (!cb) return;
    get_callback(callback_port(cb), "code=forged&state=wrong");
    callback_wait(cb, 0.5, 0, &r);
    CHECK(r.outcome == CALLBACK_TIMEOUT, "listener: with only a forged callback the wait ends at its timeout");
    callback_result_clear(&r);
    callback_free(cb);

    cb = callback_start(ST, err, sizeof err);
    if (!cb) return;
    get_callback(callback_port(cb), "error=access_denied&state=" ST);
    callback_wait(cb, 5, 0, &r);
    CHECK(r.outcome == CALLBACK_DENIED, "listener: a denial with our state ends the login");
    callback_result_clear(&r);
    callback_free(cb);
}


static enum callback_outcome judge(const char *url, struct callback_result *r) {
    callback_result_clear(r);
    return callback_judge_url(ST, url, r) == 0 ? r->outcome : (enum callback_outcome)-1;
}

int main(void) {
    struct callback_result r;
    memset(&r, 0, sizeof r);
    CHECK(judge("http://127.0.0.1:5/callback?code=abc%2Bd&state=" ST, &r) == CALLBACK_CODE &&
          strcmp(r.code, "abc+d") == 0, "pasted: code with our state, percent-decoded");
    CHECK(judge("http://127.0.0.1:5/callback?code=abc&state=other", &r) == CALLBACK_BAD_STATE && !r.code,
          "pasted: another state is refused and keeps no code");
    CHECK(judge("http://127.0.0.1:5/callback?code=abc", &r) == CALLBACK_BAD_STATE, "pasted: no state is refused");
    CHECK(judge("http://127.0.0.1:5/callback?state=" ST "#code=x", &r) == CALLBACK_NO_CODE,
          "pasted: a code in the fragment does not count");
    CHECK(judge("http://127.0.0.1:5/callback?error=access_denied&error_description=a%1b%5B31mb&state=" ST, &r) ==
              CALLBACK_DENIED && strcmp(r.error, "access_denied") == 0 && strcmp(r.error_description, "a?[31mb") == 0,
          "pasted: a denial, with control bytes in its description replaced");
    CHECK(judge("not a url", &r) == (enum callback_outcome)-1, "pasted: text without a query is not a redirect");
    CHECK(judge("?&&=&%&state=%", &r) == CALLBACK_BAD_STATE, "pasted: malformed pairs are skipped");
    callback_result_clear(&r);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    listener_checks();
    curl_global_cleanup();
    return check_done();
}
