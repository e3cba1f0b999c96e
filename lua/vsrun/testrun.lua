-- The `vsrun test` runner for one test file, in a fresh Lua state made by host/testcmd.c.
-- Loads the file (which registers tests), then runs each test as its own task.
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local core = require "vsrun.core"

local M = {}

-- run_file(path, { filter = pattern, verbose = bool }) -> passed, failed
function M.run_file(path, opts)
  require("vsrun.runner").prepare()
  local t = require "vsrun.testing"
  t._set_file(path)
  local out = io and io.stdout or nil
  local function say(s) if out then out:write(s, "\n") out:flush() else print(s) end end
  local chunk, msg = core.loadfile(path)
  if not chunk then
    say("FAIL " .. path .. ": cannot load: " .. tostring(msg))
    return 0, 1
  end
  local ok, err, tb = sched.run(chunk)
  if not ok then
    say("FAIL " .. path .. ": error while loading the test file: " .. (tb or errors.describe(err)))
    return 0, 1
  end
  local passed, failed = 0, 0
  for _, test in ipairs(t._registered()) do
    if not opts.filter or test.name:find(opts.filter) or path:find(opts.filter, 1, true) then
      local started = core.clock()
      local tok, terr, ttb = sched.run(test.fn)
      if tok then
        passed = passed + 1
        if opts.verbose then say(string.format("ok   %s: %s (%.2fs)", path, test.name, core.clock() - started)) end
      else
        failed = failed + 1
        local detail
        if t._is_failure(terr) then
          detail = tostring(terr)
        else
          detail = (ttb or errors.describe(terr)):gsub("\n", "\n    ")
        end
        say("FAIL " .. path .. ": " .. test.name .. "\n    " .. detail)
      end
    end
  end
  return passed, failed
end

return M
