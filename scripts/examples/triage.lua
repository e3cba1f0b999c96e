-- triage.lua: triage the triggered high-urgency incidents.
--
-- Lists triggered, high-urgency incidents of any age; fetches the assigned responders' details in
-- parallel; acknowledges the incidents on the services you choose; adds a note to each
-- acknowledged incident saying who was paged and why; returns a summary as JSON.
--
-- Inputs (name=value or --input-file):
--   ack_services  service IDs to acknowledge on, comma-separated, or "all" (default: none,
--                 so a first run only reports)
--   reason        text added to the note (default: "automated triage")
--   max           look at no more than this many incidents (default: all of them)
--
-- Run it against the built-in sandbox (no PagerDuty account needed):
--   vsrun --sandbox scripts/examples/triage.lua ack_services=all
-- Against your account: vsrun auth login, then drop --sandbox (try --dry-run first).
local pd = require "pagerduty"
local vs = require "vsrun"
local q = require "incident_query"
local json = require "json"

local input = ... or {}
local ack_on = q.id_set(input.ack_services)
local reason = input.reason or "automated triage"
local max = input.max and (math.tointeger(tonumber(input.max)) or error("max must be a whole number"))

-- 1. the incidents to look at: with open statuses only and no since/until, every open
--    incident, however old (not PagerDuty's one-month default window)
local incidents = pd.list_incidents {
  statuses = { "triggered" }, urgencies = { "high" }, sort_by = "created_at:asc",
}:collect(max)

-- 2. who is paged: every assignee once, fetched in parallel
local user_ids, seen = {}, {}
for _, inc in ipairs(incidents) do
  for _, a in ipairs(inc.assignments or {}) do
    local id = a.assignee and a.assignee.id
    if id and not seen[id] then seen[id] = true user_ids[#user_ids + 1] = id end
  end
end
local users = {}
for _, user in ipairs(vs.map(user_ids, pd.get_user, { concurrency = 8 })) do users[user.id] = user end

local function paged_names(inc)
  local names = {}
  for _, a in ipairs(inc.assignments or {}) do
    local u = a.assignee and users[a.assignee.id]
    names[#names + 1] = u and string.format("%s <%s>", u.name, u.email) or (a.assignee and a.assignee.summary) or "?"
  end
  return #names > 0 and table.concat(names, ", ") or "nobody (no assignee)"
end

-- 3. acknowledge where asked, and leave a note saying who was paged and why
local summary = { looked_at = #incidents, acknowledged = json.array(), left_triggered = json.array() }
for _, inc in ipairs(incidents) do
  local entry = { id = inc.id, number = inc.incident_number, title = inc.title,
                  service = inc.service and inc.service.summary, paged = paged_names(inc) }
  if q.matches(ack_on, inc.service and inc.service.id) then
    pd.acknowledge(inc.id)
    pd.create_incident_note(inc.id, string.format("Triage (%s): acknowledged; paged %s.", reason, entry.paged))
    table.insert(summary.acknowledged, entry)
  else
    table.insert(summary.left_triggered, entry)
  end
end

-- on a terminal, a readable line per incident; the JSON summary is the script's output
for _, e in ipairs(vs.is_terminal("stderr") and summary.acknowledged or {}) do io.stderr:write(("acknowledged #%s %s (%s)\n"):format(e.number, e.title, e.paged)) end
for _, e in ipairs(vs.is_terminal("stderr") and summary.left_triggered or {}) do io.stderr:write(("left         #%s %s (%s)\n"):format(e.number, e.title, e.paged)) end
return summary
