/* json: decode with lua-cjson (strict settings, integers restored), encode with our own
 * writer. Debian's lua-cjson 2.1.0 writes every number through "%.14g" (large integers lose
 * digits), cannot mark an empty array, and lacks the CVE-2022-24834 fix; our writer builds
 * its output through the Lua allocator, so the memory cap bounds it, and it stops at a size limit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua-cjson.h>

#include "modules.h"

#define JSON_MAX_DEPTH 128
#define JSON_MAX_OUTPUT ((size_t)256 * 1024 * 1024)

/* upvalues of encode/decode */
#define UV_CJSON_DECODE 1
#define UV_ARRAY_MT 2

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
            } else {
                json_addchar(w, (char)c);
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

/* Array when marked with json.array_mt or when the keys are exactly 1..n (n >= 1). */
static int json_array_length(struct json_writer *w, int idx, int *is_array) {
    lua_State *L = w->L;
    if (lua_getmetatable(L, idx)) {
        int marked = lua_rawequal(L, -1, w->array_mt);
        lua_pop(L, 1);
        if (marked) { *is_array = 1; return (int)lua_rawlen(L, idx); }
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
    if (count > 0 && strings > 0) json_fail(w, "json.encode: table mixes %s", "array items and string keys");
    if (count > 0 && max != count) json_fail(w, "json.encode: %s", "sparse array (holes between items)");
    *is_array = count > 0;
    return (int)count;
}

static int json_key_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void json_write(struct json_writer *w, int idx, int depth);

static void json_write_object(struct json_writer *w, int idx, int depth) {
    lua_State *L = w->L;
    /* keys sorted so output is stable (golden tests, diffs); the array of key pointers lives
     * in a userdata so an error mid-way cannot leak it */
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
    const char **keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0);
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); keys[i++] = lua_tostring(L, -1); }
    qsort(keys, n, sizeof *keys, json_key_cmp);
    json_addchar(w, '{');
    for (i = 0; i < n; i++) {
        if (i) json_addchar(w, ',');
        json_newline(w, depth + 1);
        json_write_string(w, keys[i], strlen(keys[i]));
        json_addchar(w, ':');
        if (w->indent) json_addchar(w, ' ');
        lua_getfield(L, idx, keys[i]);
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

/* Numbers cjson decoded as floats become integers when they are whole and exact. */
static void json_restore_integers(lua_State *L, int idx, int depth) {
    if (depth > JSON_MAX_DEPTH + 1) return;
    luaL_checkstack(L, 4, "json.decode");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            double d = lua_tonumber(L, -1);
            if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, (lua_Integer)d);
                lua_rawset(L, idx);
            }
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            json_restore_integers(L, lua_gettop(L), depth + 1);
        }
        lua_pop(L, 1);
    }
}

/* protected part of decode: cjson may raise */
static int json_decode_raw(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(UV_CJSON_DECODE));
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) == LUA_TTABLE) json_restore_integers(L, lua_gettop(L), 0);
    else if (lua_type(L, -1) == LUA_TNUMBER) {
        double d = lua_tonumber(L, -1);
        if (d == floor(d) && fabs(d) <= 9007199254740992.0) { lua_pop(L, 1); lua_pushinteger(L, (lua_Integer)d); }
    }
    return 1;
}

static int json_decode(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    (void)s;
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(UV_CJSON_DECODE));
    lua_pushcclosure(L, json_decode_raw, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        return luaL_error(L, "json.decode: %s", msg ? msg : "invalid JSON");
    }
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

int luaopen_json(lua_State *L) {
    /* a private cjson instance with strict decoding */
    luaopen_cjson(L);
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);
    int cj = lua_gettop(L);
    lua_getfield(L, cj, "decode_max_depth");
    lua_pushinteger(L, JSON_MAX_DEPTH);
    lua_call(L, 1, 0);
    lua_getfield(L, cj, "decode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);

    lua_createtable(L, 0, 6);
    int mod = lua_gettop(L);
    lua_newtable(L); /* array_mt */
    lua_pushliteral(L, "json.array");
    lua_setfield(L, -2, "__name");
    int array_mt = lua_gettop(L);

    lua_pushvalue(L, array_mt);
    lua_setfield(L, mod, "array_mt");
    lua_getfield(L, cj, "null");
    lua_setfield(L, mod, "null");

    lua_getfield(L, cj, "decode");
    lua_pushvalue(L, array_mt);
    lua_pushcclosure(L, json_decode, 2);
    lua_setfield(L, mod, "decode");

    lua_pushnil(L); /* UV_CJSON_DECODE unused by encode */
    lua_pushvalue(L, array_mt);
    lua_pushcclosure(L, json_encode, 2);
    lua_setfield(L, mod, "encode");

    lua_pushnil(L);
    lua_pushvalue(L, array_mt);
    lua_pushcclosure(L, json_array, 2);
    lua_setfield(L, mod, "array");

    lua_newtable(L);  /* json.empty_array: a shared, frozen empty array */
    lua_pushvalue(L, array_mt);
    lua_setmetatable(L, -2);
    lua_setfield(L, mod, "empty_array");

    lua_pushvalue(L, mod);
    return 1;
}
