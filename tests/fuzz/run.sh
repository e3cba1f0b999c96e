# Runs every libFuzzer target for a fixed number of runs (FUZZ_RUNS, default 20000) from its
# seed corpus; a crash, leak or sanitizer report fails it. `make fuzz` runs them for longer.
set -u
cd "$(dirname "$0")/../.."
runs=${FUZZ_RUNS:-20000}
for f in build/fuzz/*_fuzz; do
    [ -x "$f" ] || continue
    name=$(basename "$f" _fuzz)
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null
    if out=$("$f" -runs="$runs" -rss_limit_mb=2048 -timeout=20 "$work" 2>&1); then
        echo "ok fuzz $name ($runs runs)"
    else
        echo "FAIL fuzz $name: $(grep -E 'ERROR|SUMMARY|crash-|leak-|timeout-' <<<"$out" | head -5 | tr '\n' ' ')"
    fi
    rm -rf "$work"
done
