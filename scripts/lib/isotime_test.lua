local t = require "vsrun.testing"
local isotime = require "isotime"

t.test("parses UTC and offsets to the same instant", function()
  t.eq(isotime.parse("1970-01-01T00:00:00Z"), 0)
  t.eq(isotime.parse("2026-11-26T10:00:00Z"), isotime.parse("2026-11-26T11:00:00+01:00"))
  t.eq(isotime.parse("2026-11-26T10:00:00Z"), isotime.parse("2026-11-26T05:00:00-0500"))
end)

t.test("round-trips through format across leap years and centuries", function()
  for _, s in ipairs { "2000-02-29T23:59:59Z", "2024-12-31T00:00:00Z", "2100-03-01T12:34:56Z", "1999-01-01T00:00:01Z" } do
    t.eq(isotime.format(isotime.parse(s)), s)
  end
end)

t.test("agrees with os.time for UTC", function()
  local secs = isotime.parse("2026-03-15T08:30:00Z")
  t.eq(os.date("!%Y-%m-%dT%H:%M:%SZ", secs), "2026-03-15T08:30:00Z")
end)

t.test("fractions, hours_between and bad input", function()
  t.eq(isotime.parse("2026-01-01T00:00:00.500Z") - isotime.parse("2026-01-01T00:00:00Z"), 0.5)
  t.eq(isotime.hours_between("2026-01-01T00:00:00Z", "2026-01-01T06:30:00Z"), 6.5)
  local v, err = isotime.parse("yesterday")
  t.eq(v, nil)
  t.match(err, "not an ISO 8601")
  t.eq((isotime.parse("2026-01-01T00:00:00+25")), nil)
end)
