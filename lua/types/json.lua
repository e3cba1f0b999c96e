---@meta json
-- LuaLS annotations for the `json` module (not embedded; for editors only).
local json = {}

--- The JSON null value as decoded.
json.null = nil ---@type lightuserdata
--- A shared, read-only empty table that encodes as [] (not {}); json.array() makes one to fill.
json.empty_array = {}
--- Metatable marking a table as an array when encoding; json.decode puts it on every array.
json.array_mt = {}

--- Raises on a string that is not valid UTF-8 (naming the byte), NaN, infinity, cycles,
--- sparse arrays and tables mixing array items with string keys.
---@param value any
---@param opts? { indent: integer? }  indent > 0 pretty-prints with sorted keys
---@return string
function json.encode(value, opts) end

--- Marks each array with json.array_mt, so [] and {} stay apart and a decoded document
--- encodes back the same (apart from key order). Integers stay exact up to 64 bits (whole
--- numbers written as 2.0 or 1e3 come back as integers too); invalid JSON, invalid UTF-8 and
--- nesting deeper than 128 raise an error naming the position.
---@param text string
---@return any
function json.decode(text) end

--- Marks t (or a new table) with json.array_mt, so it encodes as an array even when empty.
---@param t? table
---@return table
function json.array(t) end

return json
