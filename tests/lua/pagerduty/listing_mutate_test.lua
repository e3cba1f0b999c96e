-- Listings whose records change while they are listed (issue 12 item 0): the loop body or
-- another client acknowledges, resolves, reassigns or creates incidents, and the listing
-- still yields every record that matched when it started, once each, and nothing created
-- after it started. Before paging by key, acknowledging 350 triggered incidents in the loop
-- acknowledged 249 of them: offsets shifted as records left the filter.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local vs = require "vsrun"
local H = require "pd_helpers"

H.seed(0)
-- many requests on purpose: no pacing by the sandbox's per-minute allowance
H.control("POST", "config", { rate_limit = 1000000, create_rate_limit = 1000000 })
local info = H.account()
local SVC, SVC2 = info.services[1].id, info.services[2].id
local U1, U2 = info.users[1].id, info.users[2].id

-- Creates `count` triggered incidents `age` seconds ago (the sandbox clock moved back for
-- the call), in batches that share a second: page boundaries fall inside seconds.
local function make(count, age, batch, body)
  local ids = {}
  local made = 0
  while made < count do
    local n = math.min(batch or 10, count - made)
    H.control("POST", "time", { offset = -age + made // (batch or 10) })
    local b = { count = n }
    for k, v in pairs(body or {}) do b[k] = v end
    for _, id in ipairs(H.control("POST", "incidents", b).ids) do ids[#ids + 1] = id end
    made = made + n
  end
  H.control("POST", "time", { offset = 0 })
  return ids
end

-- Resolves every open incident directly (the sandbox starts each test from a clean slate).
local function resolve_all()
  local open = pd.list_incidents({ statuses = { "triggered", "acknowledged" }, date_range = "all" }):collect()
  vs.map(open, function(inc) pd.resolve(inc.id) end, { concurrency = 8 })
  t.eq(H.counts().triggered + H.counts().acknowledged, 0, "clean slate")
end

local function set_of(list)
  local s = {}
  for _, id in ipairs(list) do s[id] = true end
  return s
end

t.test("acknowledging each listed triggered incident acknowledges all 350", function()
  resolve_all()
  -- 350 over the past days: 10 per second, and one second holding 150 (more than a page)
  local ids = make(200, 5 * 86400)
  for _, id in ipairs(make(150, 2 * 86400, 150)) do ids[#ids + 1] = id end
  t.eq(H.counts().triggered, 350)
  local seen, n = {}, 0
  for inc in pd.list_incidents { statuses = { "triggered" }, date_range = "all" } do
    t.ok(not seen[inc.id], "yielded twice: " .. inc.id)
    seen[inc.id] = true
    n = n + 1
    pd.acknowledge(inc.id)
  end
  t.eq(n, 350, "every triggered incident was yielded")
  t.eq(H.counts().triggered, 0, "and acknowledged: none left triggered")
  for _, id in ipairs(ids) do t.ok(seen[id], "yielded: " .. id) end
end)

t.test("the same without date_range: open incidents of any age are listed", function()
  resolve_all()
  local old = set_of(make(120, 90 * 86400))   -- older than PagerDuty's one-month default window
  local new = set_of(make(30, 3600))
  local n = 0
  for inc in pd.list_incidents { statuses = { "triggered" } } do
    n = n + 1
    pd.acknowledge(inc.id)
  end
  t.eq(n, 150)
  t.eq(H.counts().triggered, 0)
  -- with resolved in the filter, PagerDuty's default (the past month) stays
  local n_old, n_new = 0, 0
  for inc in pd.list_incidents { statuses = { "acknowledged", "resolved" } } do
    if old[inc.id] then n_old = n_old + 1 end
    if new[inc.id] then n_new = n_new + 1 end
  end
  t.eq(n_old, 0, "nothing older than a month")
  t.eq(n_new, 30, "the past month's")
end)

t.test("resolving, reassigning and creating in the loop body: each original once, nothing new", function()
  resolve_all()
  local ids = make(300, 86400, 10, { service = SVC })
  -- everything starts assigned to U1; the loop moves each away (it leaves the user filter)
  vs.map(ids, function(id) pd.update_incident(id, { assignee = U1 }) end, { concurrency = 8 })
  local start = set_of(ids)
  local seen, n, created = {}, 0, {}
  for inc in pd.list_incidents { user_ids = { U1 }, statuses = { "triggered", "acknowledged" } } do
    t.ok(start[inc.id], "only records that matched at the start: " .. inc.id)
    t.ok(not seen[inc.id], "yielded twice: " .. inc.id)
    seen[inc.id] = true
    n = n + 1
    if n % 3 == 0 then
      pd.resolve(inc.id)
    elseif n % 3 == 1 then
      pd.update_incident(inc.id, { assignee = U2 })
    else
      -- a new incident that matches the filter: it was not there when the listing started
      local new = pd.create_incident { title = "made in the loop " .. n, service = SVC, assignee = U1 }
      created[#created + 1] = new.id
    end
  end
  t.eq(n, 300)
  for _, id in ipairs(created) do t.ok(not seen[id], "created in the loop, not yielded: " .. id) end
  -- control: the created ones do match the filter, so a new listing finds them
  local later = set_of(H.ids(pd.list_incidents({ user_ids = { U1 }, statuses = { "triggered", "acknowledged" } }):collect()))
  for _, id in ipairs(created) do t.ok(later[id], "a new listing sees " .. id) end
end)

t.test("another client acknowledges and creates while the listing runs", function()
  resolve_all()
  local ids = make(400, 3 * 86400, 10, { service = SVC2 })
  local start = set_of(ids)
  -- the other client takes every 5th incident (oldest first) and creates new ones
  local taken = {}
  for i = 5, #ids, 5 do taken[ids[i]] = true end
  local other = vs.spawn(function()
    local k = 0
    for id in pairs(taken) do
      pd.acknowledge(id)
      k = k + 1
      if k % 20 == 0 then H.control("POST", "incidents", { count = 3, service = SVC2 }) end
    end
  end)
  local seen, n = {}, 0
  for inc in pd.list_incidents { statuses = { "triggered" }, service_ids = { SVC2 } } do
    t.ok(start[inc.id], "only records that matched at the start: " .. inc.id)
    t.ok(not seen[inc.id], "yielded twice: " .. inc.id)
    seen[inc.id] = true
    n = n + 1
    if not taken[inc.id] then pd.acknowledge(inc.id) end
  end
  other:wait()
  for _, id in ipairs(ids) do
    if not taken[id] then t.ok(seen[id], "not touched by the other client, so yielded: " .. id) end
  end
  t.ok(H.counts().triggered > 0, "control: the other client's creates are still triggered")
end)

t.test("break, then a new listing finishes the job", function()
  resolve_all()
  make(250, 86400)
  local n = 0
  for inc in pd.list_incidents { statuses = { "triggered" } } do
    pd.acknowledge(inc.id)
    n = n + 1
    if n == 42 then break end
  end
  t.eq(H.counts().triggered, 250 - 42)
  n = 0
  for inc in pd.list_incidents { statuses = { "triggered" } } do
    pd.acknowledge(inc.id)
    n = n + 1
  end
  t.eq(n, 250 - 42)
  t.eq(H.counts().triggered, 0)
end)

t.test("the account's log while the loop body adds entries: each original once, nothing new", function()
  resolve_all()
  local ids = make(40, 2 * 86400)
  local since = os.time() - 3 * 86400
  local before = #pd.list_log_entries({ since = since }):collect()
  local seen, n, k = {}, 0, 0
  for e in pd.list_log_entries { since = since } do
    t.ok(not seen[e.id], "yielded twice: " .. e.id)
    seen[e.id] = true
    n = n + 1
    if n % 5 == 0 and k < #ids then k = k + 1 pd.acknowledge(ids[k]) end   -- adds log entries
  end
  t.eq(n, before, "the entries there at the start, no more")
  t.ok(#pd.list_log_entries({ since = since }):collect() > before, "control: the loop did add entries")
end)

t.test("sort_by urgency is applied over every record", function()
  resolve_all()
  make(130, 86400, 10, { urgency = "low" })
  make(130, 80000, 10, { urgency = "high" })
  local got = pd.list_incidents({ statuses = { "triggered" }, sort_by = "urgency:desc,created_at" }):collect()
  t.eq(#got, 260)
  t.eq(got[1].urgency, "low")
  t.eq(got[260].urgency, "high")
  for i = 2, #got do
    local a, b = got[i - 1], got[i]
    t.ok(a.urgency > b.urgency or (a.urgency == b.urgency and a.created_at <= b.created_at), "in order at " .. i)
  end
  t.eq(#pd.list_incidents({ statuses = { "triggered" }, sort_by = "urgency", limit = 5 }):collect(), 5)
end)

t.test("newest first, with 250 incidents in one second, while acknowledging", function()
  resolve_all()
  local ids = make(30, 7200)
  for _, id in ipairs(make(250, 5000, 250)) do ids[#ids + 1] = id end
  for _, id in ipairs(make(30, 3000)) do ids[#ids + 1] = id end
  local seen, n, prev = {}, 0, nil
  for inc in pd.list_incidents { statuses = { "triggered" }, sort_by = "created_at:desc" } do
    t.ok(not seen[inc.id], "yielded twice: " .. inc.id)
    seen[inc.id] = true
    if prev then t.ok(inc.created_at <= prev, "newest first") end
    prev = inc.created_at
    n = n + 1
    pd.acknowledge(inc.id)
  end
  t.eq(n, 310)
  t.eq(H.counts().triggered, 0)
end)
