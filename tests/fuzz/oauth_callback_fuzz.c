/* libFuzzer target: the OAuth redirect query parser behind a pasted redirect address
 * (callback_judge_url, the rules callback_wait applies to stdin lines). A code is only
 * accepted with the exact state; error texts come back as printable ASCII only. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oauth_callback.h"

#define STATE "Zx8_q-3kLmN0pQrStUvWxYz012345678"

static void check_clean(const char *s, size_t cap) {
    size_t n = strnlen(s, cap);
    if (n == cap) abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f) abort();  /* terminal escapes must not pass */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 16384) return 0;
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    struct callback_result res;
    if (callback_judge_url(STATE, url, &res) == 0) {
        if (res.outcome == CALLBACK_CODE && (!res.code || !*res.code || !strstr(url, "state="))) abort();
        if (res.outcome != CALLBACK_CODE && res.code) abort();
        check_clean(res.error, sizeof res.error);
        check_clean(res.error_description, sizeof res.error_description);
    }
    callback_result_clear(&res);
    free(url);
    return 0;
}
