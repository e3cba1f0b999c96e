-- Faults injected for the next N matching requests (tests of retry, backoff and parsing):
--   latency {delay}        answer normally after `delay` seconds
--   status {status, body}  answer that status (a PagerDuty error body unless `body` given)
--   rate_limit {headers}   429 code 2020, with ratelimit-* headers unless headers == false
--                          (then neither headers nor body, as the docs warn can happen)
--   reset                  close the connection without a response
--   reset_mid_body         send half the body of a longer declared length, then reset the connection
--   truncate               a complete 200 response whose JSON is cut short
--   invalid_json           a 200 response whose body is not JSON
--   stall {stall}          stop mid-body for `stall` seconds
--   oversize {size}        the normal response, its JSON padded with spaces to `size` bytes
--                          (default 2 MiB; for a client's max_body)
--   expire_token           the request's access token expires before it is checked
--   revoke_refresh         the refresh token the request presents (POST /oauth/token), or
--                          the refresh tokens of the request's OAuth authorization, are
--                          revoked before it is handled: the next refresh gets invalid_grant
-- A fault = { match = { method = "GET", path = "lua pattern" }, count = N, kind = ..., ... }.
local web = require "sandbox.web"
local auth = require "sandbox.auth"

local M = {}

local KINDS = { latency = true, status = true, rate_limit = true, reset = true, reset_mid_body = true,
  truncate = true, invalid_json = true, stall = true, oversize = true, expire_token = true, revoke_refresh = true }

-- add(app, spec) -> fault | nil, message
function M.add(app, spec)
  if type(spec) ~= "table" or not KINDS[spec.kind] then return nil, "kind must be one of the documented fault kinds" end
  local m = type(spec.match) == "table" and spec.match or {}
  if m.path ~= nil and (type(m.path) ~= "string" or not pcall(string.find, "", m.path)) then
    return nil, "match.path must be a Lua pattern"
  end
  local f = { kind = spec.kind, method = m.method and tostring(m.method):upper(), path = m.path,
              count = math.tointeger(spec.count) or 1, status = math.tointeger(spec.status),
              body = spec.body, headers = spec.headers, delay = tonumber(spec.delay),
              stall = tonumber(spec.stall), size = math.tointeger(spec.size), hits = 0 }
  if f.kind == "oversize" and f.size and not (f.size > 0 and f.size <= 64 << 20) then
    return nil, "an oversize fault needs size = 1..64 MiB"
  end
  if f.kind == "status" and not (f.status and f.status >= 100 and f.status <= 599) then
    return nil, "a status fault needs status = 100..599"
  end
  app.faults[#app.faults + 1] = f
  return f
end

local function take(app, req)
  for i, f in ipairs(app.faults) do
    if (not f.method or f.method == req.method) and (not f.path or req.path:find(f.path)) then
      f.hits = f.hits + 1
      f.count = f.count - 1
      if f.count <= 0 then table.remove(app.faults, i) end
      return f
    end
  end
  return nil
end

-- before(app, req) -> response (short-circuit) | nil, fault to apply after handling
function M.before(app, req)
  local f = take(app, req)
  if not f then return nil end
  if f.kind == "status" then
    if f.body then return { status = f.status, headers = { ["content-type"] = web.JSON }, body = f.body } end
    local msg = f.status >= 500 and "Internal Server Error" or "Injected error"
    return web.error(f.status, f.status >= 500 and 2000 or 2001, msg)
  elseif f.kind == "rate_limit" then
    if f.headers == false then return { status = 429, headers = {}, body = "" } end
    local r = web.error(429, 2020, "Rate Limit Exceeded")
    r.headers["ratelimit-limit"] = tostring(app.cfg.rate_limit)
    r.headers["ratelimit-remaining"] = "0"
    r.headers["ratelimit-reset"] = tostring(f.reset or 1)
    return r
  elseif f.kind == "reset" then
    return { status = 500, headers = {}, body = "", reset = true }
  elseif f.kind == "expire_token" then
    local h = web.header(req, "authorization") or ""
    local tok = h:match("^[Bb]earer%s+(%S+)")
    local rec = tok and app.state.tokens[auth.hash(tok)]
    if rec then rec.expires_at = app.clock() - 1 end
    return nil
  elseif f.kind == "revoke_refresh" then
    local delegation
    local form = req.body and web.form(req.body) or {}
    local presented = form.refresh_token and app.state.refresh[auth.hash(form.refresh_token)]
    if presented then delegation = presented.delegation_id end
    local tok = (web.header(req, "authorization") or ""):match("^[Bb]earer%s+(%S+)")
    local rec = tok and app.state.tokens[auth.hash(tok)]
    if rec then delegation = delegation or rec.delegation_id end
    for _, r in pairs(app.state.refresh) do
      if delegation and r.delegation_id == delegation then r.revoked = true end
    end
    return nil
  end
  return nil, f
end

function M.after(app, req, resp, f)
  local body = resp.body or ""
  if f.kind == "latency" then
    resp.delay = f.delay or 1
  elseif f.kind == "reset_mid_body" then
    if #body < 2 then body = body .. string.rep(" ", 2 - #body) resp.body = body end
    resp.truncate = #body // 2
    resp.reset = true  -- half the declared body, then a TCP reset (not a clean close)
  elseif f.kind == "truncate" then
    resp.status = 200
    resp.body = body:sub(1, math.max(1, #body // 2))
  elseif f.kind == "invalid_json" then
    resp.status = 200
    resp.headers = { ["content-type"] = web.JSON }
    resp.body = "<html><body>502 Bad Gateway</body></html>"
  elseif f.kind == "stall" then
    resp.stall = f.stall or 1
  elseif f.kind == "oversize" then
    local size = f.size or (2 << 20)
    if #body < size then resp.body = body .. string.rep(" ", size - #body) end
  end
  return resp
end

return M
