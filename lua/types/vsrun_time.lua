---@meta vsrun.time
-- LuaLS annotations for `require "vsrun.time"`.

---@class vsrun.time
local time = {}

---ISO 8601 timestamp ("2026-11-26T10:00:00Z", "...+01:00", "2026-11-26") to Unix seconds (UTC).
---@param text string
---@return integer|nil seconds nil when malformed or impossible
function time.parse(text) end

---Unix seconds to "YYYY-MM-DDTHH:MM:SSZ".
---@param seconds number
---@return string
function time.format(seconds) end

---`t` moved by `n` calendar months, the day clamped to the target month.
---@param t integer
---@param n integer
---@return integer
function time.add_months(t, n) end

---RFC 9110 date ("Thu, 26 Nov 2026 11:24:10 GMT") to Unix seconds.
---@param text string
---@return integer|nil
function time.parse_http_date(text) end

---A time zone from the system's zoneinfo (e.g. "Europe/Berlin"); raises invalid_argument
---for an unknown name or a damaged file.
---@param name string
---@return vsrun.Zone
function time.zone(name) end

---@class vsrun.Zone
---@field name string
local Zone = {}

---@param t number Unix seconds
---@return integer offset seconds east of UTC
---@return string abbr e.g. "CEST"
function Zone:offset(t) end

---@param t number
---@return { year: integer, month: integer, day: integer, hour: integer, min: integer, sec: integer, wday: integer, offset: integer, abbr: string, dst: boolean }
function Zone:civil(t) end

---The instant of a local wall-clock time (skipped: past the change; repeated: the first).
---@param y integer
---@param m integer
---@param d integer
---@param h? integer
---@param mi? integer
---@param s? integer
---@return integer
function Zone:time(y, m, d, h, mi, s) end

---@param t number
---@return string "2026-03-29T03:00:00+02:00"
function Zone:format(t) end

---@param t number
---@return integer
function Zone:start_of_day(t) end

---@param t number
---@param first_day? integer 1 = Monday (default) .. 7 = Sunday
---@return integer
function Zone:start_of_week(t, first_day) end

---@param t number
---@return integer
function Zone:start_of_month(t) end

---The same wall-clock time n calendar days later.
---@param t number
---@param n integer
---@return integer
function Zone:add_days(t, n) end

---The n whole local days before today.
---@param n integer
---@param now? number
---@return integer since
---@return integer until
function Zone:last_days(n, now) end

return time
