# Attack: forged webhooks to vsrun serve (a wrong secret, another body's signature, a
# truncated or padded signature, a token prefix or an empty credential) must never start
# a pipeline. Control: the same event correctly signed does start it.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/serve_lib.sh"

export SERVE_OUT=$TMP/ran.txt
: >"$SERVE_OUT"
printf 'local ev = ... local f = io.open(os.getenv("SERVE_OUT"), "a") f:write(ev.delivery_id, "\\n") f:close()\n' >"$TMP/mark.lua"
cat >"$TMP/serve.lua" <<'LUA'
return { port = 0, routes = {
  pd = { script = "mark.lua", pagerduty = "the-pd-secret" },
  am = { script = "mark.lua", bearer = "the-long-bearer-token", delivery_header = "X-Id" },
  gh = { script = "mark.lua", hmac = { header = "X-Sig", secret = "the-hmac-secret" }, delivery_header = "X-Id" },
} }
LUA
start_serve f --config "$TMP/serve.lua" --store "$TMP/f.db" || { echo "FAIL serve starts: $(cat "$TMP/f.err")"; exit 1; }

ok='{"event":{"id":"GOOD"}}'
post_pd pd the-pd-secret "$ok"
expect_code "control: a correctly signed webhook is accepted" 202
check "control: its pipeline ran" wait_until 20 grep -q '^GOOD$' "$SERVE_OUT"

forged='{"event":{"id":"FORGED"}}'
sig=$(pd_sig the-pd-secret "$forged")
other=$(pd_sig the-pd-secret "$ok")
bad=0
for attempt in "v1=$(pd_sig wrong "$forged")" "v1=$other" "v1=${sig:0:62}" "v1=${sig}00" "v1=" "" "v0=$sig" \
               "V1=$sig" "v1=$(printf '%s' "$sig" | tr 0-9a-f 1-9a-f0)" "v1=$(pd_sig the-pd-secre "$forged")"; do
    post /hooks/pd "$forged" -H "X-PagerDuty-Signature: $attempt"
    case $CODE in 400|403) ;; *) echo "    forged PagerDuty signature '$attempt' got $CODE"; bad=$((bad + 1)) ;; esac
done
check "forged PagerDuty signatures are refused with 400 or 403" test "$bad" = 0
bad=0
for tok in "the-long-bearer-toke" "the-long-bearer-token2" "" "THE-LONG-BEARER-TOKEN" "the-long-bearer-token\"x"; do
    post /hooks/am '{}' -H "Authorization: Bearer $tok" -H "X-Id: FORGED-AM"
    case $CODE in 400|401|403) ;; *) echo "    forged bearer token '$tok' got $CODE"; bad=$((bad + 1)) ;; esac
done
check "forged bearer tokens are refused" test "$bad" = 0
post /hooks/gh 'x' -H "X-Sig: $(pd_sig the-hmac-secret y)" -H "X-Id: FORGED-GH"
expect_code "an HMAC of another body is 403" 403
post /hooks/gh 'x' -H "X-Id: FORGED-GH"
expect_code "a missing HMAC header is 400" 400
sleep 0.5     # give any wrongly accepted run the time to start
check "no forged webhook ran a pipeline" bash -c "! grep -q FORGED '$SERVE_OUT'"
check "no forged webhook was stored" bash -c "! '$VSRUN' runs list --store '$TMP/f.db' | grep -q FORGED"
stop_serve f TERM
check "no sanitizer report" no_sanitizer_report "$TMP/f.err"
