# json.decode of a ~220 KB page of incidents: our decoder (host/json.c) against the old path
# (lua-cjson 2.1.0 + the integer-restoring walk), measured in the same process.
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
make -s build/rel/json.o
LIBDIR=/usr/lib/$(cc -print-multiarch)
cc -O2 -D_GNU_SOURCE -I/usr/include/lua5.4 -o "$tmp/json_decode" tests/bench/json_decode.c build/rel/json.o \
    "$LIBDIR/liblua5.4.a" "$LIBDIR/liblua5.4-cjson.a" -lm -ldl
"$tmp/json_decode" "${BENCH_RUNS:-50}"
