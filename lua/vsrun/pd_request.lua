-- One PagerDuty call for lua/pagerduty.lua: pacing, sending through vsrun.pd_core (which
-- attaches the token in C), retries with capped full-jitter backoff inside a per-run
-- budget, one token refresh on 401, duplicate-safe creates, and errors mapped to kinds.
local core = require "vsrun.core"
local pd_core = require "vsrun.pd_core"
local pd_refresh = require "vsrun.pd_refresh"   -- private: not requirable by scripts
require "vsrun.http_core"   -- registers the I/O driver the scheduler waits on
local run_metrics = require "vsrun.run_metrics"   -- private: counters for vsrun serve's /metrics
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local json = require "json"
local ptime = require "vsrun.time"
local progress = require "vsrun.progress"

local M = {}

-- Tunables (pagerduty.configure changes them). The budget is shared by every call of the run.
M.settings = {
  max_attempts = 6,      -- per call, for GET/PUT and for create look-ups
  retry_budget = 200,    -- retries allowed in the whole run
  backoff_base = 0.25,   -- seconds; attempt n waits random(0, min(cap, base * 2^(n-1)))
  backoff_cap = 20,
  backoff_429 = 2,       -- base wait after a 429 without ratelimit-* headers
  timeout = 30,          -- per transfer
  max_body = 64 << 20,   -- bytes; a larger response body fails with too_large (not retried)
}
local retries_used = 0
local server_offset = 0   -- PagerDuty's clock minus ours, from the Date header (whole seconds)

function M.retries_used() return retries_used end
function M.server_offset() return server_offset end

local function backoff(attempt, base)
  local s = M.settings
  local top = math.min(s.backoff_cap, (base or s.backoff_base) * 2 ^ (attempt - 1))
  return math.random() * top
end

-- ---- query strings ----

local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- pairs = { {name, value}, ... }; a name ending in [] repeats for each value of a list
function M.encode_query(params)
  local out = {}
  for _, p in ipairs(params) do
    local name, value = p[1], p[2]
    if type(value) == "table" then
      for _, v in ipairs(value) do out[#out + 1] = escape(name) .. "=" .. escape(v) end
    elseif value ~= nil then
      if type(value) == "boolean" then value = value and "true" or "false" end
      out[#out + 1] = escape(name) .. "=" .. escape(value)
    end
  end
  return table.concat(out, "&")
end

-- ---- connections and their token refresh ----

local refreshing = {}      -- connection name -> the task running its refresh
local LOCK_SLICE = 0.02    -- seconds between tries for a vault lock another process holds

-- Steps one refresh (host/pagerduty.c) to its end, waiting on the scheduler: other tasks run
-- while another process holds the vault lock and while the token request is in flight.
local function run_refresh(conn, generation)
  local job, kind, message = pd_refresh.start(conn, generation)
  if job == true or job == false then return job, kind, message end
  while true do
    local what, a, b = pd_refresh.step(job)
    if what == "busy" then sched.sleep(LOCK_SLICE)
    elseif what == "send" then sched.wait_io(a)
    else return what, a, b end
  end
end

-- refresh(conn, generation|nil) -> true | false, kind, message. generation: a forced
-- refresh after a 401 at that generation; nil: the due refresh connect() asked for.
-- One refresh per connection name at a time in the process: it runs as a task of its own
-- (a cancelled caller does not abandon the others) and concurrent callers wait for it,
-- then share its failure, or step their own refresh, which finds the record refreshed
-- (its generation moved) and takes its token without a token request.
function M.refresh(conn, generation)
  local name = conn.name
  while refreshing[name] do
    local running = refreshing[name]
    if running:done() then
      refreshing[name] = nil   -- ended without clearing its entry: cancelled
    else
      local ok, done, kind, message = pcall(running.wait, running)
      if ok and done == false then return false, kind, message end
    end
  end
  local task
  task = sched.spawn(function()
    local r = table.pack(pcall(run_refresh, conn, generation))
    if refreshing[name] == task then refreshing[name] = nil end
    if not r[1] then error(r[2], 0) end
    return table.unpack(r, 2, r.n)
  end)
  refreshing[name] = task
  return task:wait()
end

function M.connection(client)
  if client.conn then return client.conn end
  local conn, why, kind = pd_core.connect(client.name)
  if conn and why then
    -- the token is about to expire: refresh it before the first request
    local ok, k, message = M.refresh(conn)
    if not ok then conn, why, kind = nil, message, k end
  end
  if not conn then
    local name = client.name or core.options().connection
    if kind == "permission_denied" then
      errors.raise("permission_denied", "connect" .. (client.name and (" '" .. client.name .. "'") or "") ..
        ": " .. tostring(why), { action = "connect" })
    end
    if kind == "config" then
      -- a bad region, URL or vault key: the message names the fix (exit 2)
      errors.raise("config", tostring(why), { action = "connect" })
    end
    if kind == "network" or kind == "timeout" then
      errors.raise("network", "could not refresh the token of connection" ..
        (name and (" '" .. name .. "'") or "") .. ": " .. tostring(why))
    end
    -- the host's message usually says "no PagerDuty connection..." itself: do not repeat it
    why = tostring(why)
    if not why:find("^no PagerDuty connection") then
      why = "no PagerDuty connection" .. (client.name and (" '" .. client.name .. "'") or "") .. ": " .. why
    end
    errors.raise("reconnect_required", why)
  end
  client.conn = conn
  return conn
end

-- ---- error bodies in every shape PagerDuty is known to send ----

-- -> { message, code, errors } or nil when the body is not JSON
local function parse_error_body(body)
  if type(body) ~= "string" or body == "" then return nil end
  local ok, v = pcall(json.decode, body)
  if not ok then return nil end
  local out = {}
  if type(v) == "string" then
    out.message = v
  elseif type(v) == "table" then
    if #v > 0 then                     -- a bare array of strings
      local list = {}
      for _, s in ipairs(v) do if type(s) == "string" then list[#list + 1] = s end end
      out.errors = list
    end
    local e = v.error
    if type(e) == "string" then
      out.message = e
    elseif type(e) == "table" then
      if type(e.message) == "string" then out.message = e.message end
      out.code = math.tointeger(e.code) or (type(e.code) == "string" and tonumber(e.code)) or nil
      if type(e.errors) == "string" then
        out.errors = { e.errors }
      elseif type(e.errors) == "table" then
        local list = {}
        for _, s in ipairs(e.errors) do if type(s) == "string" then list[#list + 1] = s end end
        out.errors = list
      end
    elseif type(v.message) == "string" then
      out.message = v.message
      out.code = math.tointeger(v.code)
    end
  else
    return nil
  end
  return out
end
M.parse_error_body = parse_error_body

local function header_number(headers, name)
  local v = headers and headers[name]
  return v and tonumber(v) or nil
end
M.header_number = header_number

-- Builds the error object for an HTTP error response (not 401, handled by the caller).
local function http_error(spec, res)
  local status = res.status
  local info = parse_error_body(res.body)
  local fields = {
    status = status, action = spec.action,
    request_id = res.headers and res.headers["x-request-id"] or nil,
  }
  local detail = ""
  if info then
    fields.code = info.code
    fields.errors = info.errors
    detail = info.message or ""
    -- PagerDuty often repeats its message as the only entry of `errors`: say it once
    local extra = {}
    for _, e in ipairs(info.errors or {}) do if e ~= detail then extra[#extra + 1] = e end end
    if #extra > 0 then
      detail = (detail ~= "" and (detail .. ": ") or "") .. table.concat(extra, "; ")
    end
    if detail:find('From"? header') then
      detail = detail .. " (with an account API key, set PAGERDUTY_FROM to the email of a user on the account)"
    end
  end
  local function msg(prefix)
    return detail ~= "" and (prefix .. ": " .. detail) or prefix
  end
  if status == 403 or status == 402 then
    local scope = spec.method == "GET" and "read" or "write"
    return errors.new("permission_denied", msg(("PagerDuty refused %s: the connection needs the `%s` scope " ..
      "(and a role that allows it)"):format(spec.action, scope)), fields)
  elseif status == 404 then
    return errors.new("not_found", msg((spec.what or "the resource") .. " was not found"), fields)
  elseif status == 429 then
    return errors.new("rate_limited", msg("PagerDuty rate limit reached and the retry budget is spent"), fields)
  elseif status >= 500 or status == 408 then
    return errors.new(status == 408 and "timeout" or "server", msg("PagerDuty answered HTTP " .. status), fields)
  elseif not info then
    return errors.new("bad_response", ("PagerDuty answered HTTP %d with a body that is not JSON"):format(status), fields)
  elseif status == 400 or status == 413 or status == 409 or status == 422 then
    local text = detail:lower()
    if spec.action == "create_incident" and (status == 409 or fields.code == 2002) and
        (text:find("dedup", 1, true) or text:find("incident.key") or text:find("matching key", 1, true)) then
      return errors.new("conflict", msg("an open incident already holds this incident_key"), fields)
    end
    return errors.new("invalid_argument", msg("PagerDuty rejected " .. spec.action), fields)
  end
  return errors.new("bad_response", msg(("PagerDuty answered HTTP %d"):format(status)), fields)
end
M.http_error = http_error

-- ---- one attempt ----

-- The last 429's headers, to say why requests wait after it (-v).
local last_429 = {}
local function limit_cause(why, wait)
  if why == "blocked" then
    return "PagerDuty answered 429 (rate limit exceeded)" ..
      (last_429.reset and (", ratelimit-reset " .. last_429.reset .. " s") or "; no ratelimit headers: backing off")
  elseif why == "window" then
    return ("the rate-limit window is used up (ratelimit-remaining 0); it resets in %.1f s"):format(wait)
  end
  return "pacing: few requests are left in the rate-limit window, so they are spread until it resets"
end

-- Waits until the shared limiter lets a request go.
local function pace()
  local wait, why = pd_core.pace()
  while wait > 0 do
    progress.wait(math.min(wait, 60), limit_cause(why, wait), true)
    run_metrics.rate_limit_wait(math.min(wait, 60))
    sched.sleep(math.min(wait, 60))
    wait, why = pd_core.pace()
  end
end

-- Sends spec once. Returns outcome, value, generation:
--   "ok", decoded body | "dry_run", marker | "retry", err, ambiguous | "auth" | "fail", err
local function attempt(client, spec, n)
  local conn = M.connection(client)
  pace()
  local id, gen = pd_core.request(conn, {
    method = spec.method, path = spec.path, query = spec.query_string, body = spec.body_text,
    attempt = n, timeout = M.settings.timeout, max_body = math.tointeger(M.settings.max_body),
  })
  if id == nil then
    errors.raise("invalid_argument", spec.action .. ": refused before sending: " .. tostring(gen), { action = spec.action })
  end
  if id == false then
    local marker = { dry_run = true, method = spec.method, path = spec.path }
    if spec.body_text then marker.body = json.decode(spec.body_text) end
    return "dry_run", marker
  end
  local res = sched.wait_io(id)
  local headers = res.headers or {}
  if res.status then
    run_metrics.pagerduty(res.status)
    -- a 429 without ratelimit-* headers: wait at least the base, doubling per attempt
    local s = M.settings
    local backoff429 = math.min(math.max(s.backoff_cap, s.backoff_429), s.backoff_429 * 2 ^ (n - 1)) * (1 + math.random())
    pd_core.observe(res.status, header_number(headers, "ratelimit-remaining"),
      header_number(headers, "ratelimit-reset"), backoff429)
    if res.status == 429 then last_429 = { reset = header_number(headers, "ratelimit-reset") } end
  end
  local request_id = headers["x-request-id"]
  local server_now = ptime.parse_http_date(headers.date)
  if server_now then server_offset = server_now - math.floor(core.now()) end
  if res.error_kind then
    -- an oversize body would come back just as large: too_large, not retried
    local kind = (res.error_kind == "timeout" and "timeout") or (res.error_kind == "too_large" and "too_large") or "network"
    local err = errors.new(kind, ("%s: %s"):format(spec.action, res.error_message or res.error_kind),
      { action = spec.action, request_id = request_id, status = res.status })
    if kind == "too_large" or res.error_kind == "tls" then return "fail", err end
    return "retry", err, res.sent ~= false
  end
  local status = res.status
  if status >= 200 and status < 300 then
    if status == 204 or res.body == nil or res.body == "" then return "ok", {}, gen end
    local ok, body = pcall(json.decode, res.body)
    if not ok or type(body) ~= "table" then
      return "retry", errors.new("bad_response", spec.action .. ": PagerDuty's response is not valid JSON",
        { action = spec.action, status = status, request_id = request_id }), true
    end
    return "ok", body, gen
  end
  if status == 401 then return "auth", gen end
  local err = http_error(spec, res)
  if status == 429 then return "retry", err, false end
  if status >= 500 or status == 408 then return "retry", err, true end
  return "fail", err
end

-- The backoff before retry n, said under -v with the failure that caused it.
local function retry_sleep(spec, err, n)
  local wait = backoff(n)
  progress.wait(wait, ("retrying %s after %s"):format(spec.action, err.status and ("HTTP " .. err.status) or err.kind))
  sched.sleep(wait)
end

local function spend_retry(err)
  if retries_used >= M.settings.retry_budget then
    err.message = err.message .. " (the run's retry budget of " .. M.settings.retry_budget .. " is spent)"
    error(err, 0)
  end
  retries_used = retries_used + 1
end

local function refresh(client, spec, gen)
  local ok, kind, message = M.refresh(client.conn, gen)
  if ok then return end
  local name = client.conn.name
  if kind == "reconnect_required" and client.conn.kind == "oauth" and not message:find("vsrun auth reconnect", 1, true) then
    message = message .. "; run `vsrun auth reconnect " .. name .. "`"
  end
  errors.raise(kind or "reconnect_required", spec.action .. ": " .. message, { action = spec.action, status = 401 })
end

-- A 401: refresh the token once (another task may already have); a second 401 after a
-- refresh means the grant itself is refused.
local function reauthenticate(client, spec, generation, refreshed)
  if refreshed then
    errors.raise("reconnect_required", spec.action .. ": PagerDuty still rejects the refreshed token (401)" ..
      (client.conn.kind == "oauth" and ("; run `vsrun auth reconnect " .. client.conn.name .. "`") or ""),
      { action = spec.action, status = 401 })
  end
  refresh(client, spec, generation)
end

local function prepare(spec)
  if spec.query and not spec.query_string then spec.query_string = M.encode_query(spec.query) end
  if spec.body and not spec.body_text then
    -- a body json.encode refuses (a string that is not UTF-8) is the caller's argument
    local ok, text = pcall(json.encode, spec.body)
    if not ok then
      errors.raise("invalid_argument", "the request body cannot be written as JSON: " ..
        tostring(text):gsub("^json%.encode: ", ""), { action = spec.action })
    end
    spec.body_text = text
  end
end

-- Sends a GET or PUT: retried on network errors, timeouts, 5xx, 429 and unparseable bodies.
-- Returns the decoded body.
function M.call(client, spec)
  prepare(spec)
  local refreshed = false
  local n = 0
  while true do
    n = n + 1
    local outcome, value, extra = attempt(client, spec, n)
    if outcome == "ok" or outcome == "dry_run" then return value end
    if outcome == "auth" then
      reauthenticate(client, spec, value, refreshed)
      refreshed = true
      n = n - 1
    elseif outcome == "fail" then
      error(value, 0)
    else
      if n >= M.settings.max_attempts then error(value, 0) end
      spend_retry(value)
      -- after a 429 the shared limiter holds every task until the reset time
      if value.status ~= 429 then retry_sleep(spec, value, n) end
    end
  end
end

-- Sends a POST that must not be repeated blindly. After an ambiguous failure (sent but no
-- answer, 5xx, unparseable 2xx) `resolve(since)` looks for the object the lost attempt may
-- have made: it returns the object, or nil to send again. A 2xx too large to read is
-- resolved the same way (the object exists; too_large only if it cannot be found). A 429 or a transfer that never
-- left this host is retried as is. Returns the decoded body.
function M.create(client, spec, resolve)
  prepare(spec)
  local started = core.now()
  local refreshed, ambiguous = false, false
  local n = 0
  while true do
    n = n + 1
    local outcome, value, extra = attempt(client, spec, n)
    if outcome == "ok" or outcome == "dry_run" then return value end
    if outcome == "auth" then
      reauthenticate(client, spec, value, refreshed)
      refreshed = true
      n = n - 1
    elseif outcome == "fail" then
      if ambiguous and spec.on_conflict and value.kind == "conflict" then
        local found = resolve(started)
        if found then return found end
      end
      -- a 2xx whose body was too large to read: the object was made, so look it up (curl
      -- may stop at the Content-Length before the status is known: then look too)
      if value.kind == "too_large" and (value.status == nil or (value.status >= 200 and value.status < 300)) then
        local found = resolve(started)
        if found then return found end
      end
      error(value, 0)
    else
      if n >= M.settings.max_attempts then error(value, 0) end
      spend_retry(value)
      if extra then
        ambiguous = true
        local found = resolve(started)
        if found then return found end
      end
      if value.status ~= 429 then retry_sleep(spec, value, n) end
    end
  end
end

return M
