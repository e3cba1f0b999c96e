# Memory stays flat over a long listing: 100,000 incidents in a `vsrun sandbox` process,
# listed by a vsrun client over HTTP (PAGERDUTY_TOKEN / PAGERDUTY_API_URL) that samples its
# own VmRSS at 10%, 50% and 100% of the listing. The late samples may not be meaningfully
# above the first (a leak of the listed records would add ~100 MB). A memory check, not a
# timing check. It takes ~30 s (the sandbox serves ~1,000 pages), so it runs in the rel
# build only (VSRUN_BUILD=rel); the descriptor check is tests/lua/resources/fd_test.lua.
. "$(dirname "$0")/lib.sh"

[ "${VSRUN_BUILD:-rel}" = rel ] || exit 0

TOTAL=100000
"$VSRUN" sandbox --incidents $TOTAL --seed 5 --api-key rss-key --rate-limit 1000000 \
    >"$TMP/sb.out" 2>"$TMP/sb.err" </dev/null &
PID=$!
URL=
for _ in $(seq 1 1500); do
    URL=$(head -n 1 "$TMP/sb.out" 2>/dev/null)
    [ -n "$URL" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.02
done
if [ -z "$URL" ]; then
    echo "FAIL resources: vsrun sandbox did not start: $(head -c 300 "$TMP/sb.err")"
    kill "$PID" 2>/dev/null
    exit 0
fi

OUT=$(PAGERDUTY_TOKEN=rss-key PAGERDUTY_API_URL=$URL "$VSRUN" tests/cli/fixtures/rss_listing.lua total=$TOTAL 2>"$TMP/err")
RC=$?
ERR=$(cat "$TMP/err")
kill -TERM "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
expect "resources: a listing of 100,000 incidents over HTTP completes" 0 "^$TOTAL	[0-9]+ [0-9]+ [0-9]+$"
read -r n early mid late <<<"$OUT"
echo "# VmRSS kB at 10%/50%/100% of $TOTAL: $early $mid $late"
# flat: at most a quarter (and 4 MB) above the 10% sample, whatever the GC's timing
limit=$((early + early / 4 + 4096))
if [ -n "$late" ] && [ "$mid" -le "$limit" ] && [ "$late" -le "$limit" ]; then
    echo "ok resources: client RSS stays flat over the listing ($early -> $mid -> $late kB)"
else
    echo "FAIL resources: client RSS grew over the listing: $early -> $mid -> $late kB (limit $limit)"
fi
