#!/usr/bin/env bash
# The fault matrix rows that tests/lua/hardening/fault_matrix_test.lua cannot express: they
# need an OAuth connection (token expired, refresh token revoked: the in-process sandbox's
# preset token has no refresh path) or no server at all (connection refused). Same shape:
# {GET incident, list page, PUT update, POST create, POST note} × fault -> the outcome (exit
# code and error kind), the requests the sandbox saw for the call's method and path, and for
# writes the objects that exist afterwards.
. "$(dirname "$0")/lib.sh"

SB_PID=""
trap '[ -n "$SB_PID" ] && kill "$SB_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
export VSRUN_HOME=$TMP/home
VSRUN_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export VSRUN_KEY
unset VSRUN_CLIENT_ID VSRUN_PASSPHRASE PAGERDUTY_TOKEN PAGERDUTY_API_URL PAGERDUTY_FROM VSRUN_CLIENT_SECRET_FILE XDG_CONFIG_HOME
say() { if eval "$2"; then echo "ok $1"; else echo "FAIL $1${3:+: $3}"; fi; }

APIKEY=matrix-key-$RANDOM$RANDOM
"$VSRUN" sandbox --json --incidents 30 --api-key "$APIKEY" >"$TMP/sb.json" 2>"$TMP/sb.err" &
SB_PID=$!
for _ in $(seq 200); do [ -s "$TMP/sb.json" ] && break; sleep 0.05; done
LINE=$(head -n1 "$TMP/sb.json")
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$LINE")
CID=$(sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' <<<"$LINE")
if [ -z "$URL" ] || [ -z "$CID" ]; then echo "FAIL fault matrix sandbox start: $(head -c 400 "$TMP/sb.err")"; exit 1; fi

# a browser that approves at once: authorize -> 302 -> vsrun's loopback callback
printf '%s\n' '#!/bin/sh' 'loc=$(curl -s -o /dev/null -w "%{redirect_url}" "$1")' 'curl -s -o /dev/null "$loc"' >"$TMP/follow.sh"
chmod +x "$TMP/follow.sh"
export BROWSER=$TMP/follow.sh
login() { run auth login --connection "$1" --client-id "$CID" --api-url "$URL" --identity-url "$URL" --timeout 20; }

ctl() { curl -s -X "$1" ${3:+-d "$3"} "$URL/__sandbox/$2"; }
api() { curl -s -H "Authorization: Token token=$APIKEY" -H 'Accept: application/vnd.pagerduty+json;version=2' "$URL$1"; }
# logged METHOD PATTERN: requests the sandbox logged for that method and path pattern
logged() { curl -s -G --data-urlencode "method=$1" --data-urlencode "path=$2" "$URL/__sandbox/requests" | grep -o '"seq":' | wc -l; }

login setup
expect "fault matrix: OAuth login against the sandbox" 0 "Connected 'setup'"
run --connection setup -e 'local pd = require "pagerduty"
  local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
  local notes = pd.create_incident { title = "notes of the CLI fault matrix", service = inc.service.id }
  return inc.id .. " " .. inc.service.id .. " " .. notes.id'
read -r INC SVC NOTE_INC <<<"$(tr -d '"' <<<"$OUT")"
say "fault matrix: fixtures" '[ -n "$INC" ] && [ -n "$SVC" ] && [ -n "$NOTE_INC" ]' "$OUT $ERR"

# The call shapes: op NAME -> METHOD, PATH (a Lua pattern), the call, how to count objects
cat >"$TMP/op.lua" <<'EOF'
local input = ...
local pd = require "pagerduty"
pd.configure { backoff_base = 0.01, backoff_cap = 0.05, max_attempts = 3 }
local tag = input.tag
local calls = {
  get = function() return pd.get_incident(input.inc).id == input.inc end,
  -- one page request: a past window (no oldest-record probe, no recent tail), one record
  list = function()
    return #pd.list_incidents({ since = os.time() - 170 * 86400, ["until"] = os.time() - 3600, limit = 1 }):collect() == 1
  end,
  put = function() return pd.update_incident(input.inc, { title = tag }).title == tag end,
  create = function()
    return pd.create_incident({ title = tag, service = input.svc, incident_key = tag }).incident_key == tag
  end,
  note = function() return pd.create_incident_note(input.note_inc, tag).content == tag end,
}
return { result = calls[input.op]() }
EOF
OPS="get list put create note"
declare -A METHOD=([get]=GET [list]=GET [put]=PUT [create]=POST [note]=POST)
declare -A PATTERN=([get]='^/incidents/[^/]+$' [list]='^/incidents$' [put]='^/incidents/[^/]+$'
                    [create]='^/incidents$' [note]='^/incidents/[^/]+/notes$')
objects() {
    case $1 in
        create) api "/incidents?date_range=all&incident_key=$2" | grep -o "\"incident_key\":\"$2\"" | wc -l ;;
        note) api "/incidents/$NOTE_INC/notes" | grep -o "\"content\":\"$2\"" | wc -l ;;
    esac
}
N=0
# cell ROW OP CONNECTION_ARGS...: runs one call (after the row's faults are set), sets SENT, OBJ, TOKEN_POSTS
cell() {
    local op=$2; shift 2
    N=$((N + 1)); TAG=matrix-$N-$RANDOM
    run -v "$@" "$TMP/op.lua" op="$op" tag="$TAG" inc="$INC" svc="$SVC" note_inc="$NOTE_INC"
    cat "$TMP/out" "$TMP/err" >>"$TMP/all"
    SENT=$(logged "${METHOD[$op]}" "${PATTERN[$op]}")
    TOKEN_POSTS=$(logged POST '^/oauth/token$')
    OBJ=$(objects "$op" "$TAG")
    ctl DELETE faults >/dev/null
}
report() { echo "# cell $1 | $2 | rc $RC | sent $SENT | token refreshes $TOKEN_POSTS${OBJ:+ | objects $OBJ}"; }
fault() { ctl POST faults "$1" >/dev/null; }

# --- token expired: one refresh (POST /oauth/token), the request is sent again, succeeds --
for op in $OPS; do
    ctl DELETE requests >/dev/null
    fault "{\"kind\":\"expire_token\",\"count\":1,\"match\":{\"method\":\"${METHOD[$op]}\",\"path\":\"${PATTERN[$op]}\"}}"
    cell expired "$op" --connection setup
    report "$op" "token expired"
    expect "fault matrix: $op × token expired: refreshed and succeeded" 0 '"result": ?true'
    say "fault matrix: $op × token expired: 2 requests, 1 refresh" '[ "$SENT" -eq 2 ] && [ "$TOKEN_POSTS" -eq 1 ]' "sent $SENT, refreshes $TOKEN_POSTS"
    [ -n "$OBJ" ] && say "fault matrix: $op × token expired: one object" '[ "$OBJ" -eq 1 ]' "objects $OBJ"
done

# --- refresh token revoked: the 401's refresh gets invalid_grant -> reconnect_required, exit 3
for op in $OPS; do
    login "revoked-$op"
    expect "fault matrix: login revoked-$op" 0 "Connected 'revoked-$op'"
    ctl DELETE requests >/dev/null
    fault "{\"kind\":\"expire_token\",\"count\":1,\"match\":{\"method\":\"${METHOD[$op]}\",\"path\":\"${PATTERN[$op]}\"}}"
    fault '{"kind":"revoke_refresh","count":1,"match":{"method":"POST","path":"^/oauth/token$"}}'
    cell revoked "$op" --connection "revoked-$op"
    report "$op" "refresh token revoked"
    expect "fault matrix: $op × refresh revoked: reconnect_required" 3 '' "reconnect_required: .*vsrun auth reconnect revoked-$op"
    say "fault matrix: $op × refresh revoked: 1 request, 1 refresh attempt" '[ "$SENT" -eq 1 ] && [ "$TOKEN_POSTS" -eq 1 ]' "sent $SENT, refreshes $TOKEN_POSTS"
    [ -n "$OBJ" ] && say "fault matrix: $op × refresh revoked: no object" '[ "$OBJ" -eq 0 ]' "objects $OBJ"
done

# --- connection refused: an API key whose API URL is a closed loopback port -> network after
# max_attempts (3) attempts, each one logged by -v; nothing reached any server
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
for op in $OPS; do
    N=$((N + 1))
    PAGERDUTY_TOKEN=$APIKEY PAGERDUTY_FROM=ada@sandbox.example.com PAGERDUTY_API_URL=http://127.0.0.1:$CLOSED \
        run -v "$TMP/op.lua" op="$op" tag="refused-$N" inc="$INC" svc="$SVC" note_inc="$NOTE_INC"
    cat "$TMP/out" "$TMP/err" >>"$TMP/all"
    ATTEMPTS=$(grep -c "^vsrun http: ${METHOD[$op]} http://127.0.0.1:$CLOSED/.* -> network" <<<"$ERR")
    OTHER=$(grep -c "^vsrun http: " <<<"$ERR")
    echo "# cell $op | connection refused | rc $RC | attempts $ATTEMPTS | requests of any kind $OTHER"
    expect "fault matrix: $op × connection refused: network" 6 '' "network: "
    say "fault matrix: $op × connection refused: 3 attempts, no look-up" '[ "$ATTEMPTS" -eq 3 ] && [ "$OTHER" -eq 3 ]' "attempts $ATTEMPTS, all $OTHER"
done

# no secret in anything the runs printed
say "fault matrix: no token or key in any output" '[ -s "$TMP/all" ] && ! grep -Fq -e "pdsbx+_" -e "$APIKEY" "$TMP/all"'
