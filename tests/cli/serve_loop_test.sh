# The whole loop offline, the webhook sent by the sandbox itself: a sandbox incident → a
# signed PagerDuty v3 webhook from the sandbox's subscription → vsrun serve →
# scripts/examples/webhook_note.lua → a note on the incident. Controls: a subscription with
# a wrong secret gets 403 (no retry, no run, no note); with serve down the sandbox retries,
# visibly, and delivers once serve is up. The note is written once even when the run is
# repeated (at-least-once runs need idempotent writes).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

SECRET=loop-signing-secret
"$VSRUN" sandbox --api-key loop-api-key --json >"$TMP/sbx.out" 2>"$TMP/sbx.err" </dev/null &
SBX_PID=$!
trap 'kill "$SBX_PID" "$SV_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_until 60 test -s "$TMP/sbx.out" || { echo "FAIL sandbox starts: $(cat "$TMP/sbx.err")"; exit 1; }
read -r SBX SERVICE EMAIL < <(python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["url"], i["services"][0]["id"], i["users"][0]["email"])' <"$TMP/sbx.out")
export PAGERDUTY_API_URL=$SBX PAGERDUTY_FROM=$EMAIL
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOOK=http://127.0.0.1:$PORT/hooks/pagerduty

control() {   # control METHOD PATH [JSON]: the sandbox's control API; the answer on stdout
    curl -sS -X "$1" "$SBX/__sandbox/$2" ${3:+--data-binary "$3"}
}
subscribe() {   # subscribe SECRET: prints the new subscription's id
    control POST webhooks "{\"url\":\"$HOOK\",\"secret\":\"$1\",\"events\":[\"incident.triggered\"]}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["subscription"]["id"])'
}
# delivery SUB INCIDENT: "STATUS ATTEMPTS STATUS,STATUS,..." of the subscription's delivery for the incident
delivery() {
    control GET webhooks | python3 -c '
import json, sys
for s in json.load(sys.stdin)["subscriptions"]:
    for d in s["deliveries"]:
        if s["id"] == sys.argv[1] and d["incident"] == sys.argv[2]:
            print(d["status"], len(d["attempts"]), ",".join(str(a.get("status", "none")) for a in d["attempts"]))' "$1" "$2"
}
delivered() { [ "$(delivery "$1" "$2" | cut -d' ' -f1)" = "$3" ]; }
attempts_at_least() { [ "$(delivery "$1" "$2" | cut -d' ' -f2)" -ge "$3" ] 2>/dev/null; }
incident() {   # incident TITLE: creates one through the REST API (as a user would), prints its id
    PAGERDUTY_TOKEN=loop-api-key "$VSRUN" -e "return pagerduty.create_incident{ title = '$1', service = '$SERVICE' }.id" 2>>"$TMP/create.err" | tr -d '"'
}
notes() {   # notes INCIDENT: how many notes of the pipeline the incident has
    PAGERDUTY_TOKEN=loop-api-key "$VSRUN" -e "local n = 0
      for note in pagerduty.list_incident_notes('$1') do
        if note.content:find('[vsrun webhook ', 1, true) then n = n + 1 end
      end
      return n" 2>&1
}
done_runs() { runs_with "$TMP/loop.db" done; }

cat >"$TMP/serve.lua" <<LUA
return { port = $PORT, routes = {
  pagerduty = { script = "$PWD/scripts/examples/webhook_note.lua", pagerduty = env "PD_WEBHOOK_SECRET", strict = true },
} }
LUA
export PD_WEBHOOK_SECRET=$SECRET
serve_up() { PAGERDUTY_TOKEN=loop-api-key start_serve loop --config "$TMP/serve.lua" --store "$TMP/loop.db"; }
serve_up || { echo "FAIL serve starts: $(cat "$TMP/loop.err")"; exit 1; }

# control: a subscription signing with another secret is refused by serve, and not retried
WRONG=$(subscribe not-the-serve-secret)
INC_A=$(incident 'Wrong secret')
check "an incident exists in the sandbox" grep -Eq '^[A-Z0-9]{6,}$' <<<"$INC_A"
check "control: the wrongly signed webhook is answered 403 and given up at once" wait_until 60 delivered "$WRONG" "$INC_A" failed
check "control: one attempt, status 403" test "$(delivery "$WRONG" "$INC_A")" = "failed 1 403"
check "control: no run" test "$(runs_with "$TMP/loop.db" queued)$(runs_with "$TMP/loop.db" running)$(done_runs)" = 000
check "control: no note" test "$(notes "$INC_A")" = 0
control DELETE "webhooks/$WRONG" >/dev/null

# the loop: subscribe (one command), trigger an incident, the note appears
SUB=$(subscribe "$SECRET")
control GET webhooks >"$TMP/subs.json"
check "control: the listing shows the subscription" grep -q "$SUB" "$TMP/subs.json"
check "the listing holds no secret" bash -c "! grep -q '$SECRET' '$TMP/subs.json'"
INC_B=$(incident 'Disk full')
check "the sandbox delivered the signed webhook" wait_until 60 delivered "$SUB" "$INC_B" delivered
check "accepted at the first attempt" test "$(delivery "$SUB" "$INC_B")" = "delivered 1 202"
check "the pipeline ran (strict mode, the connection from the server's environment)" wait_until 60 bash -c "[ \"\$('$VSRUN' runs list --store '$TMP/loop.db' --status done --json | grep -c '')\" = 1 ]"
check "the pipeline wrote its note on the sandbox incident" test "$(notes "$INC_B")" = 1
RUN=$("$VSRUN" runs list --store "$TMP/loop.db" --status done --json | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -n 1)
"$VSRUN" runs show "$RUN" --store "$TMP/loop.db" >"$TMP/show"
check "the run's result says it noted" grep -q "\"result\":{\"incident\":\"$INC_B\",\"noted\":true}" "$TMP/show"
# a second run of the same event (what a crash or a retry can cause) adds nothing
run runs retry "$RUN" --store "$TMP/loop.db"
expect "runs retry" 0 'queued again'
check "the repeated run finished" wait_until 60 bash -c "'$VSRUN' runs show '$RUN' --store '$TMP/loop.db' | grep -q '\"noted\":false'"
check "still exactly one note (idempotent write)" test "$(notes "$INC_B")" = 1

# serve down: the sandbox retries (visible in its control API), then delivers once serve is up
stop_serve loop TERM
check "serve: exit 0" test "$RC" = 0
control POST config '{"webhook_retry_scale":0.03}' >/dev/null   # waits 0.9 s, 1.8 s, 9 s, 25 s
INC_C=$(incident 'CPU hot')
check "retries while serve is down" wait_until 60 attempts_at_least "$SUB" "$INC_C" 2
check "the failed attempts had no answer and the delivery is still pending" \
    grep -Eq '^pending [0-9]+ none(,none)*$' <<<"$(delivery "$SUB" "$INC_C")"
check "no note while serve is down" test "$(notes "$INC_C")" = 0
serve_up || { echo "FAIL serve restarts: $(cat "$TMP/loop.err")"; exit 1; }
check "delivered once serve is up" wait_until 90 delivered "$SUB" "$INC_C" delivered
check "the last attempt got 202 after failed ones" grep -Eq '^delivered [0-9]+ none(,none)*,202$' <<<"$(delivery "$SUB" "$INC_C")"
check "the note appears on the incident" wait_until 60 bash -c "[ \"\$(PAGERDUTY_TOKEN=loop-api-key '$VSRUN' -e \"local n = 0 for _ in pagerduty.list_incident_notes('$INC_C') do n = n + 1 end return n\" 2>/dev/null)\" = 1 ]"
stop_serve loop TERM
check "serve: exit 0 again" test "$RC" = 0
kill -TERM "$SBX_PID"; wait "$SBX_PID"
secret_in() { grep -qaE "loop-api-key|$SECRET|not-the-serve-secret" "$@"; }
no_secret_in() { ! secret_in "$@"; }
check "the API key and the signing secrets never reached a log or the store" \
    no_secret_in "$TMP/loop.err" "$TMP/loop.out" "$TMP/loop.db"* "$TMP/show" "$TMP/sbx.out" "$TMP/sbx.err"
echo "x-not-the-serve-secret-x" >"$TMP/probe"
check "control: the secret check finds a secret where there is one" secret_in "$TMP/probe"
check "no sanitizer report" no_sanitizer_report "$TMP/loop.err"
check "no sanitizer report in the sandbox" no_sanitizer_report "$TMP/sbx.err"
