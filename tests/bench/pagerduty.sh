#!/usr/bin/env bash
# pagerduty bench against `vsrun sandbox` in separate processes (API key auth, ephemeral
# ports), each figure printed with its baseline and ratio:
#   1. listing 10,000 incidents (100 pages) with a vsrun script vs curl fetching the same
#      100 page URLs in one invocation (target ratio <= 2.0, goal 1.5)
#   2. 1,000 get_incident calls, vs.map concurrency 16 vs curl --parallel --parallel-max 16
#      (target ratio <= 1.5)
#   3. peak RSS of vsrun while iterating 50,000 incidents, concurrently (default
#      concurrency 8; target <= 32 MB)
# Listings at realistic latency: latency.sh.
. "$(dirname "$0")/lib.bash"
RUNS=${BENCH_RUNS:-3}

URL=$(start_sandbox small.url --incidents 10000)
export PAGERDUTY_API_URL=$URL

# warm up both sides once (page cache, sandbox state)
curl -s -H "$auth" -H "$accept" "$URL/incidents?limit=1" >/dev/null

# ---- 1. listing 10,000 incidents ----
cat >"$TMP/list.lua" <<'LUA'
local pd = require "pagerduty"
local n = 0
for _ in pd.list_incidents { date_range = "all" } do n = n + 1 end
return n
LUA
: >"$TMP/pages.cfg"
for off in $(seq 0 100 9900); do
    q="sort_by=created_at%3Aasc&date_range=all&limit=100&offset=$off"
    [ "$off" = 0 ] && q="$q&total=true"
    printf 'url = "%s/incidents?%s"\noutput = "/dev/null"\n' "$URL" "$q" >>"$TMP/pages.cfg"
done
a=$(best_of "$RUNS" env PAGERDUTY_TOKEN="$KEY" "$VSRUN" "$TMP/list.lua"); n=$(cat "$TMP/last")
b=$(best_of "$RUNS" curl -s -H "$auth" -H "$accept" -K "$TMP/pages.cfg")
echo "pagerduty list 10,000 incidents (100 pages, best of $RUNS): vsrun ${a}s ($n records), curl ${b}s, ratio $(ratio "$a" "$b") (target <= 2.0, goal 1.5)"

# ---- 2. 1,000 get_incident calls, 16 at a time ----
PAGERDUTY_TOKEN=$KEY "$VSRUN" -e '
local ids = {}
for inc in require("pagerduty").list_incidents { date_range = "all", limit = 1000 } do ids[#ids + 1] = inc.id end
return table.concat(ids, "\n")' | tr -d '"' | sed 's/\\n/\n/g' >"$TMP/ids"
cat >"$TMP/get.lua" <<'LUA'
local pd = require "pagerduty"
local vs = require "vsrun"
require("http").configure { max_per_host = 16 }
local ids = {}
for line in io.lines(arg_file) do ids[#ids + 1] = line end
local got = vs.map(ids, pd.get_incident, { concurrency = 16 })
return #got
LUA
sed -i "1i local arg_file = '$TMP/ids'" "$TMP/get.lua"
: >"$TMP/gets.cfg"
while read -r id; do
    printf 'url = "%s/incidents/%s"\noutput = "/dev/null"\n' "$URL" "$id" >>"$TMP/gets.cfg"
done <"$TMP/ids"
a=$(best_of "$RUNS" env PAGERDUTY_TOKEN="$KEY" "$VSRUN" "$TMP/get.lua"); n=$(cat "$TMP/last")
b=$(best_of "$RUNS" curl -s --no-progress-meter --parallel --parallel-max 16 -H "$auth" -H "$accept" -K "$TMP/gets.cfg")
echo "pagerduty 1,000 get_incident, concurrency 16 (best of $RUNS): vsrun ${a}s ($n calls), curl --parallel ${b}s, ratio $(ratio "$a" "$b") (target <= 1.5)"

# ---- 3. peak RSS iterating 50,000 incidents ----
URL2=$(start_sandbox big.url --incidents 50000)
cat >"$TMP/rss.lua" <<'LUA'
local n = 0
for _ in require("pagerduty").list_incidents { date_range = "all" } do n = n + 1 end
local hwm
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmHWM:%s+(%d+) kB")
  if kb then hwm = tonumber(kb) end
end
return string.format("%d %d", n, hwm)
LUA
out=$(PAGERDUTY_TOKEN=$KEY PAGERDUTY_API_URL=$URL2 "$VSRUN" "$TMP/rss.lua" | tr -d '"')
n=${out% *}; kb=${out#* }
echo "pagerduty peak RSS, concurrent listing of 50,000 incidents: $(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }') MB ($n records; baseline: target <= 32 MB, ratio $(awk -v k="$kb" 'BEGIN { printf "%.2f", k / 1024 / 32 }'))"
