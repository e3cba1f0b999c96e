---@meta vsrun.testing
-- LuaLS annotations for `vsrun.testing` (not embedded; for editors only). Available under
-- `vsrun test` and `vsrun --sandbox`.
local t = {}

--- Registers a test. Each test runs in its own task, after the sandbox is restored to the
--- state the file's top level left, so it never sees another test's writes.
---@param name string
---@param fn fun()
function t.test(name, fn) end

--- Runs fn(test_name) before every test of the file (after the sandbox is restored).
---@param fn fun(test_name: string)
function t.before_each(fn) end

--- Runs fn(test_name) after every test of the file, even a failed one; an error fails the test.
---@param fn fun(test_name: string)
function t.after_each(fn) end

--- Deep equality; the failure names the first differing path (keys compared in sorted order).
---@param actual any
---@param expected any
---@param label? string
function t.eq(actual, expected, label) end

---@param actual any
---@param unexpected any
---@param label? string
function t.ne(actual, unexpected, label) end

---@generic T
---@param value T
---@param label? string
---@return T
function t.ok(value, label) end

---@param s string
---@param pattern string  a Lua pattern
---@param label? string
function t.match(s, pattern, label) end

---@param s string
---@param pattern string  a Lua pattern
---@param label? string
function t.no_match(s, pattern, label) end

--- fn(...) must raise: an error object of that kind (e.g. "not_found") or an error whose text
--- matches. Returns the error.
---@param kind_or_pattern string?
---@param fn function
---@return any err
function t.raises(kind_or_pattern, fn, ...) end

---@param message? string
function t.fail(message) end

--- Readable text of any value, tables sorted by key.
---@param value any
---@return string
function t.render(value) end

--- The directory of the test file being run.
---@type string
t.dir = "."

--- A file next to the test: `name` relative to t.dir (an absolute name is returned as it is).
---@param name string
---@return string
function t.path(name) end

--- Runs a pipeline script (path relative to the test file, like t.path) against this file's
--- sandbox with `inputs` as its `...`, and returns its result.
---@param path string
---@param inputs? table
---@return any
function t.script(path, inputs) end

--- The bytes of fixtures/NAME beside the test file (works under --strict; nothing outside
--- that directory, symlinks resolved).
---@param name string
---@return string
function t.read_fixture(name) end

--- Sets tbl[key] = value until the current test ends (after its after_each hooks), then
--- restores the old value, which it returns. Only inside a test or before_each; vsrun's
--- built-in modules are read-only and cannot be stubbed.
---@param tbl table
---@param key any
---@param value any
---@return any old
function t.stub(tbl, key, value) end

return t
