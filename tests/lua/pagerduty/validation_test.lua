-- Argument checks: every bad argument is refused with invalid_argument naming the action
-- and the field, before any request (the sandbox's request log stays empty).
local t = require "vsrun.testing"
local pd = require "pagerduty"
local sandbox = require "vsrun.sandbox"

local function refused(action, field, fn, ...)
  local err = t.raises("invalid_argument", fn, ...)
  t.eq(err.action, action, "action")
  t.match(err.message, action, "message names the action")
  if field then t.match(err.message, "`" .. field:gsub("%p", "%%%0") .. "`", "message names the field") end
  return err
end

local cases = {
  { "get_incident", "id", pd.get_incident, nil },
  { "get_incident", "id", pd.get_incident, "P/../x" },
  { "get_incident", "id", pd.get_incident, "" },
  { "get_incident", "id", pd.get_incident, {} },
  { "get_incident", "include[1]", pd.get_incident, "P1", { include = { "nope" } } },
  { "get_incident", "include", pd.get_incident, "P1", { include = 5 } },
  { "get_incident", "bogus", pd.get_incident, "P1", { bogus = true } },
  { "get_incident", "options", pd.get_incident, "P1", "include" },
  { "list_incidents", "statuses[1]", pd.list_incidents, { statuses = { "open" } } },
  { "list_incidents", "urgencies[2]", pd.list_incidents, { urgencies = { "high", "urgent" } } },
  { "list_incidents", "service_ids[1]", pd.list_incidents, { service_ids = { "P 1" } } },
  { "list_incidents", "team_ids", pd.list_incidents, { team_ids = 7 } },
  { "list_incidents", "user_ids[1]", pd.list_incidents, { user_ids = { {} } } },
  { "list_incidents", "incident_key", pd.list_incidents, { incident_key = 5 } },
  { "list_incidents", "since", pd.list_incidents, { since = "yesterday" } },
  { "list_incidents", "until", pd.list_incidents, { since = "2026-02-01T00:00:00Z", ["until"] = "2026-01-01T00:00:00Z" } },
  { "list_incidents", "date_range", pd.list_incidents, { date_range = "week" } },
  { "list_incidents", "date_range", pd.list_incidents, { date_range = "all", since = "2026-01-01" } },
  { "list_incidents", "sort_by", pd.list_incidents, { sort_by = { "a", "b", "c" } } },
  { "list_incidents", "sort_by[1]", pd.list_incidents, { sort_by = "title:asc" } },
  { "list_incidents", "sort_by[1]", pd.list_incidents, { sort_by = "created_at:up" } },
  { "list_incidents", "include[1]", pd.list_incidents, { include = { "custom_fields" } } },
  { "list_incidents", "limit", pd.list_incidents, { limit = 0 } },
  { "list_incidents", "limit", pd.list_incidents, { limit = 1.5 } },
  { "list_incidents", "time_zone", pd.list_incidents, { time_zone = true } },
  { "list_incidents", "statuse", pd.list_incidents, { statuse = { "triggered" } } },
  { "create_incident", "arguments", pd.create_incident, nil },
  { "create_incident", "title", pd.create_incident, { service = "PSVC1" } },
  { "create_incident", "title", pd.create_incident, { title = "", service = "PSVC1" } },
  { "create_incident", "title", pd.create_incident, { title = 3, service = "PSVC1" } },
  { "create_incident", "service", pd.create_incident, { title = "x" } },
  { "create_incident", "service.id", pd.create_incident, { title = "x", service = { name = "svc" } } },
  { "create_incident", "urgency", pd.create_incident, { title = "x", service = "PSVC1", urgency = "medium" } },
  { "create_incident", "body", pd.create_incident, { title = "x", service = "PSVC1", body = { details = "d" } } },
  { "create_incident", "incident_key", pd.create_incident, { title = "x", service = "PSVC1", incident_key = {} } },
  { "create_incident", "priority", pd.create_incident, { title = "x", service = "PSVC1", priority = 1.5 } },
  { "create_incident", "assignee", pd.create_incident, { title = "x", service = "PSVC1", assignee = "PU1", escalation_policy = "PEP1" } },
  { "create_incident", "escalation_policy", pd.create_incident, { title = "x", service = "PSVC1", escalation_policy = "bad id" } },
  { "create_incident", "incident_type", pd.create_incident, { title = "x", service = "PSVC1", incident_type = 4 } },
  { "create_incident", "conference_bridge.conference_url", pd.create_incident, { title = "x", service = "PSVC1", conference_bridge = { conference_url = 1 } } },
  { "create_incident", "conference_bridge.phone", pd.create_incident, { title = "x", service = "PSVC1", conference_bridge = { phone = "1" } } },
  { "create_incident", "severity", pd.create_incident, { title = "x", service = "PSVC1", severity = 1 } },
  { "update_incident", "id", pd.update_incident, "bad id", { status = "resolved" } },
  { "update_incident", "fields", pd.update_incident, "P1", nil },
  { "update_incident", "fields", pd.update_incident, "P1", {} },
  { "update_incident", "status", pd.update_incident, "P1", { status = "closed" } },
  { "update_incident", "resolution", pd.update_incident, "P1", { status = "acknowledged", resolution = "x" } },
  { "update_incident", "escalation_level", pd.update_incident, "P1", { escalation_level = 0 } },
  { "update_incident", "assignees", pd.update_incident, "P1", { assignees = {} } },
  { "update_incident", "assignee", pd.update_incident, "P1", { assignee = "PU1", assignees = { "PU2" } } },
  { "update_incident", "assignees[2]", pd.update_incident, "P1", { assignees = { "PU1", "x y" } } },
  { "update_incident", "urgency", pd.update_incident, "P1", { urgency = 1 } },
  { "update_incident", "title", pd.update_incident, "P1", { title = "" } },
  { "update_incident", "service", pd.update_incident, "P1", { service = true } },
  { "update_incident", "priority.name", pd.update_incident, "P1", { priority = { name = 1 } } },
  { "update_incident", "id", pd.acknowledge, nil },
  { "update_incident", "resolution", pd.resolve, "P1", 42 },
  { "create_incident_note", "id", pd.create_incident_note, "..", "text" },
  { "create_incident_note", "content", pd.create_incident_note, "P1", nil },
  { "create_incident_note", "content", pd.create_incident_note, "P1", "" },
  { "create_incident_note", "content", pd.create_incident_note, "P1", 12 },
  { "list_incident_notes", "id", pd.list_incident_notes, "a/b" },
  { "get_log_entry", "id", pd.get_log_entry, nil },
  { "get_log_entry", "include[1]", pd.get_log_entry, "R1", { include = { "users" } } },
  { "get_log_entry", "time_zone", pd.get_log_entry, "R1", { time_zone = 1 } },
  { "list_log_entries", "incident_id", pd.list_log_entries, { incident_id = "?" } },
  { "list_log_entries", "team_ids", pd.list_log_entries, { incident_id = "P1", team_ids = { "T1" } } },
  { "list_log_entries", "is_overview", pd.list_log_entries, { is_overview = "yes" } },
  { "list_log_entries", "since", pd.list_log_entries, { since = "2026-13-01" } },
  { "list_log_entries", "include[1]", pd.list_log_entries, { include = "contact_methods" } },
  { "list_log_entries", "statuses", pd.list_log_entries, { statuses = { "triggered" } } },
  { "get_user", "id", pd.get_user, "me/../x" },
  { "get_user", "include[1]", pd.get_user, "me", { include = { "incidents" } } },
}

for i, c in ipairs(cases) do
  t.test(("refused before sending #%d: %s %s"):format(i, c[1], c[2]), function()
    local before = #sandbox.requests()
    refused(c[1], c[2], c[3], table.unpack(c, 4, 5))
    t.eq(#sandbox.requests(), before, "no request reached the sandbox")
  end)
end

t.test("a client from connect() checks the same way, with . or :", function()
  local c = pd.connect()
  refused("get_incident", "id", c.get_incident, "bad id")
  refused("get_incident", "id", function() return c:get_incident("bad id") end)
end)

t.test("connect refuses a non-string name", function()
  refused("connect", "name", pd.connect, 42)
end)

t.test("both acknowledge log entry spellings are one kind", function()
  t.eq(pd.log_entry_kind({ type = "acknowledge_log_entry" }), "acknowledge")
  t.eq(pd.log_entry_kind({ type = "acknowledgement_log_entry" }), "acknowledge")
  t.eq(pd.log_entry_kind("acknowledgement_log_entry_reference"), "acknowledge")
  t.eq(pd.log_entry_kind({ type = "resolve_log_entry" }), "resolve")
  t.eq(pd.log_entry_kind({}), nil)
end)

t.test("the connection object exposes no token", function()
  local conn = pd.connection()
  t.match(tostring(conn), "^pagerduty connection '")
  t.ok(conn.name and conn.kind and conn.api_url and conn.region, "name, kind, api_url, region")
  t.eq(conn.token, nil)
  t.eq(conn.from, nil)
  t.eq(getmetatable(conn), "no access")
end)

t.test("pd_core refuses other paths, /__sandbox/ and bad queries before sending", function()
  local pd_core = require "vsrun.pd_core"
  local conn = pd.connection()
  for _, req in ipairs {
    { method = "GET", path = "/__sandbox/requests" },
    { method = "POST", path = "/__sandbox/reset" },
    { method = "GET", path = "/services" },
    { method = "DELETE", path = "/incidents/P1" },
    { method = "GET", path = "/incidents/P1/../../__sandbox/requests" },
    { method = "GET", path = "/incidents%2F..%2F__sandbox" },
    { method = "GET", path = "/incidents?x=1" },
    { method = "GET", path = "http://127.0.0.1:1/incidents" },
    { method = "GET", path = "//evil.example/incidents" },
    { method = "GET", path = "/incidents", query = "a=b#c" },
    { method = "GET", path = "/incidents", body = "{}" },
  } do
    local id, why = pd_core.request(conn, req)
    t.eq(id, nil, req.method .. " " .. req.path)
    t.ok(type(why) == "string" and #why > 0, "a reason")
  end
end)

t.test("the request log does see requests (the checks above are not vacuous)", function()
  local before = #sandbox.requests()
  pd.list_incidents({ limit = 1 }):collect()
  t.ok(#sandbox.requests() > before, "the listing's requests are logged")
end)

t.test("nothing the allowlist refused reached the sandbox", function()
  for _, r in ipairs(sandbox.requests()) do
    t.no_match(r.path, "__sandbox", "no control API call through pd_core")
    t.ok(r.method == "GET", "only reads were sent by this file: " .. r.method .. " " .. r.path)
  end
end)

t.test("times: ISO 8601 and HTTP dates to Unix seconds and back", function()
  local ptime = require "vsrun.time"
  t.eq(ptime.parse("1970-01-01T00:00:00Z"), 0)
  t.eq(ptime.parse("2026-01-01T00:00:00Z"), 1767225600)
  t.eq(ptime.parse("2026-01-01T01:00:00+01:00"), 1767225600)
  t.eq(ptime.parse("2025-12-31T19:00:00-05:00"), 1767225600)
  t.eq(ptime.parse("2026-01-01T00:00:00.123Z"), 1767225600)
  t.eq(ptime.parse("2026-01-01"), 1767225600)
  t.eq(ptime.parse("2024-02-29T12:00:00Z"), 1709208000, "leap day")
  t.eq(ptime.format(1709208000), "2024-02-29T12:00:00Z")
  t.eq(ptime.format(ptime.parse("2099-12-31T23:59:59Z")), "2099-12-31T23:59:59Z")
  t.eq(ptime.parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT"), 1767225600)
  for _, bad in ipairs { "2026-13-01", "2026-01-01T25:00:00Z", "yesterday", "2026-01-01T00:00:00+0", "" } do
    t.eq(ptime.parse(bad), nil, bad)
  end
  t.eq(ptime.parse_http_date("Thu, 01 Foo 2026 00:00:00 GMT"), nil)
end)
