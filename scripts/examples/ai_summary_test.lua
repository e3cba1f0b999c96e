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

local function triggered(id, incident)
  return { route = "pagerduty", delivery_id = id, run_id = 1, attempt = 1,
           payload = { event = { id = id, event_type = "incident.triggered", data = { id = incident } } } }
end

t.test("as a webhook pipeline: one note per event, however often the event runs", function()
  local svc = sandbox.info().services[1].id
  local id = sandbox.create_incidents { count = 1, service = svc, status = "triggered", title = "Queue backlog" }[1]
  local first = t.script("ai_summary.lua", triggered("01AI", id))
  t.eq(first.noted, true)
  t.eq(t.script("ai_summary.lua", triggered("01AI", id)), { incident = id, noted = false })
  local notes = pd.list_incident_notes(id):collect()
  t.eq(#notes, 1)
  t.match(notes[1].content, "^%[vsrun ai%-summary 01AI%] AI summary:\n")
  t.eq(t.script("ai_summary.lua", { payload = { event = { id = "01X", event_type = "incident.resolved" } } }),
       { ignored = "incident.resolved" })
end)

t.test("the key is sent only to its bound origin: bound elsewhere, nothing is asked or posted", function()
  local svc = sandbox.info().services[1].id
  local id = sandbox.create_incidents { count = 1, service = svc, status = "triggered", title = "Cache misses" }[1]
  sandbox.set_secret("openai", { origin = "https://api.openai.com", value = "sk-test-not-for-the-sandbox" })
  sandbox.clear_requests()
  t.raises("permission_denied", function() t.script("ai_summary.lua", triggered("01AJ", id)) end)
  t.eq(#sandbox.requests { path = "^/v1/" }, 0)
  t.eq(#pd.list_incident_notes(id):collect(), 0)
end)
