# vsrun secret set|list|delete, and named secrets in each mode: --strict (still needs
# --allow-net), --sandbox and vsrun test (the vault is never read: stand-ins and
# sandbox.set_secret), a secret is never a PagerDuty connection.
. "$(dirname "$0")/lib.sh"
. tests/abuse/secret_lib.sh   # a vault with secret `svc` bound to the echo origin ORIGIN

run secret --help
expect "secret --help" 0 'vsrun secret set NAME --origin ORIGIN'
run secret set --help
expect "secret set --help" 0 'never give it as an argument'
run secret
expect "secret without a command is a usage error" 2 '' 'set, list or delete'
run secret rotate x
expect "an unknown secret command is a usage error" 2 '' "unknown command 'rotate'"
run_stdin "v" secret set x
expect "set without --origin is a usage error" 2 '' 'give the origin'
run_stdin "v" secret set ../x --origin https://a.example
expect "a bad name is a usage error" 2 '' "invalid secret name"
for bad in "http://a.example" "https://a.example/v1" "https://a.example?x=1" "https://u@a.example" "https://a.example." \
           "ftp://a.example" "https://bücher.example" "not a url"; do
    run_stdin "v" secret set x --origin "$bad"
    expect "origin '$bad' is refused" 2 '' "the origin"
done
run_stdin "" secret set x --origin https://a.example
expect "an empty value is refused" 2 '' 'the value is empty'
run_stdin "$(printf 'a\nb')" secret set x --origin https://a.example
expect "a value of two lines is refused" 2 '' 'one line'
run_stdin "$(head -c 9000 /dev/zero | tr '\0' a)" secret set x --origin https://a.example
expect "a value over 8192 bytes is refused" 2 '' 'too long'
run_stdin "$(printf 'tok-1\n')" secret set other --origin "https://Api.Example.com:443/"
expect "set stores the origin normalised" 0 "sent only to https://api.example.com$"
run secret list
expect "list shows names and origins, sorted" 0 "^other +https://api.example.com +20[0-9-]+ [0-9:]+$"
expect "list shows svc too" 0 "^svc +$ORIGIN "
run_stdin "tok-2" secret set other --origin "https://api.example.com:8443"
expect "set replaces a secret (rotation)" 0 "api.example.com:8443"
run secret delete other
expect "delete" 0 "deleted"
run secret delete other
expect "deleting a missing secret is an error" 1 '' "no secret named 'other'"
VSRUN_KEY=$(openssl rand -base64 32) run -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc' } }).status"
expect "another vault key cannot open the secret (nothing sent)" 1 '' "secret 'svc': vault record 'svc'"

# a terminal: the value is typed at a prompt that does not echo it
python3 - "$VSRUN" >"$TMP/pty" 2>&1 <<'PY'
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "secret", "set", "typed", "--origin", "https://typed.example"])
out, sent = b"", False
deadline = time.time() + 120   # generous: valgrind
while time.time() < deadline:
    if not sent and b"not echoed" in out:
        os.write(fd, b"typed-canary-value\n")
        sent = True
    ready, _, _ = select.select([fd], [], [], 1)
    if not ready:
        continue
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print(out.decode(errors="replace"))
print("exit", os.waitstatus_to_exitcode(status))
PY
grep -q "exit 0" "$TMP/pty" && grep -q "stored" "$TMP/pty" && echo "ok set prompts on a terminal" || _fail "tty prompt" "$(cat "$TMP/pty")"
grep -q "typed-canary-value" "$TMP/pty" && _fail "tty echo" "the typed value was echoed" || echo "ok the prompt does not echo the value"
run secret list
expect "the typed secret is stored" 0 "^typed +https://typed.example"

# scripts
run -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc' } }):json().headers.Authorization == 'Bearer $CANARY'"
expect "auth = { bearer = NAME } sends Authorization: Bearer VALUE to the bound origin" 0 '^true$'
run -e "return require('http').get('$ORIGIN/x', { auth = { header = 'X-Api-Key', secret = 'svc' } }):json().headers['X-Api-Key'] == '$CANARY'"
expect "auth = { header, secret } sends the value in that header" 0 '^true$'
run -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'nope' } }).status"
expect "an unknown secret is a clear error" 1 '' "unknown secret 'nope': store it with: vsrun secret set nope --origin ORIGIN"
run -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc' }, headers = { authorization = 'x' } }).status"
expect "auth and the same header in headers is refused" 1 '' "header 'Authorization' is set by auth"
run -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc', secret = 'svc' } }).status"
expect "bearer with secret is refused" 1 '' 'either bearer or header and secret'
run -e "return require('http').get('$ORIGIN/x', { auth = { header = 'Content-Length', secret = 'svc' } }).status"
expect "a framing header for the secret is refused" 1 '' "header 'Content-Length' is set by vsrun"
N=$(origin_got)
run --strict -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc' } }).status"
expect "--strict: a secret still needs --allow-net" 4 '' 'not allowed under --strict'
run --strict --allow-net "127.0.0.1:$ORIGIN_PORT" -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc' } }):json().headers.Authorization == 'Bearer $CANARY'"
expect "--strict --allow-net: the secret is usable" 0 '^true$'
[ "$(origin_got)" = $((N + 1)) ] && echo "ok the refused --strict request sent nothing" || _fail "strict sent" "$(origin_got) vs $N"
run --connection svc -e "return pagerduty.list_incidents{ limit = 1 }:collect()"
expect "a secret's name is not a PagerDuty connection" 3 '' "no PagerDuty connection named 'svc'"

# --sandbox: the vault is not read; an unset name is a stand-in bound to the sandbox only
run --sandbox -e "return require('http').get('$ORIGIN/x', { auth = { bearer = 'svc' } }).status"
expect "--sandbox: the vault's secret is not used (stand-in, bound to the sandbox)" 4 '' "secret 'svc' is bound to http://127.0.0.1:[0-9]+; refused"
run --sandbox -e "
  local sb, http = require 'vsrun.sandbox', require 'http'
  local r = http.post(sb.url() .. '/v1/chat/completions', { auth = { bearer = 'openai' },
    json = { messages = { { role = 'user', content = 'hello there' } } } })
  return r.status"
expect "--sandbox: a stand-in reaches the sandbox's AI endpoint" 0 '^200$'
mkdir -p "$TMP/t"
cat >"$TMP/t/set_secret_test.lua" <<LUA
local t, sb, http = require "vsrun.testing", require "vsrun.sandbox", require "http"
t.test("set_secret binds a test value to an origin", function()
  sb.set_secret("svc", { origin = "$ORIGIN", value = "test-value" })
  local r = http.get("$ORIGIN/x", { auth = { bearer = "svc" } })
  t.eq(r:json().headers.Authorization, "Bearer test-value")
  t.raises("permission_denied", function() http.get("$EVIL/x", { auth = { bearer = "svc" } }) end)
  t.raises("invalid_argument", function() sb.set_secret("svc", { origin = "$ORIGIN/path", value = "v" }) end)
end)
LUA
run test "$TMP/t/set_secret_test.lua"
expect "vsrun test: sandbox.set_secret binds a test value (the vault is not read)" 0 '1 passed, 0 failed'
