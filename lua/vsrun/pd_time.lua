-- ISO 8601 timestamps <-> Unix seconds for the pagerduty module's time windows. Pure
-- arithmetic (no os.time, which would use the local time zone).
local M = {}

-- days since 1970-01-01 for a proleptic Gregorian date
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
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
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- parse("2026-01-02T03:04:05Z" | "...+01:00" | "2026-01-02") -> seconds (integer) or nil
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > 31 then return nil end
  local h, mi, sec, off = 0, 0, 0, 0
  if rest ~= "" then
    local hh, mm, tail = rest:match("^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    h, mi = tonumber(hh), tonumber(mm)
    local ss, tail2 = tail:match("^:(%d%d)(.*)$")
    if ss then sec, tail = tonumber(ss), tail2 end
    tail = tail:gsub("^%.%d+", "")
    if tail == "Z" or tail == "z" or tail == "" then
      off = 0
    else
      local sign, oh, om = tail:match("^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      off = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
    end
    if h > 23 or mi > 59 or sec > 60 then return nil end
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off
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

return M
