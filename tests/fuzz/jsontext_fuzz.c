/* libFuzzer target: host/jsontext.c, the C JSON reader for OAuth token responses and vault
 * plaintext, on arbitrary bytes (not NUL-terminated: the reader must respect n). Every
 * string it decodes must survive a write/read round trip through jt_writer unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"

static const char *const keys[] = {"access_token", "refresh_token", "expires_in", "token_type", "scope",
                                   "error", "error_description", "name", "generation", "a", ""};

static void roundtrip(const char *key, const char *value) {
    struct jt_writer w;
    jt_begin(&w);
    jt_add_string(&w, key, value);
    const char *text = jt_end(&w);
    if (text) {
        char *back = jt_string(text, strlen(text), key);
        if (!back || strcmp(back, value) != 0) abort();   /* the writer and reader disagree */
        free(back);
    }
    jt_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size copy so ASan sees any read past n */
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *val;
        size_t vlen;
        int found = jt_find(s, size, keys[i], &val, &vlen);
        if (found == 1 && (val < s || val + vlen > s + size)) abort();  /* span outside input */
        char *str = jt_string(s, size, keys[i]);
        if (str) {
            if (found != 1) abort();
            roundtrip(keys[i], str);
            free(str);
        }
        char small[8];
        if (jt_string_to(s, size, keys[i], small, sizeof small) == 0 && strlen(small) >= sizeof small) abort();
        double d;
        jt_number(s, size, keys[i], &d);
    }
    free(s);
    return 0;
}
