-- Request and response helpers shared by the sandbox's handlers: query access, JSON and
-- PagerDuty-style error responses, form bodies, URL encoding.
local json = require "json"

local M = {}

M.JSON = "application/json; charset=utf-8"

function M.json(status, value, headers)
  local h = headers or {}
  h["content-type"] = h["content-type"] or M.JSON
  return { status = status, headers = h, body = json.encode(value) }
end

-- PagerDuty's error body: {"error":{"message","code","errors"}}
function M.error(status, code, message, errors)
  local e = { message = message, code = code }
  if errors then e.errors = setmetatable(errors, json.array_mt) end
  return M.json(status, { error = e })
end

function M.not_found(what)
  return M.error(404, 2100, "Not Found", what and { what .. " not found" } or nil)
end

function M.invalid(messages)  -- 400 "Invalid Input Provided"
  if type(messages) == "string" then messages = { messages } end
  return M.error(400, 2001, "Invalid Input Provided", messages)
end

-- all values of array query parameter `name[]`, as a list (the bare `name` is refused
-- earlier, by check_params: PagerDuty documents only the `[]` form)
function M.list(query, name)
  local v = query[name .. "[]"]
  if v == nil then return nil end
  if type(v) == "string" then
    if v == "" then return {} end
    return { v }
  end
  local out = {}
  for _, s in ipairs(v) do if s ~= "" then out[#out + 1] = s end end
  return out
end

-- Refuses query parameters an operation does not document (allowed: a set of names as
-- PagerDuty spells them, arrays with `[]`): a parameter PagerDuty might ignore would
-- otherwise pass in tests and silently do nothing in production. Returns an error or nil.
function M.check_params(query, allowed)
  local names = {}
  for k in pairs(query) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if not allowed[k] then
      if allowed[k .. "[]"] then
        return M.invalid(k .. " is an array parameter: send it as " .. k .. "[] (repeat " .. k .. "[]= for each value)")
      end
      return M.invalid("Unknown query parameter for this operation: " .. k)
    end
  end
  return nil
end

-- the single value of query parameter `name` (the last one when repeated)
function M.one(query, name)
  local v = query[name]
  if type(v) == "table" then return v[#v] end
  return v
end

-- booleans in query strings: true/1 and false/0
function M.bool(query, name)
  local v = M.one(query, name)
  if v == nil then return nil end
  v = v:lower()
  if v == "true" or v == "1" then return true end
  if v == "false" or v == "0" then return false end
  return "invalid"
end

function M.urldecode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function M.urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- application/x-www-form-urlencoded body -> { name = value } (first value wins)
function M.form(body)
  local out = {}
  for pair in (body or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k = M.urldecode(k)
    if out[k] == nil then out[k] = M.urldecode(v) end
  end
  return out
end

function M.query_string(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = M.urlencode(k) .. "=" .. M.urlencode(t[k]) end
  return table.concat(parts, "&")
end

-- decodes a JSON request body; returns value or nil, message
function M.decode_body(req)
  local body = req.body
  if body == nil or body == "" then return nil, "Request body is empty" end
  local ok, v = pcall(json.decode, body)
  if not ok or type(v) ~= "table" then return nil, "Request body is not valid JSON" end
  return v
end

function M.header(req, name)
  local h = req.headers or {}
  return h[name]
end

return M
