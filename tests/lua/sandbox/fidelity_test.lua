-- Where PagerDuty's docs are silent the sandbox is stricter than PagerDuty (docs/sandbox.md,
-- "Stricter than PagerDuty"): one test per divergence of issue 15.
local t = require "vsrun.testing"
local json = require "json"
package.path = "tests/lua/sandbox/?.lua;" .. package.path
local H = require "helpers"

local ACCOUNT = { authorization = "Token token=acct-key" }

local function sandbox(args)
  args = args or {}
  args.api_keys = { "acct-key" }
  args.preset_tokens = { { token = "tok-write" }, { token = "tok-read", scope = "read", user = "bruno@sandbox.example.com" },
    { token = "tok-elif", user = "elif@sandbox.example.com" }, { token = "tok-hiro", user = "hiro@sandbox.example.com" } }
  return H.new(args)
end

local function new_incident(call, fields)
  local svc = call("GET", "/incidents", { query = { date_range = "all", limit = "1" } }).json.incidents[1].service.id
  local inc = { type = "incident", title = "fidelity", service = { id = svc, type = "service_reference" } }
  for k, v in pairs(fields or {}) do inc[k] = v end
  local r = call("POST", "/incidents", { body = { incident = inc } })
  t.eq(r.status, 201)
  return r.json.incident
end

t.test("array filters and include need their [] form", function()
  local call = sandbox()
  for _, name in ipairs { "statuses", "service_ids", "include", "urgencies", "team_ids", "user_ids" } do
    local r = call("GET", "/incidents", { query = { [name] = "x" } })
    t.eq(r.status, 400, name)
    t.match(r.json.error.errors[1], name .. "%[%]", "the message names the [] form")
  end
  -- control: the [] form filters
  local r = call("GET", "/incidents", { query = { date_range = "all", ["statuses[]"] = "resolved", limit = "100" } })
  t.eq(r.status, 200)
  for _, inc in ipairs(r.json.incidents) do t.eq(inc.status, "resolved") end
  t.eq(call("GET", "/log_entries", { query = { team_ids = "P1" } }).status, 400)
  t.eq(call("GET", "/users/me", { query = { include = "teams" } }).status, 400)
end)

t.test("undocumented parameters and include values are refused", function()
  local call = sandbox()
  local inc = new_incident(call)
  -- time_zone is documented only on the listings and getLogEntry
  t.eq(call("GET", "/incidents/" .. inc.id, { query = { time_zone = "Asia/Tokyo" } }).status, 400)
  t.eq(call("GET", "/incidents/" .. inc.id .. "/notes", { query = { time_zone = "Asia/Tokyo" } }).status, 400)
  t.eq(call("GET", "/users/me", { query = { time_zone = "Asia/Tokyo" } }).status, 400)
  t.eq(call("GET", "/incidents", { query = { time_zone = "Asia/Tokyo" } }).status, 200, "documented there")
  t.eq(call("GET", "/incidents", { query = { statuss = "x" } }).status, 400, "a misspelt parameter")
  t.eq(call("GET", "/incidents", { query = { ["include[]"] = "nonsense" } }).status, 400)
  t.eq(call("GET", "/incidents", { query = { ["include[]"] = "custom_fields" } }).status, 400, "getIncident only")
  t.eq(call("GET", "/log_entries", { query = { date_range = "all" } }).status, 400, "not a log entries parameter")
end)

t.test("incident.body only with include[]=body", function()
  local call = sandbox()
  local inc = new_incident(call, { body = { type = "incident_body", details = "disk 97%" } })
  t.eq(inc.body, nil, "not in the create answer")
  t.eq(call("GET", "/incidents/" .. inc.id).json.incident.body, nil)
  local r = call("GET", "/incidents/" .. inc.id, { query = { ["include[]"] = "body" } })
  t.eq(r.json.incident.body.details, "disk 97%")
  r = call("GET", "/incidents", { query = { date_range = "all", ["include[]"] = "body", incident_key = "", limit = "100" } })
  t.eq(r.status, 200)
  for _, i in ipairs(r.json.incidents) do t.ok(i.body, "every listed incident has a body") end
end)

t.test("include[]=custom_fields and subdomains are applied", function()
  local call = sandbox()
  local inc = new_incident(call)
  t.eq(call("GET", "/incidents/" .. inc.id).json.incident.custom_fields, nil)
  local r = call("GET", "/incidents/" .. inc.id, { query = { ["include[]"] = "custom_fields" } })
  t.eq(type(r.json.incident.custom_fields), "table")
  t.eq(#r.json.incident.custom_fields, 0)
  t.eq(call("GET", "/users/me").json.user.subdomains, nil)
  t.eq(call("GET", "/users/me", { query = { ["include[]"] = "subdomains" } }).json.user.subdomains[1], "sandbox")
end)

t.test("notes come newest first, as the OpenAPI example", function()
  local call, _, app = sandbox()
  local inc = new_incident(call)
  call("POST", "/incidents/" .. inc.id .. "/notes", { body = { note = { content = "first" } } })
  app.clock_offset = app.clock_offset + 5
  call("POST", "/incidents/" .. inc.id .. "/notes", { body = { note = { content = "second" } } })
  local notes = call("GET", "/incidents/" .. inc.id .. "/notes").json.notes
  t.eq(#notes, 2)
  t.eq(notes[1].content, "second")
  t.eq(notes[2].content, "first")
end)

t.test("since/until without an offset are read in time_zone", function()
  local call = sandbox({ incidents = 300 })
  local ptime = require "vsrun.time"
  -- an incident of the last month, and its creation time as Tokyo wall time (UTC+9)
  local recent = call("GET", "/incidents", { query = { limit = "1", sort_by = "created_at:desc" } }).json.incidents[1]
  local at = ptime.parse(recent.created_at)
  local wall = ptime.format(at + 9 * 3600):gsub("Z$", "")
  local function first(q)
    q.sort_by = "created_at"
    local r = call("GET", "/incidents", { query = q })
    t.eq(r.status, 200)
    return r.json.incidents[1]
  end
  local got = first { since = wall, time_zone = "Asia/Tokyo" }
  t.eq(got and got.id, recent.id, "read as Tokyo time, the window starts at the incident")
  t.eq(got.created_at:sub(-6), "+09:00", "and the answer is in Tokyo time")
  -- control: the same wall time read as UTC (no time_zone) starts 9 hours later
  t.eq(first { since = wall }, nil, "without time_zone the text is UTC")
  local explicit = first { since = ptime.format(at), time_zone = "Asia/Tokyo" }
  t.eq(explicit and explicit.id, recent.id, "an explicit offset wins over time_zone")
end)

t.test("POST and PUT need Content-Type: application/json", function()
  local call = sandbox()
  local inc = new_incident(call)
  local body = json.encode { incident = { type = "incident_reference", status = "acknowledged" } }
  local r = call("PUT", "/incidents/" .. inc.id, { body = body })
  t.eq(r.status, 400)
  t.match(r.json.error.errors[1], "Content%-Type")
  r = call("PUT", "/incidents/" .. inc.id, { body = body, headers = { ["content-type"] = "text/plain" } })
  t.eq(r.status, 400)
  t.eq(call("POST", "/incidents/" .. inc.id .. "/notes", { body = '{"note":{"content":"x"}}' }).status, 400)
  r = call("PUT", "/incidents/" .. inc.id, { body = body, headers = { ["content-type"] = "application/json; charset=utf-8" } })
  t.eq(r.status, 200, "control: with the header it is applied")
end)

t.test("roles: observers write nothing, limited users only notes", function()
  local call, info = sandbox()
  local roles = {}
  for _, u in ipairs(info.users) do roles[u.email] = u.role end
  t.eq(roles["hiro@sandbox.example.com"], "observer")
  t.eq(roles["elif@sandbox.example.com"], "limited_user")
  local inc = new_incident(call)
  local svc = inc.service.id
  local create = { incident = { type = "incident", title = "x", service = { id = svc, type = "service_reference" } } }
  local ack = { incident = { type = "incident_reference", status = "acknowledged" } }
  local note = { note = { content = "n" } }
  -- a token's own user: 403 2010
  local r = call("POST", "/incidents", { token = "tok-hiro", body = create })
  t.eq(r.status, 403)
  t.eq(r.json.error.code, 2010)
  t.eq(call("PUT", "/incidents/" .. inc.id, { token = "tok-hiro", body = ack }).status, 403)
  t.eq(call("POST", "/incidents/" .. inc.id .. "/notes", { token = "tok-hiro", body = note }).status, 403)
  t.eq(call("POST", "/incidents", { token = "tok-elif", body = create }).status, 403)
  t.eq(call("PUT", "/incidents/" .. inc.id, { token = "tok-elif", body = ack }).status, 403)
  t.eq(call("POST", "/incidents/" .. inc.id .. "/notes", { token = "tok-elif", body = note }).status, 200)
  -- an account key with From: 403 1018
  r = call("PUT", "/incidents/" .. inc.id, { token = false, headers = { authorization = ACCOUNT.authorization,
    from = "hiro@sandbox.example.com" }, body = ack })
  t.eq(r.status, 403)
  t.eq(r.json.error.code, 1018)
  t.eq(call("GET", "/incidents/" .. inc.id).json.incident.status, "triggered", "nothing was applied")
  -- control: a user may
  r = call("PUT", "/incidents/" .. inc.id, { token = false, headers = { authorization = ACCOUNT.authorization,
    from = "bruno@sandbox.example.com" }, body = ack })
  t.eq(r.status, 200)
end)

t.test("incident_type is applied on update", function()
  local call = sandbox()
  local inc = new_incident(call)
  local r = call("PUT", "/incidents/" .. inc.id, { body = { incident = { type = "incident_reference",
    incident_type = { name = "security_incident" } } } })
  t.eq(r.status, 200)
  t.eq(r.json.incident.incident_type.name, "security_incident")
  t.eq(call("GET", "/incidents/" .. inc.id).json.incident.incident_type.name, "security_incident")
  t.eq(call("PUT", "/incidents/" .. inc.id, { body = { incident = { type = "incident_reference", incident_type = "x" } } }).status, 400)
end)

t.test("only getIncident takes an incident number", function()
  local call = sandbox()
  local inc = new_incident(call)
  local n = tostring(inc.incident_number)
  t.eq(call("GET", "/incidents/" .. n).json.incident.id, inc.id)
  t.eq(call("PUT", "/incidents/" .. n, { body = { incident = { type = "incident_reference", status = "acknowledged" } } }).status, 404)
  t.eq(call("GET", "/incidents/" .. n .. "/notes").status, 404)
  t.eq(call("POST", "/incidents/" .. n .. "/notes", { body = { note = { content = "x" } } }).status, 404)
  t.eq(call("GET", "/incidents/" .. n .. "/log_entries").status, 404)
  t.eq(call("GET", "/incidents/" .. inc.id .. "/log_entries").status, 200, "control: by ID")
end)

t.test("escalation_level must be a number", function()
  local call = sandbox()
  local inc = new_incident(call)
  local function level(v)
    return call("PUT", "/incidents/" .. inc.id, { body = { incident = { type = "incident_reference", escalation_level = v } } })
  end
  t.eq(level("2").status, 400)
  t.eq(level(2).status, 200, "control: a number escalates")
end)

t.test("limit above 100 is refused; the log's window is at most 6 months", function()
  local call = sandbox()
  t.eq(call("GET", "/incidents", { query = { limit = "101" } }).status, 400)
  t.eq(call("GET", "/log_entries", { query = { limit = "101" } }).status, 400)
  t.eq(call("GET", "/log_entries", { query = { limit = "100" } }).status, 200)
  local r = call("GET", "/log_entries", { query = { since = "2025-01-01T00:00:00Z", ["until"] = "2025-07-02T00:00:00Z" } })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 2005)
  t.eq(call("GET", "/log_entries", { query = { since = "2025-01-01T00:00:00Z", ["until"] = "2025-06-30T00:00:00Z" } }).status, 200)
end)

t.test("since alone runs to now", function()
  local call = sandbox({ incidents = 100 })
  local a = call("GET", "/incidents", { query = { since = "2025-12-01T00:00:00Z", total = "true" } }).json.total
  local b = call("GET", "/incidents", { query = { since = "2025-12-01T00:00:00Z", ["until"] = "2026-01-01T00:00:01Z", total = "true" } }).json.total
  t.eq(a, b)
  t.ok(a > 0, "control: the window is not empty")
end)

t.test("a second acknowledge or resolve is 1002 / 1001; reassigning a resolved incident is 1001", function()
  local call, info = sandbox()
  local inc = new_incident(call)
  local function put(f) f.type = "incident_reference" return call("PUT", "/incidents/" .. inc.id, { body = { incident = f } }) end
  t.eq(put({ status = "acknowledged" }).status, 200)
  local r = put({ status = "acknowledged" })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 1002)
  t.eq(put({ status = "resolved" }).status, 200)
  r = put({ status = "resolved" })
  t.eq(r.json.error.code, 1001)
  r = put({ assignments = { { assignee = { id = info.users[2].id, type = "user_reference" } } } })
  t.eq(r.status, 400)
  t.eq(r.json.error.code, 1001)
end)

t.test("key paging: sort_by=created_at both ways, since inclusive", function()
  local call = sandbox({ incidents = 60 })
  local all = call("GET", "/incidents", { query = { date_range = "all", limit = "100", sort_by = "created_at:asc" } }).json.incidents
  local desc = call("GET", "/incidents", { query = { date_range = "all", limit = "100", sort_by = "created_at:desc" } }).json.incidents
  t.eq(#all, 60)
  t.eq(desc[1].id, all[#all].id)
  t.eq(desc[#desc].id, all[1].id)
  local mid = all[58]
  local from = call("GET", "/incidents", { query = { since = mid.created_at, sort_by = "created_at", limit = "100" } }).json.incidents
  t.eq(from[1].created_at, mid.created_at, "since is inclusive")
end)
