-- webhook_note.lua: a `vsrun serve` pipeline for PagerDuty v3 webhooks. On
-- incident.triggered it adds a note to the incident naming the event, once: a redelivered
-- or retried event (runs are at-least-once) finds its note and adds nothing.
--
-- Input: the event vsrun serve passes (payload = the webhook body). Other event types are
-- acknowledged and ignored. Served by scripts/examples/serve.lua; see docs/serve.md.
local pd = require "pagerduty"

local ev = ... or {}
local event = ev.payload and ev.payload.event
if type(event) ~= "table" then error("not a PagerDuty v3 webhook (no payload.event)", 0) end
if event.event_type ~= "incident.triggered" then return { ignored = event.event_type } end
local incident = event.data and event.data.id
if type(incident) ~= "string" then error("incident.triggered without data.id", 0) end

-- the marker makes the write idempotent: look for it before adding the note
local marker = ("[vsrun webhook %s]"):format(event.id)
for note in pd.list_incident_notes(incident) do
  if note.content:find(marker, 1, true) then return { incident = incident, noted = false } end
end
pd.create_incident_note(incident, ("%s Triggered: %s. Triage has started."):format(marker,
  event.data.title or "(untitled)"))
return { incident = incident, noted = true }
