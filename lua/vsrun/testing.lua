-- Assertions and test registration for `vsrun test` (available only under vsrun test and
-- --sandbox). A test file registers tests with t.test(name, fn); the runner runs each in
-- its own task, so tests may do I/O, spawn tasks and use vs.map. Before each test the
-- runner restores the sandbox to the state the file's top level left (lua/vsrun/testrun.lua).
local core = require "vsrun.core"
local errors = require "vsrun.errors"

local t = {}
local registered = {}
local hooks = { before = {}, after = {} }

local Failure = { __name = "vsrun.test_failure", __metatable = "vsrun.test_failure" }
local failures = setmetatable({}, { __mode = "k" })  -- the failures fail() raised
Failure.__tostring = function(f) return f.where .. " " .. f.message end

local function fail(message)
  local f = setmetatable({ message = message, where = core.user_where() }, Failure)
  failures[f] = true
  error(f, 0)
end

function t.test(name, fn)
  assert(type(name) == "string", "t.test(name, fn): name must be a string")
  assert(type(fn) == "function", "t.test(name, fn): fn must be a function")
  registered[#registered + 1] = { name = name, fn = fn, where = core.user_where() }
end

-- t.before_each(fn) / t.after_each(fn): fn(test_name) runs before / after every test of the
-- file, in the test's turn (after the sandbox is restored); after_each runs even when the
-- test failed. Several hooks run in the order they were added.
function t.before_each(fn)
  assert(type(fn) == "function", "t.before_each(fn): fn must be a function")
  hooks.before[#hooks.before + 1] = fn
end
function t.after_each(fn)
  assert(type(fn) == "function", "t.after_each(fn): fn must be a function")
  hooks.after[#hooks.after + 1] = fn
end

-- readable rendering of any value, tables sorted by key
-- keys of one or two tables in a stable order: numbers, then strings, each sorted; other
-- key types by their text (so reports and the first difference are the same every run)
local function sorted_keys(a, b)
  local keys, have = {}, {}
  for _, tbl in ipairs({ a, b }) do
    for k in pairs(tbl) do
      if not have[k] then have[k] = true keys[#keys + 1] = k end
    end
  end
  table.sort(keys, function(x, y)
    local tx, ty = type(x), type(y)
    if tx ~= ty then return tx < ty end
    if tx == "number" or tx == "string" then return x < y end
    return tostring(x) < tostring(y)
  end)
  return keys
end

local function render(v, indent, seen)
  indent = indent or ""
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  seen = seen or {}
  if seen[v] then return "<cycle>" end
  seen[v] = true
  local keys = sorted_keys(v, {})
  if #keys == 0 then seen[v] = nil return "{}" end
  local lines = { "{" }
  for _, k in ipairs(keys) do
    local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or ("[" .. render(k) .. "]")
    lines[#lines + 1] = indent .. "  " .. key .. " = " .. render(v[k], indent .. "  ", seen) .. ","
  end
  lines[#lines + 1] = indent .. "}"
  seen[v] = nil
  return table.concat(lines, "\n")
end
t.render = render

-- first difference between two values, as a path and both sides
local function diff(a, b, path)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a == b or (a ~= a and b ~= b) then return nil end
    return path, a, b
  end
  if a == b then return nil end
  for _, k in ipairs(sorted_keys(a, b)) do
    local p, x, y = diff(a[k], b[k], path .. "." .. tostring(k))
    if p then return p, x, y end
  end
  return nil
end

function t.eq(actual, expected, label)
  local p, x, y = diff(actual, expected, "value")
  if p == nil then return end
  local msg = (label and (label .. ": ") or "") .. "values differ"
  if p ~= "value" then msg = msg .. " at " .. p end
  msg = msg .. "\n      got:      " .. render(x, "      ") .. "\n      expected: " .. render(y, "      ")
  fail(msg)
end

function t.ne(actual, unexpected, label)
  if diff(actual, unexpected, "value") == nil then
    fail((label and (label .. ": ") or "") .. "value should differ from " .. render(unexpected))
  end
end

function t.ok(value, label)
  if not value then fail(label or ("expected a true value, got " .. render(value))) end
  return value
end

function t.match(s, pattern, label)
  if type(s) ~= "string" or not s:find(pattern) then
    fail((label and (label .. ": ") or "") .. render(s) .. " does not match " .. string.format("%q", pattern))
  end
end

function t.no_match(s, pattern, label)
  if type(s) == "string" and s:find(pattern) then
    fail((label and (label .. ": ") or "") .. render(s) .. " should not match " .. string.format("%q", pattern))
  end
end

-- t.raises(kind_or_pattern, fn, ...): fn must raise; an error object of that kind, or an
-- error whose text matches the pattern. Returns the error.
function t.raises(expect, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then fail("expected an error (" .. tostring(expect) .. "), but the call succeeded") end
  if expect == nil then return err end
  if errors.is(err) then
    if err.kind == expect or tostring(err):find(expect, 1, true) then return err end
    fail("expected error " .. tostring(expect) .. ", got " .. tostring(err))
  end
  local text = errors.describe(err)
  if not text:find(expect, 1, true) and not text:find(expect) then
    fail("expected error matching " .. string.format("%q", expect) .. ", got " .. text)
  end
  return err
end

function t.fail(message) fail(message or "failed") end

-- t.dir: the directory of the test file being run; t.path(name): name inside it (an
-- absolute name is returned as it is), for fixtures next to the test
-- (t.dir is read through the metatable: the module table is read-only once loaded)
local test_dir = "."
setmetatable(t, { __index = function(_, k) if k == "dir" then return test_dir end end })
function t.path(name)
  if type(name) ~= "string" then error("t.path(name): name must be a string", 2) end
  if name:sub(1, 1) == "/" then return name end
  return test_dir .. "/" .. name
end

-- t.script(path, inputs) runs a pipeline script (path relative to the test file's own
-- directory, like t.path) in this test's state, against this file's sandbox, and returns
-- its result. Under --strict only a .lua file at or below that directory: loading any file
-- as Lua would read KEY="value" files into globals.
function t.script(path, inputs)
  if type(path) ~= "string" then fail("t.script(path, inputs): path must be a string") end
  if core.options().strict and (path:sub(1, 1) == "/" or path:find("..", 1, true) or not path:match("%.lua$")) then
    fail("t.script: under --strict the path must be a .lua file below the test file's directory, got " .. path)
  end
  local full = t.path(path)
  local chunk, err = core.loadfile(full)
  if not chunk then fail("cannot load " .. full .. ": " .. tostring(err)) end
  return chunk(inputs or {})
end

-- t.read_fixture(name) -> the bytes of fixtures/NAME beside the test file. Works under
-- --strict: only files below that fixtures/ directory (symlinks resolved), so a secrets
-- file elsewhere in the tree is never read.
function t.read_fixture(name)
  if type(name) ~= "string" or name == "" or name:sub(1, 1) == "/" or name:find("..", 1, true) then
    error("t.read_fixture(name): name must be a relative file name inside fixtures/ beside the test, got " ..
      tostring(name), 2)
  end
  local text, err = core.read_below(test_dir .. "/fixtures", name)
  if not text then error("t.read_fixture: " .. err, 2) end
  return text
end

-- t.stub(tbl, key, value) sets tbl[key] = value until the current test ends (after its
-- after_each hooks), then puts the old value back; returns the old value. For a table your
-- code owns: a library module, package.loaded (to fake a whole library for code that
-- requires it later), a config table. vsrun's built-in modules are read-only and cannot be
-- stubbed; pass the function into the code under test instead (docs/libraries.md).
local stubs = {}   -- { tbl, key, old } in the order made, undone in reverse
local in_test = false
function t.stub(tbl, key, value)
  if type(tbl) ~= "table" then error("t.stub(tbl, key, value): tbl must be a table", 2) end
  if key == nil then error("t.stub(tbl, key, value): key must not be nil", 2) end
  if not in_test then
    error("t.stub: call it inside a test or a before_each hook (it is undone when the test ends)", 2)
  end
  local old = tbl[key]
  local ok, err = pcall(function() tbl[key] = value end)
  if not ok then
    error("t.stub: cannot stub " .. tostring(key) .. ": " .. tostring(err):gsub("^[^:]*:%d+: ", "") ..
      " (built-in modules are read-only; pass a function into the code under test instead)", 2)
  end
  stubs[#stubs + 1] = { tbl = tbl, key = key, old = old }
  return old
end

-- for the runner
function t._begin_test() in_test = true end
function t._end_test()
  in_test = false
  for i = #stubs, 1, -1 do
    local s = stubs[i]
    s.tbl[s.key] = s.old
    stubs[i] = nil
  end
end
function t._set_file(path) test_dir = path:match("^(.*)/[^/]*$") or "." end
function t._registered() return registered end
function t._hooks() return hooks end
function t._is_failure(v) return failures[v] == true end

return t
