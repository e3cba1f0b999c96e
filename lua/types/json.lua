---@meta json
-- LuaLS annotations for the `json` module (not embedded; for editors only).
local json = {}

--- The JSON null value as decoded.
json.null = nil ---@type lightuserdata
--- An empty table that encodes as [] (not {}).
json.empty_array = {}
--- Metatable marking a table as an array when encoding.
json.array_mt = {}

---@param value any
---@param opts? { indent: integer? }  indent > 0 pretty-prints with sorted keys
---@return string
function json.encode(value, opts) end

--- Whole numbers come back as integers; invalid JSON raises an error naming the position.
---@param text string
---@return any
function json.decode(text) end

return json
