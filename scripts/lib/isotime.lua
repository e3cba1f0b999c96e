-- isotime: ISO 8601 timestamps as PagerDuty writes them, to and from Unix seconds.
--   local isotime = require "isotime"
--   isotime.parse("2026-11-26T10:00:00Z")            --> 1795687200
--   isotime.parse("2026-11-26T11:00:00+01:00")       --> 1795687200
--   isotime.format(1795687200)                       --> "2026-11-26T10:00:00Z"
--   isotime.hours_between(a, b)                      --> (b - a) / 3600 for two timestamps
local M = {}

-- days from 1970-01-01 to year-month-day (proleptic Gregorian), no os.time/timezone involved
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  return m <= 2 and y + 1 or y, m, d
end

-- parse(text) -> unix seconds (number), or nil, error message
function M.parse(text)
  if type(text) ~= "string" then return nil, "timestamp must be a string" end
  local y, mo, d, h, mi, s, rest = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil, "not an ISO 8601 timestamp: " .. text end
  local frac = rest:match("^%.(%d+)") or ""
  rest = rest:sub(frac == "" and 1 or #frac + 2)
  local offset = 0
  if rest == "Z" or rest == "" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil, "bad time zone offset in " .. text end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "+" and 1 or -1)
  end
  local secs = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s) - offset
  if frac ~= "" then secs = secs + tonumber("0." .. frac) end
  return secs
end

-- format(unix_seconds) -> "YYYY-MM-DDTHH:MM:SSZ" (UTC)
function M.format(secs)
  secs = math.floor(secs)
  local days, rem = secs // 86400, secs % 86400
  local y, m, d = civil_from_days(days)
  return string.format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, rem // 3600, rem % 3600 // 60, rem % 60)
end

function M.hours_between(a, b)
  local ta = assert(M.parse(a))
  local tb = assert(M.parse(b))
  return (tb - ta) / 3600
end

return M
