-- create_from_alert.lua: turn a monitoring alert into a PagerDuty incident, once.
--
-- Reads an alert (JSON: stdin with --input-file -, or a file), maps its severity to an
-- urgency, and creates an incident with a stable incident_key derived from the alert, so
-- running it again for the same alert creates nothing new. Adds the alert's details as a
-- note on a newly created incident.
--
-- Inputs:
--   service     PagerDuty service ID (required)
--   alert       the alert object: { source, check, severity, summary, details, url } — or give
--               those fields at the top level of --input-file
--
-- Run against the sandbox:
--   echo '{"service":"P50NK5V","source":"db1","check":"disk","severity":"critical",
--          "summary":"Disk 97% full"}' |
--     vsrun --sandbox scripts/examples/create_from_alert.lua --input-file -
local pd = require "pagerduty"
local json = require "json"
local ensure_incident = require "ensure_incident"

local input = ... or {}
local alert = type(input.alert) == "table" and input.alert or input
if type(input.service) ~= "string" or input.service == "" then error("input 'service' (a service ID) is required", 0) end
for _, field in ipairs { "source", "check", "summary" } do
  if type(alert[field]) ~= "string" or alert[field] == "" then error("alert field '" .. field .. "' is required", 0) end
end

local urgency_for = { critical = "high", error = "high", major = "high", warning = "low", info = "low", minor = "low" }
local urgency = urgency_for[(alert.severity or "error"):lower()] or "high"

local incident, created = ensure_incident(pd, {
  title = ("[%s] %s: %s"):format(alert.source, alert.check, alert.summary),
  service = input.service,
  urgency = urgency,
  body = alert.details and (type(alert.details) == "string" and alert.details or json.encode(alert.details)) or alert.summary,
  incident_key = ("alert/%s/%s"):format(alert.source, alert.check),
})

if created then
  local lines = { "Alert details:", "source: " .. alert.source, "check: " .. alert.check,
                  "severity: " .. tostring(alert.severity or "unknown"), "summary: " .. alert.summary }
  if alert.url then lines[#lines + 1] = "link: " .. alert.url end
  pd.create_incident_note(incident.id, table.concat(lines, "\n"))
end

return { incident = incident.id, number = incident.incident_number, created = created,
         urgency = urgency, incident_key = incident.incident_key }
