#!/usr/bin/env bash
# make install: the binary, the network library under PREFIX/lib/vsrun (opened on first
# network use), the man page and scripts/lib under PREFIX/share/vsrun/lib, which the
# installed vsrun puts on its require path (after --lib and VSRUN_PATH; not under --strict).
. "$(dirname "$0")/lib.sh"

P=$TMP/prefix
if make -s install PREFIX="$P" >"$TMP/make.out" 2>&1; then echo "ok make install"; else _fail "make install" "$(tail -3 "$TMP/make.out")"; fi
[ -f "$P/share/vsrun/lib/timeline.lua" ] && echo "ok scripts/lib installed" || _fail "scripts/lib installed" "no timeline.lua"
[ ! -e "$P/share/vsrun/lib/timeline_test.lua" ] && echo "ok lib tests not installed" || _fail "lib tests not installed" "timeline_test.lua installed"
[ -f "$P/share/man/man1/vsrun.1" ] && echo "ok man page installed" || _fail "man page installed" "missing"
[ -f "$P/lib/vsrun/vsrun-net.so" ] && echo "ok network library installed in lib/vsrun" || _fail "network library installed" "missing"
# the build under test, in the installed layout. Under valgrind /proc/self/exe names valgrind,
# not vsrun, so the memcheck run checks the plain build here (rel and asan check their own)
bin=$VSRUN; [ "${VSRUN_BUILD:-}" = memcheck ] && bin=$(pwd)/vsrun
cp "$bin" "$P/bin/vsrun"
cp "$(dirname "$bin")/vsrun-net.so" "$P/lib/vsrun/vsrun-net.so"

cd "$TMP" || exit 1
VSRUN=$P/bin/vsrun
run -e 'return type(require("timeline").render)'
expect "installed vsrun finds scripts/lib modules" 0 '"function"'
run --strict -e 'return require("timeline")'
expect "--strict does not search the installed lib" 1 '' "module 'timeline' not found"
mkdir -p "$TMP/mine" && printf 'return { render = "mine" }\n' >"$TMP/mine/timeline.lua"
run --lib "$TMP/mine" -e 'return require("timeline").render'
expect "--lib comes before the installed lib" 0 '"mine"'
run -e 'return require("http").request ~= nil'
expect "installed vsrun opens its network library from lib/vsrun" 0 'true'
run --version
expect "installed vsrun --version names libcurl" 0 'libcurl'
# control: a vsrun with no share/vsrun/lib beside it does not find the module
mkdir -p "$TMP/bare/bin" && cp "$P/bin/vsrun" "$TMP/bare/bin/vsrun"
VSRUN=$TMP/bare/bin/vsrun
run -e 'return require("timeline")'
expect "control: without the installed lib the module is missing" 1 '' "module 'timeline' not found"
# ... and without lib/vsrun a script with no network I/O still runs; network use says why not
run -e 'return require("json").encode({1})'
expect "without the network library a script without network I/O runs" 0 '"\[1\]"'
run -e 'return require("http")'
expect "without the network library require('http') says it is not installed" 1 '' "not installed beside"
run auth list
expect "without the network library a network command is a usage error" 2 '' "not installed beside"
