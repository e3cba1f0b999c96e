-- Turns stored records into PagerDuty's JSON shapes: references (type/summary/self/
-- html_url), full objects when include[] asks for them, times in the requested zone.
-- ctx = { app, base = "http://host:port", zone = zone|false, include = { name = true } }
local json = require "json"
local times = require "sandbox.times"
local lifecycle = require "sandbox.lifecycle"

local M = {}
local null = json.null

local function arr(t) return setmetatable(t or {}, json.array_mt) end
M.arr = arr

local function ts(ctx, t) if t == nil then return null end return times.format(t, ctx.zone) end

local PATHS = {
  user = "users", service = "services", team = "teams", escalation_policy = "escalation_policies",
  priority = "priorities", incident = "incidents", log_entry = "log_entries",
}
local WEB = {
  user = "users", service = "service-directory", team = "teams", escalation_policy = "escalation_policies",
  incident = "incidents",
}

local function self_url(ctx, kind, id) return ctx.base .. "/" .. PATHS[kind] .. "/" .. id end
local function html_url(ctx, kind, id)
  if not WEB[kind] then return null end
  return ctx.base .. "/ui/" .. WEB[kind] .. "/" .. id
end

function M.ref(ctx, kind, id, summary, type_)
  return { id = id, type = type_ or (kind .. "_reference"), summary = summary,
           self = self_url(ctx, kind, id), html_url = html_url(ctx, kind, id) }
end

local function user_ref(ctx, uid) local u = ctx.app.store.users[uid] return M.ref(ctx, "user", uid, u.name) end
local function service_ref(ctx, sid) local s = ctx.app.store.services[sid] return M.ref(ctx, "service", sid, s.name) end
local function team_ref(ctx, tid) local t = ctx.app.store.teams[tid] return M.ref(ctx, "team", tid, t.name) end
local function ep_ref(ctx, eid) local e = ctx.app.store.escalation_policies[eid] return M.ref(ctx, "escalation_policy", eid, e.name) end

function M.team(ctx, tid)
  local t = ctx.app.store.teams[tid]
  return { id = t.id, type = "team", summary = t.name, name = t.name, description = t.description,
           default_role = "manager", self = self_url(ctx, "team", t.id), html_url = html_url(ctx, "team", t.id) }
end

local function teams(ctx, list, full)
  local out = arr()
  for _, tid in ipairs(list or {}) do out[#out + 1] = full and M.team(ctx, tid) or team_ref(ctx, tid) end
  return out
end

function M.escalation_policy(ctx, eid)
  local e = ctx.app.store.escalation_policies[eid]
  local rules = arr()
  for _, r in ipairs(e.rules) do
    local targets = arr()
    for _, uid in ipairs(r.user_ids) do targets[#targets + 1] = user_ref(ctx, uid) end
    rules[#rules + 1] = { id = r.id, escalation_delay_in_minutes = r.escalation_delay_in_minutes, targets = targets }
  end
  local services = arr()
  for _, s in ipairs(ctx.app.store.data.services) do
    if s.ep_id == eid then services[#services + 1] = service_ref(ctx, s.id) end
  end
  return { id = e.id, type = "escalation_policy", summary = e.name, name = e.name, num_loops = e.num_loops,
           on_call_handoff_notifications = "if_has_services", escalation_rules = rules, services = services,
           teams = teams(ctx, e.team_ids), self = self_url(ctx, "escalation_policy", e.id),
           html_url = html_url(ctx, "escalation_policy", e.id) }
end

function M.service(ctx, sid)
  local s = ctx.app.store.services[sid]
  return { id = s.id, type = "service", summary = s.name, name = s.name, description = s.description,
           auto_resolve_timeout = s.auto_resolve_timeout, acknowledgement_timeout = s.acknowledgement_timeout,
           created_at = ts(ctx, s.created_at), status = "active", escalation_policy = ep_ref(ctx, s.ep_id),
           teams = teams(ctx, s.team_ids), integrations = arr(), alert_creation = "create_alerts_and_incidents",
           incident_urgency_rule = { type = "constant", urgency = "high" },
           self = self_url(ctx, "service", s.id), html_url = html_url(ctx, "service", s.id) }
end

function M.priority(ctx, pid)
  local p = ctx.app.store.priorities[pid]
  return { id = p.id, type = "priority", summary = p.name, name = p.name, description = p.description,
           color = p.color, self = self_url(ctx, "priority", p.id), html_url = null }
end

local function contact_method(ctx, u, cm, full)
  local r = { id = cm.id, type = full and cm.type or (cm.type .. "_reference"), summary = cm.label,
              self = ctx.base .. "/users/" .. u.id .. "/contact_methods/" .. cm.id, html_url = null }
  if full then
    r.label, r.address = cm.label, cm.address
    if cm.country_code then r.country_code = cm.country_code end
    if cm.type == "email_contact_method" then r.send_short_email = false end
  end
  return r
end

function M.user(ctx, uid, include)
  local store = ctx.app.store
  local u = store.users[uid]
  include = include or {}
  local cms, rules = arr(), arr()
  local cm_by_id = {}
  for _, cm in ipairs(u.contact_methods) do
    cm_by_id[cm.id] = cm
    cms[#cms + 1] = contact_method(ctx, u, cm, include.contact_methods)
  end
  for _, nr in ipairs(u.notification_rules) do
    local r = { id = nr.id, type = include.notification_rules and "assignment_notification_rule"
                  or "assignment_notification_rule_reference",
                summary = nr.start_delay_in_minutes .. " minutes: channel " .. nr.contact_method_id,
                self = ctx.base .. "/users/" .. u.id .. "/notification_rules/" .. nr.id, html_url = null }
    if include.notification_rules then
      r.start_delay_in_minutes, r.urgency = nr.start_delay_in_minutes, nr.urgency
      r.contact_method = contact_method(ctx, u, cm_by_id[nr.contact_method_id], false)
    end
    rules[#rules + 1] = r
  end
  local out = {
    id = u.id, type = "user", summary = u.name, name = u.name, email = u.email, time_zone = u.time_zone,
    color = u.color, role = u.role, description = u.description, job_title = u.job_title,
    avatar_url = "https://secure.gravatar.com/avatar/" .. u.id .. ".png?d=mm&r=PG",
    invitation_sent = false, created_via_sso = false, billed = true,
    teams = teams(ctx, u.team_ids, include.teams), contact_methods = cms, notification_rules = rules,
    self = self_url(ctx, "user", u.id), html_url = html_url(ctx, "user", u.id),
  }
  if include.subdomains then out.subdomains = { "sandbox" } end  -- the account's, as the ID token's claim
  if include.calendar_urls then
    out.http_cal_url = ctx.base .. "/private/" .. u.id .. "/feed"
    out.web_cal_url = out.http_cal_url:gsub("^https?://", "webcal://")
  end
  return out
end

local function agent(ctx, a, full)
  if a.type == "user" then
    return full and M.user(ctx, a.id) or user_ref(ctx, a.id)
  end
  return full and M.service(ctx, a.id) or service_ref(ctx, a.id)
end

local function le_ref(ctx, le)
  return { id = le.id, type = le.type .. "_reference", summary = le.summary,
           self = ctx.base .. "/log_entries/" .. le.id .. "?incident_id=" .. le.incident_id,
           html_url = ctx.base .. "/ui/incidents/" .. le.incident_id .. "/log_entries/" .. le.id }
end

local function channel(ctx, le)
  local out = {}
  for k, v in pairs(le.channel) do out[k] = v end
  if le.notify then
    out.notification = { type = le.notify .. "_notification", status = "success", address = le.address,
                         started_at = ts(ctx, le.created_at) }
  end
  return out
end

function M.log_entry(ctx, le, include)
  include = include or {}
  local store = ctx.app.store
  local out = {
    id = le.id, type = le.type, summary = le.summary,
    self = ctx.base .. "/log_entries/" .. le.id,
    html_url = ctx.base .. "/ui/incidents/" .. le.incident_id .. "/log_entries/" .. le.id,
    created_at = ts(ctx, le.created_at), agent = agent(ctx, { type = le.agent_type, id = le.agent_id }),
    channel = channel(ctx, le),
    service = include.services and M.service(ctx, le.service_id) or service_ref(ctx, le.service_id),
    teams = teams(ctx, le.team_ids, include.teams), contexts = arr(),
  }
  local inc = store.incident[le.incident_id]
  if include.incidents then
    out.incident = M.incident(ctx, inc)
  else
    out.incident = M.ref(ctx, "incident", inc.id, "[#" .. inc.number .. "] " .. inc.title)
  end
  if le.note then out.note = le.note end
  if le.type == "trigger_log_entry" then out.event_details = { description = inc.title } end
  if le.assignee_ids then
    local a = arr()
    for _, uid in ipairs(le.assignee_ids) do a[#a + 1] = user_ref(ctx, uid) end
    out.assignees = a
  end
  if le.user_id then out.user = user_ref(ctx, le.user_id) end
  if le.type == lifecycle.ACK_TYPE then out.acknowledgement_timeout = le.acknowledgement_timeout or null end
  return out
end

local function pending_actions(ctx, inc)
  local store = ctx.app.store
  local now = ctx.app.now()
  local out = arr()
  if inc.status == "triggered" then
    local ep = store.escalation_policies[inc.ep_id]
    local rule = ep.rules[inc.escalation_level]
    if rule and ep.rules[inc.escalation_level + 1] then
      local at = inc.last_status_change_at + rule.escalation_delay_in_minutes * 60
      if at > now then out[#out + 1] = { type = "escalate", at = ts(ctx, at) } end
    end
  elseif inc.status == "acknowledged" then
    local svc = store.services[inc.service_id]
    local at = inc.last_status_change_at + svc.acknowledgement_timeout
    if at > now then out[#out + 1] = { type = "unacknowledge", at = ts(ctx, at) } end
  end
  if inc.status ~= "resolved" and inc.alerts > 0 then
    local svc = store.services[inc.service_id]
    local at = inc.created_at + svc.auto_resolve_timeout
    if at > now then out[#out + 1] = { type = "resolve", at = ts(ctx, at) } end
  end
  return out
end

function M.incident(ctx, inc, include)
  include = include or {}
  local store = ctx.app.store
  local assignments, acks = arr(), arr()
  for _, a in ipairs(inc.assignments) do
    assignments[#assignments + 1] = { at = ts(ctx, a.at),
      assignee = (include.assignees or include.users) and M.user(ctx, a.user_id) or user_ref(ctx, a.user_id) }
  end
  for _, a in ipairs(inc.acks) do
    acks[#acks + 1] = { at = ts(ctx, a.at),
      acknowledger = (include.acknowledgers or include.users) and M.user(ctx, a.user_id) or user_ref(ctx, a.user_id) }
  end
  local first = store.log_entry[inc.first_trigger_id]
  local alerts_open = inc.status ~= "resolved" and inc.alerts or 0
  local out = {
    id = inc.id, type = "incident", summary = "[#" .. inc.number .. "] " .. inc.title,
    self = self_url(ctx, "incident", inc.id), html_url = html_url(ctx, "incident", inc.id),
    incident_number = inc.number, title = inc.title, description = inc.title,
    created_at = ts(ctx, inc.created_at), updated_at = ts(ctx, inc.updated_at), status = inc.status,
    incident_key = inc.incident_key or null,
    service = include.services and M.service(ctx, inc.service_id) or service_ref(ctx, inc.service_id),
    assignments = assignments, assigned_via = inc.assigned_via,
    last_status_change_at = ts(ctx, inc.last_status_change_at),
    last_status_change_by = agent(ctx, inc.last_status_change_by, include.agents),
    resolved_at = ts(ctx, inc.resolved_at),
    first_trigger_log_entry = include.first_trigger_log_entries and M.log_entry(ctx, first) or le_ref(ctx, first),
    alert_counts = { all = inc.alerts, triggered = alerts_open, resolved = inc.alerts - alerts_open },
    is_mergeable = true, incident_type = { name = inc.incident_type },
    escalation_policy = include.escalation_policies and M.escalation_policy(ctx, inc.ep_id) or ep_ref(ctx, inc.ep_id),
    teams = teams(ctx, inc.team_ids, include.teams), pending_actions = pending_actions(ctx, inc),
    acknowledgements = acks, alert_grouping = null, resolve_reason = null,
    priority = inc.priority_id and M.priority(ctx, inc.priority_id) or null,
    incidents_responders = arr(), responder_requests = arr(), urgency = inc.urgency,
  }
  -- the Incident schema: body is returned only with include[]=body
  if include.body then out.body = { type = "incident_body", details = inc.details or null } end
  -- the sandbox account defines no custom fields, so an incident has none to show
  if include.custom_fields then out.custom_fields = arr() end
  if include.conference_bridge then
    out.conference_bridge = inc.conference_bridge or { conference_number = null, conference_url = null }
  end
  return out
end

-- The JSON text of an incident. Resolved incidents rendered without include[] or time_zone
-- do not change until something changes them (inc.rev), so their text is cached: most of a
-- big page's cost is building and encoding its objects. The cache is bounded.
local CACHE_MAX = 20000
function M.incident_json(ctx, inc, include)
  if next(include) ~= nil or ctx.zone or inc.status ~= "resolved" then
    return json.encode(M.incident(ctx, inc, include))
  end
  local app = ctx.app
  local cache = app.json_cache
  if not cache or app.json_cache_n >= CACHE_MAX then
    cache = setmetatable({}, { __mode = "k" })
    app.json_cache, app.json_cache_n = cache, 0
  end
  local key = ctx.base .. "|" .. (inc.rev or 0)
  local hit = cache[inc]
  if hit and hit.key == key then return hit.text end
  local text = json.encode(M.incident(ctx, inc, include))
  cache[inc] = { key = key, text = text }
  app.json_cache_n = app.json_cache_n + 1
  return text
end

function M.note(ctx, inc, n)
  local user
  if n.user_id then
    user = user_ref(ctx, n.user_id)
  else
    local s = ctx.app.store.services[n.service_id]
    user = { id = s.id, type = "bot_user_reference", summary = s.name, self = null, html_url = null }
  end
  return { id = n.id, user = user, channel = { summary = "The PagerDuty website or APIs" },
           content = n.content, created_at = ts(ctx, n.created_at), updated_at = ts(ctx, n.updated_at) }
end

return M
