/* host/options.c and host/util.c: option forms, errors, closest match; the wiping buffer,
 * base64url and the clock. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "options.h"
#include "util.h"

enum { T_NAME = 1, T_FLAG, T_SHARED };
static const struct opt own[] = {
    {"--name", "-n", T_NAME, OPT_VALUE},
    {"--flag", NULL, T_FLAG, 0},
    {NULL, NULL, 0, 0},
};
static const struct opt shared[] = {{"--shared", NULL, T_SHARED, OPT_VALUE}, {NULL, NULL, 0, 0}};

/* Runs the parser over the words and records "id:value" per result. */
static void parse_all(const char *const *words, char *out, size_t outlen) {
    char *argv[16];
    int argc = 0;
    for (; words[argc]; argc++) argv[argc] = (char *)words[argc];
    struct opt_parser p;
    opt_init(&p, "t", argc, argv, own, shared);
    out[0] = '\0';
    for (int id; (id = opt_next(&p)) != OPT_END;) {
        size_t n = strlen(out);
        snprintf(out + n, outlen - n, "%d:%s ", id, p.value ? p.value : "-");
        if (id == OPT_ERROR) break;
    }
}

int main(void) {
    char got[256];
    /* the parser's messages go to stderr: keep the test output to ok/FAIL lines */
    if (freopen("/dev/null", "w", stderr) == NULL) return 1;

    parse_all((const char *[]){"--name", "a", "--name=b", "-n", "c", NULL}, got, sizeof got);
    CHECK(strcmp(got, "1:a 1:b 1:c ") == 0, "a value option: --name v, --name=v, short alias");
    parse_all((const char *[]){"--name=", NULL}, got, sizeof got);
    CHECK(strcmp(got, "1: ") == 0, "--name= gives an empty value");
    parse_all((const char *[]){"--name=a=b", NULL}, got, sizeof got);
    CHECK(strcmp(got, "1:a=b ") == 0, "--name=value splits at the first =");
    parse_all((const char *[]){"--flag", "path", NULL}, got, sizeof got);
    CHECK(strcmp(got, "2:- 0:path ") == 0, "a flag never takes the next word");
    parse_all((const char *[]){"--shared=x", NULL}, got, sizeof got);
    CHECK(strcmp(got, "3:x ") == 0, "the shared table is searched too");
    parse_all((const char *[]){"--flag=1", NULL}, got, sizeof got);
    CHECK(strcmp(got, "-2:- ") == 0, "a flag given a value is an error");
    parse_all((const char *[]){"--name", NULL}, got, sizeof got);
    CHECK(strcmp(got, "-2:- ") == 0, "a value option at the end is an error");
    parse_all((const char *[]){"--name", "--flag", NULL}, got, sizeof got);
    CHECK(strcmp(got, "1:--flag ") == 0, "a value may start with a dash");
    parse_all((const char *[]){"--nope", NULL}, got, sizeof got);
    CHECK(strcmp(got, "-2:- ") == 0, "an unknown option is an error");
    parse_all((const char *[]){"-h", "--help", NULL}, got, sizeof got);
    CHECK(strcmp(got, "-3:- -3:- ") == 0, "-h and --help are always known");
    parse_all((const char *[]){"-", "--", "--flag", "-x", NULL}, got, sizeof got);
    CHECK(strcmp(got, "0:- 0:--flag 0:-x ") == 0, "'-' is an argument; after -- everything is");
    parse_all((const char *[]){"-nvalue", NULL}, got, sizeof got);
    CHECK(strcmp(got, "-2:- ") == 0, "short options take their value separately");

    /* closest match: read back what was printed */
    char path[] = "/tmp/vsrun-options-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || freopen(path, "w", stderr) == NULL) return 1;
    close(fd);
    parse_all((const char *[]){"--flga", NULL}, got, sizeof got);
    parse_all((const char *[]){"--sharde=1", NULL}, got, sizeof got);
    parse_all((const char *[]){"--zzzzzzzzzz", NULL}, got, sizeof got);
    fflush(stderr);
    char text[1024] = "";
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = '\0';
    if (f) fclose(f);
    unlink(path);
    CHECK(strstr(text, "t: unknown option '--flga' (did you mean --flag?)\n(try 't --help')") != NULL,
          "a swapped pair names the closest option");
    CHECK(strstr(text, "unknown option '--sharde' (did you mean --shared?)") != NULL,
          "--name=value: the name alone is matched, the value never shown");
    CHECK(strstr(text, "unknown option '--zzzzzzzzzz'\n") != NULL, "nothing close: no suggestion");

    struct util_buf b = {0};
    for (int i = 0; i < 1000; i++) util_buf_str(&b, "abc");
    CHECK(!b.failed && b.len == 3000 && strlen(b.p) == 3000, "util_buf grows and stays NUL-terminated");
    util_buf_free(&b);
    CHECK(b.p == NULL && b.len == 0 && b.cap == 0, "util_buf_free resets the buffer");
    util_buf_json_string(&b, "a\"b\\c\n");
    CHECK(strcmp(b.p, "\"a\\\"b\\\\c\\u000a\"") == 0, "util_buf_json_string escapes");
    util_buf_free(&b);

    char enc[UTIL_BASE64URL_LEN(5)];
    CHECK(util_base64url((const unsigned char *)"", 0, enc) == 0 && enc[0] == '\0', "base64url of nothing");
    util_base64url((const unsigned char *)"\xfb\xff", 2, enc);
    CHECK(strcmp(enc, "-_8") == 0, "base64url uses - and _ and no padding");
    util_base64url((const unsigned char *)"hello", 5, enc);
    CHECK(strcmp(enc, "aGVsbG8") == 0, "base64url of 5 bytes");

    double t0 = util_monotonic(), t1 = util_monotonic();
    CHECK(t0 > 0 && t1 >= t0, "the monotonic clock does not go back");
    return check_done();
}
