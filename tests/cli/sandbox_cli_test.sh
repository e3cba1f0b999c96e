# The sandbox as a user meets it: `vsrun sandbox` driven with curl (state kept across a
# restart with --state, OAuth by hand, the control API), and `vsrun --sandbox` scripts using
# the pagerduty module and vsrun.sandbox.
. "$(dirname "$0")/lib.sh"

# start NAME ARGS...: vsrun sandbox in the background; sets PID and URL
start() {
    local name=$1; shift
    "$VSRUN" sandbox "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
    PID=$!
    URL=
    for _ in $(seq 1 500); do
        URL=$(head -n 1 "$TMP/$name.out" 2>/dev/null)
        [ -n "$URL" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}
stop() { kill -TERM "$PID" 2>/dev/null; wait "$PID"; RC=$?; }
# check NAME COND-COMMAND...: ok when the command succeeds
check() { local name=$1; shift; if "$@"; then echo "ok $name"; else _fail "$name" "check failed: $*"; fi; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

STATE=$TMP/state.json
if start a --incidents 30 --seed 3 --api-key cli-key --state "$STATE"; then
    AUTH=(-H 'Authorization: Token token=cli-key')
    users=$(curl -sS "$URL/__sandbox/info")
    email=$(jget 'd["users"][1]["email"]' <<<"$users")
    svc=$(jget 'd["services"][0]["id"]' <<<"$users")
    OUT=$(curl -sS "${AUTH[@]}" -H "From: $email" -H 'Content-Type: application/json' \
        -d "{\"incident\":{\"type\":\"incident\",\"title\":\"kept across restarts\",\"incident_key\":\"cli/1\",\"service\":{\"id\":\"$svc\",\"type\":\"service_reference\"}}}" \
        "$URL/incidents")
    id=$(jget 'd["incident"]["id"]' <<<"$OUT")
    check "sandbox: create over HTTP with an API key and From" test -n "$id"
    code=$(curl -sS -o /dev/null -w '%{http_code}' "${AUTH[@]}" -H 'Content-Type: application/json' \
        -d "{\"incident\":{\"type\":\"incident\",\"title\":\"x\",\"service\":{\"id\":\"$svc\",\"type\":\"service_reference\"}}}" "$URL/incidents")
    check "sandbox: a write without From is 400" test "$code" = 400
    hdrs=$(curl -sS -D - -o /dev/null "${AUTH[@]}" -g "$URL/incidents?statuses[]=resolved&limit=1")
    check "sandbox: rate-limit headers over HTTP" grep -qi '^ratelimit-remaining: ' <<<"$hdrs"
    # OAuth by hand, as a browser and a client would do it
    verifier=cli-verifier-0123456789abcdefghijklmnopqrstuvwxyz
    challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
    client=$(jget 'd["client_id"]' <<<"$users")
    loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -G "$URL/oauth/authorize" --data-urlencode "client_id=$client" \
        --data-urlencode 'redirect_uri=http://127.0.0.1:1/cb' -d response_type=code -d scope=write -d state=st \
        -d "code_challenge=$challenge" -d code_challenge_method=S256)
    code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
    check "sandbox: authorize redirects with code and state" grep -q 'state=st' <<<"$loc"
    tok=$(curl -sS "$URL/oauth/token" -d grant_type=authorization_code --data-urlencode "client_id=$client" \
        --data-urlencode "code=$code" --data-urlencode 'redirect_uri=http://127.0.0.1:1/cb' --data-urlencode "code_verifier=$verifier")
    access=$(jget 'd["access_token"]' <<<"$tok")
    me=$(curl -sS -H "Authorization: Bearer $access" "$URL/users/me")
    check "sandbox: the OAuth token works on /users/me" grep -q '"user"' <<<"$me"
    log=$(curl -sS "$URL/__sandbox/requests")
    check "sandbox: the request log never holds the token" bash -c '! grep -qF -- "$1" <<<"$2"' _ "$access" "$log"
    check "sandbox: the request log never holds the API key" bash -c '! grep -qF -- cli-key <<<"$1"' _ "$log"
    stop
    check "sandbox: stops cleanly on SIGTERM" test "$RC" = 0
    check "sandbox: --state file written" test -s "$STATE"
    check "sandbox: no token in the state file" bash -c '! grep -qF -- "$1" "$2"' _ "$access" "$STATE"
    if start b --incidents 99 --api-key cli-key --state "$STATE"; then
        OUT=$(curl -sS "${AUTH[@]}" "$URL/incidents/$id")
        check "sandbox: --state restores incidents after a restart" grep -q 'kept across restarts' <<<"$OUT"
        n=$(curl -sS "$URL/__sandbox/incidents" | jget 'd["total"]')
        check "sandbox: --state restores the whole store (31 incidents)" test "$n" = 31
        me=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access" "$URL/users/me")
        check "sandbox: --state restores issued tokens" test "$me" = 200
        stop
    else
        _fail "sandbox: restart with --state" "$(cat "$TMP/b.err")"
    fi
else
    _fail "sandbox: start" "$(cat "$TMP/a.err")"
fi

cat >"$TMP/script.lua" <<'LUA'
local pd = require "pagerduty"
local sandbox = require "vsrun.sandbox"
local before = sandbox.counts().total
local svc = sandbox.info().services[1].id
local inc = pd.create_incident { title = "from a script", service = svc, incident_key = "script/1" }
sandbox.fault { kind = "status", status = 503, count = 1, match = { method = "GET" } }
local again = pd.get_incident(inc.id)
local reqs = sandbox.requests { method = "GET", path = "^/incidents/" }
print(before, sandbox.counts().total, again.title, #reqs, reqs[1].status)
LUA
run --sandbox --incidents 12 "$TMP/script.lua"
expect "vsrun --sandbox: pagerduty module and vsrun.sandbox against the in-process sandbox" 0 '^12	13	from a script	2	503$'
run "$TMP/script.lua"
expect "vsrun.sandbox is refused outside --sandbox" 1 '' 'only available under'
