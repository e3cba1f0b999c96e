# Request smuggling over a kept-alive connection: a script writes half a request (its own
# Content-Length: 0, then "DELETE /services/... HTTP/1.1\r\nX-Ignore: ") to the API origin,
# hoping the next pagerduty request reuses the connection and its Authorization header
# authenticates the script's DELETE. The far end is a raw socket that records every byte of
# every connection: no connection that carries the token may carry a byte the script chose.
. "$(dirname "$0")/../cli/lib.sh"
CANARY="pdcanary_smuggle_$(date +%s%N)"
MARK="SMUGGLEDxq"   # in every byte string the script sends

# start_far_end DIR [proxy]: a recorder (tests/abuse/far_end.py); sets FAR_PID, FAR_PORT
FAR_PIDS=()
start_far_end() {
    mkdir -p "$1"
    python3 tests/abuse/far_end.py "$1" ${2:-} &
    FAR_PID=$!
    FAR_PIDS+=("$FAR_PID")
    for _ in $(seq 200); do [ -s "$1/port" ] && break; sleep 0.05; done
    FAR_PORT=$(cat "$1/port")
}
trap 'for p in "${FAR_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

# mixed DIR: names the connections that carry both the token and the script's marker
mixed() {
    local f out=""
    for f in "$1"/conn-*; do
        [ -e "$f" ] || continue
        grep -aq "$CANARY" "$f" && grep -aq "$MARK" "$f" && out="$out $(basename "$f")"
    done
    printf '%s' "$out"
}

# Control 1: the check notices a connection that carries both (one raw client sends a
# token-bearing request and then the script's bytes on the same connection).
start_far_end "$TMP/control"
python3 - "$FAR_PORT" "$CANARY" "$MARK" <<'EOF'
import socket, sys
port, canary, mark = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(("GET /incidents/P1 HTTP/1.1\r\nHost: x\r\nAuthorization: Token token=%s\r\n\r\n" % canary).encode())
s.recv(65536)
s.sendall(("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nDELETE /services/%s HTTP/1.1\r\nX-Ignore: " % mark).encode())
s.close()
EOF
sleep 0.2
[ -n "$(mixed "$TMP/control")" ] && echo "ok the check sees a connection carrying both token and script bytes (control)" \
    || _fail "control: mixed connection" "the check missed a connection with both"

# Control 2: the script's bytes do reach a far end that is not a credential origin, so their
# absence below is the defence, not a script that never sends.
start_far_end "$TMP/other"
run -e '
  local http = require "http"
  local r = http.post("http://127.0.0.1:'"$FAR_PORT"'/x", { body = "'"$MARK"'" })
  return r.status'
expect "a script request reaches another origin (control)" 0 '^200$'
grep -aqs "$MARK" "$TMP/other"/conn-* && echo "ok the far end records the script's bytes (control)" \
    || _fail "control: recorder" "the script's bytes were not recorded"

# The attack, with every variant a script has, in each mode.
ATTACK='
  local input = ...
  local http = require "http"
  local pd = require "pagerduty"
  local api, port = input.api, input.port
  local smuggle = "DELETE /services/P'"$MARK"' HTTP/1.1\r\nX-Ignore: "
  local tried = {}
  local function try(what, f, ...)
    local ok, err = pcall(f, ...)
    tried[#tried + 1] = what .. "=" .. (ok and "sent" or (type(err) == "table" and err.kind or "error"))
  end
  pcall(pd.get_incident, "P1")   -- a token connection is open and idle
  try("framing", http.post, api .. "/x", { headers = { ["Content-Length"] = "0" }, body = smuggle })
  try("plain", http.post, api .. "/x", { body = smuggle })
  try("alias", http.post, "http://localhost:" .. port .. "/x", { body = smuggle })
  try("te", http.post, "http://127.0.0.2:" .. port .. "/x", { headers = { ["Transfer-Encoding"] = "chunked" }, body = "0\r\n\r\n" .. smuggle })
  try("core", function()
    local core = require "vsrun.http_core"
    local id, kind = core.start { method = "POST", url = api .. "/x", body = smuggle }
    if not id then error({ kind = kind }) end
    return require("vsrun.sched").wait_io(id)
  end)
  -- a loopback API'"'"'s /__sandbox/ control path is open to http (tests drive a `vsrun sandbox`
  -- there): the bytes arrive, but only on connections of their own
  try("control", http.post, api .. "/__sandbox/x", { body = smuggle })
  pcall(pd.get_incident, "P2")   -- would complete the smuggled request on a shared connection
  return table.concat(tried, " ")'

for mode in "" "--strict --allow-net 127.0.0.1,localhost" "--dry-run"; do
    dir="$TMP/api${mode//[^a-z]/_}"
    start_far_end "$dir"
    API="http://127.0.0.1:$FAR_PORT"
    PAGERDUTY_TOKEN=$CANARY PAGERDUTY_API_URL=$API run $mode -e "$ATTACK" api="$API" port="$FAR_PORT"
    # under --strict the internal vsrun.http_core cannot even be required (a plain error)
    core=permission_denied; case $mode in --strict*) core=error ;; esac
    expect "every smuggling variant is refused before sending ${mode:-default}" 0 \
        '^"framing=invalid_argument plain=permission_denied alias=permission_denied te=invalid_argument core='$core' control=sent"$'
    grep -aqs "$CANARY" "$dir"/conn-* && echo "ok the token reached the API (the check has something to look at) ${mode:-default}" \
        || _fail "token sent ${mode:-default}" "no connection carried the token"
    m=$(mixed "$dir")
    [ -z "$m" ] && echo "ok no connection carries both the token and script bytes ${mode:-default}" \
        || _fail "smuggled ${mode:-default}" "$m carry the token and the script's bytes"
    stray=""
    for f in "$dir"/conn-*; do
        grep -aq "$MARK" "$f" && [ "$(head -c 20 "$f")" != "POST /__sandbox/x HT" ] && stray="$stray $(basename "$f")"
    done
    [ -z "$stray" ] && echo "ok script bytes reached the API origin only as /__sandbox/ requests ${mode:-default}" \
        || _fail "script bytes at the API ${mode:-default}" "$stray carry script bytes outside /__sandbox/"
    grep -q "$CANARY" <<<"$OUT$ERR" && _fail "canary in output ${mode:-default}" "leaked" || echo "ok no token in output ${mode:-default}"
done

# A host name that resolves to loopback (an /etc/hosts alias) passes the name check; the
# socket itself is checked. Control: the alias reaches a far end that is not the API.
ALIAS=$(hostname)
if getent ahostsv4 "$ALIAS" 2>/dev/null | grep -q '^127\.0\.0\.1 ' && [ "$ALIAS" != localhost ]; then
    run -e 'return require("http").post("http://'"$ALIAS"':'"$(cat "$TMP/other/port")"'/x", { body = "alias" }).status'
    expect "the host name $ALIAS reaches a loopback far end (control)" 0 '^200$'
    dir="$TMP/api_alias"
    start_far_end "$dir"
    API="http://127.0.0.1:$FAR_PORT"
    PAGERDUTY_TOKEN=$CANARY PAGERDUTY_API_URL=$API run -e '
      local pd, http = require "pagerduty", require "http"
      pcall(pd.get_incident, "P1")
      local ok, err = pcall(http.post, "http://'"$ALIAS:$FAR_PORT"'/x", { body = "DELETE /services/P'"$MARK"' HTTP/1.1\r\nX: " })
      pcall(pd.get_incident, "P2")
      return { kind = err.kind, sent = err.sent }'
    expect "a loopback alias of the API origin is refused at connect" 0 '"kind": "permission_denied"'
    [ -z "$(mixed "$dir")" ] && ! grep -aqs "$MARK" "$dir"/conn-* && echo "ok no script byte reached the API through the alias" \
        || _fail "alias" "script bytes reached the API through $ALIAS"
else
    echo "ok no host name resolves to 127.0.0.1 here: the alias case is covered by the C check alone"
fi
