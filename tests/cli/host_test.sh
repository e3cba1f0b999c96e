# End-to-end tests of the host: CLI, inputs, outputs, errors, limits, strict mode.
. "$(dirname "$0")/lib.sh"
F=tests/cli/fixtures

run --version
expect "version names vsrun, Lua, libcurl, OpenSSL" 0 'vsrun [0-9]' ''
grep -q 'Lua 5.4' <<<"$OUT" && grep -q libcurl <<<"$OUT" && grep -q OpenSSL <<<"$OUT" && echo "ok version lines" || _fail "version lines" "missing a component"

run --help
expect "help teaches with examples and exit codes" 0 'Exit codes' ''
grep -q -- '--input-file' <<<"$OUT" && echo "ok help lists options" || _fail "help lists options" "no --input-file"

run help exit-codes
expect "help topic exit-codes" 0 '^7 limit'
run help security
expect "help topic security names every mode" 0 '^  --strict'
for m in normal --sandbox 'vsrun test' --dry-run docs/security.md; do
    grep -q -- "$m" <<<"$OUT" || _fail "help security $m" "missing"
done
grep -q -- "| \`--strict\` |" docs/security.md && grep -q -- "| \`vsrun test\` |" docs/security.md &&
    echo "ok docs/security.md has the threat-model rows" || _fail "security.md rows" "missing"
run help nosuch
expect "unknown help topic is usage error" 2 '' "no help topic"

run
expect "no script: usage error" 2 '' "no script given"
run --bogus x.lua
expect "unknown option: usage error with hint" 2 '' "unknown option '--bogus'"
grep -q "try 'vsrun --help'" <<<"$ERR" && echo "ok usage error hints at --help" || _fail "usage hint" "no hint"
run --timeout
expect "option without value" 2 '' "needs a value"
run --timeout abc $F/hello.lua
expect "bad --timeout number" 2 '' "positive number"

run $F/nonexistent.lua
expect "missing script file" 2 '' "cannot open .*nonexistent.lua: No such file"
expect_err_lines "missing file: one line" 1
cp $F/hello.lua "$TMP/noread.lua"; chmod 000 "$TMP/noread.lua"
if [ "$(id -u)" != 0 ]; then
    run "$TMP/noread.lua"; expect "unreadable script" 2 '' "Permission denied"
else
    # root reads anything; a directory is the unreadable case we can make
    run "$TMP"; expect "directory as script" 1 '' "cannot read|Is a directory|cannot open"
fi

run $F/hello.lua name=ops
expect "script returns JSON" 0 '"greeting": "hello ops"'
run $F/hello.lua
expect "inputs default" 0 '"greeting": "hello world"'

run $F/syntax_error.lua
expect "syntax error names file:line" 1 '' 'syntax_error.lua:3:'
expect_err_lines "syntax error: one line" 1

run $F/runtime_error.lua
expect "runtime error: message with file:line" 1 '' '^vsrun: .*runtime_error.lua:2: disk on fire'
grep -q 'stack traceback' <<<"$ERR" && grep -q 'runtime_error.lua:5' <<<"$ERR" && echo "ok runtime error traceback names caller line" || _fail "runtime traceback" "no traceback"

run -e 'error(setmetatable({}, {__tostring = function() return "custom error object" end}))'
expect "error object with __tostring" 1 '' '^vsrun: custom error object'
run -e 'error({code = 5})'
expect "error object without __tostring" 1 '' 'error object is a table value'
run -e 'error(nil)'
expect "error(nil)" 1 '' 'error object is a nil value'

printf '\033Lua\x54\x00binary' > "$TMP/bin.lua"
run "$TMP/bin.lua"
expect "binary chunk file refused" 1 '' "binary chunk"
run -e 'return select(2, load("\27Lua"))'
expect "binary chunk via load refused" 0 'binary chunk'
run -e 'return string.dump == nil'
expect "string.dump removed" 0 'true'
# each checked on its own: one check over the three would pass with only one of them gone
run -e 'return debug == nil'
expect "no debug library" 0 '^true$'
run -e 'return package.loadlib == nil'
expect "no package.loadlib" 0 '^true$'
run -e 'return package.cpath == nil or package.cpath == ""'
expect "no package.cpath" 0 '^true$'
printf 'return 1' > "$TMP/mod.lua"
run -e 'local ok, e = pcall(dofile, "'"$TMP/bin.lua"'") return e'
expect "dofile refuses binary" 0 'binary chunk'

run -e 'return ...' a=1 b=x=y
expect "name=value inputs are strings" 0 '"b": "x=y"'
run -e 'return 1' noequals
expect "input without =" 2 '' "input 'noequals' is not name=value"
run -e 'return 1' =v
expect "input with empty name" 2 '' "empty name"
run -e 'return 1' a=1 a=2
expect "duplicate input" 2 '' "input 'a' is given twice"

printf '{"hours": 4, "tags": ["a","b"], "nested": {"x": true}}' > "$TMP/in.json"
run -e 'local i = ... return {math.type(i.hours), i.tags[2], i.nested.x}' --input-file "$TMP/in.json"
expect "--input-file keeps JSON types" 0 '"integer"'
run_stdin '{"a": 1.5}' -e 'local i = ... return i.a * 2' --input-file -
expect "--input-file - reads stdin" 0 '^3$'
printf '{"a": 1,}' > "$TMP/bad.json"
run -e 'return 1' --input-file "$TMP/bad.json"
expect "invalid JSON input names the position" 2 '' 'invalid JSON.*character [0-9]+'
expect_err_lines "invalid JSON: one line" 1
printf '[1,2]' > "$TMP/arr.json"
run -e 'return 1' --input-file "$TMP/arr.json"
expect "JSON input must be an object" 2 '' 'expected a JSON object'
run -e 'return 1' --input-file "$TMP/in.json" hours=5
expect "duplicate between file and name=value" 2 '' "input 'hours' is given twice"
run -e 'return 1' --input-file "$TMP/missing.json"
expect "missing input file" 2 '' 'cannot open --input-file'

run -e 'return {ok = true}' --output "$TMP/result.json"
expect "--output writes nothing on stdout" 0 '^$'
grep -q '"ok": true' "$TMP/result.json" && echo "ok --output file written" || _fail "--output" "file content"
echo previous > "$TMP/keep.json"
run -e 'error("no")' --output "$TMP/keep.json"
grep -q previous "$TMP/keep.json" && echo "ok failed run leaves --output untouched" || _fail "--output kept" "overwritten"
run -e 'print("printed") return nil'
expect "print works, nil return prints nothing more" 0 '^printed$'
run -e 'return function() end'
expect "unencodable return value" 1 '' 'cannot be written as JSON'

run --timeout 0.3 -e 'while true do end'
expect "infinite loop under --timeout" 7 '' 'timeout: the script ran longer than --timeout 0.3 s'
expect_err_lines "timeout: one line" 1
run --timeout 0.3 -e 'while true do pcall(function() while true do end end) end'
expect "pcall cannot swallow timeout" 7 '' 'timeout'
run --timeout 0.3 -e 'local co = coroutine.wrap(function() while true do end end) co()'
expect "timeout inside a coroutine" 7 '' 'timeout'
run --max-memory 32 -e 'local t = {} for i = 1, 1e9 do t[i] = {i} end'
expect "table bomb under --max-memory" 7 '' 'memory limit exceeded \(--max-memory 32 MB\)'
run --max-memory 32 -e 'local s = string.rep("x", 64 * 1024 * 1024)'
expect "string.rep bomb under --max-memory" 7 '' 'memory limit exceeded'
run --max-memory 32 -e 'local s = "x" while true do pcall(function() s = s .. s end) end'
expect "memory error swallowed by pcall still ends as limit" 7 '' 'memory limit exceeded'
run -e 'local function r(n) return 1 + r(n + 1) end r(1)'
expect "deep recursion reports stack overflow" 1 '' 'stack overflow'
run -e 'local function r(n) return pcall(r, n + 1) end r(1) return "survived"'
expect "deep pcall recursion does not crash" 0 'survived|' ''

run --strict -e 'os.exit(3)'
expect "strict: no os.exit" 1 '' "attempt to call a nil value \(field 'exit'\)"
run --strict -e 'return io.open("/etc/passwd")'
expect "strict: no io" 1 '' "global 'io'"
run --strict -e 'return os.getenv("HOME")'
expect "strict: no os.getenv" 1 '' "field 'getenv'"
run --strict -e 'return os.execute("true")'
expect "strict: no os.execute" 1 '' "field 'execute'"
run --strict -e 'return loadfile'
expect "strict: no loadfile" 0 '^$'
run --strict -e 'return os.time() > 0'
expect "strict keeps os.time" 0 'true'

mkdir -p "$TMP/lib"; printf 'return { answer = 42 }' > "$TMP/lib/helper.lua"
run --lib "$TMP/lib" -e 'return require("helper").answer'
expect "--lib adds a require path" 0 '^42$'
VSRUN_PATH="$TMP/lib" run -e 'return require("helper").answer'
expect "VSRUN_PATH adds a require path" 0 '^42$'
run --strict -e 'return require("helper")'
expect "strict: require limited" 1 '' "module 'helper' not found"
run $F/uses_neighbour.lua
expect "require finds the script's directory" 0 '"neighbour"'
run -e 'return require("nosuch.module")'
expect "missing module" 1 '' "module 'nosuch.module' not found"
printf '\033Lua' > "$TMP/lib/binmod.lua"
run --lib "$TMP/lib" -e 'return require("binmod")'
expect "require refuses binary module files" 1 '' 'binary chunk'

VSRUN_KEY=c2VjcmV0LWtleQ== PAGERDUTY_TOKEN=tok_secret_value run -e 'return {os.getenv("VSRUN_KEY"), os.getenv("PAGERDUTY_TOKEN")}'
expect "secret env vars are removed before the script" 0 '^\{\}$'
VSRUN_PASSPHRASE=pw run -e 'return io.popen("env"):read("a"):find("VSRUN_PASSPHRASE") == nil'
expect "child processes do not inherit secrets" 0 'true'

run --strict $F/hello.lua name=strict
expect "strict mode runs script files" 0 '"greeting": "hello strict"'

# inputs are decoded by the built-in json whatever the mode lets scripts require
run_stdin '{"service": "PX", "n": 3}' --strict --input-file - -e 'local input = ... return input.n'
expect "--strict --input-file: inputs decode" 0 '^3$'
