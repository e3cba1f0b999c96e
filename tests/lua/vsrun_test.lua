-- vsrun: spawn, map, sleep, now (timers only; the HTTP side is in tests/lua/http/).
local t = require "vsrun.testing"
local vs = require "vsrun"
local errors = require "vsrun.errors"

t.test("spawn: wait returns every result", function()
  local task = vs.spawn(function(a, b) vs.sleep(0.01) return a + b, "x", nil, 4 end, 1, 2)
  t.eq(table.pack(task:wait()), { n = 4, 3, "x", nil, 4 })
  t.eq(table.pack(task:wait()), { n = 4, 3, "x", nil, 4 }, "a second wait returns the same")
end)

t.test("spawn: wait re-raises the task's error object", function()
  local task = vs.spawn(function() vs.sleep(0.01) errors.raise("not_found", "no such thing") end)
  local err = t.raises("not_found", task.wait, task)
  t.eq(err.message, "no such thing")
end)

t.test("spawn: tasks interleave at their waits", function()
  local order = {}
  local a = vs.spawn(function() vs.sleep(0.08) order[#order + 1] = "a" end)
  local b = vs.spawn(function() vs.sleep(0.01) order[#order + 1] = "b" end)
  order[#order + 1] = "main"
  a:wait(); b:wait()
  t.eq(order, { "main", "b", "a" })
end)

t.test("spawn/sleep: bad arguments", function()
  t.raises("invalid_argument", vs.spawn, 42)
  t.raises("invalid_argument", vs.sleep, -1)
  t.raises("invalid_argument", vs.sleep, "1")
  t.raises("invalid_argument", vs.sleep, 0 / 0)
  local callable = setmetatable({}, { __call = function(_, x) return x * 2 end })
  t.eq(vs.spawn(callable, 21):wait(), 42, "a callable table is a function")
end)

t.test("now: wall clock seconds as a float", function()
  local now = vs.now()
  t.eq(math.type(now), "float")
  t.ok(math.abs(now - os.time()) < 2, "close to os.time()")
end)

t.test("map: results in input order whatever the finishing order", function()
  local items = { 5, 4, 3, 2, 1 }
  local finished = {}
  local r = vs.map(items, function(x)
    vs.sleep(x * 0.01)
    finished[#finished + 1] = x
    return x * 10
  end, { concurrency = 5 })
  t.eq(r, { 50, 40, 30, 20, 10 })
  t.eq(finished, { 1, 2, 3, 4, 5 }, "they did finish in the other order")
end)

t.test("map: fn receives the item only", function()
  local r = vs.map({ "a", "b" }, function(...) return select("#", ...) .. ":" .. tostring((...)) end)
  t.eq(r, { "1:a", "1:b" })
  t.eq(vs.map({ "x", "yy" }, string.len), { 1, 2 }, "a C function works (called as fn(item))")
end)

t.test("map: at most `concurrency` calls at once, and that many are used", function()
  local running, max = 0, 0
  vs.map({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, function()
    running = running + 1
    if running > max then max = running end
    vs.sleep(0.01)
    running = running - 1
  end, { concurrency = 3 })
  t.eq(max, 3)
  running, max = 0, 0
  vs.map({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, function()
    running = running + 1
    if running > max then max = running end
    vs.sleep(0)
    running = running - 1
  end)
  t.eq(max, vs.DEFAULT_CONCURRENCY, "default concurrency")
end)

t.test("map: empty list and bad arguments", function()
  t.eq(vs.map({}, print), {})
  t.raises("invalid_argument", vs.map, nil, print)
  t.raises("invalid_argument", vs.map, {}, nil)
  t.raises("invalid_argument", vs.map, { 1 }, print, 3)
  t.raises("invalid_argument", vs.map, { 1 }, print, { concurrency = 0 })
  t.raises("invalid_argument", vs.map, { 1 }, print, { concurrency = 1.5 })
  t.raises("invalid_argument", vs.map, { 1 }, print, { concurency = 2 })
end)

t.test("map: a string error carries its item index; later items never start", function()
  local started, done = {}, {}
  local err = t.raises("vs.map item 3: ", vs.map, { 1, 2, 3, 4, 5, 6 }, function(i)
    started[#started + 1] = i
    if i == 3 then error("boom") end
    vs.sleep(i == 2 and 0.1 or 0.01)
    done[i] = true
  end, { concurrency = 2 })
  t.match(err, "^vs%.map item 3: .*vsrun_test%.lua:%d+: boom$")
  vs.sleep(0.2)
  t.eq(started, { 1, 2, 3 })
  t.eq(done, { [1] = true }, "item 2 was cancelled in its sleep, 4..6 never ran")
end)

t.test("map: an error object gets .index and keeps its kind", function()
  local err = t.raises("conflict", vs.map, { "a", "b", "c" }, function(x)
    if x == "b" then errors.raise("conflict", "taken") end
    return x
  end)
  t.eq(err.index, 2)
  t.eq(err.message, "taken")
end)

t.test("map: a failure cancels nested maps of the other items", function()
  local inner_done = 0
  t.raises("vs.map item 2", vs.map, { 1, 2 }, function(i)
    if i == 2 then vs.sleep(0.02) error("outer failure") end
    vs.map({ 1, 2, 3, 4 }, function() vs.sleep(0.1) inner_done = inner_done + 1 end, { concurrency = 4 })
  end)
  vs.sleep(0.2)
  t.eq(inner_done, 0, "the inner calls were stopped")
end)

t.test("waits work inside pcall and inside user coroutines", function()
  local ok, v = pcall(function() vs.sleep(0.01) return "inside pcall" end)
  t.eq({ ok, v }, { true, "inside pcall" })
  local gen = coroutine.wrap(function()
    for i = 1, 3 do vs.sleep(0.001) coroutine.yield(i) end
  end)
  t.eq({ gen(), gen(), gen() }, { 1, 2, 3 })
  local co = coroutine.create(function(a)
    local b = coroutine.yield(a + 1)
    local r = vs.map({ b, b + 1 }, function(x) vs.sleep(0.001) return x * 2 end)
    return r[1] + r[2]
  end)
  local ok1, first = coroutine.resume(co, 1)
  local ok2, second = coroutine.resume(co, 10)
  t.eq({ ok1, first, ok2, second, coroutine.status(co) }, { true, 2, true, 42, "dead" })
end)

t.test("a wait inside a table.sort comparator is a clear error", function()
  local err = t.raises("table.sort comparator", table.sort, { 3, 1, 2 }, function(a, b)
    vs.sleep(0)
    return a < b
  end)
  t.match(err, "vsrun_test%.lua:%d+:")
  t.raises("table.sort comparator", table.sort, { 3, 1, 2 }, function(a, b)
    vs.map({ 1 }, print)
    return a < b
  end)
end)
