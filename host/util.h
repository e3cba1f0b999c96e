/* Small utilities every layer shares: a growable text buffer that wipes what it held, the
 * monotonic clock, base64url, and the usage-error printer. */
#ifndef VSRUN_UTIL_H
#define VSRUN_UTIL_H
#include <stddef.h>

/* A growable, NUL-terminated buffer for text that may hold a secret: each block is wiped
 * before it is freed, on growth too (it never uses realloc). Start from {0}. After an
 * allocation failure `failed` is set and further additions are ignored. */
struct util_buf {
    char *p;
    size_t len, cap;
    int failed;
};
void util_buf_add(struct util_buf *b, const char *s, size_t n);
void util_buf_str(struct util_buf *b, const char *s);
/* Appends s as a JSON string, quotes included (control bytes as \u00XX). */
void util_buf_json_string(struct util_buf *b, const char *s);
/* Wipes and frees the block; the buffer is {0} again. */
void util_buf_free(struct util_buf *b);

/* CLOCK_MONOTONIC in seconds. */
double util_monotonic(void);

/* base64url without padding (RFC 4648 §5), as PKCE and JWTs use it. out must hold
 * UTIL_BASE64URL_LEN(n) bytes; returns the length written (NUL not counted). */
#define UTIL_BASE64URL_LEN(n) (((n) + 2) / 3 * 4 + 1)
size_t util_base64url(const unsigned char *in, size_t n, char *out);

/* Prints "WHO: message" and "(try 'WHO --help')" on stderr; returns EXIT_USAGE. */
int util_usage(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
