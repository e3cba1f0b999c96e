# Lazy start-up (docs/internals.md): a script without network I/O never maps the network
# library or libcurl/OpenSSL/libmicrohttpd/SQLite/libpq; the first module that needs them
# opens it (the control: the same probe sees them then). And every symbol the library
# leaves undefined is defined by the executable's exports or a library it needs, so lazy
# binding can never fail mid-run (with a control that a missing one is noticed).
. "$(dirname "$0")/lib.sh"

check() { local name=$1; shift; if "$@"; then echo "ok $name"; else _fail "$name" "check failed: $*"; fi; }
# what the process has mapped, seen from inside the script
probe='local m = io.open("/proc/self/maps"):read("a")
local found = {}
for _, lib in ipairs { "vsrun-net.so", "libcurl", "libssl", "libcrypto", "libmicrohttpd", "libsqlite3", "libpq" } do
  if m:find(lib, 1, true) then found[#found + 1] = lib end
end
return table.concat(found, " ")'

run -e "$probe"
expect "lazy: an empty script maps none of the network libraries" 0 '^""$'
run -e "require 'json'; require 'vsrun'; require 'vsrun.time'; require 'vsrun.sched'; $probe"
expect "lazy: json, vsrun, vsrun.time and vsrun.sched map none of them" 0 '^""$'
run -e "require 'http'; $probe"
expect "lazy: control: require 'http' maps the network library, libcurl and OpenSSL" 0 '"vsrun-net.so libcurl libssl libcrypto'
run -e "require 'pagerduty'; $probe"
expect "lazy: control: require 'pagerduty' maps the network library" 0 'vsrun-net.so'
run --strict -e 'return require("http").request ~= nil'
expect "lazy: under --strict the first require opens it too" 0 'true'
run --version
expect "lazy: --version opens it for the libcurl and OpenSSL versions" 0 'libcurl .*'$'\n''OpenSSL'

# unresolved SO [EXTRA]: the library's undefined symbols that neither the executable nor a
# library it needs defines (the toolchain's weak hooks aside); EXTRA adds a fake one
real=$VSRUN; [ "${VSRUN_BUILD:-}" = memcheck ] && real=$(pwd)/vsrun
so=$(dirname "$real")/vsrun-net.so
unresolved() {
    local libs l
    libs=$(ldd "$so" | awk '/=>/ && $3 ~ /^\// { print $3 }')
    { nm -D --defined-only "$real" | awk '{ print $3 }'; for l in $libs; do nm -D --defined-only "$l" | awk '{ print $3 }'; done; } |
        sed 's/@.*//' | sort -u >"$TMP/defined"
    { nm -D --undefined-only "$so" | awk '{ print $2 }' | sed 's/@.*//'; [ -n "${1:-}" ] && echo "$1"; } |
        grep -v -e '^_ITM_' -e '^__gmon_start__$' -e '^__cxa_finalize$' | sort -u | comm -23 - "$TMP/defined"
}
check "lazy: control: a symbol nothing defines is noticed" [ "$(unresolved vsrun_no_such_symbol)" = vsrun_no_such_symbol ]
missing=$(unresolved)
check "lazy: every undefined symbol of vsrun-net.so is exported by vsrun or its libraries" [ -z "$missing" ]
[ -n "$missing" ] && echo "    missing: $(head -5 <<<"$missing" | tr '\n' ' ')"
check "lazy: vsrun itself links none of the network libraries" \
    bash -c '! ldd "$1" | grep -Eq "libcurl|libssl|libcrypto|libmicrohttpd|libsqlite3|libpq"' _ "$real"
