-- The `vsrun test` runner for one test file, in a fresh Lua state made by host/cmd_test.c.
-- Loads the file (which registers tests), snapshots the sandbox, then runs each test as its
-- own task, after restoring the sandbox to that snapshot: every test starts from the state
-- the file's top level left, whatever the tests before it wrote.
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local core = require "vsrun.core"

local M = {}

local HOW_TO = 'register each test with t.test, e.g.\n' ..
  '      local t = require "vsrun.testing"\n' ..
  '      t.test("adds", function() t.eq(1 + 1, 2) end)'

-- global functions named test* that a file defined instead of registering them
local function global_tests()
  local names = {}
  for k, v in pairs(_G) do
    if type(k) == "string" and k:match("^test") and type(v) == "function" then names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

-- JUnit XML: text and attribute values escaped; bytes XML cannot carry become "?"
local function xml(s)
  s = tostring(s)
  if not utf8.len(s) then s = s:gsub("[\128-\255]", "?") end
  s = s:gsub("[%z\1-\8\11\12\14-\31]", "?")
  return (s:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

local function junit_suite(path, results, elapsed)
  local class = xml((path:gsub("^%./", ""):gsub("%.lua$", ""):gsub("/", ".")))
  local failures = 0
  local cases = {}
  for _, r in ipairs(results) do
    local case = string.format('    <testcase classname="%s" name="%s" time="%.3f"', class, xml(r.name), r.time)
    if r.failure then
      failures = failures + 1
      local first = r.failure:match("^[^\n]*")
      case = case .. string.format('>\n      <failure message="%s">%s</failure>\n    </testcase>', xml(first), xml(r.failure))
    else
      case = case .. "/>"
    end
    cases[#cases + 1] = case
  end
  return string.format('  <testsuite name="%s" tests="%d" failures="%d" errors="0" time="%.3f">\n%s%s  </testsuite>\n',
    xml(path), #results, failures, elapsed, table.concat(cases, "\n"), #cases > 0 and "\n" or "")
end

-- the sandbox module, when this state may use it (vsrun test always starts a sandbox)
local function sandbox_module()
  if not core.sandbox_url() then return nil end
  local ok, sb = pcall(require, "vsrun.sandbox")
  return ok and sb or nil
end

local function describe(t, err, tb)
  if t._is_failure(err) then return tostring(err) end
  return (tb or errors.describe(err)):gsub("\n", "\n    ")
end

-- run_file(path, { filter = pattern, verbose = bool }) -> passed, failed, junit_fragment
function M.run_file(path, opts)
  require("vsrun.runner").prepare()
  local t = require "vsrun.testing"
  t._set_file(path)
  local file_started = core.clock()
  local results = {}
  local out = io and io.stdout or nil
  local function say(s) if out then out:write(s, "\n") out:flush() else print(s) end end
  local function file_failed(why)
    say("FAIL " .. path .. ": " .. why)
    results[1] = { name = "(loading the file)", time = core.clock() - file_started, failure = why }
    return 0, 1, junit_suite(path, results, core.clock() - file_started)
  end
  local project_error = core.project_error()
  if project_error then return file_failed(project_error) end
  local chunk, msg = core.loadfile(path)
  if not chunk then return file_failed("cannot load: " .. tostring(msg)) end
  local ok, err, tb = sched.run(chunk)
  if not ok then return file_failed("error while loading the test file: " .. (tb or errors.describe(err))) end
  local tests = t._registered()
  if #tests == 0 then
    local globals = global_tests()
    local why = "no tests registered: " .. HOW_TO
    if #globals > 0 then
      why = why .. "\n    (global functions such as " .. globals[1] .. " are not run)"
    end
    return file_failed(why)
  end
  local selected = {}
  for _, test in ipairs(tests) do
    if not opts.filter or test.name:find(opts.filter) or path:find(opts.filter, 1, true) then
      selected[#selected + 1] = test
    end
  end
  -- a single test needs no snapshot: nothing runs before it (a big seeded store would be
  -- copied for nothing)
  local sandbox = #selected > 1 and sandbox_module() or nil
  if sandbox then
    local sok, serr = sched.run(sandbox.snapshot)
    if not sok then return file_failed("cannot snapshot the sandbox: " .. errors.describe(serr)) end
  end
  local hooks = t._hooks()
  local passed, failed = 0, 0
  for _, test in ipairs(selected) do
    local started = core.clock()
    -- setup: the sandbox back to the snapshot, then before_each hooks; the test runs only
    -- if setup passed; after_each hooks run in any case, and their failure fails the test
    local why
    t._begin_test()
    local sok, serr, stb = sched.run(function()
      if sandbox then sandbox.restore() end
      for _, h in ipairs(hooks.before) do h(test.name) end
    end)
    if not sok then why = "before_each: " .. describe(t, serr, stb) end
    if sok then
      local tok, terr, ttb = sched.run(test.fn)
      if not tok then why = describe(t, terr, ttb) end
    end
    if #hooks.after > 0 then
      local aok, aerr, atb = sched.run(function()
        for _, h in ipairs(hooks.after) do h(test.name) end
      end)
      if not aok then why = (why and (why .. "\n    ") or "") .. "after_each: " .. describe(t, aerr, atb) end
    end
    local rok, rerr = pcall(t._end_test)   -- undo t.stub calls, whatever happened
    if not rok then why = (why and (why .. "\n    ") or "") .. "restoring stubs: " .. errors.describe(rerr) end
    local elapsed = core.clock() - started
    results[#results + 1] = { name = test.name, time = elapsed, failure = why }
    if not why then
      passed = passed + 1
      if opts.verbose then say(string.format("ok   %s: %s (%.2fs)", path, test.name, elapsed)) end
    else
      failed = failed + 1
      say("FAIL " .. path .. ": " .. test.name .. "\n    " .. why)
    end
  end
  return passed, failed, junit_suite(path, results, core.clock() - file_started)
end

return M
