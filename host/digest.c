/* vsrun.digest: SHA-256, HMAC-SHA256 and base64url for Lua code that must check or make
 * real digests (the sandbox's PKCE verification, token hashing and id_token). OpenSSL does
 * the work; nothing here keeps a copy of its inputs. */
#include <string.h>

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "modules.h"
#include "util.h"

static int digest_sha256(lua_State *L) {  /* sha256(data) -> 32 raw bytes */
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (EVP_Digest(s, len, md, NULL, EVP_sha256(), NULL) != 1) return luaL_error(L, "sha256 failed");
    lua_pushlstring(L, (const char *)md, sizeof md);
    return 1;
}

static int digest_hmac_sha256(lua_State *L) {  /* hmac_sha256(key, data) -> 32 raw bytes */
    size_t klen, dlen;
    const char *k = luaL_checklstring(L, 1, &klen);
    const char *d = luaL_checklstring(L, 2, &dlen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (HMAC(EVP_sha256(), k, (int)klen, (const unsigned char *)d, dlen, md, &mdlen) == NULL)
        return luaL_error(L, "hmac_sha256 failed");
    lua_pushlstring(L, (const char *)md, mdlen);
    return 1;
}

static int digest_hex(lua_State *L) {  /* hex(bytes) -> lower-case hex */
    static const char hexd[] = "0123456789abcdef";
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, 2 * len);
    for (size_t i = 0; i < len; i++) {
        p[2 * i] = hexd[s[i] >> 4];
        p[2 * i + 1] = hexd[s[i] & 15];
    }
    luaL_pushresultsize(&b, 2 * len);
    return 1;
}

/* base64url without padding (RFC 4648 §5), as PKCE and JWTs use it */
static int digest_b64url(lua_State *L) {
    size_t len;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, UTIL_BASE64URL_LEN(len));
    luaL_pushresultsize(&b, util_base64url(s, len, out));
    return 1;
}

/* equal(a, b): constant-time comparison for secrets of equal length */
static int digest_equal(lua_State *L) {
    size_t alen, blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);
    lua_pushboolean(L, alen == blen && CRYPTO_memcmp(a, b, alen) == 0);
    return 1;
}

int luaopen_vsrun_digest(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"sha256", digest_sha256}, {"hmac_sha256", digest_hmac_sha256},
        {"hex", digest_hex},       {"b64url", digest_b64url},
        {"equal", digest_equal},   {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
