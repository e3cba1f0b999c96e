local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local pd = require "pagerduty"

t.test("summarises the timeline through the chat endpoint and posts it as a note", function()
  local svc = sandbox.info().services[1].id
  local id = sandbox.create_incidents { count = 1, service = svc, urgency = "high", status = "triggered", title = "Replica lag on db2" }[1]
  pd.acknowledge(id)
  pd.create_incident_note(id, "failing over to db3")
  local result = t.script("ai_summary.lua", { incident = id })
  t.ok(result.events >= 3, "timeline too short: " .. tostring(result.events))
  t.match(result.summary, "Replica lag on db2")
  local notes = pd.list_incident_notes(id):collect()
  t.eq(#notes, 2)
  t.match(notes[2].content, "^AI summary:\n")
  t.eq(#sandbox.requests { method = "POST", path = "^/v1/chat/completions$" }, 1)
end)

t.test("an unknown incident is a not_found error and nothing is posted", function()
  sandbox.clear_requests()
  t.raises("not_found", function() t.script("ai_summary.lua", { incident = "QNOSUCHINCIDENT" }) end)
  t.eq(#sandbox.requests { method = "POST" }, 0)
end)
