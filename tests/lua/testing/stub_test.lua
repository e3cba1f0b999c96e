-- t.stub: undone when each test ends; refused for built-in modules and outside tests.
-- t.read_fixture: reads fixtures/NAME beside the test file, nothing outside it.
local t = require "vsrun.testing"

local lib = { greet = function(who) return "hello " .. who end }

-- at the top level a stub could never be undone
local top_ok, top_err = pcall(t.stub, lib, "greet", function() end)

t.test("t.stub outside a test is refused", function()
  t.eq(top_ok, false)
  t.match(top_err, "inside a test or a before_each hook")
end)

-- these two run in this order: the first stubs (and checks that it did: the control), the
-- second checks the stub is gone
t.test("t.stub replaces a field for this test", function()
  local old = t.stub(lib, "greet", function(who) return "stubbed " .. who end)
  t.eq(lib.greet("ops"), "stubbed ops")
  t.eq(old("ops"), "hello ops", "t.stub returns the old value")
  t.stub(package.loaded, "fake_library", { answer = 42 })
  t.eq(require("fake_library").answer, 42, "a stubbed package.loaded entry fakes a library")
end)

t.test("the next test sees the original again", function()
  t.eq(lib.greet("ops"), "hello ops")
  t.eq(package.loaded.fake_library, nil)
end)

t.test("built-in modules are read-only: t.stub says so", function()
  t.raises("built-in modules are read-only", function()
    t.stub(pagerduty, "get_incident", function() return {} end)
  end)
  t.eq(type(pagerduty.get_incident), "function")
end)

t.test("t.read_fixture reads fixtures/ beside the test", function()
  t.eq(t.read_fixture("note.txt"), "fixture next to the test\n")
end)

t.test("t.read_fixture refuses names that leave fixtures/", function()
  t.raises("must be a relative file name", t.read_fixture, "../stub_test.lua")
  t.raises("must be a relative file name", t.read_fixture, "/etc/passwd")
  t.raises("cannot open", t.read_fixture, "missing.txt")
end)
