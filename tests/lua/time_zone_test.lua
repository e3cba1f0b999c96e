-- vsrun.time zones: read from the system's zoneinfo (tzdata), DST-correct calendar helpers,
-- checked with Europe/Berlin around its 2026 changes (29 March, 25 October) and with the
-- POSIX rule that covers instants after the file's last transition.
local t = require "vsrun.time"
local tt = require "vsrun.testing"

local berlin = t.zone("Europe/Berlin")
local P = t.parse

tt.test("offsets and abbreviations either side of the spring change", function()
  tt.eq({ berlin:offset(P("2026-03-29T00:59:59Z")) }, { 3600, "CET" })
  tt.eq({ berlin:offset(P("2026-03-29T01:00:00Z")) }, { 7200, "CEST" })
  tt.eq({ berlin:offset(P("2026-10-25T00:59:59Z")) }, { 7200, "CEST" })
  tt.eq({ berlin:offset(P("2026-10-25T01:00:00Z")) }, { 3600, "CET" })
end)

tt.test("civil time and format", function()
  local c = berlin:civil(P("2026-03-29T12:00:00Z"))
  tt.eq({ c.year, c.month, c.day, c.hour, c.min, c.sec, c.wday, c.offset, c.abbr, c.dst },
    { 2026, 3, 29, 14, 0, 0, 7, 7200, "CEST", true })
  tt.eq(berlin:format(P("2026-01-15T08:30:05Z")), "2026-01-15T09:30:05+01:00")
  tt.eq(t.zone("America/St_Johns"):format(P("2026-01-15T12:00:00Z")), "2026-01-15T08:30:00-03:30")
end)

tt.test("start of day: a 23-hour and a 25-hour day", function()
  local spring = berlin:start_of_day(P("2026-03-29T20:00:00Z"))
  tt.eq(t.format(spring), "2026-03-28T23:00:00Z")
  tt.eq(berlin:start_of_day(P("2026-03-30T12:00:00Z")) - spring, 23 * 3600)
  local autumn = berlin:start_of_day(P("2026-10-25T12:00:00Z"))
  tt.eq(t.format(autumn), "2026-10-24T22:00:00Z")
  tt.eq(berlin:start_of_day(P("2026-10-26T12:00:00Z")) - autumn, 25 * 3600)
  -- control: a UTC day is 24 hours, so the checks above would notice a UTC-only answer
  local utc = t.zone("UTC")
  tt.eq(utc:start_of_day(P("2026-03-30T12:00:00Z")) - utc:start_of_day(P("2026-03-29T12:00:00Z")), 86400)
end)

tt.test("start of week (Monday, or another first day) across the change", function()
  tt.eq(berlin:format(berlin:start_of_week(P("2026-03-29T20:00:00Z"))), "2026-03-23T00:00:00+01:00")
  tt.eq(berlin:format(berlin:start_of_week(P("2026-03-30T08:00:00Z"))), "2026-03-30T00:00:00+02:00")
  tt.eq(berlin:format(berlin:start_of_week(P("2026-03-31T08:00:00Z"), 7)), "2026-03-29T00:00:00+01:00")
  tt.eq(berlin:format(berlin:start_of_month(P("2026-04-10T08:00:00Z"))), "2026-04-01T00:00:00+02:00")
  tt.raises("first_day must be", berlin.start_of_week, berlin, 0, 8)
end)

tt.test("the last 7 days in Europe/Berlin is 167 hours across the spring change", function()
  local since, till = berlin:last_days(7, P("2026-03-31T10:00:00Z"))
  tt.eq({ berlin:format(since), berlin:format(till) }, { "2026-03-24T00:00:00+01:00", "2026-03-31T00:00:00+02:00" })
  tt.eq(till - since, 7 * 86400 - 3600)
end)

tt.test("wall-clock times: skipped, repeated, and add_days", function()
  tt.eq(berlin:format(berlin:time(2026, 3, 29, 2, 30)), "2026-03-29T03:30:00+02:00", "02:30 does not exist")
  tt.eq(berlin:format(berlin:time(2026, 10, 25, 2, 30)), "2026-10-25T02:30:00+02:00", "the first 02:30")
  tt.eq(berlin:format(berlin:add_days(P("2026-03-28T08:00:00Z"), 1)), "2026-03-29T09:00:00+02:00")
  tt.eq(berlin:add_days(P("2026-03-28T08:00:00Z"), 1) - P("2026-03-28T08:00:00Z"), 23 * 3600)
end)

tt.test("past the file's transitions the zone's POSIX rule applies", function()
  tt.eq(berlin:format(P("2045-03-26T00:59:59Z")), "2045-03-26T01:59:59+01:00")
  tt.eq(berlin:format(P("2045-03-26T01:00:00Z")), "2045-03-26T03:00:00+02:00")
  tt.eq(berlin:format(P("2099-10-25T01:00:00Z")), "2099-10-25T02:00:00+01:00")
  local syd = t.zone("Australia/Sydney")   -- southern hemisphere: summer time spans new year
  tt.eq({ syd:offset(P("2060-01-01T00:00:00Z")) }, { 39600, "AEDT" })
  tt.eq({ syd:offset(P("2060-07-01T00:00:00Z")) }, { 36000, "AEST" })
end)

tt.test("bad zone names and files are clear errors", function()
  tt.raises("not a time zone name", t.zone, "../../etc/passwd")
  tt.raises("not a time zone name", t.zone, "/etc/localtime")
  tt.raises("unknown time zone 'Mars/Olympus_Mons'", t.zone, "Mars/Olympus_Mons")
  tt.raises("invalid_argument", t.zone, 42)
  tt.raises("must be Unix seconds", berlin.offset, berlin, "now")
end)

tt.test("a zone is loaded once per script", function()
  tt.ok(t.zone("Europe/Berlin") == berlin)
end)
