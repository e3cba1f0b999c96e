-- vsrun.testing: each test starts from the sandbox state the top level left; hooks; t.dir,
-- t.path, t.script; t.eq reports the first difference in sorted key order.
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"

-- the top level shapes the state every test starts from
sandbox.seed { incidents = 6, seed = 4 }
local service = sandbox.info().services[1].id
local ids = sandbox.create_incidents { count = 2, service = service, status = "triggered" }
sandbox.fault { kind = "status", status = 403, count = 1, match = { method = "GET", path = "^/incidents/[^/]+$" } }
local start = sandbox.counts()

local log = {}
t.before_each(function(name) log[#log + 1] = "before " .. name end)
t.after_each(function(name) log[#log + 1] = "after " .. name end)

-- these tests run in this order; each one after the first also checks that the earlier
-- writes are gone, and the first checks its own writes happened (the control)
t.test("a test writes: incidents, a fault, clock, rate limits", function()
  for _, id in ipairs(ids) do pagerduty.resolve(id) end
  sandbox.create_incidents { count = 3, service = service }
  sandbox.fault { kind = "status", status = 503, count = 5, match = { method = "GET", path = "^/incidents$" } }
  sandbox.advance(3600)
  sandbox.configure { rate_limit = 7 }
  local now = sandbox.counts()
  t.eq(now.total, start.total + 3, "the control: this test's own writes are visible to it")
  t.eq(now.resolved, start.resolved + 2)
end)

t.test("the next test sees none of those writes", function()
  t.eq(sandbox.counts(), start)
  t.eq(#sandbox.faults(), 1, "only the top level's fault")
  t.eq(sandbox.configure {}.rate_limit, 960, "rate limit back to the default")
  t.eq(#sandbox.requests { method = "PUT" }, 0, "the request log holds no PUT from the earlier test")
end)

t.test("a fault consumed by reads in one test", function()
  t.raises("permission_denied", pagerduty.get_incident, ids[1])
  t.eq(pagerduty.get_incident(ids[1]).id, ids[1], "the fault fired once, as configured (the control)")
end)

t.test("is there again in the next test (reads restore faults and the log too)", function()
  t.raises("permission_denied", pagerduty.get_incident, ids[1])
end)

t.test("hooks run around each test, in order", function()
  t.eq(log, {
    "before a test writes: incidents, a fault, clock, rate limits", "after a test writes: incidents, a fault, clock, rate limits",
    "before the next test sees none of those writes", "after the next test sees none of those writes",
    "before a fault consumed by reads in one test", "after a fault consumed by reads in one test",
    "before is there again in the next test (reads restore faults and the log too)",
    "after is there again in the next test (reads restore faults and the log too)",
    "before hooks run around each test, in order",
  })
end)

t.test("t.dir and t.path name the test file's directory", function()
  t.match(t.dir, "tests/lua/testing$")
  t.eq(t.path("fixtures/note.txt"), t.dir .. "/fixtures/note.txt")
  t.eq(t.path("/etc/hostname"), "/etc/hostname")
  local f = assert(io.open(t.path("fixtures/note.txt")))
  t.eq(f:read("l"), "fixture next to the test")
  f:close()
end)

t.test("t.script runs a pipeline relative to the test file", function()
  t.eq(t.script("fixtures/double.lua", { n = 21 }), { doubled = 42 })
end)

-- the first differing key is the same on every run: keys are walked sorted
t.test("t.eq reports the first difference in sorted key order", function()
  local a, b = {}, {}
  for i = 1, 40 do
    local k = string.format("k%02d", i)
    a[k], b[k] = i, -i
  end
  a.nested, b.nested = { z = 1, y = { 1, 2 }, x = 1 }, { z = 2, y = { 1, 3 }, x = 2 }
  local ok, err = pcall(t.eq, a, b)
  t.ok(not ok)
  t.match(tostring(err), "values differ at value%.k01\n")
  ok, err = pcall(t.eq, a.nested, b.nested)
  t.match(tostring(err), "values differ at value%.x\n")
  ok, err = pcall(t.eq, { [2] = "b", [10] = "x", [1] = "a" }, { [1] = "a", [2] = "c", [10] = "y" })
  t.match(tostring(err), "values differ at value%.2\n", "numbers in numeric order")
end)
