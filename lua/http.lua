-- http: requests to any HTTP(S) service from a pipeline. Each call reads top to bottom; the
-- calling task yields while the transfer runs (host/http.c), so other tasks (vs.spawn,
-- vs.map) keep going. An HTTP error status is a response; a transfer that fails raises an
-- error object with kind network | timeout | tls | too_large. Where a request may go and
-- which headers it may set is host/http_policy.c's (permission_denied, invalid_argument).
local http_core = require "vsrun.http_core"
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local core = require "vsrun.core"
local json = require "json"

local M = {}

local METHODS = { GET = true, HEAD = true, POST = true, PUT = true, PATCH = true, DELETE = true, OPTIONS = true }
local OPTIONS = { method = true, url = true, query = true, headers = true, body = true, json = true,
  timeout = true, connect_timeout = true, max_body = true, retries = true, send_in_dry_run = true, auth = true }

local function invalid(message)
  errors.raise("invalid_argument", "http: " .. message)
end

-- RFC 3986: unreserved characters stay, everything else is percent-encoded.
local function encode_component(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end
M.encode_component = encode_component

local function query_value(key, v)
  local t = type(v)
  if t == "string" then return v end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then invalid("query value '" .. key .. "' is not a finite number") end
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2^53 then
      return string.format("%d", v)
    end
    return tostring(v)
  end
  invalid("query value '" .. key .. "' must be a string, number, boolean or array of them, got " .. t)
end

local function is_array(t)
  local n = #t
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

-- Encodes a query table: keys sorted (stable URLs), arrays as repeated key[]=v pairs
-- (PagerDuty's style), booleans as true/false.
function M.encode_query(query)
  if type(query) == "string" then return query end
  if type(query) ~= "table" then invalid("query must be a table or an encoded string, got " .. type(query)) end
  local keys = {}
  for k in pairs(query) do
    if type(k) ~= "string" or k == "" then invalid("query keys must be non-empty strings") end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = query[k]
    if type(v) == "table" then
      if not is_array(v) then invalid("query value '" .. k .. "' must be an array (a list), not a map") end
      -- key[] stays readable, as PagerDuty documents it
      local name = encode_component(k:sub(-2) == "[]" and k:sub(1, -3) or k) .. "[]"
      for _, item in ipairs(v) do
        if type(item) == "table" then invalid("query array '" .. k .. "' must hold plain values") end
        parts[#parts + 1] = name .. "=" .. encode_component(query_value(k, item))
      end
    else
      parts[#parts + 1] = encode_component(k) .. "=" .. encode_component(query_value(k, v))
    end
  end
  return table.concat(parts, "&")
end

local function add_query(url, query)
  local encoded = M.encode_query(query)
  if encoded == "" then return url end
  local base, fragment = url:match("^([^#]*)(.*)$")
  local sep = base:find("?", 1, true) and (base:sub(-1) == "?" and "" or "&") or "?"
  return base .. sep .. encoded .. fragment
end

local function positive(opts, name)
  local v = opts[name]
  -- the upper bounds are host/checked_number.h's: larger values cannot become C integers
  local max = name == "max_body" and 2 ^ 53 or 1e9
  if v ~= nil and (type(v) ~= "number" or v ~= v or v <= 0 or v > max) then
    invalid(name .. " must be a positive number of " .. (name == "max_body" and "bytes" or "seconds") ..
      (" up to %.0f"):format(max))
  end
  return v
end

local HEADER_TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+$"

-- auth = { bearer = NAME } | { header = NAME, secret = NAME }: a secret stored with
-- `vsrun secret set`, attached by the host (its value never reaches Lua) and only to the
-- origin it is bound to. -> { secret, header, prefix } for http_core.start.
local function check_auth(auth, has)
  if type(auth) ~= "table" then invalid("auth must be a table: { bearer = NAME } or { header = NAME, secret = NAME }") end
  for k in pairs(auth) do
    if k ~= "bearer" and k ~= "header" and k ~= "secret" then invalid("auth: unknown field '" .. tostring(k) .. "'") end
  end
  local out
  if auth.bearer ~= nil then
    if auth.header ~= nil or auth.secret ~= nil then invalid("auth: give either bearer or header and secret") end
    out = { secret = auth.bearer, header = "Authorization", prefix = "Bearer " }
  else
    if type(auth.header) ~= "string" or not auth.header:match(HEADER_TOKEN) then
      invalid("auth: header must be a header name, e.g. { header = \"X-Api-Key\", secret = \"name\" }")
    end
    out = { secret = auth.secret, header = auth.header }
  end
  if type(out.secret) ~= "string" or not out.secret:match("^[%w_][%w._-]*$") or #out.secret > 63 then
    invalid("auth: the secret name must be 1-63 letters, digits, '.', '_' or '-'")
  end
  if has[out.header:lower()] then invalid("auth: header '" .. out.header .. "' is set by auth; do not set it in headers too") end
  return out
end

-- Checks opts and builds the request for http_core.start. Nothing is sent on bad input.
local function build(opts)
  if type(opts) ~= "table" then invalid("request options must be a table, got " .. type(opts)) end
  for k in pairs(opts) do
    if not OPTIONS[k] then invalid("unknown option '" .. tostring(k) .. "'") end
  end
  local method = opts.method or "GET"
  if type(method) ~= "string" then invalid("method must be a string") end
  method = method:upper()
  if not METHODS[method] then invalid("unsupported method '" .. method .. "'") end
  local url = opts.url
  if type(url) ~= "string" then invalid("url must be a string, got " .. type(url)) end
  if not url:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]") then
    invalid("url must start with http:// or https:// and name a host")
  end
  if url:find("[%c ]") then invalid("url must not contain spaces or control characters") end
  if opts.query ~= nil then url = add_query(url, opts.query) end

  local headers = {}
  local has = {}
  if opts.headers ~= nil then
    if type(opts.headers) ~= "table" then invalid("headers must be a table of name = value") end
    for name, value in pairs(opts.headers) do
      if type(name) ~= "string" or not name:match(HEADER_TOKEN) then
        invalid("header name " .. string.format("%q", tostring(name)) .. " is not a valid token")
      end
      if type(value) == "number" then value = tostring(value) end
      if type(value) ~= "string" then invalid("header '" .. name .. "' must have a string value") end
      if value:find("[\r\n%z]") then invalid("header '" .. name .. "' value contains CR, LF or NUL") end
      headers[name] = value
      has[name:lower()] = true
    end
  end

  local auth = opts.auth ~= nil and check_auth(opts.auth, has) or nil

  local body = opts.body
  if body ~= nil and opts.json ~= nil then invalid("give either body or json, not both") end
  if body ~= nil and type(body) ~= "string" then invalid("body must be a string (use json = {...} for tables)") end
  if opts.json ~= nil then
    local ok, text = pcall(json.encode, opts.json)
    if not ok then invalid("json body cannot be encoded: " .. tostring(text)) end
    body = text
    if not has["content-type"] then headers["Content-Type"] = "application/json" end
  end

  if opts.send_in_dry_run ~= nil and type(opts.send_in_dry_run) ~= "boolean" then
    invalid("send_in_dry_run must be true or false")
  end
  positive(opts, "timeout")
  positive(opts, "connect_timeout")
  local max_body = positive(opts, "max_body")
  if max_body and math.type(max_body) ~= "integer" and max_body ~= math.floor(max_body) then
    invalid("max_body must be a whole number of bytes")
  end
  return {
    method = method, url = url, headers = headers, body = body, auth = auth,
    timeout = opts.timeout, connect_timeout = opts.connect_timeout, max_body = max_body,
  }
end

local Response = { __name = "http.response" }
Response.__index = Response
Response.__metatable = "http.response"   -- no script code can patch every response

-- res:json(): the body decoded; a body that is not JSON raises bad_response.
function Response.json(self)
  local ok, v = pcall(json.decode, self.body or "")
  if not ok then
    errors.raise("bad_response", "response body is not valid JSON: " .. tostring(v):gsub("^json.decode: ", ""),
      { status = self.status, url = self.url })
  end
  return v
end

-- Starts the transfer, or raises the refusal of host/http_policy.c (a credential origin,
-- --allow-net, a framing header): nothing was sent.
local function start(req, shown)
  local id, kind, message = http_core.start(req)
  if not id then errors.raise(kind, message, { url = shown, method = req.method }) end
  return id
end

local function not_yieldable()
  error(core.user_where() .. " http: cannot wait for I/O here: the call is inside a C function that " ..
    "called back into Lua (a table.sort comparator, a string.gsub function, __gc, or __tostring " ..
    "reached from C); move the request out of that callback", 0)
end

-- ---- opt-in retries (retries = n) for idempotent methods ----

local IDEMPOTENT = { GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true }
local RETRY_STATUS = { [408] = true, [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }
M.retry_settings = { base = 0.5, cap = 20, max_retry_after = 120 }

local function check_retries(opts, method)
  local n = opts.retries
  if n == nil then return 0 end
  if math.type(n) ~= "integer" or n < 0 or n > 10 then invalid("retries must be an integer from 0 to 10") end
  if n > 0 and not IDEMPOTENT[method] then
    invalid("retries is only for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS): a " .. method ..
      " sent twice may act twice")
  end
  return n
end

-- Retry-After: delay-seconds or an HTTP date -> seconds to wait, or nil
local function retry_after(headers)
  local v = headers and headers["retry-after"]
  if not v then return nil end
  local sec = tonumber(v)
  if sec then return math.max(0, sec) end
  local at = require("vsrun.time").parse_http_date(v)
  return at and math.max(0, at - core.now()) or nil
end

-- -> seconds to wait and why, or nil when this outcome is final
local function retry_wait(res, attempt)
  local cause
  if res.error_kind then
    if res.error_kind ~= "network" and res.error_kind ~= "timeout" then return nil end
    cause = res.error_kind .. " error"
  elseif RETRY_STATUS[res.status] then
    cause = "HTTP " .. res.status
  else
    return nil
  end
  local s = M.retry_settings
  local after = res.status and retry_after(res.headers)
  if after then
    if after > s.max_retry_after then return nil end   -- too long to wait: the answer stands
    return after, cause .. ", Retry-After " .. string.format("%g", after) .. " s"
  end
  -- capped full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]
  return math.random() * math.min(s.cap, s.base * 2 ^ (attempt - 1)), cause .. ", backoff"
end

-- Sends req, again up to `retries` times after a transient failure; returns the last result.
local function send_with_retries(req, retries, shown)
  local attempt = 1
  while true do
    req.attempt = attempt
    local res = sched.wait_io(start(req, shown))
    local wait, cause = nil, nil
    if attempt <= retries then wait, cause = retry_wait(res, attempt) end
    if not wait then
      res.attempts = attempt
      return res
    end
    if core.options().verbose then
      core.stderr(("vsrun http: %s %s: retry %d of %d in %.2f s (%s)\n"):format(req.method, shown,
        attempt, retries, wait, cause))
    end
    sched.sleep(wait)
    attempt = attempt + 1
  end
end

-- http.request{ method, url, query, headers, body | json, auth, timeout, connect_timeout,
--   max_body, retries, send_in_dry_run }
function M.request(opts)
  local req = build(opts)
  local retries = check_retries(opts, req.method)
  if not coroutine.isyieldable() then not_yieldable() end
  local shown = http_core.redact_url(req.url)
  -- --dry-run: a write is printed (no headers or body: they may hold secrets), not sent,
  -- unless the call says sending it changes nothing (send_in_dry_run = true, e.g. an LLM call)
  if req.method ~= "GET" and req.method ~= "HEAD" and opts.send_in_dry_run ~= true and core.options().dry_run then
    req.check_only = true   -- what would be refused (origin, --allow-net, headers) still is
    start(req, shown)
    req.check_only = nil
    core.stderr(("dry-run: %s %s (%d-byte body, not sent)\n"):format(req.method, shown, req.body and #req.body or 0))
    return setmetatable({ status = 200, headers = {}, body = "", elapsed = 0, url = shown, dry_run = true }, Response)
  end
  local res = send_with_retries(req, retries, shown)
  if res.error_kind then
    errors.raise(res.error_kind, req.method .. " " .. shown .. ": " .. res.error_message,
      { url = shown, method = req.method, status = res.status, sent = res.sent, attempts = res.attempts })
  end
  return setmetatable({ status = res.status, headers = res.headers, body = res.body,
    elapsed = res.elapsed, url = shown, attempts = res.attempts }, Response)
end

local function shorthand(method)
  return function(url, opts)
    if opts ~= nil and type(opts) ~= "table" then invalid("options must be a table, got " .. type(opts)) end
    local o = {}
    for k, v in pairs(opts or {}) do o[k] = v end
    if o.method ~= nil or o.url ~= nil then invalid("http." .. method:lower() .. "(url, opts): give url and method as arguments, not in opts") end
    o.method, o.url = method, url
    return M.request(o)
  end
end

M.get = shorthand("GET")
M.post = shorthand("POST")
M.put = shorthand("PUT")
M.patch = shorthand("PATCH")
M.delete = shorthand("DELETE")
M.head = shorthand("HEAD")

-- http.configure{ max_per_host = n, max_total = n }: connection caps for this script.
function M.configure(opts)
  if type(opts) ~= "table" then invalid("configure expects a table") end
  for k, v in pairs(opts) do
    if k ~= "max_per_host" and k ~= "max_total" then invalid("configure: unknown option '" .. tostring(k) .. "'") end
    if math.type(v) ~= "integer" or v < 1 then invalid("configure: " .. k .. " must be a positive integer") end
  end
  http_core.configure(opts)
end

return M
