/* Small JSON reader/writer for secret-bearing C data (see jsontext.h). */
#include "jsontext.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define JT_MAX_DEPTH 64

static size_t jt_ws(const char *s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* Index just past the string starting at s[i] == '"', or 0 on error. */
static size_t jt_skip_string(const char *s, size_t n, size_t i) {
    for (i++; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') return i + 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (++i >= n) return 0;
        }
    }
    return 0;
}

/* Index just past the value starting at s[i], or 0 on error. */
static size_t jt_skip_value(const char *s, size_t n, size_t i, int depth) {
    if (i >= n || depth > JT_MAX_DEPTH) return 0;
    char c = s[i];
    if (c == '"') return jt_skip_string(s, n, i);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        i = jt_ws(s, n, i + 1);
        if (i < n && s[i] == close) return i + 1;
        for (;;) {
            if (c == '{') {
                if (i >= n || s[i] != '"' || !(i = jt_skip_string(s, n, i))) return 0;
                i = jt_ws(s, n, i);
                if (i >= n || s[i] != ':') return 0;
                i = jt_ws(s, n, i + 1);
            }
            if (!(i = jt_skip_value(s, n, i, depth + 1))) return 0;
            i = jt_ws(s, n, i);
            if (i < n && s[i] == ',') { i = jt_ws(s, n, i + 1); continue; }
            if (i < n && s[i] == close) return i + 1;
            return 0;
        }
    }
    size_t start = i;
    /* s[i] != 0: strchr would match the terminator and take NUL bytes into a number */
    while (i < n && ((s[i] && strchr("+-.eE", s[i])) || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z'))) i++;
    if (i == start) return 0;
    size_t len = i - start;
    if (s[start] >= 'a' && s[start] <= 'z') {
        if (!((len == 4 && !memcmp(s + start, "true", 4)) || (len == 5 && !memcmp(s + start, "false", 5)) ||
              (len == 4 && !memcmp(s + start, "null", 4))))
            return 0;
    }
    return i;
}

int jt_find(const char *s, size_t n, const char *key, const char **val, size_t *vlen) {
    size_t klen = strlen(key);
    size_t i = jt_ws(s, n, 0);
    if (i >= n || s[i] != '{') return -1;
    i = jt_ws(s, n, i + 1);
    if (i < n && s[i] == '}') return 0;
    int found = 0;
    for (;;) {
        if (i >= n || s[i] != '"') return -1;
        size_t kend = jt_skip_string(s, n, i);
        if (!kend) return -1;
        /* keys we look up never contain escapes, so a raw comparison is exact */
        int match = kend - i - 2 == klen && memcmp(s + i + 1, key, klen) == 0;
        i = jt_ws(s, n, kend);
        if (i >= n || s[i] != ':') return -1;
        i = jt_ws(s, n, i + 1);
        size_t vend = jt_skip_value(s, n, i, 1);
        if (!vend) return -1;
        if (match && !found) {
            *val = s + i;
            *vlen = vend - i;
            found = 1;
        }
        i = jt_ws(s, n, vend);
        if (i < n && s[i] == ',') { i = jt_ws(s, n, i + 1); continue; }
        if (i < n && s[i] == '}') break;
        return -1;
    }
    return found;
}

static int jt_hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Decodes the string span (with quotes) into a new buffer. */
static char *jt_decode(const char *v, size_t vlen) {
    if (vlen < 2 || v[0] != '"') return NULL;
    char *out = malloc(vlen);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 1; i + 1 < vlen; i++) {
        char c = v[i];
        if (c != '\\') { out[o++] = c; continue; }
        c = v[++i];
        switch (c) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u': {
            unsigned cp;
            if (i + 4 >= vlen || jt_hex4(v + i + 1, &cp)) goto bad;
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (i + 6 >= vlen || v[i + 1] != '\\' || v[i + 2] != 'u' || jt_hex4(v + i + 3, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    goto bad;
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) goto bad; /* no NULs inside C strings */
            if (cp < 0x80) out[o++] = (char)cp;
            else if (cp < 0x800) { out[o++] = (char)(0xC0 | (cp >> 6)); out[o++] = (char)(0x80 | (cp & 0x3F)); }
            else if (cp < 0x10000) {
                out[o++] = (char)(0xE0 | (cp >> 12)); out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[o++] = (char)(0xF0 | (cp >> 18)); out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: out[o++] = c; break; /* \" \\ \/ */
        }
    }
    out[o] = '\0';
    return out;
bad:
    explicit_bzero(out, vlen);
    free(out);
    return NULL;
}

char *jt_string(const char *s, size_t n, const char *key) {
    const char *v;
    size_t vlen;
    if (jt_find(s, n, key, &v, &vlen) != 1) return NULL;
    return jt_decode(v, vlen);
}

int jt_string_to(const char *s, size_t n, const char *key, char *out, size_t outlen) {
    char *v = jt_string(s, n, key);
    if (!v) return -1;
    size_t len = strlen(v);
    int rc = -1;
    if (len < outlen) { memcpy(out, v, len + 1); rc = 0; }
    explicit_bzero(v, len);
    free(v);
    return rc;
}

int jt_number(const char *s, size_t n, const char *key, double *out) {
    const char *v;
    size_t vlen;
    if (jt_find(s, n, key, &v, &vlen) != 1 || vlen >= 64) return -1;
    for (size_t k = 0; k < vlen; k++)   /* JSON numbers only: strtod would also take hex (0x1p3) */
        if (!((v[k] >= '0' && v[k] <= '9') || v[k] == '-' || v[k] == '+' || v[k] == '.' || v[k] == 'e' || v[k] == 'E'))
            return -1;
    char tmp[64];
    memcpy(tmp, v, vlen);
    tmp[vlen] = '\0';
    char *end;
    double d = strtod(tmp, &end);
    if (end == tmp || *end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

static void jt_put(struct jt_writer *w, const char *s, size_t n) { util_buf_add(&w->buf, s, n); }

void jt_begin(struct jt_writer *w) {
    memset(w, 0, sizeof *w);
    jt_put(w, "{", 1);
}

static void jt_key(struct jt_writer *w, const char *key) {
    if (w->members++) jt_put(w, ",", 1);
    util_buf_json_string(&w->buf, key);
    jt_put(w, ":", 1);
}

void jt_add_string(struct jt_writer *w, const char *key, const char *value) {
    jt_key(w, key);
    if (value) util_buf_json_string(&w->buf, value);
    else jt_put(w, "null", 4);
}

void jt_add_number(struct jt_writer *w, const char *key, double value) {
    char tmp[40];
    jt_key(w, key);
    if (!isfinite(value)) value = 0;
    int n = snprintf(tmp, sizeof tmp, "%.17g", value);
    jt_put(w, tmp, (size_t)n);
}

const char *jt_end(struct jt_writer *w) {
    jt_put(w, "}", 1);
    return w->buf.failed ? NULL : w->buf.p;
}

void jt_free(struct jt_writer *w) {
    util_buf_free(&w->buf);
    w->members = 0;
}
