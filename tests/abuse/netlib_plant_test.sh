# Attack: plant a fake network library (vsrun-net.so) where vsrun might pick it up — the
# working directory, LD_LIBRARY_PATH, VSRUN_PATH, --lib, the script's directory — or beside
# a copy of vsrun where the file or its directory is writable by others, owned by someone
# else, or reached through a link out of a world-writable directory. vsrun must open only
# the library at its own trusted place (host/netlib.c) and refuse the unsafe ones with a
# clear error. The fake's constructor writes a marker: the control loads it from the
# trusted place to show a load would be noticed; a stale library from another build is
# refused by its stamp.
. "$(dirname "$0")/../cli/lib.sh"

check() { local name=$1; shift; if "$@"; then echo "ok $name"; else _fail "$name" "check failed: $*"; fi; }
no_marker() { [ ! -e "$TMP/marker" ]; }
# under valgrind /proc/self/exe is still vsrun, but copies of the binary run without it
real=$VSRUN; [ "${VSRUN_BUILD:-}" = memcheck ] && real=$(pwd)/vsrun
genuine=$(dirname "$real")/vsrun-net.so

cat >"$TMP/fake.c" <<C
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void) {
    int fd = open("$TMP/marker", O_WRONLY | O_CREAT, 0600);
    if (fd >= 0) close(fd);
}
const struct { const char *stamp; } vsrun_net = {"planted"};
C
cat >"$TMP/stale.c" <<'C'
const struct { const char *stamp; } vsrun_net = {"vsrun-net 0123456789abcdef rel"};
C
cc -shared -fPIC -o "$TMP/fake.so" "$TMP/fake.c" && cc -shared -fPIC -o "$TMP/stale.so" "$TMP/stale.c" ||
    { echo "FAIL netlib_plant: cannot build the fake libraries"; exit 1; }

# copy_vsrun DIR LIBRARY [MODE]: a copy of the binary in DIR with LIBRARY beside it
copy_vsrun() {
    mkdir -p "$1" && chmod 700 "$1" && cp "$real" "$1/vsrun" && cp "$2" "$1/vsrun-net.so" && chmod "${3:-644}" "$1/vsrun-net.so"
}
http_ok() { # runs BIN: require('http') works and the fake did not load
    "$@" -e 'return require("http").request ~= nil' >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}

# control: the fake at the trusted place (beside a copy of vsrun, safe modes) is loaded —
# the marker appears — and refused for its stamp
copy_vsrun "$TMP/control" "$TMP/fake.so"
VSRUN=$TMP/control/vsrun run -e 'return require("http")'
expect "netlib_plant: control: a fake at the trusted place is refused by its stamp" 1 '' "from another build"
check "netlib_plant: control: the fake at the trusted place was loaded (marker written)" test -e "$TMP/marker"
rm -f "$TMP/marker"
# control: a copy of vsrun with the genuine library beside it works, so the refusals below
# are for the planted file, not for copying
copy_vsrun "$TMP/genuine" "$genuine"
http_ok "$TMP/genuine/vsrun"
expect "netlib_plant: control: a copy of vsrun opens a genuine library beside it" 0 'true'

# the places an attacker can write: cwd (also as lib/vsrun/), LD_LIBRARY_PATH, VSRUN_PATH,
# --lib and the script's directory
E=$TMP/evil
mkdir -p "$E/lib/vsrun" && cp "$TMP/fake.so" "$E/vsrun-net.so" && cp "$TMP/fake.so" "$E/lib/vsrun/vsrun-net.so"
printf 'return require("http").request ~= nil\n' >"$E/script.lua"
(cd "$E" && LD_LIBRARY_PATH=$E VSRUN_PATH=$E "$VSRUN" --lib "$E" "$E/script.lua") >"$TMP/out" 2>"$TMP/err" </dev/null
RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
expect "netlib_plant: fakes in cwd, LD_LIBRARY_PATH, VSRUN_PATH, --lib, script dir: the genuine library is used" 0 'true'
check "netlib_plant: ... and no fake was loaded" no_marker
(cd "$E" && LD_LIBRARY_PATH=$E "$VSRUN" --strict --allow-net 127.0.0.1 "$E/script.lua") >"$TMP/out" 2>"$TMP/err" </dev/null
RC=$?; OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
expect "netlib_plant: the same under --strict (loaded on first require)" 0 'true'
check "netlib_plant: ... and no fake was loaded under --strict" no_marker
(cd "$E" && LD_LIBRARY_PATH=$E "$VSRUN" auth list) >"$TMP/out" 2>"$TMP/err" </dev/null
check "netlib_plant: a network command (vsrun auth list) loads no fake" no_marker

# beside a copy of vsrun, but writable by others: the file, then its directory
copy_vsrun "$TMP/w1" "$TMP/fake.so" 666
VSRUN=$TMP/w1/vsrun run -e 'return require("http")'
expect "netlib_plant: a world-writable library is refused" 1 '' "refusing the network library .*writable by no one else"
check "netlib_plant: ... and not loaded" no_marker
copy_vsrun "$TMP/w2" "$TMP/fake.so" 664
VSRUN=$TMP/w2/vsrun run -e 'return require("http")'
expect "netlib_plant: a group-writable library is refused" 1 '' "refusing the network library"
check "netlib_plant: ... and not loaded" no_marker
copy_vsrun "$TMP/w3" "$TMP/fake.so" && chmod 777 "$TMP/w3"
VSRUN=$TMP/w3/vsrun run -e 'return require("http")'
expect "netlib_plant: a library in a world-writable directory is refused" 1 '' "directory is writable by others"
check "netlib_plant: ... and not loaded" no_marker
# a link beside the binary into a world-writable directory: the real place is what counts
mkdir -p "$TMP/ww" && chmod 1777 "$TMP/ww" && cp "$TMP/fake.so" "$TMP/ww/x.so" && chmod 644 "$TMP/ww/x.so"
mkdir -p "$TMP/w4" && chmod 700 "$TMP/w4" && cp "$real" "$TMP/w4/vsrun" && ln -s "$TMP/ww/x.so" "$TMP/w4/vsrun-net.so"
VSRUN=$TMP/w4/vsrun run auth list
expect "netlib_plant: a link into a world-writable directory is refused (command: usage error)" 2 '' "directory is writable by others"
check "netlib_plant: ... and not loaded" no_marker
# owned by another user (needs root to make)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    copy_vsrun "$TMP/w5" "$TMP/fake.so" && chown nobody "$TMP/w5/vsrun-net.so"
    VSRUN=$TMP/w5/vsrun run -e 'return require("http")'
    expect "netlib_plant: a library owned by another user is refused" 1 '' "owned by root or by you"
    check "netlib_plant: ... and not loaded" no_marker
fi

# a library from another build (a stale install) is refused by its stamp, with the remedy
copy_vsrun "$TMP/stale" "$TMP/stale.so"
VSRUN=$TMP/stale/vsrun run -e 'return require("http")'
expect "netlib_plant: a library from another build is refused" 1 '' "from another build of vsrun .*rebuild with make, or reinstall"
VSRUN=$TMP/stale/vsrun run -e 'return require("json").encode({1})'
expect "netlib_plant: ... while a script without network I/O still runs" 0 '"\[1\]"'
