# A proxy in the environment (http_proxy / https_proxy) must never see a credential in
# clear text nor answer for the PagerDuty API: token-bearing transfers to an http://
# (loopback) origin bypass the proxy, to an https:// origin they only CONNECT-tunnel. The
# proxy is a raw socket that records every byte and forges a 200 for anything it is asked.
. "$(dirname "$0")/../cli/lib.sh"
CANARY="pdcanary_proxy_$(date +%s%N)"

FAR_PIDS=()
start_far_end() {   # DIR [proxy]: sets FAR_PORT
    mkdir -p "$1"
    python3 tests/abuse/far_end.py "$1" ${2:-} &
    FAR_PIDS+=("$!")
    for _ in $(seq 200); do [ -s "$1/port" ] && break; sleep 0.05; done
    FAR_PORT=$(cat "$1/port")
}
trap 'for p in "${FAR_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
unset no_proxy NO_PROXY

start_far_end "$TMP/proxy" proxy
export http_proxy="http://127.0.0.1:$FAR_PORT" https_proxy="http://127.0.0.1:$FAR_PORT"
start_far_end "$TMP/api"
API="http://127.0.0.1:$FAR_PORT"
seen_by_proxy() { cat "$TMP/proxy"/conn-* 2>/dev/null; }
forget_proxy_log() { rm -f "$TMP/proxy"/conn-*; }   # each case reads only its own traffic

# Control: a plain http request does go through the proxy, which answers for the origin.
run -e '
  local r = require("http").get("http://far.example.test/x")
  return { status = r.status, forged = r.body:find("forged", 1, true) ~= nil }'
expect "a script's http request goes through the proxy (control)" 0 '"forged": true'
seen_by_proxy | grep -aq 'GET http://far.example.test/x' && echo "ok the proxy records what it is sent (control)" \
    || _fail "control: proxy log" "the proxy did not record the request"

# An API key for an http:// loopback API: straight to the API, never to the proxy.
forget_proxy_log
PAGERDUTY_TOKEN=$CANARY PAGERDUTY_API_URL=$API run -e '
  local pd = require "pagerduty"
  return pd.get_incident("P1").id'
expect "pagerduty over http:// answers from the API itself" 0 '^"P1"$'
grep -aqs "$CANARY" "$TMP/api"/conn-* && echo "ok the API received the key directly" \
    || _fail "api key sent" "the API never saw the key"
seen_by_proxy | grep -aq "$CANARY" && _fail "api key via proxy" "the proxy saw the API key" \
    || echo "ok the proxy never sees the API key"

# An https:// API: the proxy gets only a CONNECT, and its forged answer is not accepted.
forget_proxy_log
PAGERDUTY_TOKEN=$CANARY PAGERDUTY_API_URL=https://api.example.test run -e '
  local ok, err = pcall(require("pagerduty").get_incident, "P1")
  return { ok = ok, kind = type(err) == "table" and err.kind or tostring(err) }'
expect "pagerduty over https:// through a proxy fails rather than trust it" 0 '"ok": false' 
seen_by_proxy | grep -aq 'CONNECT api.example.test:443' && echo "ok the proxy was asked for a tunnel only" \
    || _fail "connect" "no CONNECT reached the proxy"
seen_by_proxy | grep -aq "$CANARY" && _fail "token via proxy (https)" "the proxy saw the token" \
    || echo "ok the proxy never sees the token of an https API"

# The in-process sandbox's preset token and its control API stay off the proxy too.
forget_proxy_log
run --sandbox -e '
  local sb = require "vsrun.sandbox"
  local pd = require "pagerduty"
  local n = 0
  for _ in pd.list_incidents { limit = 3 } do n = n + 1 end
  return { client = sb.info().client_id ~= nil, n = n }'
expect "--sandbox works with a proxy set" 0 '"client": true'
[ -z "$(seen_by_proxy)" ] && echo "ok nothing of a --sandbox run reaches the proxy" \
    || _fail "sandbox via proxy" "the proxy saw sandbox traffic"
grep -q "$CANARY" <<<"$OUT$ERR" && _fail "canary in output" "leaked" || echo "ok no token in output"

# The OAuth token endpoint (code exchange, refresh) carries secrets too: `vsrun auth login`
# against a loopback identity server never sends them to the proxy.
export VSRUN_HOME=$TMP/home VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
unset BROWSER VSRUN_CLIENT_ID VSRUN_PASSPHRASE VSRUN_CLIENT_SECRET_FILE
"$VSRUN" sandbox --json >"$TMP/sandbox.json" 2>"$TMP/sandbox.err" &
FAR_PIDS+=("$!")
for _ in $(seq 200); do [ -s "$TMP/sandbox.json" ] && break; sleep 0.05; done
SB_URL=$(sed -n '1s/.*"url":"\([^"]*\)".*/\1/p' "$TMP/sandbox.json")
SB_CID=$(sed -n '1s/.*"client_id":"\([^"]*\)".*/\1/p' "$TMP/sandbox.json")
# a browser that approves at once (it does not use the proxy: the browser is not under test)
printf '%s\n' '#!/bin/sh' 'loc=$(curl --noproxy "*" -s -o /dev/null -w "%{redirect_url}" "$1")' \
    'curl --noproxy "*" -s -o /dev/null "$loc"' >"$TMP/browser.sh"
chmod +x "$TMP/browser.sh"
forget_proxy_log
BROWSER=$TMP/browser.sh run auth login --connection p --client-id "$SB_CID" --api-url "$SB_URL" --identity-url "$SB_URL" --timeout 20
expect "auth login works with a proxy set" 0 "Connected 'p'"
[ -z "$(seen_by_proxy)" ] && echo "ok the proxy never sees the code exchange" \
    || _fail "oauth via proxy" "the proxy saw: $(seen_by_proxy | head -c 200)"
