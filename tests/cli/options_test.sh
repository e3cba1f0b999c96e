# Every option of every command: the forms it accepts (--name value, --name=value), the
# errors for a bad or missing value, unknown options, --help, and the exit codes.
. "$(dirname "$0")/lib.sh"
export VSRUN_HOME=$TMP/home
unset VSRUN_CLIENT_ID VSRUN_CLIENT_SECRET_FILE VSRUN_ALLOW_NET
S=tests/cli/fixtures/suite
printf 'return {...}\n' > "$TMP/echo.lua"
printf 'return require("mathx").twice(21)\n' > "$TMP/uses_lib.lua"
mkdir -p "$TMP/lib" && printf 'return { twice = function(x) return 2 * x end }\n' > "$TMP/lib/mathx.lua"

# ---- vsrun [options] script.lua: both forms of each value option ----
for form in sep eq; do
    v() { if [ $form = eq ]; then printf '%s=%s\n' "$1" "$2"; else printf '%s\n%s\n' "$1" "$2"; fi; }
    mapfile -t A < <(v -e 'return 1'); [ $form = eq ] && A=(-e 'return 1')
    run "${A[@]}"
    expect "run -e ($form)" 0 '^1$'
    echo '{"a": 1}' > "$TMP/in.json"
    mapfile -t A < <(v --input-file "$TMP/in.json")
    run "${A[@]}" "$TMP/echo.lua"
    expect "run --input-file ($form)" 0 '"a": 1'
    mapfile -t A < <(v --output "$TMP/out-$form.json")
    run "${A[@]}" -e 'return 7'
    expect "run --output ($form)" 0
    [ "$(cat "$TMP/out-$form.json")" = 7 ] && echo "ok run --output ($form) writes the file" || _fail "run --output ($form) file" "$(cat "$TMP/out-$form.json" 2>&1)"
    mapfile -t A < <(v --timeout 5)
    run "${A[@]}" -e 'return 2'
    expect "run --timeout ($form)" 0 '^2$'
    mapfile -t A < <(v --max-memory 64)
    run "${A[@]}" -e 'return 3'
    expect "run --max-memory ($form)" 0 '^3$'
    mapfile -t A < <(v --lib "$TMP/lib")
    run "${A[@]}" "$TMP/uses_lib.lua"
    expect "run --lib ($form)" 0 '^42$'
    mapfile -t A < <(v --allow-net example.com)
    run "${A[@]}" -e 'return 4'
    expect "run --allow-net ($form)" 0 '^4$'
    mapfile -t A < <(v --connection nosuch)
    run --sandbox "${A[@]}" -e 'return 5'
    expect "run --connection ($form)" 0 '^5$'
    for o in --incidents --seed --rate-limit; do
        mapfile -t A < <(v $o 3)
        run --sandbox "${A[@]}" -e 'return 6'
        expect "run --sandbox $o ($form)" 0 '^6$'
    done
    mapfile -t A < <(v --token-ttl 60)
    run --sandbox "${A[@]}" -e 'return 6'
    expect "run --sandbox --token-ttl ($form)" 0 '^6$'
done
run --sandbox --incidents=4 -e 'return #pagerduty.list_incidents{date_range="all"}:collect()'
expect "run --incidents=N seeds N incidents" 0 '^4$'

# flags
run --dry-run -e 'return 1'
expect "run --dry-run" 0 '^1$'
run --strict -e 'return io == nil'
expect "run --strict" 0 '^true$'
run -v -e 'return 1'
expect "run -v" 0 '^1$'
run --verbose -q --quiet -e 'return 1'
expect "run --verbose -q --quiet" 0 '^1$'
run --version
expect "run --version" 0 '^vsrun [0-9]'
run --help
expect "run --help" 0 'Options:'
run -h
expect "run -h" 0 'Options:'

# errors: exit 2 with the reason and where to look
run --timeout
expect "run: value option at the end" 2 '' "option '--timeout' needs a value"
run --timeout abc -e 'return 1'
expect "run: --timeout not a number" 2 '' "--timeout needs a positive number, got 'abc'"
run --timeout=0 -e 'return 1'
expect "run: --timeout=0" 2 '' "--timeout needs a positive number, got '0'"
run --max-memory -3 -e 'return 1'
expect "run: --max-memory negative" 2 '' "--max-memory needs a positive number"
run --max-memory 99999999 -e 'return 1'
expect "run: --max-memory too large" 2 '' "more than this machine can have"
run --strict=yes -e 'return 1'
expect "run: a flag given a value" 2 '' "option '--strict' takes no value"
run --bogus -e 'return 1'
expect "run: unknown option" 2 '' "unknown option '--bogus'"
run --incidents 3 -e 'return 1'
expect "run: a sandbox option without --sandbox" 2 '' "--incidents is a sandbox option: add --sandbox"
run --sandbox --incidents abc -e 'return 1'
expect "run: bad --incidents" 2 '' "--incidents needs a whole number from 0 to 10000000, got 'abc'"
run --allow-net 'http://x' -e 'return 1'
expect "run: bad --allow-net" 2 ''
run
expect "run: nothing at all" 2 '' 'no script given'
run --dry-run
expect "run: options but no script" 2 '' 'no script given'
run "$TMP/echo.lua" notnamevalue
expect "run: an input that is not name=value" 2 '' "input 'notnamevalue' is not name=value"
run "$TMP/echo.lua" =x
expect "run: an input with an empty name" 2 '' "input '=x' has an empty name"
run "$TMP/nonexistent.lua"
expect "run: a missing script" 2 '' 'cannot open'
run -- "$TMP/echo.lua" a=1
expect "run: -- ends the options" 0 '"a": "1"'
run -e 'return (...).x' x=1
expect "run: -e with inputs" 0 '"1"'

# ---- vsrun test ----
run test --filter 'tables equal' $S
expect "test --filter PATTERN" 0 '^1 passed, 0 failed$'
run test --junit "$TMP/j1.xml" $S/good_test.lua
expect "test --junit FILE" 0 '^2 passed'
run test --junit="$TMP/j2.xml" $S/good_test.lua
expect "test --junit=FILE" 0 '^2 passed'
[ -s "$TMP/j1.xml" ] && [ -s "$TMP/j2.xml" ] && echo "ok test --junit writes both forms" || _fail "test --junit files" "missing"
run test --junit
expect "test: --junit without a file" 2 '' "option '--junit' needs a value"
run test --junit= $S/good_test.lua
expect "test: --junit= with an empty file name" 2 '' '--junit needs a file name'
run test --verbose $S/good_test.lua
expect "test --verbose" 0 '^ok   .*good_test.lua'
run test --lib "$TMP/lib" $S/good_test.lua
expect "test --lib DIR" 0 '^2 passed'
run test --timeout 30 $S/good_test.lua
expect "test --timeout SEC" 0 '^2 passed'
run test --timeout=30 $S/good_test.lua
expect "test --timeout=SEC" 0 '^2 passed'
run test --strict $S/good_test.lua
expect "test --strict" 0 '^2 passed'
run test --incidents 3 $S/good_test.lua
expect "test --incidents N" 0 '^2 passed'
run test --timeout abc $S/good_test.lua
expect "test: bad --timeout" 2 '' "--timeout needs a positive number, got 'abc'"
run test --help
expect "test --help" 0 '--junit FILE'

# ---- vsrun sandbox ----
# serve ARGS...: starts vsrun sandbox, waits for its first stdout line, stops it with SIGINT
serve() {
    "$VSRUN" sandbox "$@" >"$TMP/sb.out" 2>"$TMP/sb.err" </dev/null &
    local pid=$! i
    for i in $(seq 1 300); do
        [ -s "$TMP/sb.out" ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
    done
    kill -INT $pid 2>/dev/null
    wait $pid
    RC=$?
    OUT=$(cat "$TMP/sb.out"); ERR=$(cat "$TMP/sb.err")
}
serve --port 0 --bind 127.0.0.1 --incidents 2 --seed 1 --token-ttl 60 --rate-limit 100 --api-key k1 --request-timeout 5
expect "sandbox: every value option, --name value" 0 '^http://127\.0\.0\.1:[0-9]+$'
serve --port=0 --bind=127.0.0.1 --incidents=2 --seed=1 --token-ttl=60 --rate-limit=100 --api-key=k1 --request-timeout=5 --state="$TMP/state.json" --json
expect "sandbox: every value option, --name=value" 0 '^\{.*"url":"http://127\.0\.0\.1:[0-9]+"'
[ -s "$TMP/state.json" ] && echo "ok sandbox --state=FILE saved on stop" || _fail "sandbox --state" "no file"
run sandbox --help
expect "sandbox --help" 0 'usage: vsrun sandbox'
run sandbox -h
expect "sandbox -h" 0 'usage: vsrun sandbox'
run sandbox --port 70000
expect "sandbox: bad --port" 2 '' "--port needs a port number from 0 to 65535, got '70000'"
run sandbox --bind localhost
expect "sandbox: bad --bind" 2 '' "--bind needs a numeric IPv4 or IPv6 address"
run sandbox --request-timeout 0
expect "sandbox: bad --request-timeout" 2 '' "--request-timeout needs a positive number"
run sandbox --handler "$TMP/none.lua"
expect "sandbox: missing --handler file" 2 '' "cannot open --handler"
run sandbox --api-key 'sec ret'
expect "sandbox: bad --api-key is not echoed" 2 '' "--api-key needs a non-empty key without spaces, got '...'"
grep -q 'sec ret' <<<"$ERR" && _fail "sandbox: --api-key echoed" "$ERR" || echo "ok sandbox: a bad --api-key is never echoed"
run sandbox --port
expect "sandbox: value option at the end" 2 '' "option '--port' needs a value"
run sandbox --bogus
expect "sandbox: unknown option" 2 '' "unknown option '--bogus'"
run sandbox extra
expect "sandbox: unexpected argument" 2 '' "unexpected argument 'extra'"

# ---- vsrun auth ----
run auth
expect "auth: no subcommand" 2 '' 'what to do\?'
run auth --help
expect "auth --help" 0 'usage: vsrun auth login'
run auth frobnicate
expect "auth: unknown subcommand" 2 '' "unknown command 'frobnicate'"
run auth list
expect "auth list, empty vault" 0 'No connections'
run auth list extra
expect "auth list: unexpected argument" 2 '' "unexpected argument 'extra'"
for form in sep eq; do
    if [ $form = eq ]; then A=(--region=eu --scope=read --connection=work --timeout=5 --no-browser)
    else A=(--region eu --scope read --connection work --timeout 5 --no-browser); fi
    run auth login "${A[@]}"
    expect "auth login: options accepted ($form), then no client id" 2 '' 'no OAuth client id'
done
run auth login --region mars
expect "auth login: bad --region" 2 '' "--region must be 'us' or 'eu', got 'mars'"
run auth login --scope=admin
expect "auth login: bad --scope" 2 '' "--scope must be 'write' or 'read', got 'admin'"
run auth login --timeout abc
expect "auth login: bad --timeout" 2 '' "--timeout needs seconds"
run auth login --api-url ftp://x --identity-url https://identity.pagerduty.com --client-id c
expect "auth login: bad --api-url" 2 ''
run auth login --timeout
expect "auth login: value option at the end" 2 '' "option '--timeout' needs a value"
run auth login --bogus
expect "auth login: unknown option" 2 '' "unknown option '--bogus'"
run auth login --client-id 'a b'
expect "auth login: bad --client-id" 2 '' "invalid client id"
run auth login --client-id c --client-secret-file "$TMP/none"
expect "auth login: missing --client-secret-file" 2 ''
run auth reconnect
expect "auth reconnect: no NAME" 2 '' "reconnect needs the connection's NAME"
run auth reconnect nosuch --timeout=5 --no-browser
expect "auth reconnect: unknown NAME" 2 '' "no connection named 'nosuch'"
run auth reconnect nosuch --timeout abc
expect "auth reconnect: bad --timeout" 2 '' "--timeout needs seconds"
run auth logout
expect "auth logout: no NAME" 2 '' "logout needs the connection's NAME"
run auth logout nosuch
expect "auth logout: unknown NAME" 2 '' "no connection named 'nosuch'"
run auth logout a b
expect "auth logout: two names" 2 '' "unexpected argument 'b'"
run auth status --bogus
expect "auth status: unknown option" 2 '' "unknown option '--bogus'"
run auth default
expect "auth default: none yet" 0 'no default connection'
run auth default nosuch
expect "auth default: unknown NAME" 2 '' "no connection named 'nosuch'"
run auth --default=nosuch
expect "auth --default=NAME" 2 '' "no connection named 'nosuch'"

# ---- vsrun help ----
run help
expect "help" 0 'Options:'
run help test
expect "help test" 0 '--junit FILE'
run help nosuch
expect "help: unknown topic" 2 '' "no help topic 'nosuch'"

# ---- one parser for every command (issue 17 §3) ----
# flags never swallow the next argument: this used to read tests/ as --dry-run's value
run test --dry-run $S/good_test.lua
expect "test --dry-run PATH runs PATH" 0 '^2 passed, 0 failed$'
run test --dry-run -q --strict $S
expect "test: flags before a directory" 1 '^3 passed, 3 failed$'
run test --filter='tables equal' $S
expect "test --filter=PATTERN" 0 '^1 passed, 0 failed$'
run test --lib="$TMP/lib" --incidents=3 --seed=2 --token-ttl=60 --rate-limit=1000 --max-memory=256 --allow-net=example.com $S/good_test.lua
expect "test: every shared option as --name=value" 0 '^2 passed, 0 failed$'
run test --incidents=abc $S/good_test.lua
expect "test: a bad seeding value is a usage error" 2 '' "--incidents needs a whole number"
run test -h
expect "test -h" 0 'before_each'
run test $S/good_test.lua --help
expect "test: --help after a path" 0 '--junit FILE'
run test --connection x $S/good_test.lua
expect "test: a run-only option is refused" 2 '' "unknown option '--connection'"
run test -- -dashed
expect "test: -- ends the options" 2 '' 'cannot open -dashed'

# unknown options name the closest match, in every command
run test --filtr x
expect "test: closest match" 2 '' "unknown option '--filtr' \(did you mean --filter\?\)"
run --timout 3 -e 'return 1'
expect "run: closest match" 2 '' "unknown option '--timout' \(did you mean --timeout\?\)"
run --sandbox --incidens=3 -e 'return 1'
expect "run: closest match for --name=value" 2 '' "unknown option '--incidens' \(did you mean --incidents\?\)"
run sandbox --prot 0
expect "sandbox: closest match" 2 '' "unknown option '--prot' \(did you mean --port\?\)"
run auth login --regoin eu
expect "auth login: closest match" 2 '' "unknown option '--regoin' \(did you mean --region\?\)"
run auth status --chek
expect "auth status: closest match" 2 '' "unknown option '--chek' \(did you mean --check\?\)"
run --zzzzzzzz -e 'return 1'
expect "run: no suggestion when nothing is close" 2 '' "unknown option '--zzzzzzzz'$"
grep -q 'did you mean' <<<"$ERR" && _fail "run: far option suggestion" "$ERR" || echo "ok run: a far option gets no suggestion"

# every subcommand has --help
for sub in login status list logout reconnect default; do
    run auth $sub --help
    expect "auth $sub --help" 0 'usage: vsrun auth login'
done
run auth login --region eu --help
expect "auth login: --help after options" 0 'usage: vsrun auth login'
run sandbox --port 0 --help
expect "sandbox: --help after options" 0 'usage: vsrun sandbox'
run "$TMP/echo.lua" --help
expect "run: --help after the script" 0 'Options:'
run help --help
expect "help --help" 0 'Options:'
