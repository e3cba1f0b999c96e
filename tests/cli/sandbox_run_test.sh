# How the simulator is hosted: `vsrun --sandbox` (in-process, preset token, nothing left
# behind) and `vsrun sandbox` (a process serving until a signal, API keys, --json, --state).
. "$(dirname "$0")/lib.sh"

start_bg() {  # start_bg NAME ARGS...: sets BG_PID and LINE (first stdout line)
    local name=$1; shift
    "$VSRUN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
    BG_PID=$!
    LINE=
    for _ in $(seq 1 500); do
        LINE=$(head -n 1 "$TMP/$name.out" 2>/dev/null)
        [ -n "$LINE" ] && return 0
        kill -0 "$BG_PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}
stop_bg() {  # stop_bg NAME SIGNAL: sets RC OUT ERR
    kill -"$2" "$BG_PID" 2>/dev/null
    wait "$BG_PID"
    RC=$?
    OUT=$(cat "$TMP/$1.out"); ERR=$(cat "$TMP/$1.err")
}

# ---- vsrun --sandbox ----
run --sandbox -e 'local pd = require "pagerduty"; return pd.get_user("me").email'
expect "--sandbox: the preset token is the default user's" 0 '"ada@sandbox.example.com"'

run --sandbox --incidents 3 --seed 5 -e 'local n = 0
for _ in require("pagerduty").list_incidents { date_range = "all" } do n = n + 1 end
return n'
expect "--sandbox --incidents 3 seeds three incidents" 0 '^3$'

run --sandbox --incidents=3 --seed=5 -v -e 'local pd = require "pagerduty"
pd.get_user("me"); return require("vsrun.core").sandbox_url()'
expect "--sandbox -v runs" 0 '"http://127\.0\.0\.1:[0-9]+"' 'GET http://127\.0\.0\.1:[0-9]+/users/me'
grep -q 'pdsbx_' <<<"$OUT$ERR" && _fail "the preset token never appears" "found in output" || echo "ok the preset token never appears"
url=$(tr -d '"' <<<"$OUT")
code=0; curl -sS -o /dev/null "$url/users/me" 2>/dev/null || code=$?
[ "$code" = 7 ] && echo "ok --sandbox leaves no server behind" || _fail "--sandbox leaves no server behind" "curl exit $code"

run --sandbox --incidents many -e 'return 1'
expect "--sandbox: a bad seeding option is a usage error before the script runs" 2 '' '--incidents needs a whole number'
run test --seed x tests/lua/server_test.lua
expect "vsrun test: a bad seeding option is a usage error" 2 '' '--seed needs a whole number'
run --incidents 3 -e 'return 1'
expect "seeding options need --sandbox" 2 '' 'add --sandbox'

# ---- vsrun sandbox ----
if start_bg sj sandbox --json --incidents 2 --seed 9; then
    info=$("$VSRUN" -e 'local j = require "json"; local t = j.decode(io.read("a"))
return { url = t.url, client_id = t.client_id, users = #t.users, first = t.users[1].email }' <<<"$LINE")
    grep -Eq '"url": "http://127\.0\.0\.1:[0-9]+"' <<<"$info" && grep -q '"client_id": "[^"]' <<<"$info" \
        && grep -Eq '"users": [1-9]' <<<"$info" && grep -q '"first": "ada@' <<<"$info" \
        && echo "ok vsrun sandbox --json: url, client id, users" || _fail "vsrun sandbox --json" "$LINE"
    stop_bg sj INT
    expect "vsrun sandbox --json stops on SIGINT" 0
else
    _fail "vsrun sandbox --json starts" "$(cat "$TMP/sj.err")"
fi

KEY=test-key-$RANDOM
if start_bg sk sandbox --json --incidents 4 --api-key "$KEY" --state "$TMP/state.json"; then
    read -r URL svc < <("$VSRUN" -e 'local t = require("json").decode(io.read("a")); print(t.url, t.services[1].id)' <<<"$LINE")
    H=(-H "Accept: application/vnd.pagerduty+json;version=2")
    n=$(curl -sS "${H[@]}" -H "Authorization: Token token=$KEY" "$URL/incidents?date_range=all&total=true" | grep -o '"total":[0-9]*')
    [ "$n" = '"total":4' ] && echo "ok vsrun sandbox: the API key reads the seeded incidents" || _fail "api key list" "$n"
    status=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H "Authorization: Token token=wrong" "$URL/incidents")
    [ "$status" = 401 ] && echo "ok vsrun sandbox: an unknown key is 401" || _fail "unknown key" "$status"
    status=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -H "Authorization: Token token=$KEY" \
        -H "From: ada@sandbox.example.com" -H "Content-Type: application/json" \
        --data "{\"incident\":{\"type\":\"incident\",\"title\":\"kept in the state file\",\"service\":{\"id\":\"$svc\",\"type\":\"service_reference\"}}}" \
        "$URL/incidents")
    [ "$status" = 201 ] && echo "ok vsrun sandbox: an incident is created" || _fail "create incident" "$status (service $svc)"
    stop_bg sk TERM
    expect "vsrun sandbox stops on SIGTERM" 0
    [ -s "$TMP/state.json" ] && echo "ok --state: saved on stop" || _fail "--state saved" "no file"
    if start_bg sk2 sandbox --api-key "$KEY" --state "$TMP/state.json"; then
        body=$(curl -sS "${H[@]}" -H "Authorization: Token token=$KEY" "$LINE/incidents?date_range=all&total=true")
        grep -q '"total":5' <<<"$body" && grep -q 'kept in the state file' <<<"$body" \
            && echo "ok --state: restored at start" || _fail "--state restored" "${body:0:300}"
        stop_bg sk2 INT
    else
        _fail "restart with --state" "$(cat "$TMP/sk2.err")"
    fi
else
    _fail "vsrun sandbox --api-key starts" "$(cat "$TMP/sk.err")"
fi

# A shell starts background jobs with SIGINT ignored; the sandbox must still stop on it.
(trap '' INT; exec "$VSRUN" sandbox >"$TMP/ign.out" 2>"$TMP/ign.err" </dev/null) &
pid=$!
for _ in $(seq 1 500); do [ -s "$TMP/ign.out" ] && break; sleep 0.02; done
kill -INT $pid
for _ in $(seq 1 250); do kill -0 $pid 2>/dev/null || break; sleep 0.02; done
if kill -0 $pid 2>/dev/null; then
    kill -KILL $pid; wait $pid 2>/dev/null
    _fail "SIGINT stops vsrun sandbox even when the shell ignored it" "still running"
else
    wait $pid; RC=$?; OUT=$(cat "$TMP/ign.out"); ERR=$(cat "$TMP/ign.err")
    expect "SIGINT stops vsrun sandbox even when the shell ignored it" 0 '^http://'
fi
