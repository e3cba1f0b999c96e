-- The scheduler: every script runs as coroutines ("tasks"). A task that waits for I/O or a
-- timer yields to this loop, which drives the I/O driver (the curl multi in host/http.c)
-- and resumes tasks as their operations complete. Scripts never see it directly: they use
-- http, pagerduty and vsrun (spawn/map/sleep), whose calls read top to bottom.
local core = require "vsrun.core"
local errors = require "vsrun.errors"

local raw_create, raw_resume, raw_yield = coroutine.create, coroutine.resume, coroutine.yield
local raw_status, raw_close, raw_isyieldable = coroutine.status, coroutine.close, coroutine.isyieldable
local pack, unpack = table.pack, table.unpack

local M = {}

-- Marks a yield meant for the scheduler (user coroutines pass it through).
local SCHED = setmetatable({}, { __name = "vsrun.sched" })

local ready = {}          -- FIFO of tasks to resume
local ready_head = 1
local io_waiting = {}     -- transfer id -> task
local io_count = 0
local timers = {}         -- sorted by .at: { at = clock, task = t }
local by_co = setmetatable({}, { __mode = "k" })
local io_driver = nil     -- { poll = fn(timeout_sec) -> {id, result, id, result ...}, cancel = fn(id) }
local current = nil
local unobserved = {}     -- failed tasks nobody waited for

local Task = { __name = "vsrun.task" }
Task.__index = Task
Task.__metatable = "vsrun.task"   -- no script code can patch every task's methods

local function push_ready(t, ...)
  t.args = pack(...)
  t.state = "ready"
  ready[#ready + 1] = t
end

local function remove_timer(t)
  for i, tm in ipairs(timers) do
    if tm.task == t then table.remove(timers, i) return end
  end
end

local function finish(t, ok, ...)
  t.state = "done"
  t.ok = ok
  if ok then
    t.results = pack(...)
  else
    t.err = ...
    if not t.observed then unobserved[t] = true end
  end
  for _, w in ipairs(t.waiters) do
    w.waiting_on = nil
    push_ready(w)
  end
  t.waiters = {}
end

function M.set_io_driver(driver) io_driver = driver end

function M.current() return current end

-- Creates a task for fn(...) and queues it. Errors stay in the task until wait().
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    local mt = getmetatable(fn)
    if not (mt and mt.__call) then error("spawn: function expected, got " .. type(fn), 2) end
  end
  local t = setmetatable({ waiters = {}, state = "new" }, Task)
  t.co = raw_create(function(...) return fn(...) end)
  by_co[t.co] = t
  push_ready(t, ...)
  return t
end

local function yield_to_scheduler(op, arg)
  if not raw_isyieldable() then
    error("cannot wait for I/O here: the call is inside a C function that called back into Lua " ..
      "(a table.sort comparator, a string.gsub function, __gc, or __tostring reached from C); " ..
      "move the request out of that callback", 3)
  end
  return raw_yield(SCHED, op, arg)
end

-- Waits for transfer `id` of the I/O driver; returns its result.
function M.wait_io(id)
  return yield_to_scheduler("io", id)
end

function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("sleep: seconds must be a non-negative number", 2)
  end
  yield_to_scheduler("sleep", core.clock() + seconds)
end

-- Lets other ready tasks run.
function M.yield()
  yield_to_scheduler("yield")
end

function Task:wait()
  self.observed = true
  unobserved[self] = nil
  if self.state ~= "done" then
    if self == current then error("a task cannot wait for itself", 2) end
    yield_to_scheduler("wait", self)
  end
  if self.ok then return unpack(self.results, 1, self.results.n) end
  error(self.err, 0)
end

function Task:done() return self.state == "done" end

-- Stops the task where it is waiting; its pending transfer is cancelled and freed.
function Task:cancel(reason)
  if self.state == "done" then return end
  if self == current then error("a task cannot cancel itself", 2) end
  if self.io_id then
    io_waiting[self.io_id] = nil
    io_count = io_count - 1
    if io_driver then io_driver.cancel(self.io_id) end
    self.io_id = nil
  end
  remove_timer(self)
  -- a cancelled waiter leaves the waited-for task's list, or that task would resume it again
  local target = self.waiting_on
  if target then
    for i = #target.waiters, 1, -1 do
      if target.waiters[i] == self then table.remove(target.waiters, i) end
    end
    self.waiting_on = nil
  end
  for i = ready_head, #ready do
    if ready[i] == self then ready[i] = false end
  end
  if raw_status(self.co) == "suspended" then raw_close(self.co) end
  self.observed = true
  finish(self, false, errors.new("cancelled", reason or "task cancelled"))
  unobserved[self] = nil
end

local function step(t)
  current = t
  local r = pack(raw_resume(t.co, unpack(t.args, 1, t.args.n)))
  current = nil
  t.args = nil
  if not r[1] then
    local err = r[2]
    t.traceback = core.traceback(t.co, errors.describe(err))
    finish(t, false, err)
    return
  end
  if raw_status(t.co) == "dead" then
    finish(t, true, unpack(r, 2, r.n))
    return
  end
  if r[2] ~= SCHED then
    t.traceback = core.traceback(t.co, "coroutine.yield called outside a coroutine")
    finish(t, false, "coroutine.yield called outside a coroutine the script created")
    return
  end
  local op, arg = r[3], r[4]
  t.state = "waiting"
  if op == "io" then
    t.io_id = arg
    io_waiting[arg] = t
    io_count = io_count + 1
  elseif op == "sleep" then
    local i = #timers + 1
    while i > 1 and timers[i - 1].at > arg do i = i - 1 end
    table.insert(timers, i, { at = arg, task = t })
  elseif op == "yield" then
    push_ready(t)
  elseif op == "wait" then
    if arg.state == "done" then
      push_ready(t)
    else
      arg.waiters[#arg.waiters + 1] = t
      t.waiting_on = arg
    end
  end
end

local function fire_timers()
  local now = core.clock()
  while timers[1] and timers[1].at <= now do
    local tm = table.remove(timers, 1)
    push_ready(tm.task)
  end
end

-- Blocks until some I/O completes or the next timer is due.
local function wait_for_events()
  local timeout = -1
  if timers[1] then timeout = math.max(0, timers[1].at - core.clock()) end
  if io_count > 0 and io_driver then
    local done = io_driver.poll(timeout)
    for i = 1, #done, 2 do
      local t = io_waiting[done[i]]
      if t then
        io_waiting[done[i]] = nil
        io_count = io_count - 1
        t.io_id = nil
        push_ready(t, done[i + 1])
      end
    end
  elseif timeout >= 0 then
    if io_driver then io_driver.poll(timeout) else core.sleep(timeout) end
  else
    return false
  end
  fire_timers()
  return true
end

-- Runs one round of the loop until `until_done` (a task) finishes. Returns false on deadlock.
local function loop(until_done)
  while until_done.state ~= "done" do
    if ready_head > #ready then
      ready, ready_head = {}, 1
      if not wait_for_events() then return false end
    else
      local t = ready[ready_head]
      ready[ready_head] = false
      ready_head = ready_head + 1
      if t then step(t) end
    end
  end
  return true
end

local function cancel_all(reason)
  for _, t in pairs(by_co) do
    if t.state ~= "done" then t:cancel(reason) end
  end
end

-- Runs fn(...) as the main task until it ends. Other tasks still pending then are cancelled
-- (their transfers freed). Returns true, results... or false, err, traceback.
function M.run(fn, ...)
  local main = M.spawn(fn, ...)
  main.observed = true
  local finished = loop(main)
  cancel_all("the script ended")
  if not finished then
    return false, "deadlock: every task is waiting for another task and no I/O or timer is pending",
      "(no traceback)"
  end
  if not main.ok then return false, main.err, main.traceback end
  local failed = next(unobserved)
  if failed then
    unobserved = {}
    return false, failed.err, (failed.traceback or "") .. "\n(this task's error was never collected with task:wait())"
  end
  return true, unpack(main.results, 1, main.results.n)
end

-- coroutine.resume/wrap for scripts: a scheduler yield inside a user coroutine passes
-- through to the scheduler and the answer comes back, so I/O works inside coroutines.
local passing = setmetatable({}, { __mode = "k" })

local function pass_through(co, r)
  while r[1] and r[2] == SCHED and raw_status(co) == "suspended" do
    passing[co] = true
    local back = pack(raw_yield(unpack(r, 2, r.n)))
    passing[co] = nil
    r = pack(raw_resume(co, unpack(back, 1, back.n)))
  end
  return r
end

function M.install_coroutine_wrappers(co_table)
  co_table.resume = function(co, ...)
    if passing[co] then return false, "cannot resume a coroutine that is waiting for I/O" end
    local r = pass_through(co, pack(raw_resume(co, ...)))
    return unpack(r, 1, r.n)
  end
  co_table.wrap = function(f)
    local co = raw_create(f)
    return function(...)
      if passing[co] then error("cannot resume a coroutine that is waiting for I/O", 2) end
      local r = pass_through(co, pack(raw_resume(co, ...)))
      if r[1] then return unpack(r, 2, r.n) end
      if raw_status(co) == "dead" then raw_close(co) end
      error(r[2], 0)
    end
  end
end

return M
