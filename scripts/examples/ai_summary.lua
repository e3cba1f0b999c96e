-- ai_summary.lua: on a PagerDuty incident.triggered webhook, ask an AI model to summarise the
-- incident and post the answer as a note. A `vsrun serve` pipeline; runs by hand too.
--
-- Gathers the incident's log entries and notes into a timeline, sends it to an
-- OpenAI-compatible chat-completions endpoint, and adds the model's summary and next steps
-- to the incident as a note, once per event (runs are at-least-once: a retried or
-- redelivered event finds its note and adds nothing).
--
-- Inputs:
--   payload    the webhook vsrun serve passes (its event.data.id is the incident), or
--   incident   an incident ID or number, for a run by hand
--   ai_url     chat-completions URL (default: $AI_URL, else OpenAI's; under --sandbox and in
--              tests the sandbox's own deterministic endpoint)
--   model      model name (default "gpt-4o-mini")
-- The API key is the named secret "openai", stored once with
--   vsrun secret set openai --origin https://api.openai.com
-- and attached by vsrun only to that origin: the script never sees it, and `ps`, logs and
-- the run's inputs never show it. Under --sandbox a stand-in bound to the sandbox is used.
--
-- Served with (PD_WEBHOOK_SECRET as in docs/serve.md):
--   return { routes = { pagerduty = { script = "ai_summary.lua", pagerduty = env "PD_WEBHOOK_SECRET",
--                                     strict = true, allow_net = ... } } }
-- By hand, against the sandbox (offline):
--   vsrun --sandbox scripts/examples/ai_summary.lua incident=1
local pd = require "pagerduty"
local http = require "http"
local timeline = require "timeline"

local input = ... or {}
local event = type(input.payload) == "table" and input.payload.event or nil
if event and event.event_type ~= "incident.triggered" then return { ignored = event.event_type } end
local incident_ref = input.incident or (event and type(event.data) == "table" and event.data.id)
if not incident_ref then error("input 'incident' (an incident ID or number) or an incident.triggered payload is required", 0) end

local ai_url = input.ai_url or (os.getenv and os.getenv("AI_URL"))
if not ai_url then
  local ok, sandbox = pcall(require, "vsrun.sandbox")
  ai_url = ok and sandbox.url() .. "/v1/chat/completions" or "https://api.openai.com/v1/chat/completions"
end

local incident = pd.get_incident(incident_ref)
local marker = event and ("[vsrun ai-summary %s]"):format(event.id) or nil
local notes = pd.list_incident_notes(incident.id):collect()
if marker then
  for _, note in ipairs(notes) do
    if note.content:find(marker, 1, true) then return { incident = incident.id, noted = false } end
  end
end
local events = timeline.build(pd.list_log_entries { incident_id = incident.id }:collect(), notes)

local prompt = table.concat({
  ("Incident #%s: %s"):format(incident.incident_number, incident.title),
  ("Service: %s. Status: %s. Urgency: %s."):format(incident.service and incident.service.summary or "?",
    incident.status, incident.urgency),
  "Timeline:", timeline.render(events),
  "Summarise what happened in three sentences, then list up to three next steps.",
}, "\n")

local response = http.post(ai_url, {
  auth = { bearer = "openai" },
  json = {
    model = input.model or "gpt-4o-mini",
    messages = {
      { role = "system", content = "You are an SRE assistant writing incident summaries." },
      { role = "user", content = prompt },
    },
  },
  timeout = 60,
  send_in_dry_run = true,   -- asking the model changes nothing; the note is the write
})
if response.status ~= 200 then
  error(("AI endpoint answered HTTP %d: %s"):format(response.status, response.body:sub(1, 200)), 0)
end
local answer = response:json().choices[1].message.content

local note = pd.create_incident_note(incident.id, (marker and marker .. " " or "") .. "AI summary:\n" .. answer)
return { incident = incident.id, note = note.id, events = #events, summary = answer, noted = true }
