/* Webhook verifiers of `vsrun serve`, on the raw body as received, in constant time:
 *   - PagerDuty v3: X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret, body)>[,v1=...];
 *     any signature matching any configured secret passes (secret rotation on both sides);
 *   - bearer: Authorization: Bearer TOKEN;
 *   - HMAC: HEADER: PREFIX<hex HMAC-SHA256(secret, body)>. */
#ifndef VSRUN_SERVE_VERIFY_H
#define VSRUN_SERVE_VERIFY_H
#include <stddef.h>

#include "serve_config.h"

enum verify_result {
    VERIFY_OK = 0,
    VERIFY_MISSING,     /* the header is absent: 401 for bearer, 400 for signatures */
    VERIFY_MALFORMED,   /* the header cannot be parsed: 400 */
    VERIFY_MISMATCH,    /* a well-formed credential that does not match: 403 */
};

/* header_value: the verifier's header (X-PagerDuty-Signature, Authorization or the HMAC
 * header), NULL when absent. */
enum verify_result serve_verify(const struct serve_route *r, const char *header_value, const char *body, size_t len);
/* The header serve_verify needs, lowercase. */
const char *serve_verify_header(const struct serve_route *r);

#endif
