-- REST handlers: GET/POST /incidents, GET/PUT /incidents/{id}, GET/POST /incidents/{id}/notes.
local json = require "json"
local web = require "sandbox.web"
local listing = require "sandbox.listing"
local render = require "sandbox.render"
local lifecycle = require "sandbox.lifecycle"
local auth = require "sandbox.auth"

local M = {}
local null = json.null

-- include[] values: the getIncident enum, and `body`, which the Incident schema says is returned
-- only with include[]=body; listIncidents offers the same without custom_fields
local LIST_INCLUDES = { acknowledgers = true, agents = true, assignees = true, body = true, conference_bridge = true,
  escalation_policies = true, first_trigger_log_entries = true, priorities = true,
  services = true, teams = true, users = true }
local INCLUDES = setmetatable({ custom_fields = true }, { __index = LIST_INCLUDES })
local STATUSES = { triggered = true, acknowledged = true, resolved = true }
local URGENCIES = { high = true, low = true }
local SORT_FIELDS = { incident_number = true, created_at = true, resolved_at = true, urgency = true }

local function set_of(list) local s = {} for _, v in ipairs(list) do s[v] = true end return s end
local function present(v) return v ~= nil and v ~= null end

local function ctx_for(app, req, zone, include)
  return { app = app, base = app:base_url(req), zone = zone or false, include = include }
end

-- sort_by: "field[:asc|:desc][,field...]", at most 2 (docs/pagerduty-api.md §2.2)
local function parse_sort(query)
  local v = web.one(query, "sort_by")
  if v == nil or v == "" then return {} end
  local out = {}
  for item in v:gmatch("[^,]+") do
    local field, dir = item:match("^%s*([%w_]+)%s*:?%s*(%a*)%s*$")
    if not field or not SORT_FIELDS[field] or (dir ~= "" and dir ~= "asc" and dir ~= "desc") then
      return nil, web.invalid("sort_by has an invalid value: " .. item)
    end
    out[#out + 1] = { field = field, desc = dir == "desc" }
  end
  if #out > 2 then return nil, web.invalid("sort_by accepts at most 2 fields") end
  return out
end

local function sort_key(inc, field)
  if field == "urgency" then return inc.urgency end
  if field == "resolved_at" then return inc.resolved_at or math.huge end  -- unresolved last
  if field == "incident_number" then return inc.number end
  return inc.created_at
end

local function comparator(sorts)
  return function(a, b)
    for _, s in ipairs(sorts) do
      local x, y = sort_key(a, s.field), sort_key(b, s.field)
      if x ~= y then
        if s.desc then return x > y end
        return x < y
      end
    end
    return a.number < b.number
  end
end

function M.list(app, req)
  local q = req.query or {}
  local page, err = listing.page(q)
  if not page then return err end
  local since, till, werr = listing.window(app, q, { default = true, max_months = 6 })
  if werr then return werr end
  local zone, zerr = listing.zone(q)
  if zone == nil then return zerr end
  local sorts, serr = parse_sort(q)
  if not sorts then return serr end
  local include, ierr = listing.includes(q, LIST_INCLUDES)
  if not include then return ierr end
  local store = app.store

  local statuses = web.list(q, "statuses")
  for _, s in ipairs(statuses or {}) do
    if not STATUSES[s] then return web.invalid("Invalid status: " .. s) end
  end
  local urgencies = web.list(q, "urgencies")
  for _, u in ipairs(urgencies or {}) do
    if not URGENCIES[u] then return web.invalid("Invalid urgency: " .. u) end
  end
  local service_ids, team_ids, user_ids = web.list(q, "service_ids"), web.list(q, "team_ids"), web.list(q, "user_ids")
  local key = web.one(q, "incident_key")
  if key == "" then key = nil end

  -- the predicate: values ORed within one filter, filters ANDed
  local st = statuses and #statuses > 0 and set_of(statuses)
  local ur = urgencies and #urgencies > 0 and set_of(urgencies)
  local sv = service_ids and #service_ids > 0 and set_of(service_ids)
  local tm = team_ids and #team_ids > 0 and set_of(team_ids)
  local us = user_ids and #user_ids > 0 and set_of(user_ids)
  local checks = {}
  if st then checks[#checks + 1] = function(i) return st[i.status] end end
  if ur then checks[#checks + 1] = function(i) return ur[i.urgency] end end
  if sv then checks[#checks + 1] = function(i) return sv[i.service_id] end end
  if key then checks[#checks + 1] = function(i) return i.incident_key == key end end
  if tm then checks[#checks + 1] = function(i)
    for _, t in ipairs(i.team_ids) do if tm[t] then return true end end
    return false
  end end
  if us then checks[#checks + 1] = function(i)
    -- only triggered and acknowledged incidents have assignees (docs/pagerduty-api.md §2.2)
    if i.status == "resolved" then return false end
    for _, a in ipairs(i.assignments) do if us[a.user_id] then return true end end
    return false
  end end

  -- the smallest index that holds every possible match
  local sources, covered = { store.data.incidents }, {}
  if key then
    sources = { store.by_key[key] or {} }
    covered.key = true
  elseif us or (st and not st.resolved) then
    sources = { store.open }
  elseif sv and #service_ids <= 4 then
    sources = {}
    for _, id in ipairs(service_ids) do
      if store.by_service[id] then sources[#sources + 1] = store.by_service[id] end
    end
    covered.service = #sources == 1
  end
  local match
  if #checks > 0 then
    match = function(i)
      for k = 1, #checks do if not checks[k](i) then return false end end
      return true
    end
    if #checks == 1 and ((covered.key and key) or (covered.service and sv)) then match = nil end
  end

  local order, sort = sorts[1], nil
  local desc = false
  if order then
    if order.field == "created_at" or order.field == "incident_number" then
      desc = order.desc  -- creation order is incident_number order
    else
      sort = comparator(sorts)
    end
  end
  local items, more, total = listing.run { sources = sources, since = since, till = till, desc = desc,
    match = match, page = page, sort = sort }
  local ctx = ctx_for(app, req, zone, include)
  local parts = {}
  for i, inc in ipairs(items) do parts[i] = render.incident_json(ctx, inc, include) end
  -- assembled by hand around the incidents' (possibly cached) JSON texts
  local body = '{"incidents":[' .. table.concat(parts, ",") .. '],"limit":' .. page.limit ..
    ',"more":' .. tostring(more) .. ',"offset":' .. page.offset ..
    ',"total":' .. (total == nil and "null" or tostring(total)) .. '}'
  return { status = 200, headers = { ["content-type"] = web.JSON }, body = body }
end

-- only getIncident documents lookup by incident number (by_number); the others take the ID
local function find(app, id, by_number)
  local inc = by_number and app.store:find_incident(id) or app.store.incident[id]
  if not inc then return nil, web.error(404, 2100, "Not Found", { "Incident not found" }) end
  return inc
end

function M.get(app, req, id)
  local inc, err = find(app, id, true)
  if not inc then return err end
  local include, ierr = listing.includes(req.query or {}, INCLUDES)
  if not include then return ierr end
  return { status = 200, headers = { ["content-type"] = web.JSON },
           body = '{"incident":' .. render.incident_json(ctx_for(app, req, false, include), inc, include) .. '}' }
end

local function ref_id(v)
  if type(v) == "table" and type(v.id) == "string" then return v.id end
  return nil
end

-- the user IDs of an assignments array, or nil + PagerDuty's 400 for an unknown user
local function assignee_ids_of(store, assignments)
  local ids = {}
  for _, a in ipairs(assignments) do
    local uid = type(a) == "table" and ref_id(a.assignee)
    if not uid or not store.users[uid] then
      return nil, web.error(400, 1007, "Assigned To User Not Found", { "Assignee not found" })
    end
    ids[#ids + 1] = uid
  end
  return ids
end

-- the acting user of a write, if their role may make it (`what`: create, update, note)
local function actor_for(app, cred, req, channel, what)
  local user, err = auth.actor_user(app, cred, req)
  if not user then return nil, err end
  local denied = auth.require_role(cred, user, what)
  if denied then return nil, denied end
  return { user = user, channel = channel }
end

function M.create(app, req, cred)
  local body, berr = web.decode_body(req)
  if not body then return web.invalid(berr) end
  local b = body.incident
  if type(b) ~= "table" then return web.invalid("incident is required") end
  local errs = {}
  if b.type ~= "incident" then errs[#errs + 1] = "incident.type must be \"incident\"" end
  if type(b.title) ~= "string" or b.title:match("^%s*$") then errs[#errs + 1] = "incident.title is required" end
  if type(b.title) == "string" and #b.title > 1024 then errs[#errs + 1] = "incident.title is too long (max 1024)" end
  local store = app.store
  local svc
  if not ref_id(b.service) then
    errs[#errs + 1] = "incident.service is required"
  else
    svc = store.services[b.service.id]
    if not svc then errs[#errs + 1] = "Service not found: " .. b.service.id end
  end
  if present(b.urgency) and not URGENCIES[b.urgency] then errs[#errs + 1] = "incident.urgency must be high or low" end
  if #errs > 0 then return web.invalid(errs) end
  local priority
  if present(b.priority) then
    priority = ref_id(b.priority) and store.priorities[b.priority.id]
    if not priority then return web.error(400, 1020, "Invalid Priority", { "Priority not found" }) end
  end
  local assignee_ids, ep
  if present(b.assignments) then
    if type(b.assignments) ~= "table" then return web.invalid("incident.assignments must be an array") end
    if present(b.escalation_policy) then
      return web.invalid("Incident cannot have both an escalation_policy and assignments")
    end
    if #b.assignments > 1 then return web.invalid("Only one assignee is supported when creating an incident") end
    local err
    assignee_ids, err = assignee_ids_of(store, b.assignments)
    if not assignee_ids then return err end
  end
  if present(b.escalation_policy) then
    ep = ref_id(b.escalation_policy) and store.escalation_policies[b.escalation_policy.id]
    if not ep then return web.error(400, 1014, "Escalation Policy Not Found", { "Escalation policy not found" }) end
  end
  local details
  if present(b.body) then
    if type(b.body) ~= "table" then return web.invalid("incident.body must be an object") end
    local d = b.body.details
    if type(d) == "string" then details = d
    elseif type(d) == "table" then details = json.encode(d)  -- the live API keeps details as text
    elseif present(d) then return web.invalid("incident.body.details must be a string") end
  end
  local key = present(b.incident_key) and tostring(b.incident_key) or nil
  if key == "" then key = nil end
  if key and store:open_with_key(svc.id, key) then
    return web.error(400, 2002, "Arguments Caused Error", { "Open incident with matching dedup key already exists on this service" })
  end
  local actor, aerr = actor_for(app, cred, req,
    { type = "web_trigger", summary = b.title, subject = b.title, details = details }, "create")
  if not actor then return aerr end
  local cb
  if type(b.conference_bridge) == "table" then
    cb = { conference_number = b.conference_bridge.conference_number, conference_url = b.conference_bridge.conference_url }
  end
  local inc = lifecycle.create(app, actor, {
    title = b.title, service = svc, urgency = present(b.urgency) and b.urgency or nil, priority = priority,
    incident_key = key, details = details, assignee_ids = assignee_ids, escalation_policy = ep,
    incident_type = type(b.incident_type) == "table" and type(b.incident_type.name) == "string" and b.incident_type.name or nil,
    conference_bridge = cb,
  }, app.now())
  app.dirty = true
  return web.json(201, { incident = render.incident(ctx_for(app, req, false, {}), inc, {}) })
end

function M.update(app, req, cred, id)
  local inc, ferr = find(app, id)
  if not inc then return ferr end
  local body, berr = web.decode_body(req)
  if not body then return web.invalid(berr) end
  local b = body.incident
  if type(b) ~= "table" then return web.invalid("incident is required") end
  if b.type ~= "incident" and b.type ~= "incident_reference" then
    return web.invalid("incident.type must be \"incident\" or \"incident_reference\"")
  end
  local store = app.store
  if present(b.status) and not STATUSES[b.status] then
    return web.error(400, 1003, "Invalid Status Provided", { "status must be triggered, acknowledged or resolved" })
  end
  if present(b.urgency) and not URGENCIES[b.urgency] then return web.invalid("incident.urgency must be high or low") end
  if present(b.title) and (type(b.title) ~= "string" or b.title:match("^%s*$")) then
    return web.invalid("incident.title must be a non-empty string")
  end
  local itype
  if present(b.incident_type) then
    itype = type(b.incident_type) == "table" and b.incident_type.name
    if type(itype) ~= "string" or itype == "" then return web.invalid("incident.incident_type.name must be a non-empty string") end
  end
  -- a second acknowledge or resolve is refused with the error table's code, and nothing in the
  -- request is applied (PagerDuty does not document it; the pagerduty module takes either answer)
  if b.status == "acknowledged" and inc.status == "acknowledged" then
    return web.error(400, 1002, "Incident Already Acknowledged", { "The incident is already acknowledged" })
  end
  if b.status == "resolved" and inc.status == "resolved" then
    return web.error(400, 1001, "Incident Already Resolved", { "The incident is already resolved" })
  end
  local priority
  if present(b.priority) then
    -- by reference, or a name: the highest-ranked priority with that name (docs/pagerduty-api.md §2.4)
    if type(b.priority) == "string" then priority = store:priority_by_name(b.priority)
    else priority = ref_id(b.priority) and store.priorities[b.priority.id] end
    if not priority then return web.error(400, 1020, "Invalid Priority", { "Priority not found" }) end
  end
  local svc
  if present(b.service) then
    svc = ref_id(b.service) and store.services[b.service.id]
    if not svc then return web.invalid("Service not found") end
  end
  local ep
  if present(b.escalation_policy) then
    ep = ref_id(b.escalation_policy) and store.escalation_policies[b.escalation_policy.id]
    if not ep then return web.error(400, 1014, "Escalation Policy Not Found", { "Escalation policy not found" }) end
  end
  local assignee_ids
  if present(b.assignments) then
    if type(b.assignments) ~= "table" or #b.assignments == 0 then return web.invalid("incident.assignments must be a non-empty array") end
    local err
    assignee_ids, err = assignee_ids_of(store, b.assignments)
    if not assignee_ids then return err end
  end
  local level
  if present(b.escalation_level) then
    if math.type(b.escalation_level) == nil then return web.invalid("incident.escalation_level must be an integer") end
    level = math.tointeger(b.escalation_level)
    local rules = store.escalation_policies[(ep or store.escalation_policies[inc.ep_id]).id].rules
    if not level or level < 1 or level > #rules then
      return web.error(400, 1006, "Cannot Escalate", { "escalation_level must be between 1 and " .. #rules })
    end
  end
  local reopening = inc.status == "resolved" and (b.status == "triggered" or b.status == "acknowledged")
  if inc.status == "resolved" and not reopening and (assignee_ids or level or ep) then
    return web.error(400, 1001, "Incident Already Resolved", { "A resolved incident cannot be reassigned or escalated" })
  end
  local actor, aerr = actor_for(app, cred, req, { type = "website" }, "update")
  if not actor then return aerr end

  local now = app.now()
  if present(b.title) and b.title ~= inc.title then inc.title = b.title inc.updated_at = now end
  if priority and priority.id ~= inc.priority_id then inc.priority_id = priority.id inc.updated_at = now end
  if itype and itype ~= inc.incident_type then inc.incident_type = itype inc.updated_at = now end
  if present(b.urgency) then lifecycle.set_urgency(app, inc, actor, now, b.urgency) end
  if type(b.conference_bridge) == "table" then
    inc.conference_bridge = { conference_number = b.conference_bridge.conference_number,
                              conference_url = b.conference_bridge.conference_url }
    inc.updated_at = now
  end
  if svc then lifecycle.move_service(app, inc, actor, now, svc) end
  if reopening then
    if ep then inc.ep_id = ep.id end
    lifecycle.reopen(app, inc, actor, now, b.status, assignee_ids)
  else
    if ep then lifecycle.set_policy(app, inc, actor, now, ep) end
    if assignee_ids then lifecycle.reassign(app, inc, actor, now, assignee_ids) end
    if level then lifecycle.escalate(app, inc, actor, now, level) end
    if b.status == "acknowledged" then
      lifecycle.acknowledge(app, inc, actor, now)
    elseif b.status == "resolved" then
      local resolution = type(b.resolution) == "string" and b.resolution ~= "" and b.resolution or nil
      lifecycle.resolve(app, inc, actor, now, resolution)
    elseif b.status == "triggered" and inc.status == "acknowledged" then
      lifecycle.unacknowledge(app, inc, actor, now)
    end
  end
  inc.rev = (inc.rev or 0) + 1  -- title, priority, bridge changes write no log entry
  app.dirty = true
  return web.json(200, { incident = render.incident(ctx_for(app, req, false, {}), inc, {}) })
end

function M.list_notes(app, req, id)
  local inc, err = find(app, id)
  if not inc then return err end
  local ctx = ctx_for(app, req, false, {})
  -- newest first, as the OpenAPI file's example (the order is not documented; the pagerduty
  -- module sorts by created_at itself)
  local out = render.arr()
  local n = #inc.notes
  for i = n, 1, -1 do out[n - i + 1] = render.note(ctx, inc, inc.notes[i]) end
  return web.json(200, { notes = out })
end

function M.create_note(app, req, cred, id)
  local inc, err = find(app, id)
  if not inc then return err end
  local body, berr = web.decode_body(req)
  if not body then return web.invalid(berr) end
  local n = body.note
  if type(n) ~= "table" or type(n.content) ~= "string" or n.content:match("^%s*$") then
    return web.invalid("note.content is required")
  end
  if #n.content > 25000 then return web.invalid("note.content is too long") end
  if #inc.notes >= lifecycle.MAX_NOTES then
    return web.invalid("An incident can have at most " .. lifecycle.MAX_NOTES .. " notes")
  end
  local actor, aerr = actor_for(app, cred, req, nil, "note")
  if not actor then return aerr end
  local note = lifecycle.add_note(app, inc, actor, n.content, app.now())
  app.dirty = true
  -- 200 as the OpenAPI file documents (docs/pagerduty-api.md §2.5)
  return web.json(200, { note = render.note(ctx_for(app, req, false, {}), inc, note) })
end

return M
