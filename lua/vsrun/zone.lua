-- Time zones for vsrun.time: compiled zone files (TZif, RFC 8536) from the system's
-- zoneinfo directory (host/zoneinfo.c reads them), their transitions and the POSIX TZ rule
-- in their footer for instants past the last transition. All arithmetic is on Unix seconds;
-- nothing depends on the process's TZ or on os.time.
local zoneinfo = require "vsrun.zoneinfo"
local errors = require "vsrun.errors"
local ptime = require "vsrun.time"

local M = {}

local Zone = { __name = "vsrun.zone" }
Zone.__index = Zone

local function bad_file(name, why)
  errors.raise("invalid_argument", "time zone '" .. name .. "': not a valid zone file (" .. why .. ")")
end

-- ---- the POSIX TZ footer ("CET-1CEST,M3.5.0,M10.5.0/3") ----

local function posix_offset(s, pos)   -- "[+-]hh[:mm[:ss]]" -> seconds, next position
  local sign, h, rest = s:match("^([+-]?)(%d+)()", pos)
  if not h then return nil end
  local secs, p = tonumber(h) * 3600, rest
  local mm, p2 = s:match("^:(%d+)()", p)
  if mm then
    secs, p = secs + tonumber(mm) * 60, p2
    local ss, p3 = s:match("^:(%d+)()", p)
    if ss then secs, p = secs + tonumber(ss), p3 end
  end
  return sign == "-" and -secs or secs, p
end

local function posix_name(s, pos)
  local quoted, p = s:match("^<([%w+-]+)>()", pos)
  if quoted then return quoted, p end
  return s:match("^(%a%a%a+)()", pos)
end

local function posix_rule(s, pos)     -- ",Mm.w.d[/time]" -> rule, next position
  local m, w, d, p = s:match("^,M(%d+)%.(%d)%.(%d)()", pos)
  if not m then return nil end
  local rule = { month = tonumber(m), week = tonumber(w), wday = tonumber(d), time = 7200 }
  if s:sub(p, p) == "/" then
    local t, p2 = posix_offset(s, p + 1)
    if not t then return nil end
    rule.time, p = t, p2
  end
  return rule, p
end

-- -> { std = { utoff, abbr }, dst = { utoff, abbr } | nil, start_rule, end_rule } or nil
local function parse_posix(s)
  local std, p = posix_name(s, 1)
  if not std then return nil end
  local off
  off, p = posix_offset(s, p)
  if not off then return nil end
  local tz = { std = { utoff = -off, isdst = false, abbr = std } }
  if p > #s then return tz end
  local dst
  dst, p = posix_name(s, p)
  if not dst then return nil end
  local doff, p2 = posix_offset(s, p)
  if doff then p = p2 else doff = off - 3600 end
  tz.dst = { utoff = -doff, isdst = true, abbr = dst }
  tz.start_rule, p = posix_rule(s, p)
  if not tz.start_rule then return nil end
  tz.end_rule, p = posix_rule(s, p)
  if not tz.end_rule or p <= #s then return nil end
  return tz
end

-- ---- calendar arithmetic (shared with vsrun.time) ----

local days_from_civil, civil_from_days = ptime.days_from_civil, ptime.civil_from_days

-- the day of month of rule `r` in year y: week 5 means the last such weekday
local function rule_day(y, r)
  local first = days_from_civil(y, r.month, 1)
  local wday_first = (first + 4) % 7                 -- 1970-01-01 was a Thursday (4)
  local d = 1 + (r.wday - wday_first) % 7 + (r.week - 1) * 7
  local next_month = r.month == 12 and days_from_civil(y + 1, 1, 1) or days_from_civil(y, r.month + 1, 1)
  while first + d - 1 >= next_month do d = d - 7 end
  return first + d - 1                               -- days since the epoch
end

local function posix_type(tz, t)
  if not tz.dst then return tz.std end
  local y = civil_from_days((t + tz.std.utoff) // 86400)
  local start = rule_day(y, tz.start_rule) * 86400 + tz.start_rule.time - tz.std.utoff
  local stop = rule_day(y, tz.end_rule) * 86400 + tz.end_rule.time - tz.dst.utoff
  local in_dst
  if start < stop then in_dst = t >= start and t < stop else in_dst = not (t >= stop and t < start) end
  return in_dst and tz.dst or tz.std
end

-- ---- TZif ----

local function parse_tzif(name, data)
  if #data < 44 or data:sub(1, 4) ~= "TZif" then bad_file(name, "no TZif header") end
  local version = data:sub(5, 5)
  local function counts(at)
    local isut, isstd, leap, time, typ, char = string.unpack(">I4I4I4I4I4I4", data, at + 20)
    return { isut = isut, isstd = isstd, leap = leap, time = time, type = typ, char = char }
  end
  local c = counts(1)
  local pos = 45
  local tsize = 4
  if version >= "2" then
    -- skip the 32-bit block; use the 64-bit one that follows
    pos = pos + c.time * 4 + c.time + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut
    if #data < pos + 43 or data:sub(pos, pos + 3) ~= "TZif" then bad_file(name, "no second header") end
    c = counts(pos)
    pos = pos + 44
    tsize = 8
  end
  if c.type < 1 or c.type > 256 or c.time > 100000 or c.char > 10000 then bad_file(name, "bad counts") end
  local need = pos + c.time * tsize + c.time + c.type * 6 + c.char + c.leap * (tsize + 4) + c.isstd + c.isut - 1
  if #data < need then bad_file(name, "truncated") end
  local fmt = tsize == 8 and ">i8" or ">i4"
  local times, idx = {}, {}
  for i = 1, c.time do times[i], pos = string.unpack(fmt, data, pos) end
  for i = 1, c.time do
    idx[i] = data:byte(pos) + 1
    pos = pos + 1
    if idx[i] > c.type then bad_file(name, "bad type index") end
  end
  local types = {}
  local abbr_at = pos + c.type * 6
  for i = 1, c.type do
    local utoff, isdst, ai = string.unpack(">i4BB", data, pos)
    pos = pos + 6
    local abbr = data:sub(abbr_at + ai, abbr_at + c.char - 1):match("^[^%z]*")
    types[i] = { utoff = utoff, isdst = isdst == 1, abbr = abbr }
  end
  local zone = { name = name, times = times, types = types, idx = idx }
  if tsize == 8 then
    local footer = data:match("^\n([^\n]*)\n", need + 1)
    if footer and footer ~= "" then zone.posix = parse_posix(footer) end
  end
  return setmetatable(zone, Zone)
end

-- ---- zones ----

local cache = {}

-- zone(name) -> the zone, loaded once per script
function M.load(name)
  if type(name) ~= "string" then errors.raise("invalid_argument", "time zone name must be a string, got " .. type(name)) end
  local z = cache[name]
  if z then return z end
  local data, why = zoneinfo.read(name)
  if not data then errors.raise("invalid_argument", why) end
  z = parse_tzif(name, data)
  cache[name] = z
  return z
end

-- the local time type in force at instant t: { utoff, isdst, abbr }
function Zone:type_at(t)
  local times = self.times
  local n = #times
  if n == 0 or t < times[1] then
    if n == 0 and self.posix then return posix_type(self.posix, t) end
    return self.types[1]
  end
  if t >= times[n] and self.posix then return posix_type(self.posix, t) end
  local lo, hi = 1, n                 -- the last transition at or before t
  while lo < hi do
    local mid = (lo + hi + 1) // 2
    if times[mid] <= t then lo = mid else hi = mid - 1 end
  end
  return self.types[self.idx[lo]]
end

-- ---- calendar in a zone ----

local function check_time(t, what)
  if type(t) ~= "number" or t ~= t or t == math.huge or t == -math.huge then
    errors.raise("invalid_argument", what .. ": the time must be Unix seconds (a finite number), got " .. tostring(t))
  end
  return math.floor(t)
end

-- offset(t) -> seconds east of UTC at instant t, abbreviation ("CEST")
function Zone:offset(t)
  local ty = self:type_at(check_time(t, "zone:offset"))
  return ty.utoff, ty.abbr
end

-- civil(t) -> { year, month, day, hour, min, sec, wday (1 = Monday .. 7 = Sunday), offset,
-- abbr, dst }: the wall clock in this zone at instant t
function Zone:civil(t)
  t = check_time(t, "zone:civil")
  local ty = self:type_at(t)
  local lt = t + ty.utoff
  local days, secs = lt // 86400, lt % 86400
  local y, m, d = civil_from_days(days)
  return { year = y, month = m, day = d, hour = secs // 3600, min = secs % 3600 // 60, sec = secs % 60,
    wday = (days + 3) % 7 + 1, offset = ty.utoff, abbr = ty.abbr, dst = ty.isdst }
end

-- time(y, m, d [, h, mi, s]) -> the instant this wall-clock time happens in this zone. A time
-- skipped by a DST change counts as that far past the change (02:30 on a spring-forward day
-- is 03:30); a time that happens twice is the first (summer time).
function Zone:time(y, m, d, h, mi, s)
  for _, v in ipairs { y, m, d } do
    if math.type(v) ~= "integer" then errors.raise("invalid_argument", "zone:time(year, month, day [, hour, min, sec]): integers expected") end
  end
  local lt = days_from_civil(y, m, d) * 86400 + (h or 0) * 3600 + (mi or 0) * 60 + (s or 0)
  local before = self:type_at(lt - 86400).utoff
  local after = self:type_at(lt + 86400).utoff
  local best
  for _, off in ipairs { before, after } do
    local t = lt - off
    if self:type_at(t).utoff == off and (best == nil or t < best) then best = t end
  end
  return best or (lt - before)
end

-- format(t) -> "2026-03-29T03:00:00+02:00"
function Zone:format(t)
  local c = self:civil(t)
  local off = math.abs(c.offset)
  return string.format("%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d", c.year, c.month, c.day, c.hour, c.min,
    c.sec, c.offset < 0 and "-" or "+", off // 3600, off % 3600 // 60)
end

-- the zone's midnight starting the calendar day `delta` days after the one holding t
local function day_start(zone, c, delta)
  local y, m, d = civil_from_days(days_from_civil(c.year, c.month, c.day) + delta)
  return zone:time(y, m, d)
end

-- start_of_day(t) -> the instant the local day holding t began (a day is 23 or 25 hours long
-- around DST changes)
function Zone:start_of_day(t)
  return day_start(self, self:civil(t), 0)
end

-- start_of_week(t [, first_day]) -> the start of the local week holding t; weeks begin on
-- first_day (1 = Monday, the default, .. 7 = Sunday)
function Zone:start_of_week(t, first_day)
  first_day = first_day or 1
  if math.type(first_day) ~= "integer" or first_day < 1 or first_day > 7 then
    errors.raise("invalid_argument", "zone:start_of_week(t, first_day): first_day must be 1 (Monday) .. 7 (Sunday)")
  end
  local c = self:civil(t)
  return day_start(self, c, -((c.wday - first_day) % 7))
end

-- start_of_month(t) -> the start of the local calendar month holding t
function Zone:start_of_month(t)
  local c = self:civil(t)
  return self:time(c.year, c.month, 1)
end

-- add_days(t, n) -> the same wall-clock time n calendar days later (not n * 86400 seconds)
function Zone:add_days(t, n)
  if math.type(n) ~= "integer" then errors.raise("invalid_argument", "zone:add_days(t, n): n must be an integer") end
  local c = self:civil(t)
  local y, m, d = civil_from_days(days_from_civil(c.year, c.month, c.day) + n)
  return self:time(y, m, d, c.hour, c.min, c.sec)
end

-- last_days(n [, now]) -> since, until: the n whole local days before today (until is the
-- start of today), for windows such as "the last 7 days in Europe/Berlin"
function Zone:last_days(n, now)
  if math.type(n) ~= "integer" or n < 1 then errors.raise("invalid_argument", "zone:last_days(n): n must be a positive integer") end
  now = now or os.time()
  local c = self:civil(now)
  return day_start(self, c, -n), day_start(self, c, 0)
end

function Zone:__tostring() return "vsrun.zone(" .. self.name .. ")" end

M.Zone = Zone
M.parse_posix = parse_posix
return M
