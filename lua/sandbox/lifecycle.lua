-- The incident life cycle and the log entries each step writes, as PagerDuty does:
-- trigger (+ notify / assign), acknowledge, unacknowledge, resolve (with the resolution as
-- the entry's note), reopen, reassign, escalate, urgency change, annotate (notes).
--
-- An actor is { user = user | service = service, channel = { type = ..., ... } }.
local M = {}

M.MAX_NOTES = 2000

-- PagerDuty's OpenAPI file spells the acknowledge entry `acknowledgement_log_entry`, but the
-- live API returns `acknowledge_log_entry` (docs/pagerduty-api.md §2.8): we follow the
-- live API, like most client code and test fixtures do.
M.ACK_TYPE = "acknowledge_log_entry"

local function agent_of(actor)
  if actor.user then return { type = "user", id = actor.user.id } end
  return { type = "service", id = actor.service.id }
end

local function actor_name(app, actor)
  if actor.user then return actor.user.name end
  return actor.service.name
end

local function names(app, user_ids)
  local out = {}
  for _, id in ipairs(user_ids) do out[#out + 1] = app.store.users[id].name end
  return table.concat(out, ", ")
end

-- channels that are just a type are shared, not copied into every entry (memory: a big
-- seeded store has four or five entries per incident)
local SIMPLE_CHANNELS = {}
local function channel_of(actor)
  local c = actor.channel
  if c == nil then c = { type = actor.user and "website" or "auto" } end
  if next(c, next(c)) == nil and c.type then
    local shared = SIMPLE_CHANNELS[c.type]
    if not shared then shared = { type = c.type } SIMPLE_CHANNELS[c.type] = shared end
    return shared
  end
  return c
end

-- writes one log entry for inc
local function log(app, inc, type_, actor, at, summary, extra)
  local store = app.store
  local id, seq = store:next_id("log_entry")
  local le = {
    id = id, seq = seq, type = type_, created_at = at, incident_id = inc.id,
    service_id = inc.service_id, team_ids = inc.team_ids,
    agent_type = actor.user and "user" or "service", agent_id = actor.user and actor.user.id or actor.service.id,
    channel = channel_of(actor), summary = summary,
  }
  if extra then for k, v in pairs(extra) do le[k] = v end end
  if app.bulk then
    local l = store.data.log_entries
    l[#l + 1] = le
  else
    store:add_log_entry(le)
  end
  inc.log_ids[#inc.log_ids + 1] = id
  inc.rev = (inc.rev or 0) + 1  -- invalidates its cached JSON (render.incident_json)
  return le
end
M.log = log

-- the user on call at `level` of policy `ep` at time `at` (weekly rotation through the rule)
function M.on_call(app, ep, level, at)
  local rule = ep.rules[level]
  if not rule or #rule.user_ids == 0 then return nil end
  return rule.user_ids[(at // 604800) % #rule.user_ids + 1]
end

local function notify(app, inc, at, user_ids)
  for _, uid in ipairs(user_ids) do
    local u = app.store.users[uid]
    local method = inc.urgency == "high" and "sms" or "email"
    local address
    for _, cm in ipairs(u.contact_methods) do
      if cm.type == method .. "_contact_method" then address = cm.address break end
    end
    -- the channel's notification object is built when rendered, from notify/address
    log(app, inc, "notify_log_entry", { service = app.store.services[inc.service_id], channel = { type = "auto" } },
      at, "Notified " .. u.name .. " by " .. method .. ".", { user_id = uid, notify = method, address = address })
  end
end

-- tells the app (webhooks.lua, through App:emit) that an incident changed
local function emit(app, event_type, inc, actor, at, note)
  if app.emit then app:emit(event_type, inc, actor, at, note) end
end

local function set_status(app, inc, status, actor, at)
  local old = inc.status
  inc.status = status
  inc.last_status_change_at = at
  inc.last_status_change_by = agent_of(actor)
  inc.updated_at = at
  if not app.bulk then app.store:status_changed(inc, old) end
end

local function assign(inc, user_ids, at, via)
  inc.assignments = {}
  for _, uid in ipairs(user_ids) do inc.assignments[#inc.assignments + 1] = { at = at, user_id = uid } end
  inc.assigned_via = via
end

-- assignments from the incident's escalation policy at its current level
local function assign_from_policy(app, inc, at)
  local ep = app.store.escalation_policies[inc.ep_id]
  local uid = M.on_call(app, ep, inc.escalation_level, at)
  assign(inc, uid and { uid } or {}, at, "escalation_policy")
  return uid and { uid } or {}
end

-- create(app, actor, { title, service, urgency, priority, incident_key, details,
--   assignee_ids, escalation_policy, incident_type, conference_bridge }, at) -> incident
function M.create(app, actor, f, at)
  local store = app.store
  local id, number = store:next_id("incident")
  local svc = f.service
  local inc = {
    id = id, number = number, title = f.title, created_at = at, updated_at = at,
    status = "triggered", incident_key = f.incident_key, service_id = svc.id,
    team_ids = svc.team_ids, urgency = f.urgency or "high", priority_id = f.priority and f.priority.id,
    ep_id = (f.escalation_policy or store.escalation_policies[svc.ep_id]).id, escalation_level = 1,
    assignments = {}, acks = {}, last_status_change_at = at, last_status_change_by = agent_of(actor),
    details = f.details, incident_type = f.incident_type or "incident_default",
    conference_bridge = f.conference_bridge, notes = {}, log_ids = {},
    alerts = actor.service and 1 or 0,
  }
  local trigger = log(app, inc, "trigger_log_entry", actor, at,
    actor.service and ("Triggered through " .. (actor.channel and actor.channel.type == "nagios" and "Nagios" or "the integration") .. ".")
      or ("Triggered through the API by " .. actor.user.name .. "."),
    nil)
  inc.first_trigger_id = trigger.id
  if f.assignee_ids and #f.assignee_ids > 0 then
    assign(inc, f.assignee_ids, at, "direct_assignment")
    local self_assigned = actor.user and #f.assignee_ids == 1 and f.assignee_ids[1] == actor.user.id
    log(app, inc, "assign_log_entry", actor, at, "Assigned to " .. names(app, f.assignee_ids) .. ".",
      { assignee_ids = f.assignee_ids })
    if self_assigned then
      -- assigning yourself creates it acknowledged, without a notification (docs/pagerduty-api.md §2.3)
      inc.status = "acknowledged"
      inc.acks = { { at = at, user_id = actor.user.id } }
      log(app, inc, M.ACK_TYPE, actor, at, "Acknowledged by " .. actor.user.name .. ".",
        { acknowledgement_timeout = svc.acknowledgement_timeout })
    else
      notify(app, inc, at, f.assignee_ids)
    end
  else
    notify(app, inc, at, assign_from_policy(app, inc, at))
  end
  if app.bulk then
    local l = store.data.incidents
    l[#l + 1] = inc
  else
    store:add_incident(inc)
  end
  emit(app, "incident.triggered", inc, actor, at)
  return inc
end

function M.acknowledge(app, inc, actor, at)
  if inc.status == "resolved" then return M.reopen(app, inc, actor, at, "acknowledged") end
  local uid = actor.user and actor.user.id
  set_status(app, inc, "acknowledged", actor, at)
  if uid then
    local found = false
    for _, a in ipairs(inc.acks) do if a.user_id == uid then a.at = at found = true end end
    if not found then inc.acks[#inc.acks + 1] = { at = at, user_id = uid } end
  end
  log(app, inc, M.ACK_TYPE, actor, at, "Acknowledged by " .. actor_name(app, actor) .. ".",
    { acknowledgement_timeout = app.store.services[inc.service_id].acknowledgement_timeout })
  emit(app, "incident.acknowledged", inc, actor, at)
end

function M.unacknowledge(app, inc, actor, at)
  set_status(app, inc, "triggered", actor, at)
  inc.acks = {}
  log(app, inc, "unacknowledge_log_entry", actor, at, "Unacknowledged by " .. actor_name(app, actor) .. ".")
end

-- resolution: stored as the note of the resolve log entry (docs/pagerduty-api.md §2.4)
function M.resolve(app, inc, actor, at, resolution)
  set_status(app, inc, "resolved", actor, at)
  inc.resolved_at = at
  inc.assignments = {}
  inc.acks = {}
  log(app, inc, "resolve_log_entry", actor, at, "Resolved by " .. actor_name(app, actor) .. ".",
    { note = resolution })
  emit(app, "incident.resolved", inc, actor, at)
end

-- a resolved incident set to triggered or acknowledged (documented since 2025-09-18):
-- triggered → assigned from the request's assignments/policy or the current policy;
-- acknowledged → assigned to the caller
function M.reopen(app, inc, actor, at, status, assignee_ids)
  inc.resolved_at = nil
  inc.escalation_level = 1
  local who = actor_name(app, actor)
  if status == "acknowledged" and actor.user then
    set_status(app, inc, "acknowledged", actor, at)
    assign(inc, { actor.user.id }, at, "direct_assignment")
    inc.acks = { { at = at, user_id = actor.user.id } }
    log(app, inc, "assign_log_entry", actor, at, "Reopened and assigned to " .. who .. ".", { assignee_ids = { actor.user.id } })
    log(app, inc, M.ACK_TYPE, actor, at, "Acknowledged by " .. who .. ".",
      { acknowledgement_timeout = app.store.services[inc.service_id].acknowledgement_timeout })
    return
  end
  set_status(app, inc, "triggered", actor, at)
  inc.acks = {}
  local uids
  if assignee_ids and #assignee_ids > 0 then
    assign(inc, assignee_ids, at, "direct_assignment")
    uids = assignee_ids
  else
    uids = assign_from_policy(app, inc, at)
  end
  log(app, inc, "assign_log_entry", actor, at, "Reopened by " .. who .. " and assigned to " .. names(app, uids) .. ".",
    { assignee_ids = uids })
  notify(app, inc, at, uids)
end

-- reassign to users; an acknowledged incident goes back to triggered
function M.reassign(app, inc, actor, at, user_ids)
  if inc.status == "acknowledged" then
    set_status(app, inc, "triggered", actor, at)
    inc.acks = {}
  end
  assign(inc, user_ids, at, "direct_assignment")
  inc.updated_at = at
  log(app, inc, "assign_log_entry", actor, at, "Assigned to " .. names(app, user_ids) .. " by " .. actor_name(app, actor) .. ".",
    { assignee_ids = user_ids })
  notify(app, inc, at, user_ids)
end

function M.set_policy(app, inc, actor, at, ep)
  inc.ep_id = ep.id
  inc.escalation_level = 1
  inc.updated_at = at
  if inc.status == "resolved" then return end
  local uids = assign_from_policy(app, inc, at)
  log(app, inc, "assign_log_entry", actor, at, "Reassigned to " .. ep.name .. " by " .. actor_name(app, actor) .. ".",
    { assignee_ids = uids })
  notify(app, inc, at, uids)
end

function M.escalate(app, inc, actor, at, level)
  inc.escalation_level = level
  inc.updated_at = at
  if inc.status == "acknowledged" then
    set_status(app, inc, "triggered", actor, at)
    inc.acks = {}
  end
  local uids = assign_from_policy(app, inc, at)
  log(app, inc, "escalate_log_entry", actor, at, "Escalated to level " .. level .. " by " .. actor_name(app, actor) .. ".",
    { assignee_ids = uids })
  notify(app, inc, at, uids)
end

function M.set_urgency(app, inc, actor, at, urgency)
  if inc.urgency == urgency then return end
  inc.urgency = urgency
  inc.updated_at = at
  log(app, inc, "urgency_change_log_entry", actor, at, "Urgency changed to " .. urgency .. " by " .. actor_name(app, actor) .. ".")
end

function M.move_service(app, inc, actor, at, svc)
  local old = inc.service_id
  if old == svc.id then return end
  inc.service_id = svc.id
  inc.team_ids = svc.team_ids
  inc.updated_at = at
  if not app.bulk then app.store:service_changed(inc, old) end
  M.set_policy(app, inc, actor, at, app.store.escalation_policies[svc.ep_id])
end

function M.add_note(app, inc, actor, content, at)
  local id = app.store:next_id("note")
  local note = { id = id, user_id = actor.user and actor.user.id, service_id = actor.service and actor.service.id,
                 content = content, created_at = at, updated_at = at }
  inc.notes[#inc.notes + 1] = note
  inc.updated_at = at
  log(app, inc, "annotate_log_entry", { user = actor.user, service = actor.service, channel = { type = "note", summary = "The PagerDuty website or APIs" } },
    at, "Note added", { note = content })
  emit(app, "incident.annotated", inc, actor, at, note)
  return note
end

return M
