-- report.lua: incidents of a period by service and urgency, with time to acknowledge and
-- time to resolve.
--
-- Reads every incident created in the period (past 10,000 too: the pagerduty module pages
-- by key) and the account's log entries for the same period (one paged listing,
-- not one request per incident), then computes per service and urgency: counts, median
-- and 90th-percentile minutes to first acknowledgement and to resolution.
--
-- Inputs:
--   days    the period ends now and starts this many days ago (default 30; at most 180)
--   since, until   ISO 8601 timestamps instead of days
--
-- Output: JSON on stdout; on a terminal, also a readable table on stderr.
-- Run against the sandbox with many incidents:
--   vsrun --sandbox --incidents 12000 scripts/examples/report.lua days=180
local pd = require "pagerduty"
local vs = require "vsrun"
local time = require "vsrun.time"

local input = ... or {}
local until_s = input["until"] or time.format(vs.now())
local since_s = input.since
if not since_s then
  local days = tonumber(input.days or 30)
  if not days or days <= 0 or days > 180 then error("input 'days' must be between 1 and 180", 0) end
  since_s = time.format(assert(time.parse(until_s)) - days * 86400)
end

-- incident id -> the little we need; grouped later
local incidents = {}
local count = 0
for inc in pd.list_incidents { since = since_s, ["until"] = until_s, sort_by = "created_at:asc" } do
  incidents[inc.id] = { service = inc.service and inc.service.summary or "?", urgency = inc.urgency,
                        created = time.parse(inc.created_at) }
  count = count + 1
end

-- first acknowledgement and resolution per incident, from the account's log entries
local ACK = { acknowledge_log_entry = true, acknowledgement_log_entry = true }
for e in pd.list_log_entries { since = since_s, ["until"] = until_s } do
  local inc = e.incident and incidents[e.incident.id]
  if inc then
    local at = time.parse(e.created_at)
    if ACK[e.type] and (not inc.acked or at < inc.acked) then inc.acked = at end
    if e.type == "resolve_log_entry" and (not inc.resolved or at < inc.resolved) then inc.resolved = at end
  end
end

local function percentile(values, p)
  if #values == 0 then return nil end
  table.sort(values)
  local i = math.max(1, math.ceil(p * #values))
  return math.floor(values[i] / 60 * 10 + 0.5) / 10
end

local groups = {}
for _, inc in pairs(incidents) do
  local key = inc.service .. "\0" .. tostring(inc.urgency)
  local g = groups[key] or { service = inc.service, urgency = inc.urgency, incidents = 0, tta = {}, ttr = {} }
  groups[key] = g
  g.incidents = g.incidents + 1
  if inc.acked then g.tta[#g.tta + 1] = inc.acked - inc.created end
  if inc.resolved then g.ttr[#g.ttr + 1] = inc.resolved - inc.created end
end

local rows = {}
for _, g in pairs(groups) do
  rows[#rows + 1] = {
    service = g.service, urgency = g.urgency, incidents = g.incidents,
    acknowledged = #g.tta, resolved = #g.ttr,
    tta_median_min = percentile(g.tta, 0.5), tta_p90_min = percentile(g.tta, 0.9),
    ttr_median_min = percentile(g.ttr, 0.5), ttr_p90_min = percentile(g.ttr, 0.9),
  }
end
table.sort(rows, function(a, b)
  if a.service ~= b.service then return a.service < b.service end
  return tostring(a.urgency) < tostring(b.urgency)
end)

-- on a terminal, a readable table on stderr; the JSON is the script's output either way
if vs.is_terminal("stderr") then
  local function fmt(v) return v and string.format("%.1f", v) or "-" end
  io.stderr:write(("%-28s %-7s %9s %10s %10s %10s %10s\n"):format("service", "urgency", "incidents",
    "tta med", "tta p90", "ttr med", "ttr p90"))
  for _, r in ipairs(rows) do
    io.stderr:write(("%-28s %-7s %9d %10s %10s %10s %10s\n"):format(r.service:sub(1, 28), tostring(r.urgency),
      r.incidents, fmt(r.tta_median_min), fmt(r.tta_p90_min), fmt(r.ttr_median_min), fmt(r.ttr_p90_min)))
  end
end

return { since = since_s, ["until"] = until_s, incidents = count, by_service_and_urgency = rows }
