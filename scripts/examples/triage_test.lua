local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local pd = require "pagerduty"

local function setup()
  sandbox.seed { incidents = 0 }
  local services = sandbox.info().services
  local svc, other = services[1].id, services[2].id
  local ours = sandbox.create_incidents { count = 3, service = svc, urgency = "high", status = "triggered" }
  local theirs = sandbox.create_incidents { count = 2, service = other, urgency = "high", status = "triggered" }
  sandbox.create_incidents { count = 2, service = svc, urgency = "low", status = "triggered" }
  return svc, ours, theirs
end

t.test("acknowledges only on the chosen services and notes who was paged", function()
  local svc, ours, theirs = setup()
  local result = t.script("triage.lua", { ack_services = svc })
  t.eq(result.looked_at, 5)
  t.eq(#result.acknowledged, 3)
  t.eq(#result.left_triggered, 2)
  for _, id in ipairs(ours) do
    t.eq(pd.get_incident(id).status, "acknowledged")
    local notes = pd.list_incident_notes(id):collect()
    t.eq(#notes, 1)
    t.match(notes[1].content, "^Triage %(automated triage%): acknowledged; paged .+<.+@.+>")
  end
  for _, id in ipairs(theirs) do t.eq(pd.get_incident(id).status, "triggered") end
end)

t.test("without ack_services it only reports: no write is sent", function()
  setup()
  sandbox.clear_requests()
  local result = t.script("triage.lua", {})
  t.eq(#result.acknowledged, 0)
  t.eq(#result.left_triggered, 5)
  t.eq(#sandbox.requests { method = "PUT" }, 0)
  t.eq(#sandbox.requests { method = "POST", path = "^/incidents" }, 0)
end)

t.test("assignees are fetched once each", function()
  setup()
  sandbox.clear_requests()
  t.script("triage.lua", { ack_services = "all" })
  local seen = {}
  for _, r in ipairs(sandbox.requests { method = "GET", path = "^/users/" }) do
    t.eq(seen[r.path], nil, "user fetched twice: " .. r.path)
    seen[r.path] = true
  end
  t.ok(next(seen), "no user was fetched")
end)

t.test("looks at every open high-urgency incident, of any age (make demo's sandbox)", function()
  sandbox.seed { incidents = 2000 }
  local time = require "vsrun.time"
  local open, old = 0, 0
  for inc in pd.list_incidents { statuses = { "triggered" }, urgencies = { "high" }, date_range = "all" } do
    open = open + 1
    if time.parse(inc.created_at) < time.add_months(os.time(), -1) then old = old + 1 end
  end
  t.ok(old > 0, "control: some are older than PagerDuty's one-month default window")
  local result = t.script("triage.lua", { ack_services = "all" })
  t.eq(result.looked_at, open)
  t.eq(#result.acknowledged, open)
  t.eq(#pd.list_incidents({ statuses = { "triggered" }, urgencies = { "high" }, date_range = "all" }):collect(), 0,
    "none left triggered")
end)
