# Shared by the bench scenarios that drive `vsrun sandbox` processes (source it; it is not a
# scenario itself, so tests/bench/run, which runs *.sh, skips it).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
VSRUN=${VSRUN_BIN:-$PWD/vsrun}
TMP=$(mktemp -d)
KEY=bench-key-$$
# start_sandbox runs inside $(...), a subshell: its pids are kept in a file
cleanup() {
    for p in $(cat "$TMP/pids" 2>/dev/null); do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_sandbox FILE [sandbox options...]: a sandbox accepting $KEY, unlimited rate; prints
# its URL (also kept in FILE)
start_sandbox() {
    local file=$1; shift
    "$VSRUN" sandbox --port 0 --api-key "$KEY" --rate-limit 1000000 "$@" >"$TMP/$file" 2>"$TMP/$file.err" &
    echo $! >>"$TMP/pids"
    for _ in $(seq 1 600); do
        [ -s "$TMP/$file" ] && break
        sleep 0.1
    done
    if [ ! -s "$TMP/$file" ]; then echo "bench: the sandbox did not start: $(cat "$TMP/$file.err")"; exit 1; fi
    head -1 "$TMP/$file"
}

now() { date +%s.%N; }
# best_of N CMD...: runs CMD N times, prints the shortest wall time (the machine is shared,
# so the minimum is the figure least disturbed by other load); CMD's stdout goes to $TMP/last
best_of() {
    local n=$1 best= s e d; shift
    for _ in $(seq 1 "$n"); do
        s=$(now); "$@" >"$TMP/last"; e=$(now)
        d=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')
        if [ -z "$best" ] || awk -v d="$d" -v b="$best" 'BEGIN { exit !(d < b) }'; then best=$d; fi
    done
    echo "$best"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
auth="Authorization: Token token=$KEY"
accept="Accept: application/vnd.pagerduty+json;version=2"
