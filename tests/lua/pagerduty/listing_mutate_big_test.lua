-- Past PagerDuty's 10,000-offset cap: 10,050 triggered incidents, each acknowledged by the
-- loop that lists them, are all yielded once and all acknowledged. Its own file: its own
-- sandbox and rate limit.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"

local TOTAL = 10050
H.seed(0)
H.control("POST", "config", { rate_limit = 1000000 })
-- 201 seconds of 50 incidents each, spread over the past days
for s = 0, TOTAL // 50 - 1 do
  H.control("POST", "time", { offset = -4 * 86400 + s * 600 })
  H.control("POST", "incidents", { count = 50 })
end
H.control("POST", "time", { offset = 0 })

t.test("acknowledging each of 10,050 listed triggered incidents acknowledges all of them", function()
  t.eq(H.counts().triggered, TOTAL)
  local seen, n = {}, 0
  for inc in pd.list_incidents { statuses = { "triggered" } } do
    if seen[inc.id] then t.fail("yielded twice: " .. inc.id) end
    seen[inc.id] = true
    n = n + 1
    pd.acknowledge(inc.id)
  end
  t.eq(n, TOTAL, "every triggered incident was yielded")
  t.eq(H.counts().triggered, 0, "none left triggered")
  t.eq(H.counts().acknowledged, TOTAL)
end)
