local t = require "vsrun.testing"
local json = require "json"
package.path = "tests/lua/sandbox/?.lua;" .. package.path
local H = require "helpers"

t.test("list incidents: wrapped, paginated, total only on request", function()
  local call = H.new()
  local r = call("GET", "/incidents", { query = { date_range = "all" } })
  t.eq(r.status, 200)
  t.eq(#r.json.incidents, 25)
  t.eq(r.json.limit, 25)
  t.eq(r.json.offset, 0)
  t.eq(r.json.more, true)
  t.eq(r.json.total, json.null)
  r = call("GET", "/incidents", { query = { date_range = "all", total = "true", offset = "40" } })
  t.eq(r.json.total, 50)
  t.eq(#r.json.incidents, 10)
  t.eq(r.json.more, false)
  local inc = r.json.incidents[1]
  t.eq(inc.type, "incident")
  t.eq(inc.service.type, "service_reference")
  t.match(inc.service.self, "^http://127%.0%.0%.1:8080/services/")
  t.match(inc.summary, "^%[#%d+%] ")
  t.ok(r.headers["ratelimit-limit"], "rate-limit headers on every checked request")
end)

t.test("pagination limits: default 25, max 100, offset+limit cap 10000", function()
  local call = H.new({ incidents = 0 })
  local r = call("GET", "/incidents", { query = { limit = "101" } })
  t.eq(r.status, 400, "limit above 100 is refused, not clamped")
  t.match(r.json.error.errors[1], "at most 100")
  r = call("GET", "/incidents", { query = { limit = "100" } })
  t.eq(r.status, 200)
  t.eq(r.json.limit, 100)
  t.eq(r.json.more, false)
  t.eq(#r.json.incidents, 0)
  r = call("GET", "/incidents", { query = { offset = "9900", limit = "100" } })
  t.eq(r.status, 200)
  r = call("GET", "/incidents", { query = { offset = "9901", limit = "100" } })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 2001)
  r = call("GET", "/incidents", { query = { limit = "x" } })
  t.eq(r.status, 400)
end)

local function count_all(call, extra)
  local seen, offset = 0, 0
  repeat
    local q = { date_range = "all", limit = "100", offset = tostring(offset) }
    for k, v in pairs(extra or {}) do q[k] = v end
    local r = call("GET", "/incidents", { query = q })
    t.eq(r.status, 200)
    seen = seen + #r.json.incidents
    offset = offset + 100
  until not r.json.more
  return seen
end

t.test("pagination at 0/1/100/101 records walks every record once", function()
  for _, n in ipairs({ 0, 1, 100, 101 }) do
    local call = H.new({ incidents = n })
    t.eq(count_all(call), n, n .. " records")
    local r = call("GET", "/incidents", { query = { date_range = "all", total = "true", limit = "100" } })
    t.eq(r.json.total, n)
    t.eq(r.json.more, n > 100)
  end
end)

t.test("pagination at 9,999/10,000/25,000 records and the 10,000 cap", function()
  for _, n in ipairs({ 9999, 10000, 25000 }) do
    local call = H.new({ incidents = n })
    local r = call("GET", "/incidents", { query = { date_range = "all", total = "true", offset = "9900", limit = "100" } })
    t.eq(r.status, 200)
    t.eq(r.json.total, n)
    t.eq(#r.json.incidents, math.min(100, n - 9900))
    t.eq(r.json.more, n > 10000)
    r = call("GET", "/incidents", { query = { date_range = "all", offset = "10000", limit = "1" } })
    t.eq(r.status, 400)
  end
end)

t.test("default one-month window, six-month maximum, date_range=all", function()
  local call = H.new({ incidents = 600 })
  local all = call("GET", "/incidents", { query = { date_range = "all", total = "true" } }).json.total
  local month = call("GET", "/incidents", { query = { total = "true" } }).json.total
  t.eq(all, 600)
  t.ok(month > 20 and month < 100, "about a twelfth in the default month: " .. month)
  local r = call("GET", "/incidents", { query = { since = "2025-01-01T00:00:00Z", ["until"] = "2025-08-01T00:00:00Z" } })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 2005)
  r = call("GET", "/incidents", { query = { since = "yesterday" } })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 2004)
  r = call("GET", "/incidents", { query = { since = "2025-07-01T00:00:00Z", ["until"] = "2025-12-31T00:00:00Z", total = "true" } })
  t.eq(r.status, 200)
  for _, inc in ipairs(r.json.incidents) do
    t.ok(inc.created_at >= "2025-07-01" and inc.created_at < "2025-12-31", inc.created_at)
  end
  -- windows that tile a range count every incident exactly once
  local a = call("GET", "/incidents", { query = { since = "2025-07-01", ["until"] = "2025-10-01", total = "true" } }).json.total
  local b = call("GET", "/incidents", { query = { since = "2025-10-01", ["until"] = "2025-12-31", total = "true" } }).json.total
  t.eq(a + b, r.json.total)
end)

t.test("filters: ORed within, ANDed across", function()
  local call = H.new({ incidents = 400 })
  local function total(q)
    q.date_range, q.total = "all", "true"
    return call("GET", "/incidents", { query = q }).json.total
  end
  local tr, ack, res = total({ ["statuses[]"] = "triggered" }), total({ ["statuses[]"] = "acknowledged" }),
    total({ ["statuses[]"] = "resolved" })
  t.eq(tr + ack + res, 400)
  t.eq(total({ ["statuses[]"] = { "triggered", "acknowledged" } }), tr + ack)
  local high = total({ ["urgencies[]"] = "high" })
  local low = total({ ["urgencies[]"] = "low" })
  t.eq(high + low, 400)
  local hr = total({ ["urgencies[]"] = "high", ["statuses[]"] = "resolved" })
  t.ok(hr < high and hr < res, "AND across filters narrows")
  local r = call("GET", "/incidents", { query = { date_range = "all", ["urgencies[]"] = "low", ["statuses[]"] = "resolved", limit = "100" } })
  for _, i in ipairs(r.json.incidents) do t.eq(i.urgency, "low") t.eq(i.status, "resolved") end
  -- services and teams
  local info = select(2, H.new({ incidents = 0 }))
  local s1, s2 = info.services[1].id, info.services[2].id
  local n1, n2 = total({ ["service_ids[]"] = s1 }), total({ ["service_ids[]"] = s2 })
  t.eq(total({ ["service_ids[]"] = { s1, s2 } }), n1 + n2)
  local r2 = call("GET", "/incidents", { query = { date_range = "all", ["service_ids[]"] = { s1, s2 }, limit = "100" } })
  local last = ""
  for _, i in ipairs(r2.json.incidents) do
    t.ok(i.service.id == s1 or i.service.id == s2)
    t.ok(i.created_at >= last, "merged sources stay in creation order")
    last = i.created_at
  end
  local team = r2.json.incidents[1].teams[1].id
  local rt = call("GET", "/incidents", { query = { date_range = "all", ["team_ids[]"] = team, limit = "100" } })
  for _, i in ipairs(rt.json.incidents) do t.eq(i.teams[1].id, team) end
  t.eq(call("GET", "/incidents", { query = { ["statuses[]"] = "bogus" } }).status, 400)
end)

t.test("user_ids matches only open incidents assigned to the user", function()
  local call = H.new({ incidents = 300 })
  local r = call("GET", "/incidents", { query = { date_range = "all", ["statuses[]"] = "triggered", limit = "100" } })
  local inc = r.json.incidents[1]
  t.ok(inc, "a triggered incident exists")
  local uid = inc.assignments[1].assignee.id
  local ru = call("GET", "/incidents", { query = { date_range = "all", ["user_ids[]"] = uid, limit = "100" } })
  t.ok(#ru.json.incidents >= 1)
  for _, i in ipairs(ru.json.incidents) do
    t.ok(i.status ~= "resolved")
    local found = false
    for _, a in ipairs(i.assignments) do if a.assignee.id == uid then found = true end end
    t.ok(found)
  end
end)

t.test("sort_by: at most two fields, desc, urgency; time_zone", function()
  local call = H.new({ incidents = 120 })
  local r = call("GET", "/incidents", { query = { date_range = "all", sort_by = "created_at:desc", limit = "10" } })
  t.eq(r.json.incidents[1].incident_number, 120)
  r = call("GET", "/incidents", { query = { date_range = "all", sort_by = "urgency:asc,incident_number:desc", limit = "100" } })
  t.eq(r.status, 200)
  local seen_low = false
  for _, i in ipairs(r.json.incidents) do
    if i.urgency == "low" then seen_low = true end
    if seen_low then t.eq(i.urgency, "low") end
  end
  t.eq(call("GET", "/incidents", { query = { sort_by = "a,b,c" } }).status, 400)
  t.eq(call("GET", "/incidents", { query = { sort_by = "created_at,urgency,incident_number" } }).status, 400)
  r = call("GET", "/incidents", { query = { date_range = "all", time_zone = "America/New_York", limit = "1" } })
  t.match(r.json.incidents[1].created_at, "%-0[45]:00$")
  r = call("GET", "/incidents", { query = { time_zone = "Nowhere/Atlantis" } })
  t.eq(r.status, 400)
end)

t.test("get by id or number, include[] expands references, 404", function()
  local call = H.new()
  local inc = call("GET", "/incidents", { query = { date_range = "all", limit = "1" } }).json.incidents[1]
  local r = call("GET", "/incidents/" .. inc.id)
  t.eq(r.status, 200)
  t.eq(r.json.incident.id, inc.id)
  r = call("GET", "/incidents/" .. inc.incident_number)
  t.eq(r.json.incident.id, inc.id)
  r = call("GET", "/incidents/" .. inc.id, { query = { ["include[]"] = { "services", "escalation_policies", "first_trigger_log_entries", "teams" } } })
  t.eq(r.json.incident.service.type, "service")
  t.eq(r.json.incident.escalation_policy.type, "escalation_policy")
  t.eq(r.json.incident.first_trigger_log_entry.type, "trigger_log_entry")
  t.eq(r.json.incident.teams[1].type, "team")
  r = call("GET", "/incidents/QNOPE")
  t.eq(r.status, 404)
  t.eq(r.json.error.code, 2100)
end)

local function first_service(call)
  return call("GET", "/incidents", { query = { date_range = "all", limit = "1" } }).json.incidents[1].service.id
end

t.test("create: validation, assignments from the policy, dedup 2002 while open", function()
  local call = H.new()
  local svc = first_service(call)
  local r = call("POST", "/incidents", { body = { incident = { type = "incident", service = { id = svc, type = "service_reference" } } } })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 2001)
  r = call("POST", "/incidents", { body = { incident = { type = "incident", title = "x", service = { id = "PNOPE", type = "service_reference" } } } })
  t.eq(r.status, 400)
  local body = { incident = { type = "incident", title = "Disk full on db1", urgency = "high", incident_key = "disk/db1",
    service = { id = svc, type = "service_reference" }, body = { type = "incident_body", details = "99%" } } }
  r = call("POST", "/incidents", { body = body })
  t.eq(r.status, 201)
  local inc = r.json.incident
  t.eq(inc.status, "triggered")
  t.eq(inc.incident_key, "disk/db1")
  t.eq(inc.assigned_via, "escalation_policy")
  t.eq(#inc.assignments, 1)
  t.eq(inc.body, nil, "body only with include[]=body")
  t.eq(call("GET", "/incidents/" .. inc.id, { query = { ["include[]"] = "body" } }).json.incident.body.details, "99%")
  r = call("POST", "/incidents", { body = body })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 2002)
  t.eq(r.json.error.errors[1], "Open incident with matching dedup key already exists on this service")
  -- resolve frees the key
  t.eq(call("PUT", "/incidents/" .. inc.id, { body = { incident = { type = "incident_reference", status = "resolved" } } }).status, 200)
  r = call("POST", "/incidents", { body = body })
  t.eq(r.status, 201)
  t.ne(r.json.incident.id, inc.id)
end)

t.test("create with self-assignment starts acknowledged; priority by ref", function()
  local call, info = H.new()
  local svc = first_service(call)
  local me = call("GET", "/users/me").json.user
  local pr = call("GET", "/incidents", { query = { date_range = "all", limit = "100" } })
  local prio
  for _, i in ipairs(pr.json.incidents) do if i.priority ~= json.null then prio = i.priority break end end
  local r = call("POST", "/incidents", { body = { incident = { type = "incident", title = "mine", service = { id = svc, type = "service_reference" },
    priority = { id = prio.id, type = "priority_reference" },
    assignments = { { assignee = { id = me.id, type = "user_reference" } } } } } })
  t.eq(r.status, 201)
  t.eq(r.json.incident.status, "acknowledged")
  t.eq(r.json.incident.assigned_via, "direct_assignment")
  t.eq(r.json.incident.priority.id, prio.id)
end)

t.test("update life cycle writes the log entries PagerDuty writes", function()
  local call = H.new()
  local svc = first_service(call)
  local inc = call("POST", "/incidents", { body = { incident = { type = "incident", title = "t", service = { id = svc, type = "service_reference" } } } }).json.incident
  local function put(fields)
    fields.type = "incident_reference"
    return call("PUT", "/incidents/" .. inc.id, { body = { incident = fields } })
  end
  local r = put({ status = "acknowledged" })
  t.eq(r.status, 200)
  t.eq(r.json.incident.status, "acknowledged")
  t.eq(#r.json.incident.acknowledgements, 1)
  r = put({ urgency = "low", priority = "P1", title = "renamed", escalation_level = 2 })
  t.eq(r.status, 200)
  t.eq(r.json.incident.urgency, "low")
  t.eq(r.json.incident.priority.summary, "P1")
  t.eq(r.json.incident.title, "renamed")
  t.eq(r.json.incident.status, "triggered", "escalating re-triggers")
  t.eq(put({ priority = "P9" }).json.error.code, 1020)
  t.eq(put({ status = "bogus" }).json.error.code, 1003)
  r = put({ status = "resolved", resolution = "Rebooted" })
  t.eq(r.json.incident.status, "resolved")
  t.ok(r.json.incident.resolved_at ~= json.null)
  t.eq(#r.json.incident.assignments, 0)
  -- reopen
  r = put({ status = "triggered" })
  t.eq(r.json.incident.status, "triggered")
  t.eq(r.json.incident.resolved_at, json.null)
  t.eq(#r.json.incident.assignments, 1)
  local log = call("GET", "/incidents/" .. inc.id .. "/log_entries", { query = { limit = "100" } }).json.log_entries
  local types = {}
  for _, le in ipairs(log) do
    types[#types + 1] = le.type
    t.ok(le.agent and le.agent.type, "agent")
    t.ok(le.channel and le.channel.type, "channel")
    if le.type == "resolve_log_entry" then t.eq(le.note, "Rebooted") end
  end
  t.eq(table.concat(types, ","), "trigger_log_entry,notify_log_entry,acknowledge_log_entry,urgency_change_log_entry,"
    .. "escalate_log_entry,notify_log_entry,resolve_log_entry,assign_log_entry,notify_log_entry")
  -- a second acknowledge or resolve is refused (1002, 1001) and changes nothing; the
  -- pagerduty module counts it as done
  t.eq(put({ status = "acknowledged" }).status, 200)
  r = put({ status = "acknowledged", title = "not applied" })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 1002)
  t.eq(call("GET", "/incidents/" .. inc.id).json.incident.title, "renamed")
  t.eq(put({ status = "resolved" }).status, 200)
  r = put({ status = "resolved" })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 1001)
  -- reassign, service move
  local users = call("GET", "/users/me").json.user
  r = put({ assignments = { { assignee = { id = users.id, type = "user_reference" } } } })
  t.eq(r.status, 400, "cannot reassign a resolved incident")
  t.eq(call("PUT", "/incidents/QNOPE", { body = { incident = { type = "incident_reference", status = "resolved" } } }).status, 404)
end)

t.test("notes: list, create, 2000 cap, annotate log entry", function()
  local call, _, app = H.new()
  local inc = call("GET", "/incidents", { query = { date_range = "all", limit = "1" } }).json.incidents[1]
  local r = call("POST", "/incidents/" .. inc.id .. "/notes", { body = { note = { content = "Looking" } } })
  t.eq(r.status, 200)
  t.eq(r.json.note.content, "Looking")
  t.eq(r.json.note.user.type, "user_reference")
  t.eq(r.json.note.channel.summary, "The PagerDuty website or APIs")
  r = call("GET", "/incidents/" .. inc.id .. "/notes")
  t.eq(r.json.notes[#r.json.notes].content, "Looking")
  t.eq(r.json.limit, nil, "notes are not paginated")
  t.eq(call("POST", "/incidents/" .. inc.id .. "/notes", { body = { note = {} } }).status, 400)
  local stored = app.store:find_incident(inc.id)
  while #stored.notes < 2000 do stored.notes[#stored.notes + 1] = { id = "x", content = "c", user_id = stored.notes[1].user_id, created_at = 0, updated_at = 0 } end
  t.eq(call("POST", "/incidents/" .. inc.id .. "/notes", { body = { note = { content = "one more" } } }).status, 400)
  local log = call("GET", "/incidents/" .. inc.id .. "/log_entries", { query = { limit = "100" } }).json.log_entries
  local found = false
  for _, le in ipairs(log) do if le.type == "annotate_log_entry" and le.note == "Looking" then found = true end end
  t.ok(found, "annotate entry written")
end)

t.test("log entries: list, get, include, overview", function()
  local call = H.new({ incidents = 200 })
  local r = call("GET", "/log_entries", { query = { limit = "100", total = "true" } })
  t.eq(r.status, 200)
  t.ok(r.json.total > 0)
  local le = r.json.log_entries[1]
  local g = call("GET", "/log_entries/" .. le.id, { query = { ["include[]"] = "incidents" } })
  t.eq(g.json.log_entry.id, le.id)
  t.eq(g.json.log_entry.incident.type, "incident")
  t.eq(call("GET", "/log_entries/RNOPE").status, 404)
  local o = call("GET", "/log_entries", { query = { is_overview = "true", limit = "100" } })
  for _, e in ipairs(o.json.log_entries) do t.ok(e.type ~= "notify_log_entry" and e.type ~= "annotate_log_entry") end
end)

t.test("users: get, me, include, 404", function()
  local call, info = H.new()
  local r = call("GET", "/users/" .. info.users[2].id, { query = { ["include[]"] = { "contact_methods", "notification_rules" } } })
  t.eq(r.status, 200)
  t.eq(r.json.user.name, info.users[2].name)
  t.eq(r.json.user.contact_methods[1].type, "email_contact_method")
  t.eq(r.json.user.notification_rules[1].type, "assignment_notification_rule")
  r = call("GET", "/users/me")
  t.eq(r.json.user.id, info.users[1].id)
  t.eq(call("GET", "/users/PNOPE").status, 404)
end)

t.test("listing a large store with filters walks only what the page needs", function()
  local call = H.new({ incidents = 30000 })
  local r = call("GET", "/incidents", { query = { ["statuses[]"] = "resolved", ["urgencies[]"] = "high", limit = "100" } })
  t.eq(r.status, 200)
  t.eq(#r.json.incidents, 100)
  r = call("GET", "/incidents", { query = { date_range = "all", offset = "9900", limit = "100" } })
  t.eq(#r.json.incidents, 100)
  t.eq(r.json.incidents[100].incident_number, 10000)
end)

t.test("seeded data is deterministic for a seed", function()
  local a = H.new({ seed = 7, incidents = 30 })
  local b = H.new({ seed = 7, incidents = 30 })
  local c = H.new({ seed = 8, incidents = 30 })
  local q = { query = { date_range = "all", limit = "30" } }
  t.eq(a("GET", "/incidents", q).body, b("GET", "/incidents", q).body)
  t.ne(a("GET", "/incidents", q).body, c("GET", "/incidents", q).body)
end)

t.test("the module entry point returns handler, info and on_stop", function()
  local handler, info, on_stop = require("sandbox")({ incidents = 3, preset_tokens = { { token = "k" } } })
  t.eq(type(handler), "function")
  t.eq(type(on_stop), "function")
  t.eq(info.client_id, "vsrun-sandbox-public-client")
  t.eq(#info.users, 8)
  local r = handler { method = "GET", path = "/users/me", query = {}, headers = { authorization = "Bearer k" } }
  t.eq(r.status, 200)
end)

t.test("cached JSON of resolved incidents follows every change", function()
  local call = H.new({ incidents = 20 })
  local inc
  for _, i in ipairs(call("GET", "/incidents", { query = { date_range = "all", ["statuses[]"] = "resolved", limit = "1" } }).json.incidents) do inc = i end
  local path = "/incidents/" .. inc.id
  t.eq(call("GET", path).json.incident.title, inc.title)
  t.eq(call("PUT", path, { body = { incident = { type = "incident_reference", title = "Renamed while resolved" } } }).status, 200)
  t.eq(call("GET", path).json.incident.title, "Renamed while resolved")
  local listed = call("GET", "/incidents", { query = { date_range = "all", ["statuses[]"] = "resolved", limit = "1" } }).json.incidents[1]
  t.eq(listed.title, "Renamed while resolved")
  call("PUT", path, { body = { incident = { type = "incident_reference", priority = "P3" } } })
  t.eq(call("GET", path).json.incident.priority.summary, "P3")
  call("POST", "/__sandbox/time", { body = { advance = 60 } })
  call("POST", path .. "/notes", { body = { note = { content = "n" } } })
  t.eq(call("GET", path).json.incident.updated_at, "2026-01-01T00:01:00Z", "a note updates updated_at")
  -- another Host gives other self URLs
  local r = call("GET", path, { headers = { host = "10.1.2.3:9" } })
  t.match(r.json.incident.self, "^http://10%.1%.2%.3:9/")
  t.eq(call("PUT", path, { body = { incident = { type = "incident_reference", status = "triggered" } } }).json.incident.status, "triggered")
  t.eq(call("GET", path).json.incident.status, "triggered")
end)

t.test("reassign, unacknowledge, policy change and service move", function()
  local call, info = H.new({ incidents = 5 })
  local s1, s2 = info.services[1].id, info.services[4].id
  local inc = call("POST", "/incidents", { body = { incident = { type = "incident", title = "moves",
    service = { id = s1, type = "service_reference" } } } }).json.incident
  local path = "/incidents/" .. inc.id
  local function put(f) f.type = "incident_reference" return call("PUT", path, { body = { incident = f } }) end
  t.eq(put({ status = "acknowledged" }).json.incident.status, "acknowledged")
  local r = put({ status = "triggered" })
  t.eq(r.json.incident.status, "triggered")
  t.eq(#r.json.incident.acknowledgements, 0)
  local target = info.users[5].id
  r = put({ status = "acknowledged" })
  r = put({ assignments = { { assignee = { id = target, type = "user_reference" } } } })
  t.eq(r.json.incident.status, "triggered", "reassigning an acknowledged incident re-triggers it")
  t.eq(r.json.incident.assignments[1].assignee.id, target)
  t.eq(r.json.incident.assigned_via, "direct_assignment")
  t.eq(put({ assignments = { { assignee = { id = "PNOPE", type = "user_reference" } } } }).json.error.code, 1007)
  r = put({ service = { id = s2, type = "service_reference" } })
  t.eq(r.json.incident.service.id, s2)
  t.eq(r.json.incident.assigned_via, "escalation_policy")
  t.ne(r.json.incident.escalation_policy.id, inc.escalation_policy.id, "the new service's policy")
  t.eq(#call("GET", "/incidents", { query = { date_range = "all", ["service_ids[]"] = s2, ["statuses[]"] = "triggered", limit = "100" } })
    .json.incidents > 0, true)
  local moved = false
  for _, i in ipairs(call("GET", "/incidents", { query = { date_range = "all", ["service_ids[]"] = s2, limit = "100" } }).json.incidents) do
    if i.id == inc.id then moved = true end
  end
  t.ok(moved, "the service index follows the move")
  r = put({ escalation_policy = { id = inc.escalation_policy.id, type = "escalation_policy_reference" } })
  t.eq(r.json.incident.escalation_policy.id, inc.escalation_policy.id)
  t.eq(put({ escalation_policy = { id = "PNOPE", type = "escalation_policy_reference" } }).json.error.code, 1014)
  -- reopen as acknowledged assigns the caller
  put({ status = "resolved" })
  r = put({ status = "acknowledged" })
  t.eq(r.json.incident.status, "acknowledged")
  t.eq(r.json.incident.assignments[1].assignee.id, info.users[1].id)
  local types = {}
  for _, le in ipairs(call("GET", path .. "/log_entries", { query = { limit = "100" } }).json.log_entries) do types[#types + 1] = le.type end
  t.match(table.concat(types, ","), "unacknowledge_log_entry")
  t.match(table.concat(types, ","), "assign_log_entry")
end)

t.test("create validation: assignments with a policy, two assignees, unknown policy, user-level API key", function()
  local call, info = H.new({ incidents = 2, api_keys = { { key = "user-key", user = "chen@sandbox.example.com" } } })
  local svc = { id = info.services[1].id, type = "service_reference" }
  local a = { { assignee = { id = info.users[2].id, type = "user_reference" } } }
  local function create(f, opts)
    f.type = "incident" f.title = f.title or "v" f.service = f.service or svc
    return call("POST", "/incidents", { body = { incident = f }, token = opts and opts.token, headers = opts and opts.headers })
  end
  t.eq(create({ assignments = a, escalation_policy = { id = "PX", type = "escalation_policy_reference" } }).status, 400)
  t.eq(create({ assignments = { a[1], a[1] } }).status, 400)
  t.eq(create({ escalation_policy = { id = "PNOPE", type = "escalation_policy_reference" } }).json.error.code, 1014)
  t.eq(create({ urgency = "medium" }).status, 400)
  t.eq(create({ priority = { id = "PNOPE", type = "priority_reference" } }).json.error.code, 1020)
  local r = create({ body = { type = "incident_body", details = { disk = "99%" } } })
  t.eq(r.status, 201)
  r = call("GET", "/incidents/" .. r.json.incident.id, { query = { ["include[]"] = "body" } })
  t.eq(r.json.incident.body.details, '{"disk":"99%"}', "object details are kept as JSON text")
  t.eq(call("POST", "/incidents", { body = "not json", headers = { ["content-type"] = "application/json" } }).status, 400)
  -- a user-level key needs no From: the user comes from the key
  local key = { authorization = "Token token=user-key" }
  r = create({}, { token = false, headers = key })
  t.eq(r.status, 201)
  t.eq(r.json.incident.last_status_change_by.summary, "Chen Wei")
  t.eq(call("GET", "/users/me", { token = false, headers = key }).json.user.name, "Chen Wei")
end)

t.test("log entries: time_zone, include[] services and teams, windows", function()
  local call = H.new({ incidents = 100 })
  local r = call("GET", "/log_entries", { query = { time_zone = "Asia/Kolkata", limit = "5", ["include[]"] = { "services", "teams" } } })
  t.eq(r.status, 200)
  t.match(r.json.log_entries[1].created_at, "%+05:30$")
  t.eq(r.json.log_entries[1].service.type, "service")
  t.eq(r.json.log_entries[1].teams[1].type, "team")
  local all = call("GET", "/log_entries", { query = { since = "2025-07-05T00:00:00Z", total = "true" } }).json.total
  local month = call("GET", "/log_entries", { query = { total = "true" } }).json.total
  t.ok(month < all, "the default window is a month")
  t.eq(call("GET", "/log_entries", { query = { since = "nope" } }).status, 400)
end)
