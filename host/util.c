/* Small utilities every layer shares (see util.h). */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "exitcodes.h"

void util_buf_add(struct util_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *np = malloc(cap);   /* not realloc: the old block is wiped before it is freed */
        if (np == NULL) { b->failed = 1; return; }
        if (b->p) {
            memcpy(np, b->p, b->len);
            explicit_bzero(b->p, b->cap);
            free(b->p);
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void util_buf_str(struct util_buf *b, const char *s) { util_buf_add(b, s, strlen(s)); }

void util_buf_json_string(struct util_buf *b, const char *s) {
    util_buf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; util_buf_add(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); util_buf_add(b, esc, 6); }
        else util_buf_add(b, s, 1);
    }
    util_buf_add(b, "\"", 1);
}

void util_buf_free(struct util_buf *b) {
    if (b->p) {
        explicit_bzero(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

double util_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

size_t util_base64url(const unsigned char *in, size_t n, char *out) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        if (i + 1 < n) out[o++] = tbl[v >> 6 & 63];
        if (i + 2 < n) out[o++] = tbl[v & 63];
    }
    out[o] = '\0';
    return o;
}

int util_usage(const char *who, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: ", who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try '%s --help')\n", who);
    return EXIT_USAGE;
}
