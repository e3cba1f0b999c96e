-- ai_summary.lua: ask an AI model to summarise an incident, and post the answer as a note.
--
-- Gathers the incident's log entries and notes into a timeline, sends it to an
-- OpenAI-compatible chat-completions endpoint, and adds the model's summary and next steps
-- to the incident as a note.
--
-- Inputs:
--   incident   incident ID or number (required)
--   ai_url     chat-completions URL (default: $AI_URL; under --sandbox the sandbox's own
--              deterministic endpoint)
--   model      model name (default "gpt-4o-mini")
-- The API key comes from the environment variable AI_API_KEY; it is sent only to ai_url and
-- never printed.
--
-- Run against the sandbox (offline):
--   vsrun --sandbox scripts/examples/ai_summary.lua incident=1
local pd = require "pagerduty"
local http = require "http"
local timeline = require "timeline"

local input = ... or {}
if not input.incident then error("input 'incident' (an incident ID or number) is required", 0) end

local ai_url = input.ai_url or (os.getenv and os.getenv("AI_URL"))
if not ai_url then
  local ok, sandbox = pcall(require, "vsrun.sandbox")
  if ok then ai_url = sandbox.url() .. "/v1/chat/completions" end
end
if not ai_url then error("no AI endpoint: give ai_url=... or set AI_URL", 0) end
local api_key = os.getenv and os.getenv("AI_API_KEY")

local incident = pd.get_incident(input.incident)
local events = timeline.build(pd.list_log_entries { incident_id = incident.id }:collect(),
                              pd.list_incident_notes(incident.id):collect())

local prompt = table.concat({
  ("Incident #%s: %s"):format(incident.incident_number, incident.title),
  ("Service: %s. Status: %s. Urgency: %s."):format(incident.service and incident.service.summary or "?",
    incident.status, incident.urgency),
  "Timeline:", timeline.render(events),
  "Summarise what happened in three sentences, then list up to three next steps.",
}, "\n")

local response = http.post(ai_url, {
  headers = api_key and { authorization = "Bearer " .. api_key } or nil,
  json = {
    model = input.model or "gpt-4o-mini",
    messages = {
      { role = "system", content = "You are an SRE assistant writing incident summaries." },
      { role = "user", content = prompt },
    },
  },
  timeout = 60,
})
if response.status ~= 200 then
  error(("AI endpoint answered HTTP %d: %s"):format(response.status, response.body:sub(1, 200)), 0)
end
local answer = response:json().choices[1].message.content

local note = pd.create_incident_note(incident.id, "AI summary:\n" .. answer)
return { incident = incident.id, note = note.id, events = #events, summary = answer }
