/* host/jsontext.c: the C JSON reader/writer behind vault records and OAuth responses. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsontext.h"

static int str_is(const char *json, const char *key, const char *want) {
    char *v = jt_string(json, strlen(json), key);
    int ok = v && want && strcmp(v, want) == 0;
    if (!v && !want) ok = 1;
    free(v);
    return ok;
}

int main(void) {
    const char *tok = "{\"access_token\":\"pdus+_0X\\u00e9\\\"q\\\\/\",\"expires_in\":864000,"
                      "\"nested\":{\"access_token\":\"inner\",\"list\":[1,{\"a\":[]},\"x\"]},"
                      "\"scope\":\"openid write\",\"n\":null,\"t\":true}";
    CHECK(str_is(tok, "access_token", "pdus+_0X\xc3\xa9\"q\\/"), "jsontext string escapes and \\u");
    double d = 0;
    CHECK(jt_number(tok, strlen(tok), "expires_in", &d) == 0 && d == 864000, "jsontext number");
    /* found reading the parser for its fuzz target: NUL bytes and hex were taken as numbers */
    const char *v0;
    size_t vlen0;
    CHECK(jt_number("{\"e\":1\0\0}", 9, "e", &d) == -1, "jsontext number: NUL bytes refused");
    CHECK(jt_find("{\"e\":1\0\0}", 9, "e", &v0, &vlen0) == -1, "jsontext: NUL bytes after a number make the object invalid");
    CHECK(jt_number("{\"e\":0x1p3}", 11, "e", &d) == -1, "jsontext number: hex refused");
    CHECK(jt_number("{\"e\":-1.5e3}", 12, "e", &d) == 0 && d == -1500, "jsontext number: exponent and sign");
    CHECK(str_is(tok, "scope", "openid write"), "jsontext skips nested values to the next key");
    CHECK(str_is(tok, "n", NULL) && str_is(tok, "t", NULL) && str_is(tok, "missing", NULL), "jsontext null/true/absent are not strings");
    const char *v;
    size_t vlen;
    CHECK(jt_find(tok, strlen(tok), "nested", &v, &vlen) == 1 && str_is("{\"access_token\":\"inner\"}", "access_token", "inner") &&
              v[0] == '{' && v[vlen - 1] == '}',
          "jsontext nested object span");
    char *inner = jt_string(v, vlen, "access_token");
    CHECK(inner && strcmp(inner, "inner") == 0, "jsontext lookup inside a nested span");
    free(inner);
    CHECK(str_is("{\"k\":\"\\ud83d\\ude00\"}", "k", "\xf0\x9f\x98\x80"), "jsontext surrogate pair");
    CHECK(str_is("{\"k\":\"\\ud83d\"}", "k", NULL), "jsontext lone surrogate refused");
    CHECK(str_is("{\"k\":\"a\\u0000b\"}", "k", NULL), "jsontext NUL refused");
    CHECK(str_is("{\"k\":\"first\",\"k\":\"second\"}", "k", "first"), "jsontext duplicate keys: the first wins");
    static const char *const bad[] = {"", "[]", "{", "{\"k\"}", "{\"k\":}", "{\"k\":\"x\",}", "{\"k\":\"x\"",
                                      "{\"k\":tru}", "{\"k\":\"a\nb\"}", "{\"k\":[1,2}", NULL};
    int all_bad = 1;
    for (int i = 0; bad[i]; i++) all_bad &= jt_find(bad[i], strlen(bad[i]), "k", &v, &vlen) == -1;
    CHECK(all_bad, "jsontext malformed input refused");
    /* deep nesting is bounded, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 16);
    size_t o = 0;
    o += (size_t)sprintf(deep, "{\"k\":");
    for (size_t i = 0; i < depth; i++) deep[o++] = '[';
    for (size_t i = 0; i < depth; i++) deep[o++] = ']';
    deep[o++] = '}';
    CHECK(jt_find(deep, o, "k", &v, &vlen) == -1, "jsontext nesting depth bounded");
    free(deep);

    struct jt_writer w;
    jt_begin(&w);
    jt_add_string(&w, "a", "line\nbreak \"quoted\" back\\slash \x01");
    jt_add_string(&w, "b", NULL);
    jt_add_number(&w, "c", 1790000000.25);
    jt_add_number(&w, "d", 7);
    const char *out = jt_end(&w);
    CHECK(out && strcmp(out, "{\"a\":\"line\\u000abreak \\\"quoted\\\" back\\\\slash \\u0001\",\"b\":null,\"c\":1790000000.25,\"d\":7}") == 0,
          "jsontext writer escapes and numbers");
    CHECK(out && str_is(out, "a", "line\nbreak \"quoted\" back\\slash \x01") && jt_number(out, strlen(out), "c", &d) == 0 &&
              d == 1790000000.25,
          "jsontext writer output reads back");
    jt_free(&w);
    return check_done();
}
