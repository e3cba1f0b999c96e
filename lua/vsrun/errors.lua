-- Error objects: tables with kind, message and details, printed through __tostring.
-- Every module raises these so scripts can branch on err.kind after pcall.
local core = require "vsrun.core"

local M = {}

local Error = { __name = "vsrun.error" }
Error.__index = Error
-- protected, so no script code can change how every error prints; the objects this module
-- made are remembered instead (weak keys)
Error.__metatable = "vsrun.error"
local made = setmetatable({}, { __mode = "k" })

function Error:__tostring()
  local parts = { self.kind, ": ", self.message }
  local extra = {}
  if self.action then extra[#extra + 1] = self.action end
  if self.status then extra[#extra + 1] = "HTTP " .. self.status end
  if self.code then extra[#extra + 1] = "code " .. self.code end
  if self.request_id then extra[#extra + 1] = "request " .. self.request_id end
  if #extra > 0 then parts[#parts + 1] = " (" .. table.concat(extra, ", ") .. ")" end
  local where = self.where and self.where ~= "" and (self.where .. " ") or ""
  return where .. table.concat(parts)
end

-- errors.new(kind, message, fields) -> error object (not raised)
function M.new(kind, message, fields)
  local e = setmetatable({}, Error)
  made[e] = true
  if fields then for k, v in pairs(fields) do e[k] = v end end
  e.kind, e.message = kind, message
  e.where = e.where or core.user_where()
  return e
end

-- errors.raise(kind, message, fields): raises a new error object
function M.raise(kind, message, fields)
  error(M.new(kind, message, fields), 0)
end

function M.is(value, kind)
  return made[value] == true and (kind == nil or value.kind == kind)
end

-- One line describing any error value (string, error object, other).
function M.describe(err)
  if type(err) == "string" then return err end
  if made[err] then return tostring(err) end
  local mt = getmetatable(err)
  if type(mt) == "table" and mt.__tostring then return tostring(err) end
  return "(error object is a " .. type(err) .. " value)"
end

return M
