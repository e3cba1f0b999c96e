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

return time
