# The served sandbox's webhooks at the process level: a delivery hanging on a receiver that
# never answers does not keep `vsrun sandbox` from stopping cleanly on SIGTERM, and the
# subscription's secret reaches neither its output nor its --state file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

SECRET=whsec-never-shown-4711
# a receiver that accepts connections (the kernel's backlog) and never answers
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
time.sleep(600)' >"$TMP/rcv.port" &
RCV_PID=$!
"$VSRUN" sandbox --api-key wh-api-key --state "$TMP/state.json" --json >"$TMP/sbx.out" 2>"$TMP/sbx.err" </dev/null &
SBX_PID=$!
trap 'kill "$SBX_PID" "$RCV_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_until 60 test -s "$TMP/sbx.out" || { echo "FAIL sandbox starts: $(cat "$TMP/sbx.err")"; exit 1; }
wait_until 60 test -s "$TMP/rcv.port" || { echo "FAIL receiver starts"; exit 1; }
SBX=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])' <"$TMP/sbx.out")
control() { curl -sS -X "$1" "$SBX/__sandbox/$2" ${3:+--data-binary "$3"}; }

control POST config '{"webhook_timeout":60}' >/dev/null
control POST webhooks "{\"url\":\"http://127.0.0.1:$(cat "$TMP/rcv.port")/hook\",\"secret\":\"$SECRET\"}" >"$TMP/sub.json"
check "subscribed" grep -q '"id":"PWHS' "$TMP/sub.json"
check "the answer holds no secret" bash -c "! grep -q '$SECRET' '$TMP/sub.json'"
control POST incidents '{"count":1,"title":"hangs"}' >/dev/null
sending() { control GET webhooks | grep -q '"status":"sending"'; }
check "the delivery is in flight to the silent receiver" wait_until 60 sending
check "control: the sandbox still answers while it hangs" bash -c "curl -sS '$SBX/__sandbox/incidents' | grep -q triggered"
kill -TERM "$SBX_PID"
stopped() { ! kill -0 "$SBX_PID" 2>/dev/null; }
check "SIGTERM stops the sandbox although a delivery hangs" wait_until 60 stopped
wait "$SBX_PID"
RC=$?
check "exit 0 (no stuck-handler exit 1)" test "$RC" = 0
check "control: the state file was written" grep -q '"incidents"' "$TMP/state.json"
check "the secret is not in the state file, stdout or stderr" \
    bash -c "! grep -qa '$SECRET' '$TMP/state.json' '$TMP/sbx.out' '$TMP/sbx.err'"
check "no sanitizer report" no_sanitizer_report "$TMP/sbx.err"
