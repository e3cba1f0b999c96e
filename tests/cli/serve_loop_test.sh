# The whole loop offline: a sandbox incident → a signed PagerDuty v3 webhook → vsrun serve →
# scripts/examples/webhook_note.lua → a note on the sandbox incident. The note is written
# once even when the run is repeated (at-least-once runs need idempotent writes).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

"$VSRUN" sandbox --api-key loop-api-key --json >"$TMP/sbx.out" 2>"$TMP/sbx.err" </dev/null &
SBX_PID=$!
trap 'kill "$SBX_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_until 10 test -s "$TMP/sbx.out" || { echo "FAIL sandbox starts: $(cat "$TMP/sbx.err")"; exit 1; }
read -r SBX SERVICE EMAIL < <(python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["url"], i["services"][0]["id"], i["users"][0]["email"])' <"$TMP/sbx.out")
export PAGERDUTY_API_URL=$SBX PAGERDUTY_FROM=$EMAIL
INC=$(PAGERDUTY_TOKEN=loop-api-key "$VSRUN" -e "return pagerduty.create_incident{ title = 'Disk full', service = '$SERVICE' }.id" 2>"$TMP/create.err" | tr -d '"')
check "an incident exists in the sandbox" grep -Eq '^[A-Z0-9]{6,}$' <<<"$INC"
notes() {   # notes on the incident that carry the webhook's marker
    PAGERDUTY_TOKEN=loop-api-key "$VSRUN" -e "local n = 0
      for note in pagerduty.list_incident_notes('$INC') do
        if note.content:find('[vsrun webhook 01LOOP]', 1, true) then n = n + 1 end
      end
      return n" 2>&1
}
check "control: no note before the webhook" test "$(notes)" = 0

cat >"$TMP/serve.lua" <<LUA
return { port = 0, routes = {
  pagerduty = { script = "$PWD/scripts/examples/webhook_note.lua", pagerduty = env "PD_WEBHOOK_SECRET", strict = true },
} }
LUA
export PD_WEBHOOK_SECRET=loop-signing-secret
PAGERDUTY_TOKEN=loop-api-key start_serve loop --config "$TMP/serve.lua" --store "$TMP/loop.db" \
    || { echo "FAIL serve starts: $(cat "$TMP/loop.err")"; exit 1; }
event="{\"event\":{\"id\":\"01LOOP\",\"event_type\":\"incident.triggered\",\"resource_type\":\"incident\",\"data\":{\"id\":\"$INC\",\"type\":\"incident\",\"title\":\"Disk full\"}}}"
post_pd pagerduty "$PD_WEBHOOK_SECRET" "$event"
expect_code "the signed webhook is accepted" 202
RUN=$(sed -n 's/.*"run":\([0-9]*\).*/\1/p' <<<"$REPLY")
run_done() { "$VSRUN" runs show "$RUN" --store "$TMP/loop.db" | grep -q "\"status\":\"done\",\"attempts\":$1,"; }
check "the pipeline ran (strict mode, the connection from the server's environment)" wait_until 30 run_done 1
check "the pipeline wrote its note on the sandbox incident" test "$(notes)" = 1
"$VSRUN" runs show "$RUN" --store "$TMP/loop.db" >"$TMP/show"
check "the run's result says it noted" grep -q "\"result\":{\"incident\":\"$INC\",\"noted\":true}" "$TMP/show"
# a second run of the same event (what a crash or a retry can cause) adds nothing
run runs retry "$RUN" --store "$TMP/loop.db"
expect "runs retry" 0 'queued again'
check "the repeated run finished" wait_until 30 bash -c "'$VSRUN' runs show '$RUN' --store '$TMP/loop.db' | grep -q '\"noted\":false'"
check "still exactly one note (idempotent write)" test "$(notes)" = 1
stop_serve loop TERM
check "serve: exit 0" test "$RC" = 0
check "the API key never reached the log or the store" bash -c "! grep -qa loop-api-key '$TMP/loop.err' '$TMP/loop.out' '$TMP/loop.db'* '$TMP/show'"
check "no sanitizer report" no_sanitizer_report "$TMP/loop.err"
