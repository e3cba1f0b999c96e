/* Atomic, link-safe file replacement. See atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "vm.h"

static int write_all(int fd, const char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Makes the rename durable; failure here is not worth failing the write for. */
static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomic_file_write(const char *path, const char *data, size_t len, const char *tail) {
    char *copy = strdup(path), *copy2 = strdup(path);
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    int rc = -1, saved = ENOMEM, fd = -1;
    if (!copy || !copy2 || !tmp) goto out;
    const char *dir = dirname(copy), *base = basename(copy2);
    snprintf(tmp, n, "%s/.%s.XXXXXX", dir, base);
    fd = mkostemp(tmp, O_CLOEXEC); /* O_CREAT|O_EXCL, mode 0600 minus the umask */
    if (fd < 0) { saved = errno; goto out; }
    struct stat old;
    int ok = 1;
    if (lstat(path, &old) == 0 && S_ISREG(old.st_mode)) ok = fchmod(fd, old.st_mode & 0777) == 0;
    ok = ok && write_all(fd, data, len) == 0 && (tail == NULL || write_all(fd, tail, strlen(tail)) == 0);
    ok = ok && fsync(fd) == 0;
    saved = errno;
    ok = (close(fd) == 0) && ok;
    fd = -1;
    if (ok && rename(tmp, path) == 0) {
        sync_dir(dir);
        rc = 0;
    } else {
        if (ok) saved = errno;
        unlink(tmp);
    }
out:
    if (fd >= 0) close(fd);
    free(copy);
    free(copy2);
    free(tmp);
    if (rc != 0) errno = saved;
    return rc;
}

int atomic_file_lua_write(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    if (vm_options(L)->strict) return luaL_error(L, "writing files is not available under --strict");
    if (atomic_file_write(path, text, len, NULL) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write %s: %s", path, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}
