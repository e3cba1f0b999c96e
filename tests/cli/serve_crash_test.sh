# vsrun serve after kill -9: every event it acknowledged runs to completion after a
# restart on the same store (runs it left running are queued again: at-least-once).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

export SERVE_OUT=$TMP/ran.txt HOLD=$TMP/hold
: >"$SERVE_OUT"
# holds while $HOLD exists, so a run is certainly in flight when the server is killed
cat >"$TMP/held.lua" <<'LUA'
local ev = ...
local f = assert(io.open(os.getenv("SERVE_OUT"), "a"))
f:write(ev.delivery_id, " start\n")
f:close()
while io.open(os.getenv("HOLD")) do require("vsrun").sleep(0.05) end
f = assert(io.open(os.getenv("SERVE_OUT"), "a"))
f:write(ev.delivery_id, " end\n")
f:close()
return { id = ev.delivery_id }
LUA
cat >"$TMP/serve.lua" <<'LUA'
return { port = 0, routes = { h = { script = "held.lua", bearer = "t", delivery_header = "X-Id", concurrency = 2 } } }
LUA
STORE=$TMP/crash.db
N=12
: >"$HOLD"
start_serve c1 --config "$TMP/serve.lua" --store "$STORE" || { echo "FAIL serve starts: $(cat "$TMP/c1.err")"; exit 1; }
accepted=0
for i in $(seq 1 $N); do
    post /hooks/h "{\"n\":$i}" -H 'Authorization: Bearer t' -H "X-Id: ev-$i"
    [ "$CODE" = 202 ] && accepted=$((accepted + 1))
done
check "control: every event was accepted" test "$accepted" = $N
check "two runs are in flight" wait_until 20 bash -c "[ \$(grep -c ' start\$' '$SERVE_OUT') = 2 ]"
kill -9 "$SV_PID"; wait "$SV_PID" 2>/dev/null
check "control: nothing finished before the kill" test "$(grep -c ' end$' "$SERVE_OUT")" = 0
check "the store shows runs left running" test "$(runs_with "$STORE" running)" = 2
rm -f "$HOLD"       # the orphaned children of the killed server finish now
start_serve c2 --config "$TMP/serve.lua" --store "$STORE" || { echo "FAIL serve restarts: $(cat "$TMP/c2.err")"; exit 1; }
check "restart: the runs left running are queued again" grep -q '^vsrun serve: 2 run(s) left running by a stopped server were queued again' "$TMP/c2.err"
check "restart: every accepted event ran to completion" wait_until 60 bash -c "[ \$('$VSRUN' runs list --store '$STORE' --status done --json | grep -c '') = $N ]"
missing=0
for i in $(seq 1 $N); do grep -q "^ev-$i end$" "$SERVE_OUT" || missing=$((missing + 1)); done
check "every event's pipeline reached its end" test "$missing" = 0
twice=$(grep ' end$' "$SERVE_OUT" | sort | uniq -d | wc -l)
check "only the two runs in flight at the kill ran twice (at-least-once)" test "$twice" -le 2
stop_serve c2 TERM
check "SIGTERM after recovery: exit 0" test "$RC" = 0
check "no sanitizer report" no_sanitizer_report "$TMP/c2.err"
