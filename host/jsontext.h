/* Small JSON reading and writing for C code that must keep secrets out of Lua: the vault
 * record and the OAuth server's responses. Reads values of one object by key (nested values
 * are skipped or returned as raw spans); writes flat objects. Buffers that may hold secrets
 * are cleansed when they grow or are freed. */
#ifndef VSRUN_JSONTEXT_H
#define VSRUN_JSONTEXT_H
#include <stddef.h>

#include "util.h"

/* Finds `key` among the members of the object in s[0..n). Returns 1 and the raw value span
 * (a string span includes its quotes), 0 when absent, -1 when s is not a valid object. */
int jt_find(const char *s, size_t n, const char *key, const char **val, size_t *vlen);
/* The decoded string value of key (malloc'd, caller frees/cleanses), or NULL when absent,
 * null or not a string. */
char *jt_string(const char *s, size_t n, const char *key);
/* Copies the string value into out; returns 0, or -1 (absent, not a string or too long). */
int jt_string_to(const char *s, size_t n, const char *key, char *out, size_t outlen);
/* Number value: 0 with *out set, or -1. */
int jt_number(const char *s, size_t n, const char *key, double *out);

struct jt_writer {
    struct util_buf buf;   /* wiped when it grows or is freed */
    int members;
};
void jt_begin(struct jt_writer *w);
void jt_add_string(struct jt_writer *w, const char *key, const char *value); /* NULL → null */
void jt_add_number(struct jt_writer *w, const char *key, double value);
/* Closes the object; returns the text (NUL-terminated, owned by w) or NULL on failure. */
const char *jt_end(struct jt_writer *w);
/* Cleanses and frees the buffer. */
void jt_free(struct jt_writer *w);

#endif
