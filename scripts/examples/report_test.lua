local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local pd = require "pagerduty"

t.test("counts match a direct listing and times are derived from log entries", function()
  sandbox.seed { incidents = 400, months = 2 }
  local r = t.script("report.lua", { days = 90 })
  local direct = 0
  for _ in pd.list_incidents { since = r.since, ["until"] = r["until"] } do direct = direct + 1 end
  t.eq(r.incidents, direct)
  local sum, acked = 0, 0
  for _, row in ipairs(r.by_service_and_urgency) do
    sum = sum + row.incidents
    acked = acked + row.acknowledged
    if row.tta_median_min then t.ok(row.tta_median_min >= 0 and row.tta_median_min <= row.tta_p90_min) end
  end
  t.eq(sum, direct)
  t.ok(acked > 0, "no acknowledgement found in the log entries")
end)

t.test("works past 10,000 incidents in the period", function()
  -- ~550 requests: lift the sandbox's 960/min so the pacing that would (rightly) slow a
  -- real account down does not make this test wait for the next window
  sandbox.configure { rate_limit = 100000 }
  sandbox.seed { incidents = 10500, months = 5 }
  local r = t.script("report.lua", { days = 180 })
  t.eq(r.incidents, 10500)
end)

t.test("rejects a bad period before any request", function()
  sandbox.clear_requests()
  t.raises("input 'days'", function() t.script("report.lua", { days = 400 }) end)
  t.eq(#sandbox.requests(), 0)
end)
