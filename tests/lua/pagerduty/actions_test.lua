-- Every action with every documented argument, against the in-process sandbox: the request
-- the sandbox saw and the result vsrun returned.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"

H.seed(60)
local info = H.account()
local SVC, SVC2 = info.services[1].id, info.services[2].id
local USER, USER2 = info.users[1].id, info.users[2].id

-- an existing incident with its escalation policy and a priority
local function sample()
  for inc in pd.list_incidents { date_range = "all", include = { "priorities" }, limit = 100 } do
    if type(inc.priority) == "table" and inc.priority.id then return inc end
  end
  error("no seeded incident has a priority")
end

local function last_request(method, path)
  local log = H.requests(method, path)
  return log[#log]
end

t.test("get_incident by id and by number, with includes", function()
  local inc = sample()
  local got = pd.get_incident(inc.id, { include = { "services", "assignees", "priorities", "escalation_policies" } })
  t.eq(got.id, inc.id)
  t.eq(got.type, "incident", "unwrapped")
  t.eq(got.service.type, "service", "include services swaps the reference for the object")
  local r = last_request("GET", "^/incidents/" .. inc.id .. "$")
  t.eq(r.query["include[]"], { "services", "assignees", "priorities", "escalation_policies" })
  t.eq(pd.get_incident(inc.incident_number).id, inc.id, "by number")
  t.eq(pd.get_incident(tostring(inc.incident_number)).id, inc.id, "by number as text")
end)

t.test("list_incidents with every filter", function()
  H.clear_log()
  local ptime = require "vsrun.time"
  -- an `until` in the past reaches the API as given (one in the future means "now": the
  -- listing never yields what was created after it started)
  local since, till = ptime.format(os.time() - 100 * 86400), ptime.format(os.time() - 3600)
  local since20 = os.time() - 86400 * 20   -- once: a slow run (valgrind) may cross a second
  local rows = pd.list_incidents {
    statuses = { "triggered", "acknowledged" }, urgencies = { "high" }, service_ids = { SVC, SVC2 },
    team_ids = nil, user_ids = nil, since = since20, time_zone = "Europe/Paris",
    include = { "services" }, sort_by = { "created_at:desc" }, limit = 5,
    concurrency = 1,   -- one request after another, so the last one is the window's page
  }:collect()
  t.ok(#rows <= 5, "limit caps the records")
  for _, i in ipairs(rows) do
    t.ok(i.status == "triggered" or i.status == "acknowledged", "status filter")
    t.eq(i.urgency, "high")
    t.ok(i.service.id == SVC or i.service.id == SVC2, "service filter")
  end
  local r = last_request("GET", "^/incidents$")
  t.eq(r.query["statuses[]"], { "triggered", "acknowledged" })
  t.eq(r.query["service_ids[]"], { SVC, SVC2 })
  t.eq(r.query.sort_by, "created_at:desc")
  t.eq(r.query.time_zone, "Europe/Paris")
  t.eq(r.query.since, require("vsrun.time").format(since20))
  t.eq(r.query.limit, "5")
  -- team_ids, user_ids, incident_key, until and a two-field sort reach the API too
  local inc = sample()
  pd.list_incidents({ team_ids = { "PT00001" }, user_ids = { USER }, incident_key = "k-1", since = since,
    ["until"] = till, sort_by = "urgency:desc,created_at" }):collect()
  for _, q in ipairs(H.requests("GET", "^/incidents$")) do
    if q.query.incident_key == "k-1" then r = q end
  end
  t.eq(r.query["team_ids[]"], { "PT00001" })
  t.eq(r.query["user_ids[]"], { USER })
  t.eq(r.query.incident_key, "k-1")
  t.eq(r.query["until"], till)
  -- pages are always by creation time; a sort by other fields is applied by vsrun
  t.eq(r.query.sort_by, "created_at:asc")
  t.ok(inc, "sample exists")
end)

t.test("create_incident with every argument, then update, acknowledge, resolve", function()
  local inc0 = sample()
  local prio = inc0.priority.id
  local inc = pd.create_incident {
    title = "Disk full on db-1", service = { id = SVC }, urgency = "low", body = "Filesystem /var at 99%",
    incident_key = "disk-full/db-1/" .. require("vsrun.core").random_hex(4), priority = prio,
    assignee = USER, incident_type = "major", conference_bridge = { conference_number = "+1-555-0100",
    conference_url = "https://meet.example/x" },
  }
  t.eq(inc.title, "Disk full on db-1")
  t.eq(inc.service.id, SVC)
  t.eq(inc.urgency, "low")
  t.eq(inc.priority.id, prio)
  t.eq(inc.assignments[1].assignee.id, USER)
  local fetched = pd.get_incident(inc.id, { include = { "first_trigger_log_entries", "conference_bridge" } })
  t.eq(fetched.incident_key, inc.incident_key)
  t.eq(fetched.conference_bridge.conference_url, "https://meet.example/x")

  local ep = inc0.escalation_policy.id
  local inc2 = pd.create_incident { title = "EP route", service = SVC, escalation_policy = ep }
  t.eq(inc2.escalation_policy.id, ep)
  t.match(inc2.incident_key, "^vsrun%-", "a generated incident_key makes the create retry-safe")

  local up = pd.update_incident(inc.id, { title = "Disk full on db-1 (cleanup)", urgency = "high",
    priority = { name = inc0.priority.summary or inc0.priority.name }, conference_bridge = { conference_number = "+1-555-0199" } })
  t.eq(up.title, "Disk full on db-1 (cleanup)")
  t.eq(up.urgency, "high")
  up = pd.update_incident(inc.id, { assignees = { USER, USER2 } })
  local who = {}
  for _, a in ipairs(up.assignments) do who[#who + 1] = a.assignee.id end
  table.sort(who)
  local want = { USER, USER2 }
  table.sort(want)
  t.eq(who, want, "assignees")
  up = pd.update_incident(inc.id, { escalation_policy = ep })
  t.eq(up.escalation_policy.id, ep)
  up = pd.update_incident(inc.id, { escalation_level = 1 })
  up = pd.update_incident(inc.id, { service = SVC2 })
  t.eq(up.service.id, SVC2, "moved to another service")
  local ack = pd.acknowledge(inc.id)
  t.eq(ack.status, "acknowledged")
  local r = last_request("PUT", "^/incidents/" .. inc.id .. "$")
  t.ok(r, "the PUT was logged")
  local res = pd.resolve(inc.id, "Rotated logs")
  t.eq(res.status, "resolved")
  -- reopen through update_incident(status = "triggered")
  t.eq(pd.update_incident(inc.id, { status = "triggered" }).status, "triggered")
end)

t.test("notes: create and list", function()
  local inc = pd.create_incident { title = "notes", service = SVC }
  local n1 = pd.create_incident_note(inc.id, "first")
  local n2 = pd.create_incident_note(inc.id, { content = "second" })
  t.eq(n1.content, "first")
  t.ok(n1.id and n2.id and n1.id ~= n2.id, "two notes")
  local notes = pd.list_incident_notes(inc.id):collect()
  t.eq(#notes, 2)
  t.eq(notes[1].content, "first")
  t.eq(notes[2].content, "second")
  local n = 0
  for note in pd.list_incident_notes(inc.id) do n = n + 1 t.ok(note.id) end
  t.eq(n, 2, "for ... in works")
end)

t.test("log entries: per incident, account-wide with every argument, get one", function()
  local inc = pd.create_incident { title = "log", service = SVC }
  pd.acknowledge(inc.id)
  pd.resolve(inc.id, "done")
  local kinds = {}
  for e in pd.list_log_entries { incident_id = inc.id, is_overview = false, include = { "incidents" }, time_zone = "UTC" } do
    kinds[#kinds + 1] = pd.log_entry_kind(e)
  end
  t.ok(#kinds >= 3, "trigger, acknowledge and resolve entries")
  local seen = {}
  for _, k in ipairs(kinds) do seen[k] = true end
  t.ok(seen.trigger and seen.acknowledge and seen.resolve, "kinds seen: " .. table.concat(kinds, ","))
  local r = last_request("GET", "/log_entries$")
  t.eq(r.path, "/incidents/" .. inc.id .. "/log_entries")
  t.eq(r.query.is_overview, "false")
  t.eq(r.query["include[]"], { "incidents" })

  local all = pd.list_log_entries { since = "2020-01-01T00:00:00Z", ["until"] = "2099-01-01T00:00:00Z",
    is_overview = true, team_ids = nil, include = { "services", "channels", "teams" }, limit = 3 }:collect()
  t.ok(#all >= 1 and #all <= 3, "account-wide listing")
  pd.list_log_entries({ team_ids = { "PT00001" }, limit = 1 }):collect()
  r = last_request("GET", "^/log_entries$")
  t.eq(r.query["team_ids[]"], { "PT00001" })

  local one = pd.get_log_entry(all[1].id, { include = { "incidents" }, time_zone = "America/New_York" })
  t.eq(one.id, all[1].id)
  r = last_request("GET", "^/log_entries/")
  t.eq(r.query.time_zone, "America/New_York")
end)

t.test("get_user by id and me, with includes", function()
  local u = pd.get_user(USER, { include = { "contact_methods", "notification_rules", "teams" } })
  t.eq(u.id, USER)
  t.eq(u.type, "user")
  t.ok(type(u.contact_methods) == "table", "contact methods")
  local me = pd.get_user("me", { include = { "subdomains", "calendar_urls" } })
  t.ok(me.id and me.email, "me")
end)

t.test("a client from connect() works with . and :", function()
  local c = pd.connect("sandbox")
  local inc = sample()
  t.eq(c.get_incident(inc.id).id, inc.id)
  t.eq(c:get_incident(inc.id).id, inc.id)
  t.eq(#c:list_incidents({ date_range = "all", limit = 3 }):collect(), 3)
  t.match(tostring(c), "pagerduty client 'sandbox'")
end)

t.test("the global pagerduty is the module", function()
  t.ok(rawget(_G, "pagerduty") == nil or rawget(_G, "pagerduty") == pd)
  t.eq(pagerduty, pd)
end)

t.test("the sandbox connection authenticates with its preset Bearer token", function()
  local conn = pd.connection()
  t.eq(conn.kind, "sandbox")
  t.eq(conn.region, "us")
  pd.get_user("me")
  local r = last_request("GET", "^/users/me$")
  t.match(r.auth, "^preset:", "the preset token was accepted")
  t.eq(r.status, 200)
end)
