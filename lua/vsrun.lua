-- vsrun: concurrency helpers for pipelines, built on the scheduler (lua/vsrun/sched.lua).
--   vs.spawn(fn, ...)            -> task; task:wait() returns fn's results or re-raises
--   vs.map(list, fn, { concurrency = n }) -> { fn(list[1]), fn(list[2]), ... } in input order
--   vs.map(list, fn, { on_error = "collect" }) -> results, { { index = i, error = e }, ... }
--   vs.sleep(sec)                yields; other tasks keep running
--   vs.now()                     wall-clock seconds (float)
--   vs.dry_run                   true under --dry-run (writes are printed, not sent)
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local core = require "vsrun.core"

local M = {}

M.DEFAULT_CONCURRENCY = 8

-- --dry-run: PagerDuty and http writes are printed, not sent (docs/api.md)
M.dry_run = core.options().dry_run == true

local function invalid(message)
  errors.raise("invalid_argument", message)
end

local function callable(f)
  if type(f) == "function" then return true end
  local mt = getmetatable(f)
  return type(mt) == "table" and mt.__call ~= nil
end

local function must_wait_here(what)
  if not coroutine.isyieldable() then
    error(core.user_where() .. " " .. what .. ": cannot wait here: the call is inside a C function " ..
      "that called back into Lua (a table.sort comparator, a string.gsub function, __gc, or " ..
      "__tostring reached from C); move it out of that callback", 0)
  end
end

function M.spawn(fn, ...)
  if not callable(fn) then invalid("vs.spawn(fn, ...): fn must be a function, got " .. type(fn)) end
  return sched.spawn(fn, ...)
end

function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 or seconds == math.huge then
    invalid("vs.sleep(sec): sec must be a non-negative number")
  end
  must_wait_here("vs.sleep")
  sched.sleep(seconds)
end

function M.now()
  return core.now()
end

-- Raises the first failure of vs.map with its index.
local function raise_item_error(index, err)
  if errors.is(err) then
    err.index = index
    error(err, 0)
  elseif type(err) == "string" then
    error("vs.map item " .. index .. ": " .. err, 0)
  end
  error(err, 0)
end

-- vs.map(list, fn, { concurrency = n }): calls fn(item) for every item, at most n at once,
-- and returns the results in input order. On the first failure no further item starts,
-- the calls still running are cancelled (their transfers freed), and the error is raised
-- with its index.
function M.map(list, fn, opts)
  if type(list) ~= "table" then invalid("vs.map(list, fn, opts): list must be a table, got " .. type(list)) end
  if not callable(fn) then invalid("vs.map(list, fn, opts): fn must be a function, got " .. type(fn)) end
  if opts ~= nil and type(opts) ~= "table" then invalid("vs.map: opts must be a table, got " .. type(opts)) end
  local concurrency = M.DEFAULT_CONCURRENCY
  local collect = false
  for k, v in pairs(opts or {}) do
    if k == "on_error" then
      if v ~= "raise" and v ~= "collect" then invalid('vs.map: on_error must be "raise" or "collect"') end
      collect = v == "collect"
    elseif k == "concurrency" then
      if math.type(v) ~= "integer" or v < 1 then invalid("vs.map: concurrency must be a positive integer") end
      concurrency = v
    else
      invalid("vs.map: unknown option '" .. tostring(k) .. "'")
    end
  end
  local n = #list
  if collect then return M.map_collect(list, fn, concurrency) end
  local results = {}
  if n == 0 then return results end
  must_wait_here("vs.map")

  local next_index, failed = 1, nil
  local workers = {}
  local function cancel_others(reason)
    local me = sched.current()
    for _, w in ipairs(workers) do
      if w ~= me and not w:done() then w:cancel(reason) end
    end
  end
  local function worker()
    while not failed do
      local i = next_index
      if i > n then return end
      next_index = i + 1
      local ok, v = pcall(fn, list[i])
      if ok then
        results[i] = v
      elseif not failed then
        failed = { index = i, err = v }
        cancel_others("vs.map: item " .. i .. " failed")
        return
      end
    end
  end
  -- If the caller itself is cancelled while waiting, its workers go too.
  local guard <close> = setmetatable({}, { __close = function() cancel_others("vs.map: the caller was cancelled") end })
  for w = 1, math.min(concurrency, n) do workers[w] = sched.spawn(worker) end
  for _, w in ipairs(workers) do pcall(w.wait, w) end  -- failures are in `failed`
  if failed then raise_item_error(failed.index, failed.err) end
  return results
end

-- vs.map with on_error = "collect": every item runs whatever the others do; returns the
-- results in input order (nil where an item failed) and the failures, by index:
-- { { index = i, error = err }, ... }. Limits (--timeout, memory) and cancellation of the
-- caller still end the whole map.
local FAILED = {}   -- metatable marking a failure inside map_collect, never a real result

function M.map_collect(list, fn, concurrency)
  local results = M.map(list, function(item)
    local ok, v = pcall(fn, item)
    if ok then return v end
    if errors.is(v, "cancelled") then error(v, 0) end   -- the map itself is being stopped
    return setmetatable({ err = v }, FAILED)
  end, { concurrency = concurrency })
  local errs = {}
  for i = 1, #list do
    local r = results[i]
    if getmetatable(r) == FAILED then
      errs[#errs + 1] = { index = i, error = r.err }
      results[i] = nil
    end
  end
  return results, errs
end

-- is_terminal("stdout" | "stderr") -> whether that stream is a terminal: write tables and
-- progress for people only there, so pipes, files and tests get the JSON alone
function M.is_terminal(stream)
  local fd = ({ stdout = 1, stderr = 2 })[stream]
  if not fd then errors.raise("invalid_argument", 'vs.is_terminal: stream must be "stdout" or "stderr"') end
  return core.isatty(fd)
end

return M
