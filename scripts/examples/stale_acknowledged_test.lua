local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local pd = require "pagerduty"
local vs = require "vsrun"
local time = require "vsrun.time"

local function acknowledged_now()
  sandbox.seed { incidents = 0 }
  local svc = sandbox.info().services[1].id
  return sandbox.create_incidents { count = 2, service = svc, urgency = "high", status = "acknowledged" }
end

t.test("recent acknowledgements are not stale", function()
  acknowledged_now()
  local r = t.script("stale_acknowledged.lua", { hours = 1 })
  t.eq(#r.stale, 0)
end)

t.test("after the limit, it notes and re-triggers", function()
  local ids = acknowledged_now()
  local later = time.format(vs.now() + 3 * 3600)
  local r = t.script("stale_acknowledged.lua", { hours = 2, action = "retrigger", now = later })
  t.eq(#r.stale, 2)
  for _, id in ipairs(ids) do
    t.eq(pd.get_incident(id).status, "triggered")
    t.match(pd.list_incident_notes(id):collect()[1].content, "^Acknowledged for 3%.0 h without resolution")
  end
end)

t.test("bad action is refused before any request", function()
  sandbox.clear_requests()
  t.raises("input 'action'", function() t.script("stale_acknowledged.lua", { action = "delete" }) end)
  t.eq(#sandbox.requests(), 0)
end)
