# scripts/examples/ai_summary.lua as a `vsrun serve` pipeline, offline: a sandbox incident →
# a PagerDuty-signed webhook (signing secret named in the config: secret "pd-hook") →
# the pipeline asks a local fake LLM (tests/cli/fake_llm.py, which answers only the right
# bearer key) with the named secret "openai" → the canned summary lands as a note, once.
# The key is never in the config, the run's input, the log, the store or the replies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY VSRUN_ALLOW_NET VSRUN_PASSPHRASE AI_URL
export VSRUN_HOME="$TMP/vault" VSRUN_KEY
VSRUN_KEY=$(openssl rand -base64 32)
KEY="sk-fake-$(openssl rand -hex 12)"
HOOK="hook-$(openssl rand -hex 12)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT

"$VSRUN" sandbox --api-key ai-api-key --json >"$TMP/sbx.out" 2>"$TMP/sbx.err" </dev/null & PIDS+=("$!")
mkdir -p "$TMP/llm"
FAKE_LLM_KEY=$KEY python3 tests/cli/fake_llm.py "$TMP/llm" & PIDS+=("$!")
wait_until 60 test -s "$TMP/sbx.out" || { echo "FAIL sandbox starts: $(cat "$TMP/sbx.err")"; exit 1; }
wait_until 60 test -s "$TMP/llm/port" || { echo "FAIL the fake LLM starts"; exit 1; }
LLM="http://127.0.0.1:$(cat "$TMP/llm/port")"
read -r SBX SERVICE EMAIL < <(python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["url"], i["services"][0]["id"], i["users"][0]["email"])' <"$TMP/sbx.out")
export PAGERDUTY_API_URL=$SBX PAGERDUTY_FROM=$EMAIL
INC=$(PAGERDUTY_TOKEN=ai-api-key "$VSRUN" -e "return pagerduty.create_incident{ title = 'Disk full on db1', service = '$SERVICE' }.id" 2>"$TMP/create.err" | tr -d '"')
check "an incident exists in the sandbox" grep -Eq '^[A-Z0-9]{6,}$' <<<"$INC"
calls() { grep -c "^$1$" "$TMP/llm/calls" 2>/dev/null; }
summaries() {
    PAGERDUTY_TOKEN=ai-api-key "$VSRUN" -e "local n = 0
      for note in pagerduty.list_incident_notes('$INC') do
        if note.content:find('CANNED SUMMARY', 1, true) then n = n + 1 end
      end
      return n" 2>&1
}

# control: the fake LLM refuses a wrong key, so a note proves the right one was sent
printf '%s' "wrong-key" | "$VSRUN" secret set openai --origin "$LLM" >/dev/null
AI_URL="$LLM/v1/chat/completions" PAGERDUTY_TOKEN=ai-api-key run scripts/examples/ai_summary.lua "incident=$INC"
expect "control: with the wrong key the fake LLM answers 401 and nothing is noted" 1 '' 'AI endpoint answered HTTP 401'
check "control: the fake LLM counted a bad call" test "$(calls bad)" = 1
printf '%s' "$KEY" | "$VSRUN" secret set openai --origin "$LLM" >/dev/null
printf '%s' "$HOOK" | "$VSRUN" secret set pd-hook --webhook >/dev/null
run secret list
expect "the webhook secret is listed without an origin" 0 'pd-hook +\(webhook: serve only\)'

cat >"$TMP/serve.lua" <<LUA
return { port = 0, routes = {
  pagerduty = { script = "$PWD/scripts/examples/ai_summary.lua", pagerduty = secret "pd-hook", timeout = 120 },
} }
LUA
AI_URL="$LLM/v1/chat/completions" PAGERDUTY_TOKEN=ai-api-key start_serve ai --config "$TMP/serve.lua" --store "$TMP/ai.db" \
    || { echo "FAIL serve starts: $(cat "$TMP/ai.err")"; exit 1; }
event="{\"event\":{\"id\":\"01AISUM\",\"event_type\":\"incident.triggered\",\"resource_type\":\"incident\",\"data\":{\"id\":\"$INC\",\"type\":\"incident\",\"title\":\"Disk full on db1\"}}}"
post_pd pagerduty "wrong-$HOOK" "$event"
expect_code "control: a webhook signed with another secret is refused" 403
post_pd pagerduty "$HOOK" "$event"
expect_code "a webhook signed with the secret named in the config is accepted" 202
RUN=$(sed -n 's/.*"run":\([0-9]*\).*/\1/p' <<<"$REPLY")
run_done() { "$VSRUN" runs show "$RUN" --store "$TMP/ai.db" | grep -q '"status":"done"'; }
check "the pipeline ran" wait_until 120 run_done
check "the fake LLM got one call with the right bearer key" test "$(calls good)" = 1
check "the canned summary is a note on the incident" test "$(summaries)" = 1
run runs retry "$RUN" --store "$TMP/ai.db"
expect "runs retry" 0 'queued again'
check "the repeated run finished" wait_until 120 bash -c "'$VSRUN' runs show '$RUN' --store '$TMP/ai.db' | grep -q '\"noted\":false'"
check "still one summary note, and no second LLM call" test "$(summaries)/$(calls good)" = 1/1
"$VSRUN" runs show "$RUN" --store "$TMP/ai.db" >"$TMP/show"
stop_serve ai TERM
check "serve: exit 0" test "$RC" = 0
check "the LLM key and the signing secret are in no log, store, reply or config" \
    bash -c "! grep -qaF -e '$KEY' -e '$HOOK' '$TMP/ai.err' '$TMP/ai.out' '$TMP/ai.db'* '$TMP/show' '$TMP/serve.lua' '$TMP/reply'"
check "no sanitizer report" no_sanitizer_report "$TMP/ai.err"

# an http secret is not a webhook secret, and a webhook secret is never sent by http
cat >"$TMP/bad.lua" <<LUA
return { port = 0, routes = { x = { script = "$PWD/scripts/examples/ai_summary.lua", pagerduty = secret "openai" } } }
LUA
run serve --config "$TMP/bad.lua" --store "$TMP/bad.db"
expect "serve refuses an http secret as a signing secret" 2 '' "'openai' is bound to $LLM for http"
run -e "return require('http').post('$LLM/v1/chat/completions', { auth = { bearer = 'pd-hook' }, body = '{}' }).status"
expect "http refuses to send a webhook secret" 4 '' "secret 'pd-hook' is a webhook secret"
check "the refused request never reached the fake LLM" test "$(calls good)/$(calls bad)" = 1/1
