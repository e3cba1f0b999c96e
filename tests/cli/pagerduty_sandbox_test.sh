#!/usr/bin/env bash
# pagerduty against a `vsrun sandbox` in another process: the API key form (Token token=,
# From on writes, PAGERDUTY_API_URL), an OAuth connection whose token expires in the middle
# of a listing (refreshed once, nothing skipped or repeated), and --dry-run (no write in the
# sandbox's request log).
. "$(dirname "$0")/lib.sh"

SB_PID=
stop_sandbox() { [ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null && wait "$SB_PID" 2>/dev/null; SB_PID=; }
trap 'stop_sandbox; rm -rf "$TMP"' EXIT

# start_sandbox ARGS...: sets URL
start_sandbox() {
    stop_sandbox
    "$VSRUN" sandbox --port 0 "$@" >"$TMP/sb.out" 2>"$TMP/sb.err" &
    SB_PID=$!
    for _ in $(seq 1 100); do [ -s "$TMP/sb.out" ] && break; sleep 0.05; done
    URL=$(head -1 "$TMP/sb.out")
}

# ---- the API key form ----
start_sandbox --api-key cli-key-1 --incidents 30
cat >"$TMP/apikey.lua" <<'LUA'
local pd = require "pagerduty"
local svc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].service.id
local inc = pd.create_incident { title = "from an API key", service = svc }
local ok, err = pcall(pd.get_user, "me")
return { kind = pd.connection().kind, listed = #pd.list_incidents({ date_range = "all" }):collect(),
         created = inc.title, me = err.kind, me_status = err.status }
LUA
PAGERDUTY_TOKEN=cli-key-1 PAGERDUTY_FROM=ada@sandbox.example.com PAGERDUTY_API_URL=$URL run "$TMP/apikey.lua"
expect "pd api key: lists and creates with Token token= and From" 0 '"created": "from an API key"'
expect "pd api key: listed everything" 0 '"listed": 31'
expect "pd api key: me is refused for an account key (400)" 0 '"me": "invalid_argument"'
if grep -q cli-key-1 <<<"$OUT$ERR"; then echo "FAIL pd api key never printed"; else echo "ok pd api key never printed"; fi

PAGERDUTY_TOKEN=cli-key-1 PAGERDUTY_FROM=ada@sandbox.example.com PAGERDUTY_API_URL=$URL run -v -e '
local pd = require "pagerduty"
local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
pd.create_incident_note(inc.id, "verbose")
return pd.get_incident(inc.id).id'
expect "pd -v logs the requests" 0 '' 'GET .*/incidents'
if grep -q cli-key-1 <<<"$OUT$ERR"; then echo "FAIL pd -v never logs the key"; else echo "ok pd -v never logs the key"; fi

PAGERDUTY_TOKEN=cli-key-1 PAGERDUTY_API_URL=$URL run -e '
local pd = require "pagerduty"
local svc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].service.id
return pd.create_incident { title = "no From", service = svc }'
expect "pd api key: a write without From is PagerDuty's 400" 1 '' 'invalid_argument: .*From'

PAGERDUTY_TOKEN=wrong-key PAGERDUTY_API_URL=$URL run -e 'return require("pagerduty").get_user("me")'
expect "pd api key: a wrong key is reconnect_required (exit 3)" 3 '' 'reconnect_required: get_user: .*PAGERDUTY_TOKEN'
if grep -q wrong-key <<<"$OUT$ERR"; then echo "FAIL pd wrong key never printed"; else echo "ok pd wrong key never printed"; fi

# ---- OAuth: the token expires mid-listing ----
start_sandbox --incidents 300 --token-ttl 30
export VSRUN_HOME=$TMP/home VSRUN_KEY
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
printf '#!/bin/sh\ncurl -s -L "$1" >/dev/null\n' >"$TMP/browser"
chmod +x "$TMP/browser"
BROWSER=$TMP/browser run auth login --connection sbx --api-url "$URL" --identity-url "$URL" \
    --client-id vsrun-sandbox-public-client --timeout 20
expect "pd oauth: login against the sandbox" 0
cat >"$TMP/mid.lua" <<'LUA'
local pd = require "pagerduty"
local http = require "http"
local url = pd.connection().api_url
local n, seen, prev = 0, {}, nil
for inc in pd.list_incidents { date_range = "all" } do
  n = n + 1
  assert(not seen[inc.id], "repeated " .. inc.id)
  seen[inc.id] = true
  assert(not prev or prev <= inc.created_at, "out of order")
  prev = inc.created_at
  if n == 50 then   -- the access token expires now: the next page gets a 401
    assert(http.post(url .. "/__sandbox/faults", { json = { kind = "expire_token", count = 1, match = { method = "GET" } } }).status == 200)
  end
end
local st = {}
for _, r in ipairs(http.get(url .. "/__sandbox/requests?method=GET&path=%5E%2Fincidents%24"):json().requests) do
  st[r.status] = (st[r.status] or 0) + 1
end
-- three pages answered, one 401 (whichever page the prefetch had in flight)
return { n = n, statuses = ("%d x 200, %d x 401"):format(st[200] or 0, st[401] or 0), kind = pd.connection().kind }
LUA
run --connection sbx "$TMP/mid.lua"
expect "pd oauth: expired token mid-listing is refreshed, the listing continues" 0 '"statuses": "3 x 200, 1 x 401"'
expect "pd oauth: every record once" 0 '"n": 300'
expect "pd oauth: the connection is an OAuth one" 0 '"kind": "oauth"'

run --connection sbx -e '
local http = require "http"
local pd = require "pagerduty"
http.post(pd.connection().api_url .. "/__sandbox/revoke_refresh", { json = {} })
http.post(pd.connection().api_url .. "/__sandbox/faults", { json = { kind = "expire_token", count = 1 } })
return pd.get_user("me")'
expect "pd oauth: a refresh that fails names vsrun auth reconnect" 3 '' 'vsrun auth reconnect sbx'

# ---- --dry-run: writes printed, not sent ----
cat >"$TMP/dry.lua" <<'LUA'
local pd = require "pagerduty"
local http = require "http"
local core = require "vsrun.core"
local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
local c = pd.create_incident { title = "dry", service = inc.service.id, urgency = "low" }
local u = pd.acknowledge(inc.id)
local n = pd.create_incident_note(inc.id, "dry note")
local after = pd.get_incident(inc.id)
local writes = 0
for _, r in ipairs(http.get(core.sandbox_url() .. "/__sandbox/requests"):json().requests) do
  if r.method ~= "GET" then writes = writes + 1 end
end
return { created = c.dry_run, updated = u.dry_run, noted = n.dry_run, status_unchanged = after.status == inc.status,
         writes = writes, body_title = c.body.incident.title }
LUA
run --sandbox --dry-run "$TMP/dry.lua"
expect "pd dry-run: writes return dry_run = true" 0 '"created": true'
expect "pd dry-run: no write reached the sandbox" 0 '"writes": 0'
expect "pd dry-run: the incident is unchanged" 0 '"status_unchanged": true'
expect "pd dry-run: method, path and body on stderr" 0 '' 'dry-run: POST /incidents'
expect "pd dry-run: the PUT printed" 0 '' 'dry-run: PUT /incidents/'
expect "pd dry-run: the note printed" 0 '' '"content":"dry note"'
