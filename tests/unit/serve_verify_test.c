/* Cron parsing/matching and the webhook verifiers of vsrun serve. */
#include <string.h>
#include <time.h>

#include <openssl/hmac.h>

#include "check.h"
#include "serve_config.h"
#include "serve_cron.h"
#include "serve_verify.h"

static struct tm at(int wday, int mday, int mon1, int hour, int min) {
    struct tm t;
    memset(&t, 0, sizeof t);
    t.tm_wday = wday;
    t.tm_mday = mday;
    t.tm_mon = mon1 - 1;
    t.tm_hour = hour;
    t.tm_min = min;
    return t;
}

static int fires(const char *expr, struct tm t) {
    struct cron_spec c;
    char err[256];
    return cron_parse(expr, &c, err, sizeof err) == 0 && cron_matches(&c, &t);
}

static int parses(const char *expr) {
    struct cron_spec c;
    char err[256];
    return cron_parse(expr, &c, err, sizeof err) == 0;
}

static void hex_hmac(const char *secret, const char *body, char out[65]) {
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac, &n);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int main(void) {
    /* cron */
    CHECK(fires("* * * * *", at(3, 15, 6, 12, 30)), "cron: * matches any minute");
    CHECK(fires("0 6 * * 1-5", at(1, 2, 3, 6, 0)), "cron: weekday 06:00 on a Monday");
    CHECK(!fires("0 6 * * 1-5", at(0, 1, 3, 6, 0)), "cron: weekday 06:00 not on a Sunday");
    CHECK(!fires("0 6 * * 1-5", at(1, 2, 3, 6, 1)), "cron: minute must match");
    CHECK(fires("*/15 * * * *", at(2, 2, 2, 2, 45)) && !fires("*/15 * * * *", at(2, 2, 2, 2, 44)), "cron: */15 steps");
    CHECK(fires("5/20 * * * *", at(2, 2, 2, 2, 45)) && !fires("5/20 * * * *", at(2, 2, 2, 2, 40)), "cron: N/S runs from N to the end");
    CHECK(fires("0 0 * * 7", at(0, 5, 5, 0, 0)), "cron: 7 is Sunday");
    CHECK(fires("0 0 1 * 1", at(1, 20, 5, 0, 0)) && fires("0 0 1 * 1", at(4, 1, 5, 0, 0)) &&
              !fires("0 0 1 * 1", at(4, 2, 5, 0, 0)),
          "cron: day-of-month OR day-of-week when both are restricted");
    CHECK(fires("0 0 1 * *", at(4, 1, 5, 0, 0)) && !fires("0 0 1 * *", at(1, 2, 5, 0, 0)), "cron: day-of-month alone");
    CHECK(fires("30 9 * 1,7 *", at(1, 10, 7, 9, 30)) && !fires("30 9 * 1,7 *", at(1, 10, 8, 9, 30)), "cron: month lists");
    CHECK(!parses("60 * * * *") && !parses("* 24 * * *") && !parses("* * 0 * *") && !parses("* * * 13 *") &&
              !parses("* * * * 8"),
          "cron: out-of-range values are refused");
    CHECK(!parses("5-1 * * * *") && !parses("*/0 * * * *") && !parses("a * * * *") && !parses("1,,2 * * * *") &&
              !parses("") && !parses("* * * *") && !parses("* * * * * *") && !parses("1- * * * *"),
          "cron: malformed fields are refused");

    /* verifiers */
    struct serve_route r;
    memset(&r, 0, sizeof r);
    char s_old[] = "old-secret", s_new[] = "new-secret";
    r.verifier = VERIFY_PAGERDUTY;
    r.secrets[0] = s_old;
    r.secrets[1] = s_new;
    r.n_secrets = 2;
    const char *body = "{\"event\":{\"id\":\"E\"}}";
    char good[65], other[65], hdr[256];
    hex_hmac("new-secret", body, good);
    hex_hmac("wrong", body, other);
    snprintf(hdr, sizeof hdr, "v1=%s", good);
    CHECK(serve_verify(&r, hdr, body, strlen(body)) == VERIFY_OK, "pagerduty: a good signature");
    snprintf(hdr, sizeof hdr, "v1=%s, v1=%s", other, good);
    CHECK(serve_verify(&r, hdr, body, strlen(body)) == VERIFY_OK, "pagerduty: any of several signatures");
    for (char *p = good; *p; p++) *p = (char)(*p >= 'a' ? *p - 32 : *p);
    snprintf(hdr, sizeof hdr, "v1=%s", good);
    CHECK(serve_verify(&r, hdr, body, strlen(body)) == VERIFY_OK, "pagerduty: upper-case hex");
    snprintf(hdr, sizeof hdr, "v1=%s", other);
    CHECK(serve_verify(&r, hdr, body, strlen(body)) == VERIFY_MISMATCH, "pagerduty: a wrong secret is a mismatch");
    CHECK(serve_verify(&r, hdr, body, strlen(body) - 1) == VERIFY_MISMATCH, "pagerduty: a shorter body is a mismatch");
    CHECK(serve_verify(&r, "v1=abc", body, strlen(body)) == VERIFY_MALFORMED, "pagerduty: a short signature is malformed");
    CHECK(serve_verify(&r, "", body, strlen(body)) == VERIFY_MALFORMED, "pagerduty: empty header is malformed");
    CHECK(serve_verify(&r, NULL, body, strlen(body)) == VERIFY_MISSING, "pagerduty: no header");

    r.verifier = VERIFY_BEARER;
    CHECK(serve_verify(&r, "Bearer old-secret", "", 0) == VERIFY_OK && serve_verify(&r, "bearer new-secret", "", 0) == VERIFY_OK,
          "bearer: either token, scheme case-insensitive");
    CHECK(serve_verify(&r, "Bearer old-secre", "", 0) == VERIFY_MISMATCH && serve_verify(&r, "Bearer old-secrett", "", 0) == VERIFY_MISMATCH,
          "bearer: a prefix or an extension of a token is a mismatch");
    CHECK(serve_verify(&r, "Basic old-secret", "", 0) == VERIFY_MALFORMED && serve_verify(&r, "Bearer ", "", 0) == VERIFY_MALFORMED,
          "bearer: another scheme or no token is malformed");

    char prefix[] = "sha256=", header[] = "x-sig";
    r.verifier = VERIFY_HMAC;
    r.hmac_prefix = prefix;
    r.hmac_header = header;
    hex_hmac("old-secret", "raw", good);
    snprintf(hdr, sizeof hdr, "sha256=%s", good);
    CHECK(serve_verify(&r, hdr, "raw", 3) == VERIFY_OK, "hmac: prefix and hex");
    CHECK(serve_verify(&r, good, "raw", 3) == VERIFY_MALFORMED, "hmac: a missing prefix is malformed");
    CHECK(serve_verify(&r, hdr, "raw!", 4) == VERIFY_MISMATCH, "hmac: another body is a mismatch");
    CHECK(strcmp(serve_verify_header(&r), "x-sig") == 0, "hmac: its header");
    return check_done();
}
