# Start-up (docs/internals.md "Lazy start-up"), all measured in this run:
#   - `vsrun empty.lua` against Debian's `lua5.4 empty.lua` (the issue's baseline; target
#     <= 1.5x) and against build/rel/vsrun-eager, the same objects linked into one program
#     as before the network library was split out;
#   - peak RSS of the empty script (GNU time; target <= 4096 KB);
#   - first network use: a script that makes one http.get to a local server, by vsrun (which
#     opens vsrun-net.so for it) against vsrun-eager (which loaded everything at start).
# Median wall time over many runs (hyperfine).
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
[ -x build/rel/vsrun-eager ] || { echo "bench startup: make build/rel/vsrun-eager first (make bench does)"; exit 1; }
: >"$tmp/empty.lua"
./vsrun tests/bench/http_serve.lua >"$tmp/url" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 200); do [ -s "$tmp/url" ] && break; sleep 0.05; done
[ -s "$tmp/url" ] || { echo "bench startup: the local server did not start: $(cat "$tmp/server.err")"; exit 1; }
printf 'local r = require("http").get("%s/x")\nassert(r.status == 200)\n' "$(head -1 "$tmp/url")" >"$tmp/get.lua"
./vsrun "$tmp/get.lua" && build/rel/vsrun-eager "$tmp/get.lua" || { echo "bench startup: the request failed"; exit 1; }

runs=${BENCH_RUNS:-300}
hyperfine -N -w 20 -r "$runs" --export-json "$tmp/h.json" \
    "lua5.4 $tmp/empty.lua" "./vsrun $tmp/empty.lua" "build/rel/vsrun-eager $tmp/empty.lua" \
    "./vsrun $tmp/get.lua" "build/rel/vsrun-eager $tmp/get.lua" >/dev/null 2>&1
read -r lua_ms vs_ms eager_ms vs_get_ms eager_get_ms < <(python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["results"]
print(*(x["median"]*1000 for x in r))' "$tmp/h.json")
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
lua_kb=$(rss lua5.4 "$tmp/empty.lua"); vs_kb=$(rss ./vsrun "$tmp/empty.lua"); eager_kb=$(rss build/rel/vsrun-eager "$tmp/empty.lua")
vs_get_kb=$(rss ./vsrun "$tmp/get.lua"); eager_get_kb=$(rss build/rel/vsrun-eager "$tmp/get.lua")
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }
printf '%-40s %10s %10s %8s\n' "start-up (median of $runs)" "vsrun" "baseline" "ratio"
printf '%-40s %8.2fms %8.2fms %8s  target <= 1.5x\n' "  empty script vs lua5.4" "$vs_ms" "$lua_ms" "$(ratio "$vs_ms" "$lua_ms")"
printf '%-40s %8.2fms %8.2fms %8s\n' "  empty script vs eager (before)" "$vs_ms" "$eager_ms" "$(ratio "$vs_ms" "$eager_ms")"
printf '%-40s %8.2fms %8.2fms %8s  (opens vsrun-net.so)\n' "  first network use vs eager (before)" "$vs_get_ms" "$eager_get_ms" "$(ratio "$vs_get_ms" "$eager_get_ms")"
printf '%-40s %8dKB %8dKB %8s  target vsrun <= 4096 KB\n' "peak RSS, empty script vs lua5.4" "$vs_kb" "$lua_kb" "$(ratio "$vs_kb" "$lua_kb")"
printf '%-40s %8dKB %8dKB %8s\n' "peak RSS, empty script vs eager (before)" "$vs_kb" "$eager_kb" "$(ratio "$vs_kb" "$eager_kb")"
printf '%-40s %8dKB %8dKB %8s\n' "peak RSS, first network use vs eager" "$vs_get_kb" "$eager_get_kb" "$(ratio "$vs_get_kb" "$eager_get_kb")"
