local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local pd = require "pagerduty"

local function webhook(event_type, id, incident)
  return { route = "pagerduty", delivery_id = id, run_id = 1, attempt = 1,
           payload = { event = { id = id, event_type = event_type, data = { id = incident, title = "Disk full" } } } }
end

t.test("incident.triggered adds one note; the same event again adds nothing", function()
  local inc = pd.create_incident { title = "Disk full", service = sandbox.info().services[1].id }
  t.eq(t.script("webhook_note.lua", webhook("incident.triggered", "01A", inc.id)), { incident = inc.id, noted = true })
  t.eq(t.script("webhook_note.lua", webhook("incident.triggered", "01A", inc.id)), { incident = inc.id, noted = false })
  local notes = pd.list_incident_notes(inc.id):collect()
  t.eq(#notes, 1)
  t.match(notes[1].content, "%[vsrun webhook 01A%] Triggered: Disk full")
end)

t.test("other event types are ignored; a body that is not a v3 webhook is an error", function()
  sandbox.clear_requests()
  t.eq(t.script("webhook_note.lua", webhook("incident.resolved", "01B", "PX")), { ignored = "incident.resolved" })
  t.eq(#sandbox.requests(), 0)
  t.raises("not a PagerDuty v3 webhook", function() t.script("webhook_note.lua", { payload = {} }) end)
end)
