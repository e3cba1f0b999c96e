# vsrun test: discovery, output, exit codes, --filter, -v.
. "$(dirname "$0")/lib.sh"
S=tests/cli/fixtures/suite

run test $S/good_test.lua
expect "passing file: summary and exit 0" 0 '^2 passed, 0 failed$'
run test $S
expect "failing tests: exit 1 and summary" 1 '^3 passed, 3 failed$'
grep -q 'FAIL .*bad_test.lua: diff of tables' <<<"$OUT" && echo "ok failure names file and test" || _fail "failure line" "missing"
grep -q 'bad_test.lua:4: values differ at value.tags.2' <<<"$OUT" && echo "ok failure gives file:line and the differing path" || _fail "diff path" "missing"
grep -q 'got:      "b"' <<<"$OUT" && grep -q 'expected: "c"' <<<"$OUT" && echo "ok failure shows both sides" || _fail "diff sides" "missing"
grep -q 'expected error matching "not_found"' <<<"$OUT" && echo "ok raises reports the wrong error" || _fail "raises" "missing"
grep -q "attempt to index a nil value" <<<"$OUT" && echo "ok a crashing test is reported with its error" || _fail "crash" "missing"
run test --filter 'tables equal' $S
expect "--filter selects tests by name" 0 '^1 passed, 0 failed$'
run test -v $S/good_test.lua
expect "-v lists every test" 0 '^ok   .*good_test.lua: adds'
run test "$TMP"
expect "no test files: usage exit" 2 '' 'no \*_test.lua files found'
run test $S/nonexistent_dir
expect "missing path reported" 2 '' 'cannot open'
run -e 'return require("vsrun.testing")'
expect "vsrun.testing is not available in a real run" 1 '' "only available under 'vsrun test' or --sandbox"
mkdir -p "$TMP/tree/lib" "$TMP/tree/pipelines"
printf 'return { twice = function(x) return 2 * x end }\n' > "$TMP/tree/lib/mathx.lua"
printf 'local t = require "vsrun.testing"\nt.test("uses lib", function() t.eq(require("mathx").twice(21), 42) end)\n' > "$TMP/tree/pipelines/uses_lib_test.lua"
printf '{ "libs": ["lib"] }\n' > "$TMP/tree/vsrun.json"
run test "$TMP/tree"
expect "a project's library directory (vsrun.json) is on the require path" 0 '^1 passed, 0 failed$'

# --help prints the test topic (options, hooks), not an error
run test --help
expect "test --help prints the usage" 0 '--junit FILE'
run test -h
expect "test -h prints the usage" 0 'before_each'

# a file that registers no test is an error naming the file and how to write one
printf 'function test_adds() assert(1 + 1 == 2) end\n' > "$TMP/globals_test.lua"
run test "$TMP/globals_test.lua"
expect "a file without t.test fails" 1 '^0 passed, 1 failed$'
grep -q "FAIL $TMP/globals_test.lua: no tests registered" <<<"$OUT" && grep -q 't.test("adds", function()' <<<"$OUT" &&
    grep -q "test_adds are not run" <<<"$OUT" && echo "ok no-test failure names the file, t.test and the global" || _fail "no-test message" "missing"
printf 'local t = require "vsrun.testing"\nt.test("one", function() end)\n' > "$TMP/one_test.lua"
run test "$TMP/one_test.lua"
expect "the control: the same file with one t.test passes" 0 '^1 passed, 0 failed$'

# hooks: a failing after_each fails its test; a failing before_each skips the test body
cat > "$TMP/hooks_test.lua" <<'LUA'
local t = require "vsrun.testing"
local ran = {}
t.before_each(function(name) if name == "setup breaks" then error("no fixture") end end)
t.after_each(function(name) if name == "teardown breaks" then error("cleanup failed") end end)
t.test("setup breaks", function() ran[#ran + 1] = "setup breaks" end)
t.test("teardown breaks", function() end)
t.test("only the good bodies ran", function() t.eq(ran, {}) end)
LUA
run test "$TMP/hooks_test.lua"
expect "hook failures fail their tests" 1 '^1 passed, 2 failed$'
grep -q 'setup breaks' <<<"$OUT" && grep -q 'before_each: .*no fixture' <<<"$OUT" && echo "ok before_each failure reported" || _fail "before_each failure" "missing"
grep -q 'after_each: .*cleanup failed' <<<"$OUT" && echo "ok after_each failure reported" || _fail "after_each failure" "missing"

# --junit FILE: JUnit XML that a CI system can read, with every test and failure
run test --junit "$TMP/results.xml" $S
expect "--junit keeps the normal output and exit code" 1 '^3 passed, 3 failed$'
if python3 - "$TMP/results.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall("./testsuite/testcase")
failed = [c for c in cases if c.find("failure") is not None]
assert root.tag == "testsuites", root.tag
assert len(root.findall("testsuite")) == 2, "two files"
assert len(cases) == 6 and len(failed) == 3, (len(cases), len(failed))
diff = [c for c in failed if c.get("name") == "diff of tables"][0]
assert "values differ at value.tags.2" in diff.find("failure").get("message")
assert 'got:      "b"' in diff.find("failure").text
assert cases[0].get("classname").endswith("suite.bad_test")
PY
then echo "ok --junit writes every test, failures with their messages"; else _fail "--junit xml" "see above"; fi
run test --junit "$TMP/loadfail.xml" "$TMP/globals_test.lua"
python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); f=r.find("./testsuite/testcase/failure"); assert f is not None and "no tests registered" in f.get("message")' "$TMP/loadfail.xml" 2>/dev/null &&
    echo "ok --junit records a file that could not run" || _fail "--junit load failure" "no failure element"
run test --junit
expect "--junit without a file is a usage error" 2 '' "option '--junit' needs a value"
run test --junit "$TMP/no/such/dir/r.xml" $S/good_test.lua
expect "--junit to an unwritable path is a usage error" 2 '' 'cannot write --junit'

# isolation between tests of one file (details in tests/lua/testing/runner_test.lua)
cat > "$TMP/isolated_test.lua" <<'LUA'
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local before = sandbox.counts().total
t.test("writes", function() sandbox.create_incidents { count = 4 } t.eq(sandbox.counts().total, before + 4) end)
t.test("does not see them", function() t.eq(sandbox.counts().total, before) end)
LUA
run test "$TMP/isolated_test.lua"
expect "two tests in one file cannot see each other's writes" 0 '^2 passed, 0 failed$'

# a test that runs past --timeout: the failure says so (not a formatting error), and
# --junit still gets a readable record of the file
printf 'local t = require "vsrun.testing"\nt.test("spins", function() while true do end end)\n' > "$TMP/spin_test.lua"
run test --timeout 0.5 --junit "$TMP/spin.xml" "$TMP/spin_test.lua"
expect "a test past --timeout fails with the timeout message" 1 'the script ran longer than --timeout 0.5 s'
grep -q "invalid option" <<<"$OUT" && _fail "timeout message" "a formatting error instead" || echo "ok the timeout message is not a formatting error"
python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); assert "timeout" in E.tostring(r, encoding="unicode")' "$TMP/spin.xml" 2>/dev/null &&
    echo "ok --junit records a file that timed out" || _fail "--junit timeout" "not recorded"
