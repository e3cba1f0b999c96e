-- timeline: an incident's log entries and notes as one ordered list of events.
--   local timeline = require "timeline"
--   local events = timeline.build(pd.list_log_entries{ incident_id = id }:collect(),
--                                 pd.list_incident_notes(id))
--   print(timeline.render(events))
--   local ack = timeline.first(events, "acknowledged")   -- nil if never acknowledged
-- Both spellings of the acknowledge entry type (acknowledge_log_entry, as the live API
-- sends, and acknowledgement_log_entry, as the OpenAPI file spells it) map to "acknowledged".
local time = require "vsrun.time"

local M = { _VERSION = "1.0.0" }

M.kinds = {
  trigger_log_entry = "triggered",
  acknowledge_log_entry = "acknowledged",
  acknowledgement_log_entry = "acknowledged",
  unacknowledge_log_entry = "unacknowledged",
  resolve_log_entry = "resolved",
  assign_log_entry = "assigned",
  delegate_log_entry = "reassigned",
  escalate_log_entry = "escalated",
  notify_log_entry = "notified",
  annotate_log_entry = "note",
  urgency_change_log_entry = "urgency changed",
  snooze_log_entry = "snoozed",
}

local function who(ref)
  return type(ref) == "table" and (ref.summary or ref.id) or "PagerDuty"
end

-- build(log_entries, notes) -> events { at = unix seconds, time = iso, kind, who, text }
-- When notes are given, annotate entries are left out (the note itself carries the text).
---@class timeline.Event
---@field at number unix seconds
---@field time string ISO 8601 time, as PagerDuty sent it
---@field kind string "triggered", "acknowledged", "note", ...
---@field who? string
---@field text? string

---@param log_entries table[] log entries of one incident
---@param notes? table[] its notes
---@return timeline.Event[] events oldest first
function M.build(log_entries, notes)
  local events = {}
  for _, e in ipairs(log_entries or {}) do
    local kind = M.kinds[e.type] or (e.type or "event"):gsub("_log_entry$", "")
    if not (notes and kind == "note") then
      events[#events + 1] = {
        at = time.parse(e.created_at) or 0, time = e.created_at, kind = kind,
        who = who(e.agent), text = e.note or e.summary or "",
      }
    end
  end
  for _, n in ipairs(notes or {}) do
    events[#events + 1] = {
      at = time.parse(n.created_at) or 0, time = n.created_at, kind = "note",
      who = who(n.user), text = n.content or "",
    }
  end
  for i, ev in ipairs(events) do ev.order = i end
  table.sort(events, function(a, b)
    if a.at ~= b.at then return a.at < b.at end
    return a.order < b.order
  end)
  for _, ev in ipairs(events) do ev.order = nil end
  return events
end

-- first(events, kind) -> the earliest event of that kind, or nil
---@param events timeline.Event[]
---@param kind string
---@return timeline.Event|nil
function M.first(events, kind)
  for _, ev in ipairs(events) do
    if ev.kind == kind then return ev end
  end
end

-- render(events [, max_text]) -> one line per event
---@param events timeline.Event[]
---@param max_text? integer longest text shown per event
---@return string
function M.render(events, max_text)
  max_text = max_text or 200
  local lines = {}
  for _, ev in ipairs(events) do
    local text = ev.text:gsub("%s+", " ")
    if #text > max_text then text = text:sub(1, max_text - 3) .. "..." end
    lines[#lines + 1] = string.format("%s  %-14s %-24s %s", ev.time or "?", ev.kind, ev.who, text)
  end
  return table.concat(lines, "\n")
end

return M
