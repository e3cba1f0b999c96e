# The served sandbox's webhooks at the process level: PagerDuty's own
# POST /webhook_subscriptions (the sandbox makes the secret; its filter and custom headers
# apply; signatures checked here with Python's hmac, not vsrun's); a delivery hanging on a
# receiver that never answers does not keep `vsrun sandbox` from stopping cleanly on
# SIGTERM; the secrets reach neither its output nor its --state file.
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

# a receiver that records each request as a JSON line and answers 200
python3 -c '
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps({"headers": dict(self.headers), "body": body.decode()}) + "\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()' "$TMP/got.jsonl" >"$TMP/rec.port" &
REC_PID=$!
trap 'kill "$SBX_PID" "$RCV_PID" "$REC_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
wait_until 60 test -s "$TMP/rec.port" || { echo "FAIL recording receiver starts"; exit 1; }
read -r SVC1 SVC2 EMAIL < <(python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["services"][0]["id"], i["services"][1]["id"], i["users"][0]["email"])' <"$TMP/sbx.out")
pd_post() {   # pd_post PATH JSON [curl args]: the REST API with the account key; sets CODE, REPLY
    local path=$1 body=$2; shift 2
    CODE=$(curl -sS -o "$TMP/reply" -w '%{http_code}' -X POST "$SBX$path" --data-binary "$body" \
        -H 'Content-Type: application/json' -H 'Accept: application/vnd.pagerduty+json;version=2' "$@")
    REPLY=$(cat "$TMP/reply")
}
SUB_BODY='{"webhook_subscription":{"type":"webhook_subscription","description":"ops hooks",
  "delivery_method":{"type":"http_delivery_method","url":"http://127.0.0.1:'$(cat "$TMP/rec.port")'/pd",
    "custom_headers":[{"name":"X-Team","value":"ops"}]},
  "events":["incident.triggered","incident.escalated"],"filter":{"type":"service_reference","id":"'$SVC1'"}}}'
pd_post /webhook_subscriptions "$SUB_BODY"
expect_code "control: without credentials, 401" 401
pd_post /webhook_subscriptions '{"webhook_subscription":{"events":[]}}' -H 'Authorization: Token token=wh-api-key'
expect_code "a bad subscription is 400" 400
pd_post /webhook_subscriptions "$SUB_BODY" -H 'Authorization: Token token=wh-api-key'
expect_code "POST /webhook_subscriptions" 200
REST_SECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["webhook_subscription"]["delivery_method"]["secret"])' "$REPLY")
REST_SUB=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["webhook_subscription"]["id"])' "$REPLY")
check "the sandbox made a secret and shows it once" test "${#REST_SECRET}" -ge 32
control GET webhooks >"$TMP/list.json"
check "control: the listing shows the subscription" grep -q "$REST_SUB" "$TMP/list.json"
check "the listing does not show its secret" bash -c "! grep -q '$REST_SECRET' '$TMP/list.json'"
control POST incidents "{\"count\":1,\"service\":\"$SVC2\",\"title\":\"other service\"}" >/dev/null
control POST incidents "{\"count\":1,\"service\":\"$SVC1\",\"title\":\"filtered in\"}" >/dev/null
delivered_one() { control GET webhooks | grep -q '"status":"delivered"'; }
check "the delivery for the filtered service arrived" wait_until 60 delivered_one
check "exactly one request: the other service's incident is outside the filter" test "$(grep -c '' "$TMP/got.jsonl")" = 1
verify() {   # the signature, with Python's hmac and the secret from the create answer
    python3 -c '
import hashlib, hmac, json, sys
r = json.loads(open(sys.argv[1]).readline())
h = {k.lower(): v for k, v in r["headers"].items()}
want = "v1=" + hmac.new(sys.argv[2].encode(), r["body"].encode(), hashlib.sha256).hexdigest()
ev = json.loads(r["body"])["event"]
ok = h["x-pagerduty-signature"] == want and h["x-team"] == "ops" and ev["data"]["title"] == "filtered in" \
     and h["user-agent"] == "PagerDuty-Webhook/V3.0" and h["x-webhook-subscription"] == sys.argv[3]
sys.exit(0 if ok else 1)' "$TMP/got.jsonl" "$1" "$REST_SUB"
}
check "signed with the secret from the create answer, with the custom header" verify "$REST_SECRET"
not_verified() { ! verify "$@"; }
check "control: another secret does not verify" not_verified 0123456789abcdef0123456789abcdef
control DELETE webhooks >/dev/null

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
check "the secrets are not in the state file, stdout or stderr" \
    bash -c "! grep -qaE '$SECRET|$REST_SECRET' '$TMP/state.json' '$TMP/sbx.out' '$TMP/sbx.err'"
check "no sanitizer report" no_sanitizer_report "$TMP/sbx.err"
