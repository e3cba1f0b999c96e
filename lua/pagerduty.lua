-- The `pagerduty` module: the nine PagerDuty actions. Arguments are checked here before
-- anything is sent (invalid_argument naming the action and the field); PagerDuty's wrapped
-- bodies and reference types are built for the caller; results come back unwrapped.
-- Sending, retries and errors: vsrun/pd_request.lua; listing: vsrun/pd_list.lua; the
-- token and the allowlist: host/pagerduty.c.
local core = require "vsrun.core"
local errors = require "vsrun.errors"
local request = require "vsrun.pd_request"
local list = require "vsrun.pd_list"
local dry = require "vsrun.pd_dryrun"
local ptime = require "vsrun.time"

local M = {}

-- ---- argument checks ----

local function bad(action, field, message)
  errors.raise("invalid_argument", ("%s: `%s` %s"):format(action, field, message), { action = action, field = field })
end

local function set(...)
  local s = {}
  for _, v in ipairs({ ... }) do s[v] = true end
  return s
end

local function names(s)
  local l = {}
  for k in pairs(s) do l[#l + 1] = k end
  table.sort(l)
  return table.concat(l, ", ")
end

local function is_id(s)
  return type(s) == "string" and #s >= 1 and #s <= 64 and s:match("^[%w]+$") ~= nil
end

local function check_id(action, field, v)
  if math.type(v) == "integer" and v > 0 then v = tostring(v) end
  if not is_id(v) then
    bad(action, field, "must be a PagerDuty ID (letters and digits), got " .. (type(v) == "string" and ("%q"):format(v) or type(v)))
  end
  return v
end

local function check_fields(action, t, allowed, what)
  if t == nil then return {} end
  if type(t) ~= "table" then bad(action, what or "options", "must be a table, got " .. type(t)) end
  for k in pairs(t) do
    if type(k) ~= "string" or not allowed[k] then
      local nested = what and what ~= "options" and what ~= "arguments" and what ~= "fields"
      bad(action, (nested and (what .. ".") or "") .. tostring(k), "is not a known field (known: " .. names(allowed) .. ")")
    end
  end
  return t
end

local function check_string(action, field, v, required, max)
  if v == nil then
    if required then bad(action, field, "is required") end
    return nil
  end
  if type(v) ~= "string" then bad(action, field, "must be a string, got " .. type(v)) end
  if required and v == "" then bad(action, field, "must not be empty") end
  if max and #v > max then bad(action, field, ("must be at most %d bytes"):format(max)) end
  return v
end

local function check_enum(action, field, v, allowed)
  if v == nil then return nil end
  if type(v) ~= "string" or not allowed[v] then
    bad(action, field, "must be one of " .. names(allowed) .. ", got " .. (type(v) == "string" and ("%q"):format(v) or type(v)))
  end
  return v
end

-- a string or an array of strings, each one of `allowed` (or an ID when allowed == "id")
local function check_list(action, field, v, allowed)
  if v == nil then return nil end
  if type(v) == "string" then v = { v } end
  if type(v) ~= "table" then bad(action, field, "must be a string or an array of strings, got " .. type(v)) end
  local out = {}
  for i, x in ipairs(v) do
    if allowed == "id" then
      out[i] = check_id(action, field .. "[" .. i .. "]", x)
    else
      check_enum(action, field .. "[" .. i .. "]", x, allowed)
      out[i] = x
    end
  end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then bad(action, field, "must be an array (no other keys)") end
  end
  return out
end

-- "PABC123" or { id = "PABC123", ... } -> { id, type = ref_type }
local function check_ref(action, field, v, ref_type, required)
  if v == nil then
    if required then bad(action, field, "is required (an ID string or { id = ... })") end
    return nil
  end
  local id = v
  if type(v) == "table" then id = v.id end
  if type(v) ~= "string" and type(v) ~= "table" then
    bad(action, field, "must be an ID string or a table with `id`, got " .. type(v))
  end
  return { id = check_id(action, field .. (type(v) == "table" and ".id" or ""), id), type = ref_type }
end

local function check_bool(action, field, v)
  if v ~= nil and type(v) ~= "boolean" then bad(action, field, "must be true or false, got " .. type(v)) end
  return v
end

local function check_time(action, field, v)
  if v == nil then return nil end
  if type(v) == "number" then
    if v ~= v or v < 0 or v > 253402300799 then bad(action, field, "must be Unix seconds or an ISO 8601 time") end
    return math.floor(v)
  end
  local t = type(v) == "string" and ptime.parse(v)
  if not t then
    bad(action, field, "must be an ISO 8601 time like 2026-01-31T12:00:00Z (or Unix seconds), got " ..
      (type(v) == "string" and ("%q"):format(v) or type(v)))
  end
  return t
end

local function check_limit(action, v)
  if v ~= nil and (math.type(v) ~= "integer" or v < 1) then bad(action, "limit", "must be a positive integer") end
  return v
end

-- pages of a listing in flight at once (see vsrun/pd_list.lua); 1 fetches one page ahead
local function check_concurrency(action, v)
  if v ~= nil and (math.type(v) ~= "integer" or v < 1 or v > 64) then
    bad(action, "concurrency", "must be an integer from 1 to 64")
  end
  return v
end

local function check_opts_table(action, opts, allowed)
  return check_fields(action, opts, allowed, "options")
end

local INCIDENT_INCLUDES = set("acknowledgers", "agents", "assignees", "body", "conference_bridge", "custom_fields",
  "escalation_policies", "first_trigger_log_entries", "priorities", "services", "teams", "users")
local LIST_INCIDENT_INCLUDES = set("acknowledgers", "agents", "assignees", "body", "conference_bridge",
  "escalation_policies", "first_trigger_log_entries", "priorities", "services", "teams", "users")
local LOG_INCLUDES = set("incidents", "services", "channels", "teams")
local USER_INCLUDES = set("contact_methods", "notification_rules", "teams", "subdomains", "calendar_urls")
local STATUSES = set("triggered", "acknowledged", "resolved")
local URGENCIES = set("high", "low")
local SORT_FIELDS = set("incident_number", "created_at", "resolved_at", "urgency")

local function check_sort(action, v)
  if v == nil then return nil end
  if type(v) == "string" then
    local l = {}
    for item in v:gmatch("[^,]+") do l[#l + 1] = item end
    v = l
  end
  if type(v) ~= "table" or #v == 0 or #v > 2 then bad(action, "sort_by", "must name one or two sort fields") end
  for i, item in ipairs(v) do
    local f, dir = tostring(item):match("^([%w_]+):?(%a*)$")
    if not f or not SORT_FIELDS[f] or (dir ~= "" and dir ~= "asc" and dir ~= "desc") then
      bad(action, "sort_by[" .. i .. "]", "must be FIELD or FIELD:asc|desc with FIELD one of " .. names(SORT_FIELDS))
    end
  end
  return table.concat(v, ",")
end

local function conference_bridge(action, v)
  if v == nil then return nil end
  check_fields(action, v, set("conference_number", "conference_url"), "conference_bridge")
  check_string(action, "conference_bridge.conference_number", v.conference_number)
  check_string(action, "conference_bridge.conference_url", v.conference_url)
  return { conference_number = v.conference_number, conference_url = v.conference_url }
end

local function incident_type(action, v)
  if v == nil then return nil end
  if type(v) == "table" then v = v.name end
  check_string(action, "incident_type", v, true)
  return { name = v }
end

-- ---- clients ----

local Client = {}
Client.__index = Client
Client.__metatable = "pagerduty client"   -- no script code can patch every client
local ACTIONS -- name -> function(client, ...), below

-- Each client has its own bound actions, so both client.get_incident(id) and
-- client:get_incident(id) use that client's connection.
local function new_client(name)
  local c = setmetatable({ name = name }, Client)
  for action, fn in pairs(ACTIONS) do
    c[action] = function(first, ...)
      if first == c then return fn(c, ...) end
      return fn(c, first, ...)
    end
  end
  return c
end

-- ---- the actions ----

local function get_incident(c, id, opts)
  local action = "get_incident"
  id = check_id(action, "id", id)
  opts = check_opts_table(action, opts, set("include"))
  if dry.is_placeholder(id) then return dry.get(id) end
  local body = request.call(c, { action = action, method = "GET", path = "/incidents/" .. id,
    query = { { "include[]", check_list(action, "include", opts.include, INCIDENT_INCLUDES) } },
    what = "incident '" .. id .. "'" })
  return body.incident or body
end

local LIST_INCIDENT_FIELDS = set("statuses", "urgencies", "service_ids", "team_ids", "user_ids", "incident_key",
  "since", "until", "date_range", "sort_by", "time_zone", "include", "limit", "concurrency")

-- a comparator for sort_by fields other than creation time, like PagerDuty's
local function incident_order(sorts)
  local function key(inc, field)
    if field == "urgency" then return inc.urgency or "" end
    if field == "resolved_at" then return ptime.parse(inc.resolved_at) or math.huge end  -- open last
    if field == "incident_number" then return inc.incident_number or 0 end
    return ptime.parse(inc.created_at) or 0
  end
  return function(a, b)
    for _, s in ipairs(sorts) do
      local x, y = key(a, s.field), key(b, s.field)
      if x ~= y then
        if s.desc then return x > y end
        return x < y
      end
    end
    return false
  end
end

local function list_incidents(c, opts)
  local action = "list_incidents"
  opts = check_opts_table(action, opts, LIST_INCIDENT_FIELDS)
  local since, till = check_time(action, "since", opts.since), check_time(action, "until", opts["until"])
  if since and till and since >= till then bad(action, "until", "must be later than `since`") end
  if opts.date_range ~= nil and opts.date_range ~= "all" then bad(action, "date_range", 'must be "all"') end
  if opts.date_range and (since or till) then bad(action, "date_range", "cannot be combined with since/until") end
  local sort = check_sort(action, opts.sort_by) or "created_at:asc"
  -- pages are fetched oldest or newest first by created_at (incident_number is the same
  -- order); any other sort is applied here once everything is fetched
  local sorts = {}
  for item in sort:gmatch("[^,]+") do
    local f, dir = item:match("^([%w_]+):?(%a*)$")
    sorts[#sorts + 1] = { field = f, desc = dir == "desc" }
  end
  local by_time = sorts[1].field == "created_at" or sorts[1].field == "incident_number"
  local statuses = check_list(action, "statuses", opts.statuses, STATUSES)
  -- open incidents of any age: PagerDuty's "Open incidents" view, not its one-month default
  local range = "given"
  if not (since or till or opts.date_range) then
    range = "month"
    if statuses and #statuses > 0 then
      range = "open"
      for _, st in ipairs(statuses) do if st == "resolved" then range = "month" end end
    end
  elseif opts.date_range == "all" then
    range = "all"
  end
  return list.new {
    client = c, action = action, path = "/incidents", key = "incidents",
    params = {
      { "statuses[]", statuses },
      { "urgencies[]", check_list(action, "urgencies", opts.urgencies, URGENCIES) },
      { "service_ids[]", check_list(action, "service_ids", opts.service_ids, "id") },
      { "team_ids[]", check_list(action, "team_ids", opts.team_ids, "id") },
      { "user_ids[]", check_list(action, "user_ids", opts.user_ids, "id") },
      { "incident_key", check_string(action, "incident_key", opts.incident_key, false, 255) },
      { "time_zone", check_string(action, "time_zone", opts.time_zone) },
      { "include[]", check_list(action, "include", opts.include, LIST_INCIDENT_INCLUDES) },
    },
    since = since, ["until"] = till, range = range,
    order = (by_time and sorts[1].desc) and "desc" or "asc",
    sort_param = (by_time and sorts[1].desc) and "created_at:desc" or "created_at:asc",
    local_sort = not by_time and incident_order(sorts) or nil,
    max = check_limit(action, opts.limit), concurrency = check_concurrency(action, opts.concurrency),
  }
end

local CREATE_FIELDS = set("title", "service", "urgency", "body", "incident_key", "priority",
  "escalation_policy", "assignee", "incident_type", "conference_bridge")

local function create_incident(c, args)
  local action = "create_incident"
  if type(args) ~= "table" then bad(action, "arguments", "must be a table with at least `title` and `service`") end
  check_fields(action, args, CREATE_FIELDS, "arguments")
  local inc = {
    type = "incident",
    title = check_string(action, "title", args.title, true, 1024),
    service = check_ref(action, "service", args.service, "service_reference", true),
    urgency = check_enum(action, "urgency", args.urgency, URGENCIES),
    priority = check_ref(action, "priority", args.priority, "priority_reference"),
    escalation_policy = check_ref(action, "escalation_policy", args.escalation_policy, "escalation_policy_reference"),
    incident_type = incident_type(action, args.incident_type),
    conference_bridge = conference_bridge(action, args.conference_bridge),
  }
  if args.body ~= nil then inc.body = { type = "incident_body", details = check_string(action, "body", args.body) } end
  if args.assignee ~= nil then
    if args.escalation_policy ~= nil then bad(action, "assignee", "cannot be combined with `escalation_policy`") end
    inc.assignments = { { assignee = check_ref(action, "assignee", args.assignee, "user_reference") } }
  end
  -- every create carries a key, so a create whose answer was lost can be found and not repeated
  inc.incident_key = check_string(action, "incident_key", args.incident_key, false, 255) or
    ("vsrun-" .. core.random_hex(12))
  local key = inc.incident_key
  local service_id = inc.service.id
  local body = request.create(c, { action = action, method = "POST", path = "/incidents",
    body = { incident = inc }, on_conflict = true, what = "service '" .. service_id .. "'" },
    function()
      local it = list_incidents(c, { incident_key = key, date_range = "all", limit = 10 })
      for found in it do
        if found.incident_key == key and (type(found.service) ~= "table" or found.service.id == service_id) then
          it:close()
          return { incident = found }
        end
      end
      return nil
    end)
  if body.dry_run then return dry.incident(inc) end
  return body.incident or body
end

local UPDATE_FIELDS = set("status", "resolution", "title", "urgency", "priority", "escalation_level",
  "assignee", "assignees", "escalation_policy", "service", "conference_bridge", "incident_type")

local function update_incident(c, id, fields)
  local action = "update_incident"
  id = check_id(action, "id", id)
  if type(fields) ~= "table" then bad(action, "fields", "must be a table of fields to change") end
  check_fields(action, fields, UPDATE_FIELDS, "fields")
  if next(fields) == nil then bad(action, "fields", "must change at least one field") end
  local inc = {
    type = "incident_reference",
    status = check_enum(action, "status", fields.status, STATUSES),
    resolution = check_string(action, "resolution", fields.resolution),
    title = check_string(action, "title", fields.title, false, 1024),
    urgency = check_enum(action, "urgency", fields.urgency, URGENCIES),
    escalation_policy = check_ref(action, "escalation_policy", fields.escalation_policy, "escalation_policy_reference"),
    service = check_ref(action, "service", fields.service, "service_reference"),
    conference_bridge = conference_bridge(action, fields.conference_bridge),
    incident_type = incident_type(action, fields.incident_type),
  }
  if fields.title == "" then bad(action, "title", "must not be empty") end
  if inc.resolution and fields.status ~= "resolved" then bad(action, "resolution", 'needs status = "resolved"') end
  if fields.priority ~= nil then
    -- a priority ID, { id = ... }, or { name = "P1" } (PagerDuty picks the highest-ranked match)
    if type(fields.priority) == "table" and fields.priority.name ~= nil and fields.priority.id == nil then
      inc.priority = check_string(action, "priority.name", fields.priority.name, true)
    else
      inc.priority = check_ref(action, "priority", fields.priority, "priority_reference")
    end
  end
  if fields.escalation_level ~= nil then
    if math.type(fields.escalation_level) ~= "integer" or fields.escalation_level < 1 then
      bad(action, "escalation_level", "must be a positive integer")
    end
    inc.escalation_level = fields.escalation_level
  end
  local who = fields.assignees
  if fields.assignee ~= nil then
    if who ~= nil then bad(action, "assignee", "cannot be combined with `assignees`") end
    who = { fields.assignee }
  end
  if who ~= nil then
    if type(who) ~= "table" or #who == 0 then bad(action, "assignees", "must be a non-empty array of user IDs") end
    inc.assignments = {}
    for i, u in ipairs(who) do
      inc.assignments[i] = { assignee = check_ref(action, "assignees[" .. i .. "]", u, "user_reference") }
    end
  end
  local what = "incident '" .. id .. "'"
  local ok, body = pcall(request.call, c, { action = action, method = "PUT", path = "/incidents/" .. id,
    body = { incident = inc }, what = what })
  if not ok then
    -- Acknowledging an acknowledged incident or resolving a resolved one (a retry whose first
    -- attempt got through, or a second runner) may be refused with 1002 / 1001: the incident
    -- is in the state asked for, so that is success. The rest of the request was not
    -- applied, so it is sent again without the status; with nothing else, the incident is
    -- read back.
    local already = errors.is(body, "invalid_argument") and
      ((inc.status == "acknowledged" and body.code == 1002) or (inc.status == "resolved" and body.code == 1001))
    if not already then error(body, 0) end
    inc.status, inc.resolution = nil, nil
    if next(inc, next(inc)) == nil then  -- only `type` is left
      body = request.call(c, { action = action, method = "GET", path = "/incidents/" .. id, what = what })
    else
      body = request.call(c, { action = action, method = "PUT", path = "/incidents/" .. id,
        body = { incident = inc }, what = what })
    end
  end
  if body.dry_run then
    -- the answer PagerDuty would give: the incident as it is now, with the change applied
    return dry.update(id, not dry.is_placeholder(id) and get_incident(c, id) or nil, inc)
  end
  return body.incident or body
end

local function acknowledge(c, id)
  return update_incident(c, id, { status = "acknowledged" })
end

local function resolve(c, id, resolution)
  return update_incident(c, id, { status = "resolved", resolution = resolution })
end

local function list_incident_notes(c, id)
  local action = "list_incident_notes"
  id = check_id(action, "id", id)
  if dry.is_placeholder(id) then return list.fixed(action, dry.notes(id)) end
  -- oldest first by created_at, whatever order PagerDuty sends (it documents none)
  return list.new { client = c, action = action, path = "/incidents/" .. id .. "/notes", key = "notes",
    params = {}, paginated = false, range = "given", oldest_first = true, what = "incident '" .. id .. "'" }
end

local function create_incident_note(c, id, content)
  local action = "create_incident_note"
  id = check_id(action, "id", id)
  if type(content) == "table" then content = content.content end
  check_string(action, "content", content, true, 25000)
  local body = request.create(c, { action = action, method = "POST", path = "/incidents/" .. id .. "/notes",
    body = { note = { content = content } }, what = "incident '" .. id .. "'" },
    function(started)
      -- the lost attempt may have written the note: same content, created since it began
      -- (in PagerDuty's clock, known from the Date headers; 2 s for rounding)
      local since = math.floor(started) + request.server_offset() - 2
      local best
      for note in list_incident_notes(c, id) do
        local at = ptime.parse(note.created_at)
        if note.content == content and at and at >= since then best = note end
      end
      return best and { note = best } or nil
    end)
  if body.dry_run then return dry.note(id, content) end
  return body.note or body
end

local function get_log_entry(c, id, opts)
  local action = "get_log_entry"
  id = check_id(action, "id", id)
  opts = check_opts_table(action, opts, set("include", "time_zone"))
  local body = request.call(c, { action = action, method = "GET", path = "/log_entries/" .. id,
    query = { { "include[]", check_list(action, "include", opts.include, LOG_INCLUDES) },
      { "time_zone", check_string(action, "time_zone", opts.time_zone) } },
    what = "log entry '" .. id .. "'" })
  return body.log_entry or body
end

local LIST_LOG_FIELDS = set("incident_id", "since", "until", "is_overview", "include", "team_ids", "time_zone", "limit",
  "concurrency")

local function list_log_entries(c, opts)
  local action = "list_log_entries"
  opts = check_opts_table(action, opts, LIST_LOG_FIELDS)
  local since, till = check_time(action, "since", opts.since), check_time(action, "until", opts["until"])
  if since and till and since >= till then bad(action, "until", "must be later than `since`") end
  local path, what = "/log_entries", nil
  if opts.incident_id ~= nil then
    local iid = check_id(action, "incident_id", opts.incident_id)
    if opts.team_ids ~= nil then bad(action, "team_ids", "cannot be combined with `incident_id`") end
    if dry.is_placeholder(iid) then return list.fixed(action, {}) end
    path, what = "/incidents/" .. iid .. "/log_entries", "incident '" .. iid .. "'"
  end
  return list.new {
    client = c, action = action, path = path, key = "log_entries", what = what,
    params = {
      { "is_overview", check_bool(action, "is_overview", opts.is_overview) },
      { "include[]", check_list(action, "include", opts.include, LOG_INCLUDES) },
      { "team_ids[]", check_list(action, "team_ids", opts.team_ids, "id") },
      { "time_zone", check_string(action, "time_zone", opts.time_zone) },
    },
    since = since, ["until"] = till, order = "asc",
    -- the account's log defaults to the past month; one incident's log to all of it
    range = (opts.incident_id == nil and not since) and "month" or "given",
    max = check_limit(action, opts.limit), concurrency = check_concurrency(action, opts.concurrency),
  }
end

local function get_user(c, id, opts)
  local action = "get_user"
  id = check_id(action, "id", id)
  opts = check_opts_table(action, opts, set("include"))
  local body = request.call(c, { action = action, method = "GET", path = "/users/" .. id,
    query = { { "include[]", check_list(action, "include", opts.include, USER_INCLUDES) } },
    what = id == "me" and "the connection's own user" or ("user '" .. id .. "'") })
  return body.user or body
end

ACTIONS = {
  get_incident = get_incident, list_incidents = list_incidents, create_incident = create_incident,
  update_incident = update_incident, acknowledge = acknowledge, resolve = resolve,
  create_incident_note = create_incident_note, list_incident_notes = list_incident_notes,
  get_log_entry = get_log_entry, list_log_entries = list_log_entries, get_user = get_user,
}

for name, fn in pairs(ACTIONS) do
  M[name] = function(...) return fn(M._default(), ...) end
end

function Client:__tostring()
  return "pagerduty client" .. (self.name and (" '" .. self.name .. "'") or "")
end

-- The client the module-level functions use: --connection or the default connection.
local default_client
function M._default()
  if not default_client then default_client = new_client(nil) end
  return default_client
end

-- connect(name) -> a client bound to the named connection (opened now, so a missing one
-- fails here).
function M.connect(name)
  if name ~= nil and (type(name) ~= "string" or name == "") then
    bad("connect", "name", "must be a connection name (see `vsrun auth list`)")
  end
  local c = new_client(name)
  request.connection(c)
  return c
end

-- The connection behind the module-level functions: name, region, api_url, kind (no token).
function M.connection()
  return request.connection(M._default())
end

-- The two spellings of the acknowledge log entry type both give "acknowledge".
local LOG_KINDS = { acknowledge_log_entry = "acknowledge", acknowledgement_log_entry = "acknowledge" }
function M.log_entry_kind(entry)
  local t = type(entry) == "table" and entry.type or entry
  if type(t) ~= "string" then return nil end
  t = t:gsub("_reference$", "")
  return LOG_KINDS[t] or t:match("^(.-)_log_entry$") or t
end

-- configure{ max_attempts, retry_budget, backoff_base, backoff_cap, backoff_429, timeout, max_body }
function M.configure(opts)
  local allowed = set("max_attempts", "retry_budget", "backoff_base", "backoff_cap", "backoff_429", "timeout", "max_body")
  opts = check_fields("configure", opts, allowed, "options")  -- configure() reads the settings
  for k, v in pairs(opts) do
    if type(v) ~= "number" or v < 0 or v ~= v or v > 1e9 then bad("configure", k, "must be a number from 0 to 1e9") end
    request.settings[k] = v
  end
  return request.settings
end

return M
