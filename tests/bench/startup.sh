# Start-up: `vsrun empty.lua` against Debian's `lua5.4 empty.lua` (the issue's baseline) and
# against a do-nothing program linked to the same shared libraries (libcurl, OpenSSL,
# libmicrohttpd: what the dynamic loader alone costs). Median wall time over many runs
# (hyperfine) and peak RSS (GNU time). Targets: <= 1.5x lua5.4, vsrun at most 4 MB.
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: > "$tmp/empty.lua"
cc -O2 -o "$tmp/libs_only" tests/bench/libs_only.c $(pkg-config --libs libcurl openssl libmicrohttpd)
runs=${BENCH_RUNS:-300}
hyperfine -N -w 20 -r "$runs" --export-json "$tmp/h.json" \
    "lua5.4 $tmp/empty.lua" "$tmp/libs_only" "./vsrun $tmp/empty.lua" >/dev/null 2>&1
read -r lua_ms libs_ms vs_ms < <(python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["results"]
print(*(x["median"]*1000 for x in r))' "$tmp/h.json")
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
lua_kb=$(rss lua5.4 "$tmp/empty.lua"); libs_kb=$(rss "$tmp/libs_only"); vs_kb=$(rss ./vsrun "$tmp/empty.lua")
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }
printf '%-34s %10s %10s %10s\n' "start-up (median of $runs)" "vsrun" "baseline" "ratio"
printf '%-34s %8.2fms %8.2fms %10s  target <= 1.5x\n' "  vs lua5.4 empty.lua" "$vs_ms" "$lua_ms" "$(ratio "$vs_ms" "$lua_ms")"
printf '%-34s %8.2fms %8.2fms %10s  (loader cost of libcurl+OpenSSL+MHD)\n' "  vs same-libraries no-op program" "$vs_ms" "$libs_ms" "$(ratio "$vs_ms" "$libs_ms")"
printf '%-34s %8dKB %8dKB %10s  target vsrun <= 4096 KB\n' "peak RSS vs lua5.4" "$vs_kb" "$lua_kb" "$(ratio "$vs_kb" "$lua_kb")"
printf '%-34s %8dKB %8dKB %10s\n' "peak RSS vs same-libraries program" "$vs_kb" "$libs_kb" "$(ratio "$vs_kb" "$libs_kb")"
