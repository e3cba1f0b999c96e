# Hostile scripts against the token: it must not be reachable from Lua, sendable elsewhere,
# or visible in output, in default, --strict and --sandbox mode.
. "$(dirname "$0")/lib.sh"
CANARY="pdcanary_$(date +%s%N)_zz"
PORT_FILE="$TMP/sandbox.out"
"$VSRUN" sandbox --port 0 --api-key "$CANARY" > "$PORT_FILE" 2>"$TMP/sandbox.err" &
SB=$!
trap 'kill $SB 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1200); do grep -q http "$PORT_FILE" 2>/dev/null && break; sleep 0.05; done
URL=$(grep -o 'http://[^ ]*' "$PORT_FILE" | head -1)
export PAGERDUTY_API_URL=$URL PAGERDUTY_FROM=ops@example.com

PAGERDUTY_TOKEN=$CANARY run tests/cli/fixtures/find_canary.lua canary="$CANARY" plant=1
expect "the walk finds a planted canary (control)" 0 'package.loaded.planted<mt>.__index.deep.1'

for mode in "" --strict --sandbox; do
    PAGERDUTY_TOKEN=$CANARY run $mode tests/cli/fixtures/find_canary.lua canary="$CANARY"
    expect "token unreachable from Lua $mode" 0 '"found": \{\}|"found": \[\]'
    # the walk covered the internal modules where a script can reach them, and only there
    if [ "$mode" != --strict ]; then
        grep -q '"vsrun.pd_core"' <<<"$OUT" && echo "ok the walk reached internal modules" || _fail "walk reach" "vsrun.pd_core not walked"
    else
        grep -q '"vsrun.core"' <<<"$OUT" && _fail "strict reach" "internal module reachable" || echo "ok --strict reaches no internal module"
    fi
    grep -q '"vsrun.pd_refresh"' <<<"$OUT" && _fail "refresh reach $mode" "reachable" || echo "ok vsrun.pd_refresh unreachable $mode"
    grep -q "$CANARY" <<<"$OUT$ERR" && _fail "canary in output $mode" "leaked" || echo "ok canary not in output $mode"
done

# the token goes only to the connection's own origin: a base URL pointing elsewhere is not
# where an http request with the token can be made, and http never carries it
PAGERDUTY_TOKEN=$CANARY run -v -e '
  local http = require "http"
  local r = http.get("'"$URL"'/users/me")
  return { status = r.status }'
expect "http to the API origin is refused before anything is sent" 4 '' 'permission_denied: http: 127.0.0.1:[0-9]+ receives your PagerDuty credential'
grep -q "$CANARY" <<<"$OUT$ERR" && _fail "canary in verbose http" "leaked" || echo "ok no canary in verbose http log"

PAGERDUTY_TOKEN=$CANARY run -v -e '
  local pd = require "pagerduty"
  local ok, err = pcall(pd.get_incident, "../__sandbox/requests")
  return { ok = ok, kind = type(err) == "table" and err.kind or tostring(err) }'
expect "path traversal through an ID is refused" 0 '"kind": "invalid_argument"|"kind": "not_found"'
grep -q "$CANARY" <<<"$OUT$ERR" && _fail "canary after traversal" "leaked" || echo "ok no canary after traversal attempt"

VSRUN_KEY=c2VjcmV0 VSRUN_PASSPHRASE=hunter2 PAGERDUTY_TOKEN=$CANARY run -e '
  local seen = {}
  for _, name in ipairs { "VSRUN_KEY", "VSRUN_PASSPHRASE", "PAGERDUTY_TOKEN" } do
    seen[#seen + 1] = os.getenv(name) or "unset"
  end
  local env = io.popen("env"):read("a")
  return { seen = seen, in_child = env:find("'"$CANARY"'", 1, true) ~= nil or env:find("hunter2", 1, true) ~= nil }'
expect "secret environment unreadable by scripts and children" 0 '"in_child": false'
grep -q '"unset"' <<<"$OUT" && ! grep -q hunter2 <<<"$OUT" && echo "ok os.getenv sees no secret" || _fail "getenv" "secret visible"
