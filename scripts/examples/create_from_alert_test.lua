local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local pd = require "pagerduty"

local function alert(svc)
  return { service = svc, source = "db1", check = "disk", severity = "warning",
           summary = "Disk 97% full", details = { mount = "/var" }, url = "https://grafana/d/disk" }
end

t.test("creates one incident with a stable key and a note; a re-run creates nothing", function()
  local svc = sandbox.info().services[1].id
  local before = sandbox.counts().total
  local first = t.script("create_from_alert.lua", alert(svc))
  t.eq({ first.created, first.urgency, first.incident_key }, { true, "low", "alert/db1/disk" })
  local second = t.script("create_from_alert.lua", alert(svc))
  t.eq({ second.created, second.incident }, { false, first.incident })
  t.eq(sandbox.counts().total, before + 1)
  local notes = pd.list_incident_notes(first.incident):collect()
  t.eq(#notes, 1)
  t.match(notes[1].content, "link: https://grafana/d/disk")
  t.eq(pd.get_incident(first.incident).urgency, "low")
end)

t.test("the alert may be nested under 'alert', and bad input fails before any request", function()
  local svc = sandbox.info().services[2].id
  local r = t.script("create_from_alert.lua", { service = svc, alert = { source = "web", check = "5xx", summary = "errors", severity = "critical" } })
  t.eq(r.urgency, "high")
  sandbox.clear_requests()
  t.raises("input 'service'", function() t.script("create_from_alert.lua", { source = "x", check = "y", summary = "z" }) end)
  t.raises("alert field 'check'", function() t.script("create_from_alert.lua", { service = svc, source = "x", summary = "z" }) end)
  t.eq(#sandbox.requests(), 0)
end)
