-- vsrun.time: ISO 8601 timestamps and Unix seconds, in UTC, by pure arithmetic (no os.time,
-- which would apply the local time zone). Used by the pagerduty module, the sandbox and
-- scripts:
--   local time = require "vsrun.time"
--   time.parse("2026-11-26T11:00:00+01:00")  --> 1795687200 (integer seconds; fractions dropped)
--   time.format(1795687200)                  --> "2026-11-26T10:00:00Z"
--   time.add_months(t, -1)                   --> t one calendar month earlier (day clamped)
--   time.zone("Europe/Berlin"):start_of_day(t) --> local midnight, DST-correct (lua/vsrun/zone.lua)
local M = {}

-- days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
M.days_from_civil = days_from_civil

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end
M.civil_from_days = civil_from_days

local function days_in_month(y, m)
  local n = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  if m == 2 and (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) then return 29 end
  return n[m]
end

-- t moved by n calendar months (the day clamped to the target month's length)
function M.add_months(t, n)
  local days = t // 86400
  local secs = t - days * 86400
  local y, m, d = civil_from_days(days)
  local idx = y * 12 + (m - 1) + n
  y, m = idx // 12, idx % 12 + 1
  d = math.min(d, days_in_month(y, m))
  return days_from_civil(y, m, d) * 86400 + secs
end

-- Parses ISO 8601 date or date-time ("2024-05-01", "2024-05-01T10:00Z",
-- "2024-05-01T10:00:00.123+02:00", "2024-05-01 10:00:00 UTC"). Returns seconds or nil.
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) then return nil end
  local h, mi, se, off = 0, 0, 0, 0
  if rest ~= "" then
    local hh, mm, tail = rest:match("^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    h, mi = tonumber(hh), tonumber(mm)
    local ss, tail2 = tail:match("^:(%d%d)(.*)$")
    if ss then se, tail = tonumber(ss), tail2 end
    tail = tail:gsub("^%.%d+", "")
    tail = tail:gsub("^ ", "")
    if tail == "Z" or tail == "" or tail == "UTC" then
      off = 0
    else
      local sign, oh, om = tail:match("^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      off = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
    end
    if h > 23 or mi > 59 or se > 60 then return nil end
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10,
  Nov = 11, Dec = 12 }

-- parse_http_date("Thu, 26 Nov 2026 11:24:10 GMT") -> seconds or nil (RFC 9110 IMF-fixdate)
function M.parse_http_date(s)
  if type(s) ~= "string" then return nil end
  local d, mon, y, h, mi, sec = s:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  local m = mon and MONTHS[mon]
  if not m then return nil end
  return days_from_civil(tonumber(y), m, tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- format(seconds) -> "YYYY-MM-DDTHH:MM:SSZ"
function M.format(t)
  t = math.floor(t)
  local days, secs = t // 86400, t % 86400
  local y, m, d = civil_from_days(days)
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, secs // 3600, secs % 3600 // 60, secs % 60)
end

-- zone(name) -> a time zone from the system's zoneinfo (e.g. "Europe/Berlin"), with
-- offset, civil, time, format, start_of_day/week/month, add_days and last_days
function M.zone(name)
  return require("vsrun.zone").load(name)
end

return M
