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
    for _ in $(seq 1 1200); do [ -s "$TMP/sb.out" ] && break; sleep 0.05; done   # up to 60 s (valgrind, load)
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
-- one page at a time: with more in flight, all 300 are fetched before the 50th is yielded
for inc in pd.list_incidents { date_range = "all", concurrency = 1 } do
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
-- one 401 (whichever page the prefetch had in flight), every other request answered 200
local other = 0
for status, k in pairs(st) do if status ~= 200 and status ~= 401 then other = other + k end end
return { n = n, statuses = ("%d x 401, %d other"):format(st[401] or 0, other), kind = pd.connection().kind }
LUA
run --connection sbx "$TMP/mid.lua"
expect "pd oauth: expired token mid-listing is refreshed, the listing continues" 0 '"statuses": "1 x 401, 0 other"'
expect "pd oauth: every record once" 0 '"n": 300'
expect "pd oauth: the connection is an OAuth one" 0 '"kind": "oauth"'

run --connection sbx -e '
local http = require "http"
local pd = require "pagerduty"
http.post(pd.connection().api_url .. "/__sandbox/revoke_refresh", { json = {} })
http.post(pd.connection().api_url .. "/__sandbox/faults", { json = { kind = "expire_token", count = 1 } })
return pd.get_user("me")'
expect "pd oauth: a refresh that fails names vsrun auth reconnect" 3 '' 'vsrun auth reconnect sbx'

# ---- 16 parallel tasks share one limiter: no stampede into 429s ----
cat >"$TMP/stampede.lua" <<'LUA'
local pd = require "pagerduty"
local sandbox = require "vsrun.sandbox"
local vs = require "vsrun"
-- 60 requests a minute: use 38, move the sandbox clock to 4 s before the window ends, and
-- let one more request tell the limiter so; 21 are left for 32 calls from 16 tasks, which
-- without pacing would draw 11 429s
for _ = 1, 38 do pd.get_user("me") end
sandbox.advance(56)
pd.get_user("me")
local jobs = {}
for i = 1, 32 do jobs[i] = "me" end
local got = vs.map(jobs, pd.get_user, { concurrency = 16 })
local n429 = 0
for _, r in ipairs(sandbox.requests()) do if r.status == 429 then n429 = n429 + 1 end end
return { calls = #got, n429 = n429 }
LUA
run --sandbox --rate-limit 60 "$TMP/stampede.lua"
expect "pd limiter: 16 tasks paced by ratelimit-remaining draw no 429" 0 '"n429": 0'
expect "pd limiter: every call completed" 0 '"calls": 32'

# ---- --dry-run: writes printed, not sent; a chain of writes runs to the end ----
cat >"$TMP/dry.lua" <<'LUA'
local pd = require "pagerduty"
local http = require "http"
local vs = require "vsrun"
local core = require "vsrun.core"
local control = core.sandbox_url() .. "/__sandbox/"
local function count() return http.get(control .. "incidents"):json().total end
local before = count()
local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
local users = http.get(control .. "info"):json().users
-- the chain: create, note on it, acknowledge it, reassign it, read it back
local c = pd.create_incident { title = "dry", service = inc.service.id, urgency = "low" }
local n = pd.create_incident_note(c.id, "dry note")
local a = pd.acknowledge(c.id)
local r = pd.update_incident(c.id, { assignee = users[2].id })
local back = pd.get_incident(c.id)
local notes = pd.list_incident_notes(c.id):collect()
-- a write to a real incident answers the incident as it is, with the change applied
local u = pd.acknowledge(inc.id)
local after = pd.get_incident(inc.id)
-- http writes: printed, not sent, unless the call says sending is safe
local p = http.post(control .. "incidents", { json = { count = 1 } })
local before_safe = count()
http.post(control .. "incidents", { json = { count = 1 }, send_in_dry_run = true })
local writes = 0
for _, q in ipairs(http.get(control .. "requests"):json().requests) do
  if q.method ~= "GET" then writes = writes + 1 end
end
print("now assigned: " .. r.assignments[1].assignee.id)
return { dry_run = vs.dry_run, created = c.dry_run, placeholder = c.id:match("^DRYRUN%d+$") ~= nil,
         title = c.title, c_status = c.status, number = c.incident_number, url = c.html_url, urgency = c.urgency, service = c.service.id == inc.service.id,
         note = n.content, note_dry = n.dry_run, acked = a.status, reassigned = r.assignments[1].assignee.id == users[2].id,
         back = back.status, notes = #notes, real_status = u.status, real_id = u.id == inc.id, real_title = u.title == inc.title,
         status_unchanged = after.status == inc.status, writes = writes,
         http_dry = p.dry_run, http_status = p.status, sent_unsafe = before_safe - before, sent_safe = count() - before_safe }
LUA
run --sandbox --dry-run "$TMP/dry.lua"
expect "pd dry-run: vsrun.dry_run is true" 0 '"dry_run": true'
expect "pd dry-run: create returns a placeholder with a DRYRUN id" 0 '"placeholder": true'
expect "pd dry-run: the placeholder holds the fields given" 0 '"title": "dry"'
expect "pd dry-run: the placeholder's number and URL are plainly not real" 0 '"url": "https://dry-run.invalid/incidents/DRYRUN1"'
expect "pd dry-run: the placeholder is triggered, like a new incident" 0 '"c_status": "triggered"'
expect "pd dry-run: a note on the placeholder" 0 '"note": "dry note"'
expect "pd dry-run: acknowledging the placeholder" 0 '"acked": "acknowledged"'
expect "pd dry-run: reassigning the placeholder" 0 '"reassigned": true'
expect "pd dry-run: reading the placeholder back" 0 '"back": "acknowledged"'
expect "pd dry-run: its notes" 0 '"notes": 1'
expect "pd dry-run: a write to a real incident answers it changed" 0 '"real_status": "acknowledged"'
expect "pd dry-run: ... with its other fields" 0 '"real_title": true'
expect "pd dry-run: no PagerDuty write reached the sandbox" 0 '"writes": 0'
expect "pd dry-run: the incident is unchanged" 0 '"status_unchanged": true'
expect "pd dry-run: the chain ran to the end" 0 'now assigned: P'
expect "pd dry-run: POST printed" 0 '' 'dry-run: POST /incidents$'
expect "pd dry-run: writes to the placeholder printed" 0 '' 'dry-run: POST /incidents/DRYRUN1/notes'
expect "pd dry-run: the acknowledge of the placeholder printed" 0 '' 'dry-run: PUT /incidents/DRYRUN1'
expect "pd dry-run: the note body printed" 0 '' '"content":"dry note"'
expect "pd dry-run: an http write is not sent" 0 '"sent_unsafe": 0'
expect "pd dry-run: ... but printed" 0 '' 'dry-run: POST http://127.0.0.1:[0-9]+/__sandbox/incidents \(11-byte body, not sent\)'
expect "pd dry-run: ... and answered as a dry run" 0 '"http_dry": true'
expect "pd dry-run: an http write marked send_in_dry_run is sent" 0 '"sent_safe": 1'
run --sandbox -e 'return { dry_run = require("vsrun").dry_run }'
expect "pd dry-run: vsrun.dry_run is false without --dry-run" 0 '"dry_run": false'
run --dry-run -e 'local http = require "http"
return http.post("http://user:pw9@127.0.0.1:1/hook?api_key=SECRET123&x=1",
  { json = { token = "BODYSECRET" }, headers = { Authorization = "Bearer HDRSECRET" } }).status'
expect "pd dry-run: an http write to a closed port is printed, not sent" 0 '^200$' 'dry-run: POST http://REDACTED@127.0.0.1:1/hook\?api_key=REDACTED&x=1'
if grep -Eq 'pw9|SECRET123|BODYSECRET|HDRSECRET' <<<"$OUT$ERR"; then echo "FAIL pd dry-run: no secret of an http write printed"; else echo "ok pd dry-run: no secret of an http write printed"; fi

# ---- the README's first pipeline, as written: every open high-urgency incident ----
start_sandbox --api-key cli-key-2 --incidents 2000
awk '/^```lua$/ { f = 1; buf = ""; next } /^```$/ { if (f && buf ~ /ack_high.lua/) { printf "%s", buf; exit } f = 0 }
     f { buf = buf $0 "\n" }' README.md >"$TMP/ack_high.lua"
export PAGERDUTY_TOKEN=cli-key-2 PAGERDUTY_FROM=ada@sandbox.example.com PAGERDUTY_API_URL=$URL
COUNT_OPEN='local time = require "vsrun.time"
local n, old = 0, 0
for inc in require("pagerduty").list_incidents { statuses = { "triggered" }, urgencies = { "high" },
    service_ids = { "P50NK5V" }, date_range = "all" } do
  n = n + 1
  if time.parse(inc.created_at) < time.add_months(os.time(), -1) then old = old + 1 end
end
return n .. " open, " .. old .. " older than a month"'
run -e "$COUNT_OPEN"
BEFORE=$(tr -d '"' <<<"$OUT" | cut -d' ' -f1)
expect "README pipeline: control: open incidents older than a month exist" 0 '"[0-9]+ open, [1-9][0-9]* older than a month"'
run "$TMP/ack_high.lua" service=P50NK5V
DONE=$(grep -c '^ *[0-9]\+,\?$' <<<"$OUT")
expect "README pipeline: runs as written" 0 '"acknowledged"'
if [ "$DONE" -eq "$BEFORE" ] && [ "$BEFORE" -gt 1 ]; then echo "ok README pipeline: acknowledged all $BEFORE"; else echo "FAIL README pipeline: acknowledged $DONE of $BEFORE"; fi
run -e "$COUNT_OPEN"
expect "README pipeline: none left triggered" 0 '"0 open, 0 older than a month"'
unset PAGERDUTY_TOKEN PAGERDUTY_FROM PAGERDUTY_API_URL
stop_sandbox

# ---- two processes: one lists triggered incidents and acknowledges each, the other
# acknowledges a third of them meanwhile; together they leave none triggered, and the
# lister yields none twice ----
start_sandbox --api-key cli-key-3 --incidents 0 --rate-limit 100000
for s in $(seq 0 29); do   # 300 triggered incidents, 10 a second, over the past hours
    curl -s -X POST "$URL/__sandbox/time" -d "{\"offset\": $((s * 60 - 7200))}" >/dev/null
    curl -s -X POST "$URL/__sandbox/incidents" -d '{"count": 10}' >/dev/null
done
curl -s -X POST "$URL/__sandbox/time" -d '{"offset": 0}' >/dev/null
export PAGERDUTY_TOKEN=cli-key-3 PAGERDUTY_FROM=ada@sandbox.example.com PAGERDUTY_API_URL=$URL
cat >"$TMP/lister.lua" <<'LUA'
local pd = require "pagerduty"
local seen, n, twice = {}, 0, 0
for inc in pd.list_incidents { statuses = { "triggered" } } do
  if seen[inc.id] then twice = twice + 1 end
  seen[inc.id] = true
  n = n + 1
  pd.acknowledge(inc.id)
end
return { yielded = n, twice = twice }
LUA
"$VSRUN" -e '
local pd = require "pagerduty"
local all = pd.list_incidents({ statuses = { "triggered" } }):collect()
for i = #all, 1, -3 do pd.acknowledge(all[i].id) end   -- newest first: ahead of the lister
return #all' >"$TMP/other.out" 2>"$TMP/other.err" &
OTHER=$!
run "$TMP/lister.lua"
wait "$OTHER"
expect "two processes: the lister runs to the end" 0 '"twice": 0'
run -e 'local n = 0 for _ in require("pagerduty").list_incidents { statuses = { "triggered" } } do n = n + 1 end return n'
expect "two processes: none left triggered" 0 '^0$'
if grep -q '^300$' "$TMP/other.out"; then echo "ok two processes: the other process, listing while the lister acknowledges, saw all 300"; else echo "FAIL two processes: the other process saw $(cat "$TMP/other.out" "$TMP/other.err")"; fi
unset PAGERDUTY_TOKEN PAGERDUTY_FROM PAGERDUTY_API_URL
stop_sandbox
