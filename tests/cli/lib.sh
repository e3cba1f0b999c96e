# Helpers for end-to-end CLI tests: source this, then call `run` and the checks.
# Each check prints "ok NAME" or "FAIL NAME: why". VSRUN_BIN names the binary under test.
VSRUN=${VSRUN_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/vsrun}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

# run [args...]: runs vsrun; sets OUT, ERR, RC
run() {
    "$VSRUN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}
# run_stdin INPUT [args...]
run_stdin() {
    local input=$1; shift
    printf '%s' "$input" | "$VSRUN" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
}

_fail() { echo "FAIL $1: $2"; echo "    stdout: ${OUT:0:400}"; echo "    stderr: ${ERR:0:600}"; }

# expect NAME RC [stdout-regex] [stderr-regex]: checks the last run
expect() {
    local name=$1 rc=$2 out_re=${3:-} err_re=${4:-}
    if [ "$RC" -ne "$rc" ]; then _fail "$name" "exit $RC, expected $rc"; return; fi
    if [ -n "$out_re" ] && ! grep -Eq -- "$out_re" <<<"$OUT"; then _fail "$name" "stdout does not match /$out_re/"; return; fi
    if [ -n "$err_re" ] && ! grep -Eq -- "$err_re" <<<"$ERR"; then _fail "$name" "stderr does not match /$err_re/"; return; fi
    # sanitizer reports always fail a test
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|^==[0-9]+== (Invalid|Conditional|Use of|.*definitely lost)' <<<"$ERR"; then _fail "$name" "sanitizer or valgrind report"; return; fi
    echo "ok $name"
}

# expect_lines NAME N: stderr has exactly N lines (one-line messages)
expect_err_lines() {
    local name=$1 n=$2 got
    got=$(printf '%s' "$ERR" | grep -c '')
    if [ "$got" -ne "$n" ]; then _fail "$name" "stderr has $got lines, expected $n"; else echo "ok $name"; fi
}
