-- pagerduty.configure: reads and sets the request settings, rejects bad values.
local t = require "vsrun.testing"
local pd = require "pagerduty"

t.test("configure() with no argument returns the current settings", function()
  local s = pd.configure()
  t.eq(type(s.max_attempts), "number")
  t.eq(pd.configure({}).max_attempts, s.max_attempts)
end)

t.test("configure rejects unknown fields and bad values before changing anything", function()
  t.raises("invalid_argument", pd.configure, { max_atempts = 3 })
  t.raises("invalid_argument", pd.configure, { timeout = -1 })
  t.raises("invalid_argument", pd.configure, "fast")
end)
