-- Log entries past PagerDuty's 10,000 offset cap: the window is split, every entry comes
-- once, oldest first. Its own file so the sandbox's per-minute rate limit is its own.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"

H.seed(4000, 3)

t.test("log entries past 10,000 are split too", function()
  local n, seen = 0, {}
  local prev
  for e in pd.list_log_entries { since = os.time() - 179 * 86400, ["until"] = os.time() + 60 } do
    n = n + 1
    t.ok(not seen[e.id], "yielded twice")
    seen[e.id] = true
    if prev then t.ok(prev <= e.created_at, "in order") end
    prev = e.created_at
  end
  t.ok(n > 10000, "more than 10,000 entries: " .. n)
end)
