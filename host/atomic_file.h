/* Replacing a file atomically and safely in a directory other users may write to:
 * --output, the sandbox's --state. */
#ifndef VSRUN_ATOMIC_FILE_H
#define VSRUN_ATOMIC_FILE_H
#include <stddef.h>
#include <lua.h>

/* Writes data (then `tail`, when not NULL) to a new file next to path and renames it over
 * path. The temp file gets an unpredictable name and is created with O_EXCL (so a link
 * planted at the temp name is never followed); a link at path itself is replaced, never
 * written through. The file keeps the mode of the regular file it replaces; a new file
 * is 0600 (less if the umask says so). Returns 0, or -1 with errno set. */
int atomic_file_write(const char *path, const char *data, size_t len, const char *tail);

/* Lua: write_file_atomic(path, text) -> true | nil, message. Refused under --strict,
 * where scripts may not write files. Registered in vsrun.core. */
int atomic_file_lua_write(lua_State *L);

#endif
