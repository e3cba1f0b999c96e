local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"

local function notification(svc, status)
  return { route = "alertmanager", payload = { version = "4", status = status, alerts = {
    { status = status, fingerprint = "f00d", labels = { alertname = "DiskFull", severity = "critical", pagerduty_service = svc },
      annotations = { summary = "Disk 97% full on db1" } },
    { status = status, fingerprint = "beef", labels = { alertname = "NoService" } },
  } } }
end

t.test("a firing alert becomes one incident; the repeated notification creates nothing", function()
  local svc = sandbox.info().services[1].id
  local before = sandbox.counts().total
  local first = t.script("alertmanager_incident.lua", notification(svc, "firing"))
  t.eq(#first.created, 1)
  t.eq(#first.already_open, 0)
  local second = t.script("alertmanager_incident.lua", notification(svc, "firing"))
  t.eq({ #second.created, second.already_open[1] }, { 0, "alertmanager-f00d" })
  t.eq(sandbox.counts().total, before + 1)
end)

t.test("resolved alerts and alerts without a service create nothing", function()
  local before = sandbox.counts().total
  local r = t.script("alertmanager_incident.lua", notification(sandbox.info().services[2].id, "resolved"))
  t.eq(#r.created, 0)
  t.eq(sandbox.counts().total, before)
  t.raises("not an Alertmanager webhook", function() t.script("alertmanager_incident.lua", { payload = {} }) end)
end)
