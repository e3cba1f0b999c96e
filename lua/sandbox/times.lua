-- Time for the sandbox: formatting in an IANA time zone read from the system's TZif files.
-- Parsing and calendar arithmetic are vsrun.time's, re-exported here.
local time = require "vsrun.time"

local M = setmetatable({}, { __index = time })
local civil_from_days = time.civil_from_days

-- TZif files: a list of transitions (ascending) with the UTC offset in force after each.
local tz_cache = {}
local ZONEINFO = "/usr/share/zoneinfo/"

local function be_int(s, i, n)  -- signed big-endian integer of n bytes at i
  local v = 0
  for k = i, i + n - 1 do v = v * 256 + s:byte(k) end
  if v >= 1 << (8 * n - 1) then v = v - (1 << (8 * n)) end
  return v
end

local function read_tzif(data)
  if data:sub(1, 4) ~= "TZif" then return nil end
  local function header(p)
    local c = {}
    for k = 0, 5 do c[k + 1] = be_int(data, p + 20 + 4 * k, 4) end
    return c  -- isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  end
  local version = data:sub(5, 5)
  local p, tsize = 1, 4
  local c = header(p)
  if version ~= "\0" then
    -- skip the v1 block, use the 64-bit v2+ block
    p = p + 44 + c[4] * 4 + c[4] + c[5] * 6 + c[6] + c[3] * 8 + c[2] + c[1]
    c = header(p)
    tsize = 8
  end
  local timecnt, typecnt = c[4], c[5]
  local q = p + 44
  local times, idx, offsets = {}, {}, {}
  for k = 1, timecnt do times[k] = be_int(data, q + (k - 1) * tsize, tsize) end
  q = q + timecnt * tsize
  for k = 1, timecnt do idx[k] = data:byte(q + k - 1) + 1 end
  q = q + timecnt
  for k = 1, typecnt do offsets[k] = be_int(data, q + (k - 1) * 6, 4) end
  local first_std = offsets[1]
  local zone = { times = times, offsets = {}, initial = first_std }
  for k = 1, timecnt do zone.offsets[k] = offsets[idx[k]] end
  -- the POSIX footer rule covers times after the last transition; for dates past it we
  -- keep the last offset, which is right for zones without DST and close otherwise
  return zone
end

-- zone(name) -> zone table, or nil when the name is not a known IANA zone
function M.zone(name)
  if name == nil or name == "UTC" or name == "Etc/UTC" or name == "GMT" then return false end
  if tz_cache[name] ~= nil then return tz_cache[name] end
  if type(name) ~= "string" or not name:match("^[%w_%-%+]+[/%w_%-%+]*$") or name:find("%.%.") then return nil end
  local zone
  if io and io.open then
    local f = io.open(ZONEINFO .. name, "rb")
    if f then
      local data = f:read("a")
      f:close()
      zone = read_tzif(data or "")
    end
  end
  tz_cache[name] = zone or nil
  return zone
end

local function offset_at(zone, t)
  if not zone then return 0 end
  local times = zone.times
  if #times == 0 or t < times[1] then return zone.initial end
  local lo, hi = 1, #times
  while lo < hi do
    local mid = (lo + hi + 1) // 2
    if times[mid] <= t then lo = mid else hi = mid - 1 end
  end
  return zone.offsets[lo]
end

M.offset_at = offset_at

-- format(t, zone): "2024-05-01T10:00:00Z" in UTC, "2024-05-01T12:00:00+02:00" in a zone
function M.format(t, zone)
  if t == nil then return nil end
  local off = offset_at(zone, t)
  local lt = t + off
  local days = lt // 86400
  local secs = lt - days * 86400
  local y, m, d = civil_from_days(days)
  local base = string.format("%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, secs // 3600, secs // 60 % 60, secs % 60)
  if not zone then return base .. "Z" end
  local sign = off < 0 and "-" or "+"
  off = math.abs(off)
  return string.format("%s%s%02d:%02d", base, sign, off // 3600, off // 60 % 60)
end

return M
