-- Listing: every matching record exactly once, in order, at 0, 1, 100, 101, 9,999 and
-- 10,000 matching records (windows cut from a 12,000-record reference listing), an explicit
-- window past the 10,000 cap, prefetch, limits, collect, the default window, early break.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"
local ptime = require "vsrun.time"

local TOTAL = 12000
H.seed(TOTAL)

-- the reference listing, made once: ids and creation times, oldest first
local all_ids, all_at = {}, {}

t.test("the reference listing: 12,000 records with date_range = all", function()
  H.reference_listing(t, TOTAL, all_ids, all_at)
end)

t.test("12,000 records newest first (sort_by created_at:desc)", function()
  local n, i = 0, #all_ids
  for inc in pd.list_incidents { date_range = "all", sort_by = "created_at:desc" } do
    n = n + 1
    if inc.id ~= all_ids[i] then t.fail(("record %d is %s, expected %s"):format(n, inc.id, all_ids[i])) end
    i = i - 1
  end
  t.eq(n, TOTAL)
end)

t.test("12,000 records in an explicit since/until window (split)", function()
  local got = {}
  for inc in pd.list_incidents { since = all_at[1], ["until"] = all_at[#all_at] + 1 } do got[#got + 1] = inc.id end
  H.check_sequence(t, got, all_ids, 1, TOTAL, "explicit window")
end)

-- a window [all_at[k], all_at[k+n]) holding exactly n records: boundaries between seconds
local function window_of(n, start)
  local k = start
  while k > 1 and all_at[k - 1] == all_at[k] do k = k + 1 end
  while all_at[k + n] and all_at[k + n - 1] == all_at[k + n] do k = k + 1 end
  return k, all_at[k], all_at[k + n] or (all_at[#all_at] + 1)
end

for _, n in ipairs { 0, 1, 100, 101, 9999, 10000 } do
  t.test(("exactly %d matching records: each once, in order"):format(n), function()
    local got = {}
    if n == 0 then
      for inc in pd.list_incidents { since = all_at[#all_at] + 10, ["until"] = all_at[#all_at] + 20 } do got[#got + 1] = inc.id end
      t.eq(#got, 0)
      return
    end
    local k, since, till = window_of(n, 1000 + n % 7)
    for inc in pd.list_incidents { since = since, ["until"] = till } do got[#got + 1] = inc.id end
    H.check_sequence(t, got, all_ids, k, n, n .. " records")
  end)
end

-- the pages of the listing's time windows (not the oldest-record probe or the recent tail)
local function window_pages()
  local out = {}
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do
    if r.query["until"] then out[#out + 1] = r end
  end
  return out
end

-- concurrency = 1: one page ahead, as before concurrent listing (listing_concurrent_test.lua)
t.test("the next page is in flight while the current one is consumed", function()
  H.clear_log()
  local it = pd.list_incidents { date_range = "all", limit = 300, concurrency = 1 }
  it()                                  -- first page fetched, second requested
  require("vsrun").sleep(0.2)           -- let the prefetch land without consuming
  local pages = window_pages()
  t.eq(#pages, 2, "page 2 was fetched before page 1 was used up")
  t.eq(pages[1].query.since, ptime.format(all_at[1]), "page 1 starts at the oldest record")
  t.eq(pages[2].query.since, ptime.format(all_at[100]), "page 2 starts at page 1's last second")
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do t.eq(r.query.offset, nil, "no offsets") end
  it:close()
end)

t.test("limit and collect(max) stop early and fetch no more than needed", function()
  H.clear_log()
  local rows = pd.list_incidents({ date_range = "all", limit = 150, concurrency = 1 }):collect()
  H.check_sequence(t, H.ids(rows), all_ids, 1, 150, "limit 150")
  t.eq(#window_pages(), 2, "two pages for 150 records")
  rows = pd.list_incidents({ date_range = "all" }):collect(7)
  H.check_sequence(t, H.ids(rows), all_ids, 1, 7, "collect(7)")
  t.eq(#pd.list_incidents({ date_range = "all" }):collect(0), 0)
  t.raises("invalid_argument", function() pd.list_incidents({}):collect(-1) end)
end)

t.test("the default window is PagerDuty's (the month before now)", function()
  local now = os.time()
  local n = 0
  for inc in pd.list_incidents {} do
    n = n + 1
    t.ok(ptime.parse(inc.created_at) >= now - 32 * 86400, "inside the last month")
  end
  local want = 0
  for _, at in ipairs(all_at) do if at >= now - 31 * 86400 then want = want + 1 end end
  t.ok(n > 0 and math.abs(n - want) <= want * 0.05 + 5, ("about one month of records: %d vs %d"):format(n, want))
end)

t.test("a break leaves nothing broken: the next listing works", function()
  for _ in pd.list_incidents { date_range = "all" } do break end
  t.eq(#pd.list_incidents({ date_range = "all", limit = 5 }):collect(), 5)
end)

