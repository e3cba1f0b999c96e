# Conformance: every kind of sandbox response validated against PagerDuty's OpenAPI file,
# and every parameter and body field the file documents for the nine operations checked for
# its effect or allowlisted with a reason (sandbox_conformance_params.py).
# (tests only: python3 + python3-jsonschema from Debian, see vendor/packages.txt).
. "$(dirname "$0")/lib.sh"

# PagerDuty's OpenAPI file, vendored with its origin (vendor/pagerduty-openapi/ORIGIN.md)
SPEC=vendor/pagerduty-openapi/openapiv3.json
if [ ! -f "$SPEC" ]; then
    echo "FAIL conformance: $SPEC is missing"
    exit 0
fi
# Debian's interpreter and python3-jsonschema (4.10), not whatever python3 comes first in PATH
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
if ! $PY -c 'import jsonschema' 2>/dev/null; then
    echo "FAIL conformance: python3-jsonschema is not installed (vendor/packages.txt)"
    exit 0
fi

"$VSRUN" sandbox --json --incidents 300 --seed 4 --api-key conformance-key >"$TMP/sb.out" 2>"$TMP/sb.err" </dev/null &
PID=$!
URL=
for _ in $(seq 1 250); do
    URL=$(head -n 1 "$TMP/sb.out" 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["url"])' 2>/dev/null)
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.02
done
if [ -z "$URL" ]; then
    echo "FAIL conformance: the sandbox did not start: $(cat "$TMP/sb.err")"
    exit 0
fi
$PY tests/cli/sandbox_conformance.py "$URL" "$SPEC" conformance-key 2>&1 || true
# every documented parameter and body field: checked for its effect, or allowlisted with a
# reason (tests/cli/sandbox_conformance_allowlist.txt); a fresh sandbox, so the data is known
curl -s -X POST "$URL/__sandbox/reset" >/dev/null
$PY tests/cli/sandbox_conformance_params.py "$URL" "$SPEC" conformance-key 2>&1 || true
kill -TERM "$PID" 2>/dev/null
wait "$PID"
rc=$?
[ "$rc" -eq 0 ] && echo "ok conformance: sandbox stopped cleanly" || echo "FAIL conformance: sandbox exit $rc: $(tail -5 "$TMP/sb.err")"
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/sb.err"; then
    echo "FAIL conformance: sanitizer report"
fi
