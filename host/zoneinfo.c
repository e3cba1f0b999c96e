/* vsrun.zoneinfo: reads a compiled time zone (TZif, RFC 8536) from the system's zoneinfo
 * directory for lua/vsrun/zone.lua, which parses it. Reading happens here so zones work
 * under --strict (no io there) and only zone files can be read: the name is checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "modules.h"

#define ZONE_NAME_MAX 64
#define ZONE_FILE_MAX (256 * 1024)   /* real zone files are a few KB */

/* "Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5": letters, digits,
 * '_', '-', '+' in parts separated by single '/', none starting with '.' */
static int zone_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > ZONE_NAME_MAX || name[0] == '/' || name[n - 1] == '/') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int part_start = i == 0 || name[i - 1] == '/';
        if (part_start && (c == '.' || c == '/' || c == '-')) return 0;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

/* read(name) -> bytes | nil, message */
static int zoneinfo_read(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    if (!zone_name_ok(name)) {
        lua_pushnil(L);
        lua_pushfstring(L, "'%s' is not a time zone name (like Europe/Berlin)", name);
        return 2;
    }
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0') dir = "/usr/share/zoneinfo";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    luaL_Buffer b;  /* allocated before the file is open: a memory error then leaks nothing */
    char *buf = luaL_buffinitsize(L, &b, ZONE_FILE_MAX);
    FILE *f = fopen(path, "rb");
    int open_errno = errno;
    if (f == NULL) {
        luaL_pushresultsize(&b, 0);
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_pushfstring(L, "unknown time zone '%s' (%s in %s; Debian's tzdata package provides them)",
                        name, strerror(open_errno), dir);
        return 2;
    }
    size_t n = fread(buf, 1, ZONE_FILE_MAX, f);
    int err = ferror(f), more = !feof(f) && fgetc(f) != EOF;
    fclose(f);
    if (err || more) {
        luaL_pushresultsize(&b, 0);
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_pushfstring(L, "time zone '%s': %s", name, err ? "cannot read the file" : "the file is too large");
        return 2;
    }
    luaL_pushresultsize(&b, n);
    return 1;
}

int luaopen_vsrun_zoneinfo(lua_State *L) {
    static const luaL_Reg fns[] = {{"read", zoneinfo_read}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}
