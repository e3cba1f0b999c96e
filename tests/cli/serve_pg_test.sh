# vsrun serve on a shared PostgreSQL store: a real PostgreSQL (initdb + pg_ctl into a
# temporary directory, as an unprivileged user, on a free loopback port), three replicas,
# 500 signed webhooks (SERVE_PG_EVENTS) spread over them; one replica is killed with
# kill -9 while it holds runs, another is restarted with SIGTERM. Every accepted event must run to completion; only the
# runs the killed replica held may run twice (at-least-once).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

PG_TEST=serve_pg_test . "$(dirname "$0")/pg_lib.sh"
cleanup() {
    pg_stop
    for p in ${REPLICA_PIDS:-}; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

export SERVE_OUT=$TMP/ran.txt HOLD=$TMP/hold
: >"$SERVE_OUT"
# records "id replica start|end"; holds while $HOLD-<replica> exists
cat >"$TMP/pipe.lua" <<'LUA'
local ev = ...
local me = os.getenv("REPLICA")
local function mark(what)
  local f = assert(io.open(os.getenv("SERVE_OUT"), "a"))
  f:write(ev.delivery_id, " ", me, " ", what, "\n")
  f:close()
end
mark("start")
while io.open(os.getenv("HOLD") .. "-" .. me) do require("vsrun").sleep(0.05) end
mark("end")
return { replica = me }
LUA
printf 'return {}\n' >"$TMP/tick.lua"
cat >"$TMP/serve.lua" <<'LUA'
return { port = 0, workers = 2, drain_seconds = 30,
         routes = { pd = { script = "pipe.lua", pagerduty = "pg-test-secret", concurrency = 2 } },
         schedules = { tick = { script = "tick.lua", cron = "* * * * *" } } }
LUA
declare -A RURL RPID
start_replica() {   # start_replica NAME [LOG-SUFFIX]
    REPLICA=$1 start_serve "r$1${2:-}" --config "$TMP/serve.lua" --store "$PG" || { echo "FAIL replica $1 starts: $(cat "$TMP/r$1.err")"; exit 1; }
    RURL[$1]=$URL; RPID[$1]=$SV_PID
    REPLICA_PIDS="${REPLICA_PIDS:-} $SV_PID"
}
: >"$HOLD-a"
start_replica a; start_replica b; start_replica c
echo "ok three replicas share the store"

N=${SERVE_PG_EVENTS:-500}
accepted=0
: >"$TMP/accepted"
for i in $(seq 1 $N); do
    case $((i % 3)) in 0) r=a ;; 1) r=b ;; 2) r=c ;; esac
    [ "$i" -gt $((N / 3)) ] && [ "$r" = a ] && r=c          # a is dead by then
    URL=${RURL[$r]}
    post_pd pd pg-test-secret "{\"event\":{\"id\":\"ev-$i\",\"event_type\":\"incident.triggered\"}}"
    if [ "$CODE" = 202 ]; then accepted=$((accepted + 1)); echo "ev-$i" >>"$TMP/accepted"; fi
    if [ "$i" = $((N / 3)) ]; then
        # a holds two runs: kill it mid-run, then let its orphaned children finish
        wait_until 30 bash -c "[ \$(grep -c ' a start\$' '$SERVE_OUT') = 2 ]"
        check "replica a holds two runs when it is killed" test "$(grep -c ' a start$' "$SERVE_OUT")" = 2
        kill -9 "${RPID[a]}"; wait "${RPID[a]}" 2>/dev/null
        rm -f "$HOLD-a"
    fi
    if [ "$i" = $((2 * N / 3)) ]; then
        SV_PID=${RPID[b]}; stop_serve rb TERM
        check "replica b drains and exits 0 on SIGTERM" test "$RC" = 0
        start_replica b 2
    fi
done
check "every webhook was accepted" test "$accepted" = $N
check "every accepted event ran to completion (the dead replica's runs were taken over)" \
    wait_until 120 bash -c "[ \$('$VSRUN' runs list --store '$PG' --status done --limit 100000 --json | grep -Ec '\"route\": ?\"pd\"') = $N ]"
missing=0
while read -r id; do grep -q "^$id [abc] end$" "$SERVE_OUT" || missing=$((missing + 1)); done <"$TMP/accepted"
check "each accepted event's pipeline reached its end" test "$missing" = 0
twice=$(grep ' end$' "$SERVE_OUT" | awk '{print $1}' | sort | uniq -d | wc -l)
check "only the two runs the killed replica held ran twice (at-least-once)" test "$twice" -le 2
held=$(grep ' a start$' "$SERVE_OUT" | awk '{print $1}')
taken=0
for id in $held; do grep -Eq "^$id [bc] end$" "$SERVE_OUT" && taken=$((taken + 1)); done
check "the killed replica's runs were taken over by the others" test "$taken" = 2
check "no run ended twice on the surviving replicas" \
    test "$(grep -E ' [bc] end$' "$SERVE_OUT" | awk '{print $1}' | sort | uniq -d | wc -l)" = 0
# every replica checks the schedule each minute; the store lets one of them fire it
fired=$(cat "$TMP"/r?.err "$TMP"/r?2.err | sed -n 's/.*"schedule":"tick","fired":"\([^"]*\)".*/\1/p')
check "the schedule fired" test -n "$fired"
check "each minute's firing was queued by one replica only" test -z "$(sort <<<"$fired" | uniq -d)"
check "one schedule run per fired minute" test "$("$VSRUN" runs list --store "$PG" --limit 100000 | grep -c ' tick ')" = "$(sort -u <<<"$fired" | grep -c .)"
run runs list --store "$PG" --status dead
check "no run is dead" test "$(grep -c '^[0-9]' <<<"$OUT")" = 0
for r in b c; do
    log=r$r; [ "$r" = b ] && log=rb2
    SV_PID=${RPID[$r]}; stop_serve "$log" TERM
    check "replica $r: SIGTERM exit 0" test "$RC" = 0
    check "replica $r: no sanitizer report" no_sanitizer_report "$TMP/$log.err"
done
check "replica b (first run): no sanitizer report" no_sanitizer_report "$TMP/rb.err"
