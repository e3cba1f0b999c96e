-- Concurrent listing (issue 13 item 1): with `concurrency` pages in flight, a listing yields
-- exactly the records of a sequential one (concurrency = 1), in the same order: against a
-- sandbox with latency and jitter (pages come back out of order), newest first, log
-- entries, records created and resolved by the loop body, a break, a 429, and past 10,000.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local vs = require "vsrun"
local H = require "pd_helpers"

H.seed(3000)
H.control("POST", "config", { rate_limit = 1000000, create_rate_limit = 1000000, latency = 30, jitter = 25 })
local info = H.account()
local SVC = info.services[1].id

-- 400 open incidents over the past 80 days (the seed has few): 5 a day, 20 at once every 4th day
for day = 1, 80 do
  H.control("POST", "time", { offset = -day * 86400 })
  H.control("POST", "incidents", { count = day % 4 == 0 and 20 or 5, service = SVC })
end
H.control("POST", "time", { offset = 0 })

local function ids_of(opts, concurrency)
  local o = { concurrency = concurrency }
  for k, v in pairs(opts) do o[k] = v end
  return H.ids(pd.list_incidents(o):collect())
end

local function same(got, want, label)
  t.eq(#got, #want, label .. ": count")
  for i = 1, #want do
    if got[i] ~= want[i] then t.fail(("%s: record %d is %s, expected %s"):format(label, i, got[i], want[i])) return end
  end
end

-- requests for pages of split windows (the first page of each window asks for total)
local function page_requests()
  local n, totals = 0, 0
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do
    if r.query["until"] then n = n + 1 end
    if r.query.total == "true" then totals = totals + 1 end
  end
  return n, totals
end

t.test("the same records in the same order as a sequential listing, oldest and newest first", function()
  for _, opts in ipairs {
    { date_range = "all" },
    { date_range = "all", sort_by = "created_at:desc" },
    { since = os.time() - 200 * 86400, ["until"] = os.time() - 86400 },
    { statuses = { "triggered", "acknowledged" } },
    { date_range = "all", urgencies = { "high" }, sort_by = "urgency,created_at:desc" },
  } do
    local label = (opts.sort_by or "created_at") .. (opts.statuses and " open" or "") .. (opts.since and " since" or "")
    local seq = ids_of(opts, 1)
    t.ok(#seq > 100, label .. ": more than a page (control)")
    H.clear_log()
    same(ids_of(opts, 8), seq, label)
    local pages, totals = page_requests()
    t.ok(totals >= 1, label .. ": the first page asked for the total")
    t.ok(pages > #seq // 100 + 1, label .. ": windows were split (" .. pages .. " pages)")
  end
end)

t.test("pages are in flight together: several windows requested before the first page is used", function()
  H.clear_log()
  local it = pd.list_incidents { date_range = "all", concurrency = 8 }
  it()
  vs.sleep(0.5)   -- let the pool fill (the loop has not consumed the first page yet)
  local seen = {}
  local n = 0
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do
    local since = r.query.since
    if since and r.query["until"] and not seen[since] then seen[since] = true n = n + 1 end
  end
  t.ok(n > 3, "pages of several windows requested: " .. n)
  it:close()
  -- control: sequential fetches one page ahead only
  H.clear_log()
  it = pd.list_incidents { date_range = "all", concurrency = 1 }
  it()
  vs.sleep(0.5)
  t.eq((page_requests()), 2, "concurrency = 1: the page in use and the next one")
  it:close()
end)

t.test("log entries: the same entries in the same order", function()
  local since = os.time() - 170 * 86400
  local seq = H.ids(pd.list_log_entries({ since = since, concurrency = 1 }):collect())
  t.ok(#seq > 200, "control: several pages of entries")
  same(H.ids(pd.list_log_entries({ since = since }):collect()), seq, "log entries")
end)

t.test("one incident's whole log (no since): the same entries in the same order", function()
  local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
  -- 300 notes over two days: several pages of log entries before the recent minute
  for i = 1, 300 do
    if i % 30 == 1 then H.control("POST", "time", { offset = -2 * 86400 + i * 500 }) end
    pd.create_incident_note(inc.id, "note " .. i)
  end
  H.control("POST", "time", { offset = 0 })
  local seq = H.ids(pd.list_log_entries({ incident_id = inc.id, concurrency = 1 }):collect())
  t.ok(#seq >= 300, "control: several pages of entries: " .. #seq)
  H.clear_log()
  same(H.ids(pd.list_log_entries({ incident_id = inc.id }):collect()), seq, "one incident's log")
  -- split: the first page asked for the count, and so did each piece cut from the rest
  local counted = 0
  for _, r in ipairs(H.requests("GET", "/log_entries$")) do if r.query.total == "true" then counted = counted + 1 end end
  t.ok(counted >= 2, "the log was cut into pieces: " .. counted .. " counted pages")
end)

t.test("the loop body resolves, acknowledges and creates: each original once, in order, nothing new", function()
  -- the open incidents at the start, in order, listed sequentially (nothing changes them)
  local open = { statuses = { "triggered", "acknowledged" }, date_range = "all" }
  -- little latency: the loop body makes a request per record, one after another
  H.control("POST", "config", { latency = 5, jitter = 5 })
  local want = ids_of(open, 1)
  t.ok(#want > 300, "control: several pages of open incidents")
  local got, created = {}, {}
  local n = 0
  for inc in pd.list_incidents { statuses = open.statuses, date_range = "all", concurrency = 8 } do
    got[#got + 1] = inc.id
    n = n + 1
    if n % 3 == 0 then pd.resolve(inc.id)
    elseif n % 3 == 1 then pd.acknowledge(inc.id)
    elseif n % 50 == 2 then created[#created + 1] = pd.create_incident { title = "new " .. n, service = SVC }.id end
  end
  same(got, want, "open incidents while the loop changes them")
  local later = {}
  for _, id in ipairs(ids_of(open, 1)) do later[id] = true end
  for _, id in ipairs(created) do t.ok(later[id], "control: a new listing sees " .. id) end
  t.ok(#created > 0, "control: the loop created incidents")
end)

t.test("break mid-listing: the records so far are the sequential listing's, and nothing is left in flight", function()
  local seq = ids_of({ date_range = "all" }, 1)
  local got = {}
  for inc in pd.list_incidents { date_range = "all", concurrency = 8 } do
    got[#got + 1] = inc.id
    if #got == 450 then break end
  end
  for i = 1, 450 do t.eq(got[i], seq[i], "record " .. i) end
  -- the break closed the listing (the for loop's to-be-closed value): nothing more is asked
  -- transfers cancelled by the break may still reach the sandbox a moment later (valgrind)
  vs.sleep(1)
  local after_break = #H.requests("GET", "^/incidents$")
  vs.sleep(1)
  t.eq(#H.requests("GET", "^/incidents$"), after_break, "no request after the break")
end)

t.test("a 429 in the middle slows the listing and loses nothing", function()
  H.fast()
  local seq = ids_of({ date_range = "all" }, 1)
  H.clear_log()
  -- the first requests (the oldest-record probe, the first pages) pass; the 429s land
  -- among the pages in flight (faults are taken in the order they were added)
  H.fault { kind = "latency", delay = 0, count = 4, match = { method = "GET", path = "^/incidents$" } }
  H.fault { kind = "rate_limit", count = 3, match = { method = "GET", path = "^/incidents$" } }
  local got = ids_of({ date_range = "all" }, 8)
  same(got, seq, "after 429s")
  local n429 = 0
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do if r.status == 429 then n429 = n429 + 1 end end
  t.eq(n429, 3, "control: three requests were answered 429")
end)

t.test("a tight rate limit paces the pages in flight and loses nothing", function()
  H.fast()
  local seq = ids_of({ date_range = "all" }, 1)
  H.control("POST", "config", { rate_limit = 10, rate_window = 1, latency = 0, jitter = 0 })
  H.clear_log()
  same(ids_of({ date_range = "all" }, 8), seq, "at 10 requests a second")
  t.ok(#H.requests("GET", "^/incidents$") > 20, "control: the listing needed more than two windows' allowance")
end)

t.test("concurrency must be an integer from 1 to 64", function()
  for _, bad in ipairs { 0, 65, 1.5, "8" } do
    t.raises("invalid_argument", function() pd.list_incidents { concurrency = bad } end)
    t.raises("invalid_argument", function() pd.list_log_entries { concurrency = bad } end)
  end
end)

t.test("past 10,000: the same records in the same order", function()
  H.control("POST", "config", { latency = 5, jitter = 5 })
  H.seed(10500, 2)
  local seq = ids_of({ date_range = "all" }, 1)
  t.eq(#seq, 10500)
  same(ids_of({ date_range = "all" }, 8), seq, "10,500 oldest first")
  local desc = ids_of({ date_range = "all", sort_by = "created_at:desc" }, 8)
  t.eq(#desc, 10500)
  for i = 1, #desc do
    if desc[i] ~= seq[#seq + 1 - i] then
      -- records of one second may come in either order; compare as the sequential listing does
      same(desc, ids_of({ date_range = "all", sort_by = "created_at:desc" }, 1), "10,500 newest first")
      break
    end
  end
end)
