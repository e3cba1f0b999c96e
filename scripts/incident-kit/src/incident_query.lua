-- incident_query: small helpers for choosing and grouping incidents.
--   local q = require "incident_query"
--   q.id_set("PSVC001, PSVC002")          --> { PSVC001 = true, PSVC002 = true } ("all" -> true)
--   q.matches(q.id_set("all"), "PX")      --> true
--   q.group(list, function(i) return i.service.summary end)  --> { [name] = { incidents... } }
--   q.count_by(list, "urgency")           --> { high = 3, low = 1 }
local M = { _VERSION = "1.0.0" }

-- id_set(text or list) -> set table, or true for "all"/"*", or an empty set for nil/""
---@param value string|string[]|nil ids separated by commas or spaces, a list, or "all"
---@return table<string, true>|true set
function M.id_set(value)
  if value == nil or value == "" then return {} end
  if value == "all" or value == "*" then return true end
  local set = {}
  if type(value) == "table" then
    for _, v in ipairs(value) do set[v] = true end
  else
    for id in tostring(value):gmatch("[^,%s]+") do set[id] = true end
  end
  return set
end

---@param set table<string, true>|true
---@param id string
---@return boolean
function M.matches(set, id)
  return set == true or (type(set) == "table" and set[id] == true)
end

-- list(text or list) -> array of ids (for filters such as service_ids)
---@param value string|string[]|nil
---@return string[]
function M.list(value)
  if value == nil or value == "" or value == "all" then return nil end
  if type(value) == "table" then return value end
  local out = {}
  for id in tostring(value):gmatch("[^,%s]+") do out[#out + 1] = id end
  return out
end

---@param items table[]
---@param key_fn fun(item: table): any
---@return table<any, table[]>
function M.group(items, key_fn)
  local groups = {}
  for _, item in ipairs(items) do
    local k = key_fn(item)
    groups[k] = groups[k] or {}
    table.insert(groups[k], item)
  end
  return groups
end

---@param items table[]
---@param field string
---@return table<any, integer>
function M.count_by(items, field)
  local counts = {}
  for _, item in ipairs(items) do
    local k = item[field]
    if k ~= nil then counts[k] = (counts[k] or 0) + 1 end
  end
  return counts
end

return M
