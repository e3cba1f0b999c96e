-- stale_acknowledged.lua: find incidents acknowledged too long ago and act on them.
--
-- An acknowledged incident that nobody resolves for hours is usually forgotten. This finds
-- incidents acknowledged more than `hours` ago, adds a note, and (per `action`) re-triggers
-- them so they page again, or escalates them to the next escalation level.
--
-- Inputs:
--   hours     how long an acknowledgement may last (default 4)
--   action    "note" (default), "retrigger" or "escalate"
--   level     escalation level for action=escalate (default 2)
--   services  limit to these service IDs, comma-separated (default: all)
--   now       ISO 8601 time to measure from (default: the current time; handy for replays)
--
-- Run against the sandbox:
--   vsrun --sandbox scripts/examples/stale_acknowledged.lua hours=1 action=retrigger
local pd = require "pagerduty"
local vs = require "vsrun"
local time = require "vsrun.time"
local q = require "incident_query"

local input = ... or {}
local hours = tonumber(input.hours or 4)
if not hours or hours < 0 then error("input 'hours' must be a non-negative number", 0) end
local action = input.action or "note"
if action ~= "note" and action ~= "retrigger" and action ~= "escalate" then
  error("input 'action' must be note, retrigger or escalate", 0)
end
local level = tonumber(input.level or 2)

local now = input.now and assert(time.parse(input.now)) or vs.now()
local stale = {}
for inc in pd.list_incidents { statuses = { "acknowledged" }, service_ids = q.list(input.services), date_range = "all" } do
  local since = time.parse(inc.last_status_change_at or inc.created_at)
  local age = since and (now - since) / 3600
  if age and age >= hours then
    stale[#stale + 1] = { id = inc.id, number = inc.incident_number, title = inc.title,
                          hours = math.floor(age * 10 + 0.5) / 10 }
  end
end

-- act on them in parallel; each incident gets its note before any status change
vs.map(stale, function(s)
  pd.create_incident_note(s.id, ("Acknowledged for %.1f h without resolution (limit %g h); action: %s."):format(s.hours, hours, action))
  if action == "retrigger" then
    pd.update_incident(s.id, { status = "triggered" })
  elseif action == "escalate" then
    pd.update_incident(s.id, { escalation_level = level })
  end
end, { concurrency = 4 })

return { hours = hours, action = action, stale = stale }
