/* libFuzzer target: what a webhook sender controls in vsrun serve: the credential header
 * (through each verifier) and a cron-like string (the config parser's cron fields). Input:
 * the header value up to the first newline, then the body; the header is a NUL-terminated
 * copy (as libmicrohttpd hands it), the body an exact-size copy. A forged signature must
 * never pass: only a header carrying the real HMAC can. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve_config.h"
#include "serve_cron.h"
#include "serve_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *header = malloc(hlen + 1);
    memcpy(header, data, hlen);
    header[hlen] = '\0';
    size_t blen = nl ? size - hlen - 1 : 0;
    char *body = malloc(blen ? blen : 1);
    if (blen) memcpy(body, nl + 1, blen);

    struct serve_route r;
    memset(&r, 0, sizeof r);
    char secret[] = "fuzz-secret", prefix[] = "sha256=", name[] = "x-sig";
    r.secrets[0] = secret;
    r.n_secrets = 1;
    r.hmac_prefix = prefix;
    r.hmac_header = name;
    for (int v = VERIFY_PAGERDUTY; v <= VERIFY_HMAC; v++) {
        r.verifier = (enum serve_verifier)v;
        enum verify_result res = serve_verify(&r, header, body, blen);
        /* the fuzzer cannot compute HMACs: a pass on a signature route means a forgery
         * (bearer passes only on the exact token, which the corpus may contain) */
        if (res == VERIFY_OK && v != VERIFY_BEARER) abort();
        if (res == VERIFY_OK && v == VERIFY_BEARER && !strstr(header, "fuzz-secret")) abort();
    }
    struct cron_spec c;
    char err[256];
    if (cron_parse(header, &c, err, sizeof err) == 0) {
        struct tm t;
        memset(&t, 0, sizeof t);
        (void)cron_matches(&c, &t);
    }
    free(header);
    free(body);
    return 0;
}
