/* json: our own decoder and encoder. Debian's lua-cjson 2.1.0 decodes [] and {} to the same
 * empty table, writes every number through "%.14g" (large integers lose digits), cannot mark
 * an empty array, and lacks the CVE-2022-24834 fix. The decoder marks every array with
 * json.array_mt (so [] and {} round-trip), keeps integers exact, checks UTF-8 and nesting
 * depth; the writer builds its output through the Lua allocator, so the memory cap bounds it,
 * and it stops at a size limit. Strings must be valid UTF-8 both ways: anything else raises. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "modules.h"

#define JSON_MAX_DEPTH 128
#define JSON_MAX_OUTPUT ((size_t)256 * 1024 * 1024)

/* upvalues of encode/decode/array */
#define UV_ARRAY_MT 1
#define UV_EMPTY_ARRAY 2

/* Output buffer allocated through the Lua allocator (so --max-memory bounds it) and owned
 * by a userdata whose __gc frees it if an error interrupts encoding. luaL_Buffer is not
 * used because the encoder pushes values between writes. */
struct json_buf {
    char *p;
    size_t len, cap;
};

struct json_writer {
    lua_State *L;
    struct json_buf *b;
    int indent;      /* spaces per level; 0 = compact */
    int array_mt;    /* absolute index of json.array_mt */
    int empty_array; /* absolute index of json.empty_array */
};

static int json_fail(struct json_writer *w, const char *fmt, const char *detail) {
    return luaL_error(w->L, fmt, detail);
}

static int json_buf_gc(lua_State *L) {
    struct json_buf *b = lua_touserdata(L, 1);
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    if (b->p) alloc(ud, b->p, b->cap, 0);
    b->p = NULL;
    b->cap = b->len = 0;
    return 0;
}

static void json_add(struct json_writer *w, const char *s, size_t n) {
    struct json_buf *b = w->b;
    if (b->len + n > b->cap) {
        if (b->len + n > JSON_MAX_OUTPUT) json_fail(w, "json.encode: output larger than %s", "256 MB");
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n) ncap *= 2;
        void *ud;
        lua_Alloc alloc = lua_getallocf(w->L, &ud);
        char *np = alloc(ud, b->p, b->p ? b->cap : 0, ncap);
        if (np == NULL) json_fail(w, "json.encode: %s", "not enough memory");
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void json_addchar(struct json_writer *w, char c) {
    if (w->b->len < w->b->cap) w->b->p[w->b->len++] = c;
    else json_add(w, &c, 1);
}

static void json_addstr(struct json_writer *w, const char *s) { json_add(w, s, strlen(s)); }


static void json_newline(struct json_writer *w, int depth) {
    if (!w->indent) return;
    json_addchar(w, '\n');
    for (int i = 0; i < depth * w->indent; i++) json_addchar(w, ' ');
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0: overlong forms, surrogates and
 * code points above U+10FFFF are invalid. */
static size_t utf8_seq_len(const unsigned char *s, const unsigned char *end) {
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(end - s) < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

static void json_write_string(struct json_writer *w, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    json_addchar(w, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': json_addstr(w, "\\\""); break;
        case '\\': json_addstr(w, "\\\\"); break;
        case '\n': json_addstr(w, "\\n"); break;
        case '\r': json_addstr(w, "\\r"); break;
        case '\t': json_addstr(w, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                json_add(w, u, 6);
            } else if (c < 0x80) {
                json_addchar(w, (char)c);
            } else {
                size_t n = utf8_seq_len((const unsigned char *)s + i, (const unsigned char *)s + len);
                if (n == 0) {
                    char at[32];
                    snprintf(at, sizeof at, "%zu", i + 1);
                    json_fail(w, "json.encode: a string is not valid UTF-8 (byte %s)", at);
                }
                json_add(w, s + i, n);
                i += n - 1;
            }
        }
    }
    json_addchar(w, '"');
}

static void json_write_number(struct json_writer *w, int idx) {
    char buf[64];
    if (lua_isinteger(w->L, idx)) {
        snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(w->L, idx));
    } else {
        double d = lua_tonumber(w->L, idx);
        if (!isfinite(d)) json_fail(w, "json.encode: cannot encode %s", isnan(d) ? "NaN" : "infinity");
        /* shortest of %.15g / %.17g that reads back exactly */
        snprintf(buf, sizeof buf, "%.15g", d);
        if (strtod(buf, NULL) != d) snprintf(buf, sizeof buf, "%.17g", d);
    }
    json_addstr(w, buf);
}

/* Array when the keys are exactly 1..n (n >= 1), or when marked with json.array_mt (decoded
 * arrays are), which makes an empty table []. Holes and string keys raise either way. */
static int json_array_length(struct json_writer *w, int idx, int *is_array) {
    lua_State *L = w->L;
    /* json.empty_array is always [], even if something was rawset into it */
    if (lua_rawequal(L, idx, w->empty_array)) { *is_array = 1; return 0; }
    int marked = 0;
    if (lua_getmetatable(L, idx)) {
        marked = lua_rawequal(L, -1, w->array_mt);
        lua_pop(L, 1);
    }
    lua_Integer count = 0, max = 0;
    int strings = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            strings++;
        } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            count++;
            if (lua_tointeger(L, -1) > max) max = lua_tointeger(L, -1);
        } else {
            return json_fail(w, "json.encode: a table key of type %s cannot be encoded", luaL_typename(L, -1));
        }
    }
    if ((count > 0 || marked) && strings > 0) json_fail(w, "json.encode: table mixes %s", "array items and string keys");
    if (count > 0 && max != count) json_fail(w, "json.encode: %s", "sparse array (holes between items)");
    *is_array = count > 0 || marked;
    return (int)count;
}

struct json_key {
    const char *s;
    size_t len;
};

/* byte order, shorter first on a common prefix: keys may hold NUL bytes */
static int json_key_cmp(const void *a, const void *b) {
    const struct json_key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

static void json_write(struct json_writer *w, int idx, int depth);

static void json_write_object(struct json_writer *w, int idx, int depth) {
    lua_State *L = w->L;
    /* keys sorted so output is stable (golden tests, diffs); the array of key pointers lives
     * in a userdata so an error mid-way cannot leak it */
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
    struct json_key *keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        keys[i].s = lua_tolstring(L, -1, &keys[i].len); /* a string: json_array_length checked */
        i++;
    }
    qsort(keys, n, sizeof *keys, json_key_cmp);
    json_addchar(w, '{');
    for (i = 0; i < n; i++) {
        if (i) json_addchar(w, ',');
        json_newline(w, depth + 1);
        json_write_string(w, keys[i].s, keys[i].len);
        json_addchar(w, ':');
        if (w->indent) json_addchar(w, ' ');
        lua_pushlstring(L, keys[i].s, keys[i].len);
        lua_rawget(L, idx);
        json_write(w, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    if (n) json_newline(w, depth);
    json_addchar(w, '}');
    lua_pop(L, 1);
}

static void json_write(struct json_writer *w, int idx, int depth) {
    lua_State *L = w->L;
    if (depth > JSON_MAX_DEPTH) json_fail(w, "json.encode: nesting deeper than %s levels (or a cycle)", "128");
    luaL_checkstack(L, 8, "json.encode");
    switch (lua_type(L, idx)) {
    case LUA_TNIL: json_addstr(w, "null"); break;
    case LUA_TBOOLEAN: json_addstr(w, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNUMBER: json_write_number(w, idx); break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        json_write_string(w, s, len);
        break;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { json_addstr(w, "null"); break; }
        json_fail(w, "json.encode: cannot encode %s", "userdata");
        break;
    case LUA_TTABLE: {
        int is_array = 0;
        int n = json_array_length(w, idx, &is_array);
        if (!is_array) { json_write_object(w, idx, depth); break; }
        json_addchar(w, '[');
        for (int i = 1; i <= n; i++) {
            if (i > 1) json_addchar(w, ',');
            json_newline(w, depth + 1);
            lua_rawgeti(L, idx, i);
            json_write(w, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        if (n) json_newline(w, depth);
        json_addchar(w, ']');
        break;
    }
    default:
        json_fail(w, "json.encode: cannot encode a %s value", luaL_typename(L, idx));
    }
}

/* json.encode(value [, { indent = N }]) */
static int json_encode(lua_State *L) {
    luaL_checkany(L, 1);
    struct json_writer w = {.L = L};
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "indent");
        w.indent = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        if (w.indent < 0 || w.indent > 8) return luaL_error(L, "json.encode: indent must be 0..8");
    }
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_ARRAY_MT));
    w.array_mt = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(UV_EMPTY_ARRAY));
    w.empty_array = lua_gettop(L);
    w.b = lua_newuserdatauv(L, sizeof *w.b, 0);
    memset(w.b, 0, sizeof *w.b);
    if (luaL_newmetatable(L, "json.buffer")) {
        lua_pushcfunction(L, json_buf_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    json_write(&w, 1, 0);
    lua_pushlstring(L, w.b->p, w.b->len);
    return 1;
}

/* ---- decoding ---- */

struct json_reader {
    lua_State *L;
    const char *start, *p, *end;
    int array_mt; /* absolute index of json.array_mt */
    /* Size of the last array and object closed at each depth: the next table there is
     * created that big (the records of a page share one shape), so it is not rehashed as it
     * grows. Never more than a table already read from this input: memory stays within
     * twice what the decoded value needs. */
    int last_items[JSON_MAX_DEPTH], last_keys[JSON_MAX_DEPTH];
};

static int json_decode_fail(struct json_reader *r, const char *what) {
    return luaL_error(r->L, "json.decode: %s at character %d", what, (int)(r->p - r->start) + 1);
}

static void json_skip_space(struct json_reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) r->p++;
}

static int json_hex4(struct json_reader *r, const char *s) {
    int v = 0;
    if (r->end - s < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static void json_add_utf8(luaL_Buffer *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    luaL_addlstring(b, u, n);
}

/* Reads the plain bytes of a string up to a quote, backslash or bad byte; returns where it stopped. */
static const char *json_plain_run(struct json_reader *r, const char *s) {
    while (s < r->end) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c < 0x20) break;
        if (c < 0x80) { s++; continue; }
        size_t n = utf8_seq_len((const unsigned char *)s, (const unsigned char *)r->end);
        if (n == 0) break;
        s += n;
    }
    return s;
}

/* r->p at the opening quote; pushes the string */
static void json_read_string(struct json_reader *r) {
    const char *s = r->p + 1;
    const char *run_end = json_plain_run(r, s);
    if (run_end < r->end && *run_end == '"') { /* no escapes: the common case */
        lua_pushlstring(r->L, s, (size_t)(run_end - s));
        r->p = run_end + 1;
        return;
    }
    luaL_Buffer b;
    luaL_buffinit(r->L, &b);
    for (;;) {
        run_end = json_plain_run(r, s);
        luaL_addlstring(&b, s, (size_t)(run_end - s));
        s = run_end;
        if (s >= r->end) { r->p = s; json_decode_fail(r, "unterminated string"); }
        unsigned char c = (unsigned char)*s;
        if (c == '"') break;
        r->p = s;
        if (c < 0x20) json_decode_fail(r, "control character in a string");
        if (c != '\\') json_decode_fail(r, "invalid UTF-8 in a string");
        if (s + 1 >= r->end) json_decode_fail(r, "unterminated string");
        char e = s[1];
        s += 2;
        switch (e) {
        case '"': luaL_addchar(&b, '"'); break;
        case '\\': luaL_addchar(&b, '\\'); break;
        case '/': luaL_addchar(&b, '/'); break;
        case 'b': luaL_addchar(&b, '\b'); break;
        case 'f': luaL_addchar(&b, '\f'); break;
        case 'n': luaL_addchar(&b, '\n'); break;
        case 'r': luaL_addchar(&b, '\r'); break;
        case 't': luaL_addchar(&b, '\t'); break;
        case 'u': {
            int cp = json_hex4(r, s);
            if (cp < 0) json_decode_fail(r, "invalid \\u escape");
            s += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff) json_decode_fail(r, "lone low surrogate in a \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                int lo = (r->end - s >= 6 && s[0] == '\\' && s[1] == 'u') ? json_hex4(r, s + 2) : -1;
                if (lo < 0xdc00 || lo > 0xdfff) json_decode_fail(r, "high surrogate without its low half in a \\u escape");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s += 6;
            }
            json_add_utf8(&b, (unsigned)cp);
            break;
        }
        default: json_decode_fail(r, "invalid escape in a string");
        }
    }
    luaL_pushresult(&b);
    r->p = s + 1;
}

static void json_read_number(struct json_reader *r) {
    const char *s = r->p, *q = s;
    int is_float = 0;
    if (q < r->end && *q == '-') q++;
    if (q < r->end && *q == '0') q++;
    else if (q < r->end && *q >= '1' && *q <= '9') { while (q < r->end && *q >= '0' && *q <= '9') q++; }
    else json_decode_fail(r, "invalid number");
    if (q < r->end && *q == '.') {
        is_float = 1;
        q++;
        if (!(q < r->end && *q >= '0' && *q <= '9')) { r->p = q; json_decode_fail(r, "invalid number"); }
        while (q < r->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < r->end && (*q == 'e' || *q == 'E')) {
        is_float = 1;
        q++;
        if (q < r->end && (*q == '+' || *q == '-')) q++;
        if (!(q < r->end && *q >= '0' && *q <= '9')) { r->p = q; json_decode_fail(r, "invalid number"); }
        while (q < r->end && *q >= '0' && *q <= '9') q++;
    }
    r->p = q;
    if (!is_float) { /* exact when it fits in a Lua integer */
        const char *d = s + (*s == '-');
        unsigned long long v = 0, limit = *s == '-' ? (unsigned long long)LUA_MAXINTEGER + 1 : LUA_MAXINTEGER;
        int fits = 1;
        for (; d < q; d++) {
            unsigned digit = (unsigned)(*d - '0');
            if (v > (limit - digit) / 10) { fits = 0; break; }
            v = v * 10 + digit;
        }
        if (fits) {
            lua_pushinteger(r->L, *s == '-' ? (lua_Integer)(0 - v) : (lua_Integer)v);
            return;
        }
    }
    /* the token was checked above, so strtod reads exactly it (a copy ends it with NUL) */
    char buf[64];
    size_t n = (size_t)(q - s);
    double v;
    if (n < sizeof buf) {
        memcpy(buf, s, n);
        buf[n] = 0;
        v = strtod(buf, NULL);
    } else {
        lua_pushlstring(r->L, s, n);
        v = strtod(lua_tostring(r->L, -1), NULL);
        lua_pop(r->L, 1);
    }
    /* whole numbers within 2^53 come back as integers, as written by most APIs */
    if (v == floor(v) && fabs(v) <= 9007199254740992.0) lua_pushinteger(r->L, (lua_Integer)v);
    else lua_pushnumber(r->L, v);
}

static void json_read_literal(struct json_reader *r, const char *word, size_t n) {
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) json_decode_fail(r, "invalid literal");
    r->p += n;
}

static void json_read_value(struct json_reader *r, int depth) {
    lua_State *L = r->L;
    json_skip_space(r);
    if (r->p >= r->end) json_decode_fail(r, "unexpected end of input");
    switch (*r->p) {
    case '{':
    case '[': {
        int array = *r->p == '[';
        char close = array ? ']' : '}';
        if (depth >= JSON_MAX_DEPTH) json_decode_fail(r, "nesting deeper than 128 levels");
        luaL_checkstack(L, 4, "json.decode");
        r->p++;
        json_skip_space(r);
        int empty = r->p < r->end && *r->p == close;
        lua_createtable(L, empty || !array ? 0 : r->last_items[depth], empty || array ? 0 : r->last_keys[depth]);
        if (array) {
            lua_pushvalue(L, r->array_mt);
            lua_setmetatable(L, -2);
        }
        if (empty) { r->p++; return; }
        for (lua_Integer i = 1;; i++) {
            if (array) {
                json_read_value(r, depth + 1);
                lua_rawseti(L, -2, i);
            } else {
                json_skip_space(r);
                if (r->p >= r->end || *r->p != '"') json_decode_fail(r, "expected a string key");
                json_read_string(r);
                json_skip_space(r);
                if (r->p >= r->end || *r->p != ':') json_decode_fail(r, "expected ':'");
                r->p++;
                json_read_value(r, depth + 1);
                lua_rawset(L, -3);
            }
            json_skip_space(r);
            if (r->p < r->end && *r->p == ',') { r->p++; continue; }
            if (r->p < r->end && *r->p == close) {
                r->p++;
                *(array ? &r->last_items[depth] : &r->last_keys[depth]) = i < INT_MAX ? (int)i : INT_MAX;
                return;
            }
            json_decode_fail(r, array ? "expected ',' or ']'" : "expected ',' or '}'");
        }
    }
    case '"': json_read_string(r); return;
    case 't': json_read_literal(r, "true", 4); lua_pushboolean(L, 1); return;
    case 'f': json_read_literal(r, "false", 5); lua_pushboolean(L, 0); return;
    case 'n': json_read_literal(r, "null", 4); lua_pushlightuserdata(L, NULL); return;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) { json_read_number(r); return; }
        json_decode_fail(r, "unexpected character");
    }
}

/* json.decode(text): arrays get json.array_mt; null is json.null */
static int json_decode(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_ARRAY_MT));
    struct json_reader r = {.L = L, .start = s, .p = s, .end = s + len, .array_mt = lua_gettop(L)};   /* hints 0 */
    json_read_value(&r, 0);
    json_skip_space(&r);
    if (r.p != r.end) json_decode_fail(&r, "unexpected text after the value");
    return 1;
}

/* json.array([t]) -> t marked as an array, so an empty one encodes as [] */
static int json_array(lua_State *L) {
    if (lua_isnoneornil(L, 1)) lua_newtable(L);
    else luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_ARRAY_MT));
    lua_setmetatable(L, 1);
    return 1;
}

static int json_frozen(lua_State *L) {
    return luaL_error(L, "json.empty_array is shared and read-only: use json.array() for an array to fill");
}

int luaopen_json(lua_State *L) {
    lua_createtable(L, 0, 6);
    int mod = lua_gettop(L);
    lua_newtable(L); /* array_mt */
    lua_pushliteral(L, "json.array");
    lua_setfield(L, -2, "__name");
    int array_mt = lua_gettop(L);

    /* json.empty_array: shared, so it cannot be changed; the encoder writes it as [] whatever
     * a rawset put in it. Its own metatable (not array_mt) holds the guard. */
    lua_newtable(L);
    int empty = lua_gettop(L);
    lua_newtable(L);
    lua_pushliteral(L, "json.array");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, json_frozen);
    lua_setfield(L, -2, "__newindex");
    lua_pushliteral(L, "json.empty_array is read-only");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, empty);

    lua_pushvalue(L, array_mt);
    lua_setfield(L, mod, "array_mt");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, mod, "null");
    lua_pushvalue(L, empty);
    lua_setfield(L, mod, "empty_array");

    static const luaL_Reg fns[] = {{"decode", json_decode}, {"encode", json_encode}, {"array", json_array}, {NULL, NULL}};
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushvalue(L, array_mt);
        lua_pushvalue(L, empty);
        lua_pushcclosure(L, f->func, 2);
        lua_setfield(L, mod, f->name);
    }
    lua_pushvalue(L, mod);
    return 1;
}
