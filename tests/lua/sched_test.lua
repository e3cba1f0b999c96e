-- The scheduler without network I/O: tasks, waits, sleeps, errors, user coroutines.
local t = require "vsrun.testing"
local sched = require "vsrun.sched"

t.test("spawned tasks run and wait returns their results", function()
  local a = sched.spawn(function(x, y) return x + y, "two" end, 1, 2)
  local s, two = a:wait()
  t.eq({ s, two }, { 3, "two" })
end)

t.test("sleeping tasks interleave by wake-up time", function()
  local order = {}
  local function sleeper(name, sec) sched.sleep(sec) order[#order + 1] = name end
  local tasks = { sched.spawn(sleeper, "slow", 0.06), sched.spawn(sleeper, "fast", 0.01), sched.spawn(sleeper, "mid", 0.03) }
  for _, task in ipairs(tasks) do task:wait() end
  t.eq(order, { "fast", "mid", "slow" })
end)

t.test("sleeping tasks wait at the same time, not one after another", function()
  local asleep, most = 0, 0
  local tasks = {}
  for i = 1, 5 do
    tasks[i] = sched.spawn(function()
      asleep = asleep + 1
      most = math.max(most, asleep)
      sched.sleep(0.02)
      asleep = asleep - 1
    end)
  end
  for _, task in ipairs(tasks) do task:wait() end
  t.eq(most, 5)
end)

t.test("wait re-raises a task's error", function()
  local task = sched.spawn(function() error({ kind = "boom" }) end)
  local err = t.raises(nil, function() task:wait() end)
  t.eq(err.kind, "boom")
end)

t.test("a cancelled task reports cancelled to its waiter", function()
  local task = sched.spawn(sched.sleep, 10)
  sched.yield()
  task:cancel("stop")
  t.raises("cancelled", function() task:wait() end)
end)

t.test("user coroutines keep working, and scheduler waits pass through them", function()
  local gen = coroutine.wrap(function()
    for i = 1, 3 do
      sched.sleep(0.001) -- a scheduler wait inside a user coroutine
      coroutine.yield(i)
    end
  end)
  t.eq({ gen(), gen(), gen() }, { 1, 2, 3 })
  local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) sched.sleep(0.001) return b * 2 end)
  local ok1, v1 = coroutine.resume(co, 1)
  local ok2, v2 = coroutine.resume(co, 5)
  t.eq({ ok1, v1, ok2, v2, coroutine.status(co) }, { true, 2, true, 10, "dead" })
end)

t.test("a wait inside a C callback fails with a message that names the construct", function()
  local err = t.raises(nil, function()
    table.sort({ 3, 1, 2 }, function(a, b) sched.sleep(0) return a < b end)
  end)
  t.match(tostring(err), "table.sort comparator")
end)

t.test("errors inside pcall in a task are caught normally", function()
  local ok, err = pcall(function() sched.sleep(0.001) error("inner") end)
  t.eq(ok, false)
  t.match(err, "inner")
end)

t.test("a waiter cancelled while waiting is not resumed when the task it waited on ends", function()
  local target = sched.spawn(function() sched.sleep(0.02) return "done" end)
  local waiter = sched.spawn(function() return target:wait() end)
  sched.yield()                      -- the waiter is now waiting on target
  waiter:cancel("stop")
  t.eq(target:wait(), "done")        -- finishing target must not resume the dead waiter
  local ok, err = pcall(waiter.wait, waiter)
  t.eq({ ok, err.kind }, { false, "cancelled" })
  t.eq(err.message, "stop")
end)
