-- vsrun.time: ISO 8601 <-> Unix seconds, shared by the pagerduty module, the sandbox and scripts.
local t = require "vsrun.testing"
local time = require "vsrun.time"

t.test("parses UTC and offsets to the same instant", function()
  t.eq(time.parse("1970-01-01T00:00:00Z"), 0)
  t.eq(time.parse("2026-11-26T10:00:00Z"), time.parse("2026-11-26T11:00:00+01:00"))
  t.eq(time.parse("2026-11-26T10:00:00Z"), time.parse("2026-11-26T05:00:00-0500"))
  t.eq(time.parse("2026-11-26T10:00:00.750Z"), time.parse("2026-11-26T10:00:00Z"))
  t.eq(time.parse("2026-11-26"), time.parse("2026-11-26T00:00:00Z"))
end)

t.test("round-trips through format across leap years and centuries", function()
  for _, s in ipairs { "2000-02-29T23:59:59Z", "2024-12-31T00:00:00Z", "2100-03-01T12:34:56Z", "1999-01-01T00:00:01Z" } do
    t.eq(time.format(time.parse(s)), s)
  end
end)

t.test("agrees with os.date for UTC", function()
  local secs = time.parse("2026-03-15T08:30:00Z")
  t.eq(os.date("!%Y-%m-%dT%H:%M:%SZ", secs), "2026-03-15T08:30:00Z")
end)

t.test("rejects malformed timestamps and impossible dates", function()
  for _, bad in ipairs { "yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+25", 42 } do
    t.eq(time.parse(bad), nil, tostring(bad))
  end
end)

t.test("add_months clamps the day; HTTP dates parse", function()
  t.eq(time.format(time.add_months(time.parse("2026-03-31T10:00:00Z"), -1)), "2026-02-28T10:00:00Z")
  t.eq(time.format(time.add_months(time.parse("2024-01-31T00:00:00Z"), 1)), "2024-02-29T00:00:00Z")
  t.eq(time.parse_http_date("Thu, 26 Nov 2026 11:24:10 GMT"), time.parse("2026-11-26T11:24:10Z"))
  t.eq(time.parse_http_date("garbage"), nil)
end)
