-- Listing 25,000 records, past PagerDuty's 10,000 offset cap, by splitting the time window:
-- date_range = "all" (the oldest record taken from the first page), each record exactly
-- once, in order, with no gaps (newest first is tested at 12,000 in listing_test.lua).
-- Seeded once for the file (each test file gets its own sandbox, so its per-minute rate
-- limit is not shared with the other listing tests).
local t = require "vsrun.testing"
local H = require "pd_helpers"

local TOTAL = 25000
H.seed(TOTAL)

-- the reference listing, made once: ids and creation times, oldest first
local all_ids, all_at = {}, {}

t.test("25,000 records with date_range = all: each once, oldest first, no gaps", function()
  H.reference_listing(t, TOTAL, all_ids, all_at)
end)

