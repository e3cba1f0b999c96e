/* host/oauth_callback.c: the rules for a pasted redirect address (callback_judge_url), the
 * parser the oauth_callback fuzz target drives. */
#include <string.h>

#include "check.h"
#include "oauth_callback.h"

#define ST "s-123_abc"

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
    return check_done();
}
