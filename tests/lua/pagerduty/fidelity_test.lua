-- The pagerduty module does not depend on choices PagerDuty's docs leave open (docs/sandbox.md,
-- "Stricter than PagerDuty"): note order, a repeated acknowledge or resolve, time offsets.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local sandbox = require "vsrun.sandbox"
local list = require "vsrun.pd_list"
local H = require "pd_helpers"

H.seed(20)
local SVC = H.account().services[1].id

local function contents(notes)
  local out = {}
  for i, n in ipairs(notes) do out[i] = n.content end
  return table.concat(out, ",")
end

t.test("notes are listed oldest first whatever order the API sends", function()
  local inc = pd.create_incident { title = "note order", service = SVC }
  pd.create_incident_note(inc.id, "first")
  sandbox.advance(5)
  pd.create_incident_note(inc.id, "second")
  -- the sandbox sends them newest first (tests/lua/sandbox/fidelity_test.lua)
  t.eq(contents(pd.list_incident_notes(inc.id):collect()), "first,second")
end)

t.test("oldest_first: either direction, same-second notes keep their creation order", function()
  local function n(c, at) return { content = c, created_at = at } end
  local T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:07Z"
  t.eq(contents(list.oldest_first { n("a", T1), n("b", T1), n("c", T2) }), "a,b,c", "oldest first stays")
  t.eq(contents(list.oldest_first { n("c", T2), n("b", T1), n("a", T1) }), "a,b,c", "newest first is reversed")
  t.eq(contents(list.oldest_first { n("b", T1), n("a", T1) }), "a,b", "all equal: taken as newest first")
  t.eq(contents(list.oldest_first { n("b", "2026-01-01T01:00:00+01:00"), n("a", "2025-12-31T23:00:00Z") }), "a,b",
    "offsets are compared as instants")
  t.eq(#list.oldest_first {}, 0)
end)

t.test("acknowledging or resolving twice is success", function()
  local inc = pd.create_incident { title = "twice", service = SVC }
  t.eq(pd.acknowledge(inc.id).status, "acknowledged")
  sandbox.clear_requests()
  local again = pd.acknowledge(inc.id)
  t.eq(again.status, "acknowledged")
  t.eq(again.id, inc.id)
  local reqs = sandbox.requests { path = "^/incidents/" }
  t.eq(#reqs, 2, "the refused PUT, then the incident read back")
  t.eq(reqs[1].status, 400)
  t.eq(pd.resolve(inc.id, "done").status, "resolved")
  t.eq(pd.resolve(inc.id, "done").status, "resolved")
end)

t.test("a repeated acknowledge with other fields still applies them", function()
  local inc = pd.create_incident { title = "ack and rename", service = SVC }
  pd.acknowledge(inc.id)
  local r = pd.update_incident(inc.id, { status = "acknowledged", title = "renamed", urgency = "low" })
  t.eq(r.status, "acknowledged")
  t.eq(r.title, "renamed")
  t.eq(pd.get_incident(inc.id).urgency, "low")
end)

t.test("other 400s on update still raise", function()
  local inc = pd.create_incident { title = "resolved", service = SVC }
  pd.resolve(inc.id)
  -- reassigning a resolved incident is PagerDuty's 1001 too, but not "already resolved"
  t.raises("invalid_argument", function() pd.update_incident(inc.id, { assignee = H.account().users[2].id }) end)
end)

t.test("since and until are sent with an explicit offset", function()
  sandbox.clear_requests()
  pd.list_incidents({ since = "2026-01-01T09:00:00+09:00", ["until"] = os.time(), limit = 1 }):collect()
  pd.list_log_entries({ since = os.time() - 3600, limit = 1 }):collect()
  local n = 0
  for _, r in ipairs(sandbox.requests { method = "GET" }) do
    for _, k in ipairs { "since", "until" } do
      local v = r.query[k]
      if v then
        n = n + 1
        t.match(v, "Z$", k .. " carries its offset: " .. v)
      end
    end
  end
  t.ok(n >= 3, "since/until were sent: " .. n)
end)

t.test("incident bodies are read with include body", function()
  local inc = pd.create_incident { title = "with body", service = SVC, body = "disk 97%" }
  t.eq(inc.body, nil, "not returned unless asked")
  t.eq(pd.get_incident(inc.id, { include = { "body" } }).body.details, "disk 97%")
end)
