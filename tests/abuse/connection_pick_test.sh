#!/usr/bin/env bash
# Attack: a script (or a *_test.lua) names a connection its run did not choose. A "live"
# PagerDuty (a `vsrun sandbox` server) is reachable through a stored connection "prod" and
# through PAGERDUTY_TOKEN. Under --sandbox and `vsrun test` every name must resolve to the
# in-process sandbox; under --strict only the command line's connection is reachable; the
# refusals are permission_denied (exit 4). Controls show each name does reach the live
# server when the mode allows it.
. "$(dirname "$0")/../cli/lib.sh"

export VSRUN_HOME=$TMP/home
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export VSRUN_KEY
unset VSRUN_PASSPHRASE PAGERDUTY_TOKEN PAGERDUTY_API_URL PAGERDUTY_FROM VSRUN_CLIENT_ID
LIVE_KEY="pdlive_$(date +%s%N)"

"$VSRUN" sandbox --json --api-key "$LIVE_KEY" >"$TMP/live.json" 2>"$TMP/live.err" &
LIVE=$!
trap 'kill $LIVE 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 200); do [ -s "$TMP/live.json" ] && break; sleep 0.05; done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$TMP/live.json")
CID=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' "$TMP/live.json")
[ -n "$URL" ] && [ -n "$CID" ] || { echo "FAIL live sandbox start: $(head -c 300 "$TMP/live.err")"; exit 1; }

# a scripted browser that approves the sign-in: the stored connection "prod"
printf '%s\n' '#!/bin/sh' 'loc=$(curl -s -o /dev/null -w "%{redirect_url}" "$1")' 'curl -s -o /dev/null "$loc"' >"$TMP/browser.sh"
chmod +x "$TMP/browser.sh"
BROWSER=$TMP/browser.sh run auth login --connection prod --client-id "$CID" --api-url "$URL" --identity-url "$URL" --timeout 20
expect "a stored connection 'prod' to the live server" 0

# status ID: the live incident's status, read through the stored connection
live_status() {
    run --connection prod -e "return require('pagerduty').get_incident('$1').status"
    printf '%s' "$OUT" | tr -d '"'
}
run --connection prod -e 'for i in require("pagerduty").list_incidents { statuses = { "triggered" } } do return i.id end'
LIVE_ID=$(tr -d '"' <<<"$OUT")
[ -n "$LIVE_ID" ] && echo "ok a triggered live incident: $LIVE_ID" || _fail "live incident" "none found"

# ---- control: a normal run reaches "prod" by name and can acknowledge there ----
cat >"$TMP/ack.lua" <<'EOF'
local pd = require "pagerduty"
local input = ...
local c = pd.connect(input.name)
c.acknowledge(input.id)
return { status = c.get_incident(input.id).status }
EOF
# (the default connection is a bad API key: only "prod" itself can succeed, so this also
# shows client.action(...) uses the client's connection, not the default one)
PAGERDUTY_TOKEN=not-a-key PAGERDUTY_API_URL=$URL run "$TMP/ack.lua" name=prod id="$LIVE_ID"
expect "control: a normal run acknowledges through 'prod'" 0 '"status": "acknowledged"'
[ "$(live_status "$LIVE_ID")" = acknowledged ] && echo "ok control: the live incident changed" || _fail "control live" "unchanged"

# a fresh triggered live incident for the attacks
run --connection prod -e 'local pd = require "pagerduty"
  return pd.create_incident { title = "live", service = pd.get_incident("'"$LIVE_ID"'").service.id }.id'
LIVE_ID=$(tr -d '"' <<<"$OUT")
[ "$(live_status "$LIVE_ID")" = triggered ] && echo "ok a new triggered live incident" || _fail "new live incident" "none"

# ---- --sandbox: "prod" and "api-key" are the in-process sandbox ----
for name in prod api-key; do
    PAGERDUTY_TOKEN=$LIVE_KEY PAGERDUTY_API_URL=$URL run --sandbox "$TMP/ack.lua" name=$name id="$LIVE_ID"
    expect "--sandbox: connect('$name') reaches no live incident" 1 '' 'not_found'
done
[ "$(live_status "$LIVE_ID")" = triggered ] && echo "ok --sandbox: no live incident was acknowledged" || _fail "--sandbox live" "the live incident changed"

# the connection a name resolves to under --sandbox is the sandbox one
cat >"$TMP/kind.lua" <<'EOF'
local pd = require "pagerduty"
local c = pd.connect((...).name)
c.list_incidents { limit = 1 }:collect(1)
local found
for _, r in ipairs(require("vsrun.sandbox").requests()) do found = found or r.path end
return { in_process = found ~= nil }
EOF
PAGERDUTY_TOKEN=$LIVE_KEY PAGERDUTY_API_URL=$URL run --sandbox "$TMP/kind.lua" name=prod
expect "--sandbox: connect('prod') talks to the in-process sandbox" 0 '"in_process": true'

# ---- vsrun test: the reported attack, a *_test.lua acknowledging through "prod" ----
mkdir -p "$TMP/t"
cat >"$TMP/t/live_ack_test.lua" <<EOF
local t = require "vsrun.testing"
local pd = require "pagerduty"
t.test("acknowledges through prod", function()
  local prod = pd.connect("prod")
  pcall(prod.acknowledge, "$LIVE_ID")
  pcall(prod.acknowledge, prod, "$LIVE_ID")
  local key = pd.connect("api-key")
  pcall(key.acknowledge, "$LIVE_ID")
end)
EOF
PAGERDUTY_TOKEN=$LIVE_KEY PAGERDUTY_API_URL=$URL run test "$TMP/t"
expect "vsrun test: the test file runs" 0 '1 passed, 0 failed'
[ "$(live_status "$LIVE_ID")" = triggered ] && echo "ok vsrun test: the live incident stayed triggered" || _fail "vsrun test live" "the live incident was acknowledged"

# ---- --strict: only the command line's connection ----
PAGERDUTY_TOKEN=$LIVE_KEY PAGERDUTY_API_URL=$URL run --strict --connection prod "$TMP/ack.lua" name=api-key id="$LIVE_ID"
expect "--strict --connection prod: connect('api-key') is refused" 4 '' "permission_denied: connect 'api-key': --strict: a script may use only the connection chosen on the command line \('prod'\)"
PAGERDUTY_TOKEN=$LIVE_KEY PAGERDUTY_API_URL=$URL run --strict "$TMP/ack.lua" name=prod id="$LIVE_ID"
expect "--strict (default api-key): connect('prod') is refused" 4 '' "permission_denied: connect 'prod'"
[ "$(live_status "$LIVE_ID")" = triggered ] && echo "ok --strict: no live incident was acknowledged" || _fail "--strict live" "the live incident changed"
run --strict --connection prod -e 'local pd = require "pagerduty"
  return { named = pd.connect("prod").get_incident("'"$LIVE_ID"'").status, default = pd.connect().get_incident("'"$LIVE_ID"'").status }'
expect "--strict: the chosen connection, by name or default, works" 0 '"named": "triggered"'
