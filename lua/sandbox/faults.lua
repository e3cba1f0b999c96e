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
-- A fault = { match = { method = "GET", path = "pattern" }, count = N, kind = ..., ... }.
--
-- match.path is a Lua pattern restricted to what a linear-time matcher can run (any client
-- can post a fault, so a backtracking pattern like 20 x ".-" then "x" must not pin the
-- server): single-character items (a literal, ".", a %class or %-escape, a [set]), each
-- optionally followed by *, +, - or ?, with ^ and $ anchors; no captures, %b, %f or
-- back-references; at most MAX_PATTERN characters. It is run as a set of states advanced one
-- path byte at a time (every place the pattern could be at once), so a request costs at most
-- path length x pattern items steps, whatever the pattern. A path longer than MAX_PATH bytes
-- matches no fault's path. See docs/sandbox.md "Faults".
local web = require "sandbox.web"
local auth = require "sandbox.auth"

local M = {}

local MAX_PATTERN = 100
local MAX_PATH = 1024
local MAX_FAULTS = 100
M.MAX_PATTERN, M.MAX_PATH, M.MAX_FAULTS = MAX_PATTERN, MAX_PATH, MAX_FAULTS

local LOOPS = { ["*"] = true, ["+"] = true, ["-"] = true }
local OPTIONAL = { ["*"] = true, ["-"] = true, ["?"] = true }

-- compile(pattern) -> { items, anchored, at_end } | nil, message. Each item is one
-- single-character class, kept as the Lua pattern "^" .. class (so its meaning is Lua's own),
-- with its quantifier q (or nil).
local function compile(pat)
  if #pat > MAX_PATTERN then return nil, "match.path must be at most " .. MAX_PATTERN .. " characters" end
  local items, n, i = {}, #pat, 1
  local p = { items = items, anchored = pat:sub(1, 1) == "^", at_end = false }
  if p.anchored then i = 2 end
  while i <= n do
    local c, j = pat:sub(i, i), i
    if c == "$" and i == n then p.at_end = true break end
    if c == "(" or c == ")" then return nil, "match.path cannot have captures" end
    local class
    if c == "%" then
      local d = pat:sub(i + 1, i + 1)
      if d == "" then return nil, "match.path must not end with %" end
      if d == "b" or d == "f" or d:find("^%d") then return nil, "match.path cannot use %b, %f or back-references" end
      j = i + 1
    elseif c == "[" then
      j = i + 1
      if pat:sub(j, j) == "^" then j = j + 1 end
      repeat   -- as Lua reads a set: its first character may be "]"
        if j > n then return nil, "match.path has a [ without its ]" end
        if pat:sub(j, j) == "%" then j = j + 1 end
        j = j + 1
      until pat:sub(j, j) == "]"
    elseif c == "$" then
      class = "%$"   -- a literal $ (it anchors only at the end)
    end
    class = class or pat:sub(i, j)
    local q = pat:sub(j + 1, j + 1)
    if q == "*" or q == "+" or q == "-" or q == "?" then j = j + 1 else q = nil end
    local item = { class = "^" .. class, q = q, hit = {} }
    if not pcall(string.find, "", item.class) then return nil, "match.path is not a valid Lua pattern" end
    items[#items + 1] = item
    i = j + 1
  end
  return p
end

local function hits(item, ch)
  local h = item.hit[ch]
  if h == nil then
    h = ch:find(item.class) ~= nil
    item.hit[ch] = h
  end
  return h
end

-- Adds state k (about to match items[k]; #items + 1 = matched) and the states reached by
-- skipping the optional items from there.
local function enter(items, set, k)
  while not set[k] do
    set[k] = true
    local it = items[k]
    if not (it and OPTIONAL[it.q]) then return end
    k = k + 1
  end
end

-- path_matches(p, path) -> boolean: does the pattern match anywhere in path (as string.find)?
local function path_matches(p, path)
  if #path > MAX_PATH then return false end
  local items = p.items
  local done = #items + 1
  local cur = {}
  enter(items, cur, 1)
  for pos = 1, #path do
    if cur[done] and not p.at_end then return true end
    local ch, nxt = path:sub(pos, pos), {}
    for k in pairs(cur) do
      local it = items[k]
      if it and hits(it, ch) then
        if LOOPS[it.q] then enter(items, nxt, k) end   -- may match again
        enter(items, nxt, k + 1)
      end
    end
    if not p.anchored then enter(items, nxt, 1) end
    if next(nxt) == nil then return false end
    cur = nxt
  end
  return cur[done] == true
end
M.path_matches = function(pattern, path)
  local p, err = compile(pattern)
  if not p then error(err, 2) end
  return path_matches(p, path)
end

local KINDS = { latency = true, status = true, rate_limit = true, reset = true, reset_mid_body = true,
  truncate = true, invalid_json = true, stall = true, oversize = true, expire_token = true, revoke_refresh = true }

-- add(app, spec) -> fault | nil, message
function M.add(app, spec)
  if type(spec) ~= "table" or not KINDS[spec.kind] then return nil, "kind must be one of the documented fault kinds" end
  local m = type(spec.match) == "table" and spec.match or {}
  local matcher
  if m.path ~= nil then
    if type(m.path) ~= "string" then return nil, "match.path must be a string (a restricted Lua pattern)" end
    local err
    matcher, err = compile(m.path)
    if not matcher then return nil, err end
  end
  if #app.faults >= MAX_FAULTS then return nil, "at most " .. MAX_FAULTS .. " faults can be pending" end
  local f = { kind = spec.kind, method = m.method and tostring(m.method):upper(), path = m.path, matcher = matcher,
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
    if (not f.method or f.method == req.method) and (not f.matcher or path_matches(f.matcher, req.path)) then
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
