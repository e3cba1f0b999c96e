-- Listing 25,000 records, past PagerDuty's 10,000 offset cap, by splitting the time window:
-- date_range = "all" (the oldest record taken from the first page), each record exactly
-- once, in order, with no gaps (newest first is tested at 12,000 in listing_test.lua).
-- Seeded once for the file (each test file gets its own sandbox, so its per-minute rate
-- limit is not shared with the other listing tests).
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"
local ptime = require "vsrun.time"

local TOTAL = 25000
H.seed(TOTAL)

-- the reference listing, made once: ids and creation times, oldest first
local all_ids, all_at = {}, {}

local function check_sequence(got, want_from, n, label)
  t.eq(#got, n, label .. ": count")
  for i = 1, n do
    if got[i] ~= all_ids[want_from + i - 1] then
      t.fail(("%s: record %d is %s, expected %s"):format(label, i, tostring(got[i]), tostring(all_ids[want_from + i - 1])))
    end
  end
end

t.test("25,000 records with date_range = all: each once, oldest first, no gaps", function()
  H.clear_log()
  local seen, prev = {}, nil
  for inc in pd.list_incidents { date_range = "all" } do
    t.ok(not seen[inc.id], "yielded twice: " .. inc.id)
    seen[inc.id] = true
    if prev then t.ok(prev <= inc.created_at, "in created order") end
    prev = inc.created_at
    all_ids[#all_ids + 1] = inc.id
    all_at[#all_at + 1] = ptime.parse(inc.created_at)
  end
  t.eq(#all_ids, TOTAL)
  t.eq(H.counts().total, TOTAL, "the sandbox holds exactly that many")
  -- every request stayed within PagerDuty's cap, and windows replaced date_range after the split
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do
    local off, lim = tonumber(r.query.offset or 0), tonumber(r.query.limit or 25)
    t.ok(off + lim <= 10000, "offset + limit <= 10000")
    t.eq(r.status, 200)
  end
end)

