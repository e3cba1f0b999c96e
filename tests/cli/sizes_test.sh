# Bad sizes: --max-memory too small for the libraries, inputs larger than --max-memory,
# inputs that are not a JSON object, and the memory cap counting only live data (Lua's
# emergency collection runs before the limit is declared).
. "$(dirname "$0")/lib.sh"

# ~9 MB of live strings under a 12 MB cap, then enough short-lived garbage to make the
# allocator refuse growth until Lua's emergency GC frees it.
HOLD='local n = tonumber((...).mb) local t = {}
for i = 1, n * 1024 do t[i] = string.rep(string.char(65 + i % 26), 1000) .. i end
local x = {} for i = 1, 200000 do x[i % 100 + 1] = {i} end
return #t'
run --max-memory 12 -e "$HOLD" mb=9
expect "memory: 9 MB live under --max-memory 12 completes (garbage is collected first)" 0 '^9216$'
run --max-memory 12 -e "$HOLD" mb=20
expect "memory: 20 MB live under --max-memory 12 exits 7" 7 '' 'memory limit exceeded \(--max-memory 12 MB\)'
run --max-memory 12 -e 'return #string.rep("x", 20 * 1024 * 1024)'
expect "memory: a buffer larger than the cap (no GC retry in lauxlib) exits 7" 7 '' 'memory limit exceeded'

run --max-memory 0.01 -e 'return 1'
expect "memory: --max-memory 0.01 is a clear error, not an abort" 7 '' '^vsrun: --max-memory 0.01 MB is too small to start a script'
expect_err_lines "memory: --max-memory 0.01 message is one line" 1
run --max-memory 0.2 -e 'return 1'
expect "memory: --max-memory 0.2 is enough to start" 0 '^1$'

# 3 MB of JSON under a 1 MB cap, from a file and from stdin
{ printf '{"a":"'; head -c 3000000 /dev/zero | tr '\0' a; printf '"}'; } >"$TMP/big.json"
run --max-memory 1 --input-file "$TMP/big.json" -e 'return 1'
expect "input-file: larger than --max-memory exits 7 with a message" 7 '' "^vsrun: the inputs from --input-file .*big.json do not fit in --max-memory 1 MB$"
run_stdin "$(cat "$TMP/big.json")" --max-memory 1 --input-file - -e 'return 1'
expect "input-file: stdin larger than --max-memory exits 7" 7 '' 'from --input-file \(stdin\) do not fit'
run --max-memory 8 --input-file "$TMP/big.json" -e 'return #(...).a'
expect "input-file: the same file fits under --max-memory 8" 0 '^3000000$'

for doc in '[]' ' [ ] ' '[1]' '"x"' '3' 'null'; do
    printf '%s' "$doc" >"$TMP/in.json"
    run --input-file "$TMP/in.json" -e 'return 1'
    expect "input-file: '$doc' is refused" 2 '' 'expected a JSON object of inputs'
done
printf ' {} ' >"$TMP/in.json"
run --input-file "$TMP/in.json" -e 'return next(...) == nil' x=1
expect "input-file: {} is an empty object of inputs (name=value still merged)" 0 '^false$'
printf '{"x":1}' >"$TMP/in.json"
run --input-file "$TMP/in.json" -e 'return 1' x=2
expect "input-file: an input given twice is refused" 2 '' "input 'x' is given twice"

# Out-of-range numbers that would become C integers (undefined behaviour before): refused
for f in 'timeout = 1e300' 'timeout = math.huge' 'connect_timeout = 1e300' 'max_body = 1e300'; do
    run -e "return require('http').request{url = 'http://127.0.0.1:1/', $f}"
    expect "numbers: http.request{$f} is invalid_argument" 1 '' '^vsrun: invalid_argument: http: .* must be a positive number'
done
for f in 'attempt = 1e300' 'max_body = 1e300' 'timeout = 1e300' 'max_body = 0/0'; do
    run -e "return require('vsrun.http_core').start{method = 'GET', url = 'http://127.0.0.1:1/', $f}"
    expect "numbers: http_core.start{$f} is refused" 1 '' 'must be a positive number up to [0-9]+$'
done
run -e "return require('vsrun.http_core').configure{max_total = 1e300}"
expect "numbers: http_core.configure{max_total = 1e300} is refused" 1 '' 'max_total must be a positive number up to 1000000$'
for f in 'timeout = 1e300' 'timeout = 0/0' 'attempt = 1e300' 'attempt = 1.5'; do
    run --sandbox -e "local pd = require('vsrun.pd_core')
local id, why = pd.request(pd.connect(), {method = 'GET', path = '/incidents', $f})
return {id = tostring(id), why = why}"
    expect "numbers: pd_core.request{$f} is refused before sending" 0 '"why": ".*(timeout|attempt) must be'
done
run --sandbox -e "local pd = require('vsrun.pd_core')
return math.type(pd.request(pd.connect(), {method = 'GET', path = '/incidents', max_body = 1e300}))"
expect "numbers: pd_core.request{max_body = 1e300} falls back to the default limit" 0 '^"integer"$'
for v in 1e300 'math.huge'; do
    run --sandbox -e "require('pagerduty').configure{timeout = $v}"
    expect "numbers: pagerduty.configure{timeout = $v} is invalid_argument" 1 '' 'invalid_argument: configure: `timeout` must be a number from 0 to 1e9'
done
run --sandbox -e "require('pagerduty').configure{timeout = 5, max_body = 1e6} return #require('pagerduty').list_incidents{limit = 3}:collect(3)"
expect "numbers: pagerduty.configure with ordinary values still works" 0 '^3$'
