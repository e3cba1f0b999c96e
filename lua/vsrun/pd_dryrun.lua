-- --dry-run for lua/pagerduty.lua. host/pagerduty.c prints each write and does not send it;
-- here the write gets a placeholder answer shaped like PagerDuty's, so the next call of a
-- chain (a note on the incident just "created", a message naming the new assignee) runs on.
-- A created object's id is DRYRUN<n>: reads of such an id are answered from here, and
-- writes to it are printed like any other.
local core = require "vsrun.core"
local json = require "json"
local ptime = require "vsrun.time"

local M = {}

local objects = {}   -- placeholder id -> incident (with .notes)
local count = 0

local function array(t) return setmetatable(t or {}, json.array_mt) end

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return setmetatable(out, getmetatable(v))
end

local function now() return ptime.format(core.now()) end

local function new_id()
  count = count + 1
  return "DRYRUN" .. count
end

function M.is_placeholder(id)
  return type(id) == "string" and objects[id] ~= nil
end

local function assignment(ref)
  return { at = now(), assignee = { id = ref.id, type = "user_reference" } }
end

-- create_incident: the incident PagerDuty would return, from the fields sent.
function M.incident(sent)
  local t = now()
  local id = new_id()
  local inc = {
    -- no number or page exists yet: 0 and a URL under .invalid (a name that never resolves)
    id = id, type = "incident", dry_run = true, incident_number = 0,
    html_url = "https://dry-run.invalid/incidents/" .. id,
    title = sent.title, summary = sent.title, status = "triggered", urgency = sent.urgency or "high",
    incident_key = sent.incident_key, service = sent.service, priority = sent.priority,
    escalation_policy = sent.escalation_policy, incident_type = sent.incident_type,
    conference_bridge = sent.conference_bridge, body = sent.body,
    created_at = t, updated_at = t, last_status_change_at = t,
    -- an explicit assignee is assigned; otherwise the escalation policy would pick someone
    -- vsrun cannot know without a write, so the list stays empty
    assignments = array(), acknowledgements = array(),
  }
  for _, a in ipairs(sent.assignments or {}) do inc.assignments[#inc.assignments + 1] = assignment(a.assignee) end
  objects[inc.id] = inc
  inc.notes = array()
  local out = copy(inc)
  out.notes = nil
  return out
end

-- update_incident: `base` (the placeholder, or the real incident as read now) with the
-- fields sent applied the way PagerDuty applies them.
function M.update(id, base, sent)
  local inc = objects[id] or copy(base)
  local t = now()
  for _, k in ipairs { "title", "urgency", "priority", "escalation_policy", "service",
                       "conference_bridge", "incident_type", "escalation_level", "resolution" } do
    if sent[k] ~= nil then inc[k] = copy(sent[k]) end
  end
  if type(inc.priority) == "string" then inc.priority = { summary = inc.priority, type = "priority_reference" } end
  if sent.title then inc.summary = sent.title end
  if sent.assignments then
    inc.assignments = array()
    for _, a in ipairs(sent.assignments) do inc.assignments[#inc.assignments + 1] = assignment(a.assignee) end
  end
  if sent.status and sent.status ~= inc.status then
    inc.status = sent.status
    inc.last_status_change_at = t
    if sent.status == "acknowledged" then
      inc.acknowledgements = inc.acknowledgements or array()
      inc.acknowledgements[#inc.acknowledgements + 1] = { at = t }
    elseif sent.status == "resolved" then
      inc.resolved_at = t
      inc.assignments = array()      -- PagerDuty clears assignments on resolve
    end
  end
  inc.updated_at = t
  inc.dry_run = true
  local out = copy(inc)
  out.notes = nil
  return out
end

-- create_incident_note: the note PagerDuty would return.
function M.note(incident_id, content)
  local note = { id = new_id(), type = "note", dry_run = true, content = content, created_at = now(),
                 channel = { summary = "The PagerDuty REST API" } }
  local inc = objects[incident_id]
  if inc then inc.notes[#inc.notes + 1] = note end
  return copy(note)
end

-- get_incident of a placeholder: a copy (nil for any other id)
function M.get(id)
  local inc = objects[id]
  if not inc then return nil end
  local out = copy(inc)
  out.notes = nil
  return out
end

-- list_incident_notes of a placeholder
function M.notes(id)
  return copy(objects[id].notes)
end

return M
