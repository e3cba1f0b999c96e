#!/usr/bin/env bash
# A token refresh runs on the scheduler (issue 17 §2): while one task's refresh request is
# held at a gate in front of the sandbox's identity server (tests/cli/refresh_gate.py), the
# other tasks of the run fire timers and make HTTP requests, and it is one of them that
# releases the held request. Proven by the order of events, not by time: the gate records
# "held", then the other task's "ping" and "release", then "answered". Tasks that hit the
# 401 meanwhile wait for that one refresh and use its token: one grant in all. The same
# again for a token that is due when the run connects (the refresh before the first request),
# and for a refresh that waits for the vault lock another process holds (here the gate).
# Control: a run whose tasks never release the request ends with the refresh unanswered,
# so the refresh above could only finish because another task ran while it was in flight.
# (Against a vsrun whose refresh blocks the process, the releasing task cannot run: the
# refresh waits out curl's 30 s limit and fails, exit 6, and the run, order and grant checks
# fail; the later 401s even make a second, held, refresh request. Behind the held lock it
# waits until --timeout, exit 7.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/refresh_lib.sh"

python3 tests/cli/refresh_gate.py "$SB" "$TMP/gate.ports" 2>"$TMP/gate.err" &
PIDS="$PIDS $!"
for _ in $(seq 600); do [ -s "$TMP/gate.ports" ] && break; sleep 0.05; done
read -r GATE_ID GATE_CTL <"$TMP/gate.ports" || { echo "FAIL refresh-concurrent: the gate did not start: $(head -c 300 "$TMP/gate.err")"; exit 1; }
GATE=http://127.0.0.1:$GATE_CTL

run auth login --connection work --client-id "$CID" --api-url "$SB" --identity-url "http://127.0.0.1:$GATE_ID" --timeout 20
expect "refresh-concurrent: login through the gate" 0 "Connected 'work'"

unauthorized() { curl -s "$SB/__sandbox/requests?path=/users/me" | grep -o '"status":401' | wc -l; }

# The script: `refresher` gets a 401 and refreshes; `other` waits (on the scheduler) until the
# gate holds the token request, then fires a timer, pings the gate, makes two more tasks hit
# the 401, waits until the sandbox has answered them 401, and releases the request.
cat >"$TMP/concurrent.lua" <<'LUA'
local pd, http, vsrun, json = require "pagerduty", require "http", require "vsrun", require "json"
local input = ...
local events = json.array()
local function note(e) events[#events + 1] = e end
local function get(url) return http.get(url).body end
local release = input.release == "yes"

if input.locked == "yes" then
  -- the vault lock is held (by the gate, as by another vsrun): the refresher waits for it
  local refresher = vsrun.spawn(function()
    local email = pd.get_user("me").email
    note("refresher: refreshed")
    return email
  end)
  local base = tonumber(input.unauthorized)
  while select(2, get(input.sb .. "/__sandbox/requests?path=/users/me"):gsub('"status":401', "")) < base + 1 do
    vsrun.sleep(0.05)
  end
  -- many scheduler rounds: the refresher, whose 401 has arrived, is now waiting for the lock
  for _ = 1, 10 do vsrun.sleep(0.02) end
  note("other: timers fired")
  get(input.gate .. "/ping")
  note("other: pinged")
  get(input.gate .. "/unlock")
  note("other: unlocked the vault")
  return { events = events, email = refresher:wait() }
end

local refresher = vsrun.spawn(function()
  local email = pd.get_user("me").email
  note("refresher: refreshed")
  return email
end)
local others = {}
local other = vsrun.spawn(function()
  while get(input.gate .. "/held") ~= "yes" do vsrun.sleep(0.05) end
  note("other: saw the token request held")
  vsrun.sleep(0.01)
  note("other: timer fired")
  get(input.gate .. "/ping")
  note("other: pinged")
  if not release then return end
  for i = 1, 2 do others[i] = vsrun.spawn(function() return pd.get_user("me").email end) end
  if input.due ~= "yes" then
    local base = tonumber(input.unauthorized)
    -- the refresher's 401 and the two late tasks' 401s, all with the old token
    while select(2, get(input.sb .. "/__sandbox/requests?path=/users/me"):gsub('"status":401', "")) < base + 3 do
      vsrun.sleep(0.05)
    end
    note("other: two more tasks got 401")
  end
  get(input.gate .. "/release")
  note("other: released the token request")
end)
other:wait()
if not release then
  return { events = events, refresher_done = refresher:done() }
end
local out = { events = events, emails = json.array() }
out.emails[1] = refresher:wait()
for i = 1, 2 do out.emails[#out.emails + 1] = others[i]:wait() end
return out
LUA

# noted_before A B: the script noted event A before event B (its output lists them in order)
noted_before() {
    local a b
    a=$(grep -n -F "\"$1\"" <<<"$OUT" | head -n1 | cut -d: -f1)
    b=$(grep -n -F "\"$2\"" <<<"$OUT" | head -n1 | cut -d: -f1)
    [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]
}
events() { curl -s "$GATE/events" | tr '\n' ',' ; }
# before A B: event A was recorded before event B at the gate
before() { awk -v a="$1" -v b="$2" -F, '{ for (i = 1; i <= NF; i++) { if ($i == a && !ia) ia = i; if ($i == b && !ib) ib = i } }
    END { exit !(ia && ib && ia < ib) }' <<<"$EV"; }

# --- the refresh is held; other tasks run, and one of them releases it -------------------------
curl -s "$GATE/arm" >/dev/null
fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'
grants=$(token_posts)
run --timeout 120 "$TMP/concurrent.lua" gate="$GATE" sb="$SB" unauthorized="$(unauthorized)" release=yes
EV=$(events)
expect "refresh-concurrent: the run with a held refresh succeeds" 0 '"refresher: refreshed"'
say "refresh-concurrent: the gate held one refresh, then saw another task's ping and release, then answered it" \
    '[ "$(grep -o "held," <<<"$EV" | wc -l)" = 1 ] && before held ping && before ping release && before release "answered 200"' \
    "gate events: $EV"
say "refresh-concurrent: the other task's timer and requests ran before the refresh finished" \
    'noted_before "other: timer fired" "refresher: refreshed" && noted_before "other: pinged" "refresher: refreshed" &&
     noted_before "other: two more tasks got 401" "refresher: refreshed"' "$OUT"
say "refresh-concurrent: three tasks that got 401 succeeded with one token grant" \
    '[ "$(grep -o "@" <<<"$OUT" | wc -l)" = 3 ] && [ "$(token_posts)" -eq $((grants + 1)) ]' \
    "$(( $(token_posts) - grants )) grants; stdout: $OUT"

# --- the same when the token is due at connect (not a 401): the refresh before the first
# request runs on the scheduler too. The gate makes the reconnect's token last 1 s. -------
curl -s "$GATE/short" >/dev/null
run auth reconnect work --timeout 20
expect "refresh-concurrent: reconnect with a 1 s token" 0 "Reconnected 'work'"
sleep 1.2   # the token is now within its leeway (a quarter of its life) or expired
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
curl -s "$GATE/arm" >/dev/null
grants=$(token_posts)
run --timeout 120 "$TMP/concurrent.lua" gate="$GATE" sb="$SB" due=yes release=yes
EV=$(events)
expect "refresh-concurrent due: the run with a held refresh at connect succeeds" 0 '"refresher: refreshed"'
say "refresh-concurrent due: the gate held one refresh, then saw another task's ping and release, then answered it" \
    '[ "$(grep -o "held," <<<"$EV" | wc -l)" = 1 ] && before held ping && before ping release && before release "answered 200"' \
    "gate events: $EV"
say "refresh-concurrent due: the other task's timer and request ran before the refresh finished" \
    'noted_before "other: timer fired" "refresher: refreshed" && noted_before "other: pinged" "refresher: refreshed"' "$OUT"
say "refresh-concurrent due: three tasks that connected meanwhile succeeded with one token grant" \
    '[ "$(grep -o "@" <<<"$OUT" | wc -l)" = 3 ] && [ "$(token_posts)" -eq $((grants + 1)) ]' \
    "$(( $(token_posts) - grants )) grants; stdout: $OUT"

# --- the vault lock is held elsewhere: the refresh waits for it on the scheduler, and it is
# another task of the same run that has the lock released -------------------------------------
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
curl -s "$GATE/disarm" >/dev/null   # the token request goes through at once
curl -s "$GATE/lock?path=$VSRUN_HOME/work.lock" >/dev/null
fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'
run --timeout 120 "$TMP/concurrent.lua" gate="$GATE" sb="$SB" unauthorized="$(unauthorized)" locked=yes
EV=$(events)
expect "refresh-concurrent lock: the run whose refresh waited for the vault lock succeeds" 0 '"email": *"[^"]*@'
say "refresh-concurrent lock: the lock was held, another task pinged and had it released, then the refresh was answered" \
    'before locked ping && before ping unlocked && before unlocked "answered 200"' "gate events: $EV"
say "refresh-concurrent lock: the other task's timers and request ran before the refresh finished" \
    'noted_before "other: timers fired" "refresher: refreshed" && noted_before "other: pinged" "refresher: refreshed"' "$OUT"

# --- control: nobody releases; the refresh stays unanswered while the script finishes -----------
curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
curl -s "$GATE/arm" >/dev/null
fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'
run --timeout 120 "$TMP/concurrent.lua" gate="$GATE" sb="$SB" unauthorized=0 release=no
EV=$(events)
expect "refresh-concurrent control: the script ended while the refresh was held" 0 '"refresher_done": *false'
say "refresh-concurrent control: the held refresh was never answered (the gate really holds it)" \
    'before held ping && ! grep -q answered <<<"$EV"' "gate events: $EV"
