-- The control API under /__sandbox/: tests drive the sandbox through it. It needs no
-- credentials and answers only loopback peers; the pagerduty module's allowlist can never
-- reach it.
--   POST   /__sandbox/reset                 reseed with the start-up arguments
--   POST   /__sandbox/seed   {incidents, seed, months}
--   POST   /__sandbox/faults {match, count, kind, ...}   GET lists, DELETE clears
--   GET    /__sandbox/requests ?method=&path=&since_seq=&limit=   DELETE clears
--   GET    /__sandbox/incidents              counts by status
--   POST   /__sandbox/incidents {count, service, title, urgency, status, incident_key}
--          creates incidents now, as the service's integration (no auth, no rate limit)
--   POST   /__sandbox/time   {offset} | {advance}   moves the sandbox clock
--   POST   /__sandbox/config {rate_limit, create_rate_limit, rate_window, latency, jitter}
--          per-minute allowances; every API answer's delay (ms, see sandbox/latency.lua)
--   POST   /__sandbox/oauth  {deny = n, login_as = user}   next authorizations
--   POST   /__sandbox/clients {client_id, client_secret}   registers an OAuth client
--   POST   /__sandbox/revoke_refresh {user}   revokes refresh tokens (all, or one user's)
--   GET    /__sandbox/info
--   POST   /__sandbox/webhooks {url, secret, events}   a v3 webhook subscription (webhooks.lua)
--   GET    /__sandbox/webhooks   subscriptions and their deliveries   DELETE [/ID] removes
--   POST   /__sandbox/snapshot   remembers the whole state (data, credentials, faults, log, clock)
--   POST   /__sandbox/restore    puts the snapshot back (vsrun test: before each test)
local json = require "json"
local web = require "sandbox.web"
local seed = require "sandbox.seed"
local faults = require "sandbox.faults"
local oauth = require "sandbox.oauth"

local lifecycle = require "sandbox.lifecycle"
local latency = require "sandbox.latency"
local webhooks = require "sandbox.webhooks"

local function ok(v) return web.json(200, v or { ok = true }) end
local function bad(msg) return web.json(400, { error = { message = msg } }) end

local M = {}

function M.create_incidents(app, b)
  local store = app.store
  local count = math.tointeger(b.count or 1)
  if not count or count < 1 or count > 100000 then return bad("count must be 1..100000") end
  local svc = b.service and store.services[b.service] or store.data.services[1]
  if not svc then return bad("unknown service " .. tostring(b.service)) end
  if b.urgency ~= nil and b.urgency ~= "high" and b.urgency ~= "low" then return bad("urgency must be high or low") end
  local status = b.status or "triggered"
  if status ~= "triggered" and status ~= "acknowledged" and status ~= "resolved" then return bad("bad status") end
  if b.incident_key ~= nil and (type(b.incident_key) ~= "string" or count > 1) then
    return bad("incident_key must be a string and needs count = 1")
  end
  if b.incident_key and status ~= "resolved" and store:open_with_key(svc.id, b.incident_key) then
    return bad("an open incident on this service holds that incident_key")
  end
  local ids = {}
  local now = app.now()
  for i = 1, count do
    local actor = { service = svc, channel = { type = "api" } }
    local inc = lifecycle.create(app, actor, { title = type(b.title) == "string" and b.title or ("Test incident " .. i),
      service = svc, urgency = b.urgency, incident_key = b.incident_key }, now)
    local who = inc.assignments[1] and store.users[inc.assignments[1].user_id] or store.data.users[1]
    if status ~= "triggered" then lifecycle.acknowledge(app, inc, { user = who }, now) end
    if status == "resolved" then lifecycle.resolve(app, inc, { user = who }, now) end
    ids[i] = inc.id
  end
  app.dirty = true
  return ok({ ids = setmetatable(ids, json.array_mt) })
end

-- Snapshot and restore, for `vsrun test`: each test starts from the state the file's top
-- level left. The snapshot notes the request and control counters: a restore after only
-- GETs puts back the request log, faults, rate windows and clock but keeps the data, which
-- reads cannot have changed (a full copy of a big store per test would be slow).
local LIGHT = { "faults", "rate", "oauth_next", "codes" }

local function light_copy(from, copy)
  local cfg = {}
  for k, v in pairs(from.cfg) do cfg[k] = v end
  local out = { requests = table.move(from.requests, 1, #from.requests, 1, {}), cfg = cfg,
                clock_offset = from.clock_offset }
  for _, k in ipairs(LIGHT) do out[k] = copy(from[k]) end
  return out
end

function M.snapshot(app)
  app.snapshot = { data = app.store:snapshot(), state = app.store.copy(app.state), light = light_copy(app, app.store.copy),
                   request_seq = app.request_seq, control_seq = app.control_seq or 0 }
  return ok({ incidents = #app.store.data.incidents })
end

-- true when a request since the snapshot may have written (not a GET/HEAD, or lost from the log)
local function written_since(app, snap)
  if (app.control_seq or 0) ~= snap.control_seq then return true end
  local seen = 0
  for i = #app.requests, 1, -1 do
    local e = app.requests[i]
    if e.seq <= snap.request_seq then break end
    seen = seen + 1
    if e.method ~= "GET" and e.method ~= "HEAD" then return true end
  end
  return seen ~= app.request_seq - snap.request_seq
end

function M.restore(app)
  local snap = app.snapshot
  if not snap then return bad("no snapshot to restore: POST /__sandbox/snapshot first") end
  local full = written_since(app, snap)
  if full then
    app.store:restore(snap.data)
    app.state = app.store.copy(snap.state)
    app.json_cache, app.json_cache_n = nil, 0
  end
  local changed = full or app.request_seq ~= snap.request_seq
  if changed then
    local l = light_copy(snap.light, app.store.copy)
    app.requests, app.cfg, app.clock_offset = l.requests, l.cfg, l.clock_offset
    for _, k in ipairs(LIGHT) do app[k] = l[k] end
    app.dirty = true
  end
  snap.request_seq, snap.control_seq = app.request_seq, app.control_seq or 0
  return ok({ restored = full and "all" or changed and "log" or "nothing" })
end

local function loopback(req)
  local r = req.remote
  return r == nil or r == "127.0.0.1" or r == "::1" or r == "::ffff:127.0.0.1"
end

local function body_of(req)
  if req.body == nil or req.body == "" then return {} end
  local ok, v = pcall(json.decode, req.body)
  if not ok or type(v) ~= "table" then return nil end
  return v
end


function M.handle(app, req)
  if not loopback(req) then return web.json(403, { error = { message = "the control API answers loopback clients only" } }) end
  local what = req.path:sub(12)
  local m = req.method
  local b = body_of(req)
  if b == nil then return bad("the body must be a JSON object") end
  if what == "snapshot" and m == "POST" then return M.snapshot(app) end
  if what == "restore" and m == "POST" then return M.restore(app) end
  -- any other control call may change the state: a later restore copies everything back
  if m ~= "GET" then app.control_seq = (app.control_seq or 0) + 1 end
  if what == "reset" and m == "POST" then
    app.faults, app.rate, app.requests, app.oauth_next, app.clock_offset = {}, {}, {}, {}, 0
    seed.populate(app, { seed = app.cfg.seed, incidents = app.cfg.incidents, months = app.cfg.months })
    app:add_presets()
    webhooks.clear(app)
    app.dirty = true
    return ok({ incidents = #app.store.data.incidents })
  elseif what == "seed" and m == "POST" then
    local n = math.tointeger(b.incidents or app.cfg.incidents)
    -- about 4 KB each: 250,000 fill most of the default 1 GB memory cap
    if not n or n < 0 or n > 250000 then return bad("incidents must be 0..250000") end
    seed.populate(app, { seed = math.tointeger(b.seed) or app.cfg.seed, incidents = n,
                         months = tonumber(b.months) or app.cfg.months })
    app.dirty = true
    return ok({ incidents = #app.store.data.incidents })
  elseif what == "faults" and m == "POST" then
    local f, err = faults.add(app, b)
    if not f then return bad(err) end
    return ok({ pending = #app.faults })
  elseif what == "faults" and m == "GET" then
    local out = {}
    for i, f in ipairs(app.faults) do out[i] = { kind = f.kind, method = f.method, path = f.path, count = f.count } end
    return ok({ faults = setmetatable(out, json.array_mt) })
  elseif what == "faults" and m == "DELETE" then
    app.faults = {}
    return ok()
  elseif what == "requests" and m == "GET" then
    local q = req.query or {}
    local method, path = web.one(q, "method"), web.one(q, "path")
    local after = tonumber(web.one(q, "since_seq") or "0") or 0
    -- the same bounded matcher as faults: a backtracking pattern must not pin the server
    if path then
      local okp, perr = pcall(faults.path_matches, path, "")
      if not okp then return bad((tostring(perr):gsub("^.-match%.path", "path"))) end
    end
    local out = {}
    for _, e in ipairs(app.requests) do
      if e.seq > after and (not method or e.method == method:upper())
          and (not path or faults.path_matches(path, e.path)) then
        out[#out + 1] = e
      end
    end
    local limit = tonumber(web.one(q, "limit") or "")
    if limit and #out > limit then out = { table.unpack(out, #out - limit + 1) } end
    return ok({ requests = setmetatable(out, json.array_mt) })
  elseif what == "requests" and m == "DELETE" then
    app.requests = {}
    return ok()
  elseif what == "incidents" and m == "GET" then
    local counts = { total = 0, triggered = 0, acknowledged = 0, resolved = 0 }
    for _, inc in ipairs(app.store.data.incidents) do
      counts.total = counts.total + 1
      counts[inc.status] = counts[inc.status] + 1
    end
    return ok(counts)
  elseif what == "incidents" and m == "POST" then
    return M.create_incidents(app, b)
  elseif what == "time" and m == "POST" then
    if b.offset then app.clock_offset = tonumber(b.offset) or 0 end
    if b.advance then app.clock_offset = app.clock_offset + (tonumber(b.advance) or 0) end
    return ok({ now = app.now(), offset = app.clock_offset })
  elseif what == "config" and m == "POST" then
    -- rate limits may be changed for a test that makes many requests on purpose
    for _, k in ipairs { "rate_limit", "create_rate_limit", "rate_window" } do
      local v = math.tointeger(b[k])
      if b[k] ~= nil and not (v and v > 0) then return web.invalid(k .. " must be a positive integer") end
      if v then app.cfg[k] = v end
    end
    -- webhook retry waits are multiplied by this (a test compresses PagerDuty's ~20 minutes)
    if b.webhook_retry_scale ~= nil then
      local v = tonumber(b.webhook_retry_scale)
      if not (v and v > 0 and v <= 10) then return web.invalid("webhook_retry_scale must be a number in (0, 10]") end
      app.cfg.webhook_retry_scale = v
    end
    if b.webhook_timeout ~= nil then
      local v = tonumber(b.webhook_timeout)
      if not (v and v > 0 and v <= 60) then return web.invalid("webhook_timeout must be seconds in (0, 60]") end
      app.cfg.webhook_timeout = v
    end
    -- latency and jitter (ms) may be given alone: the other keeps its value (jitter only
    -- when it still fits under the latency)
    if b.latency ~= nil or b.jitter ~= nil then
      local function ms(v) return math.type(v) == "float" and math.tointeger(v) or v end   -- 150.0 is 150
      local lat = b.latency == nil and (app.cfg.latency or 0) or ms(b.latency)
      local jit = b.jitter == nil and math.min(app.cfg.jitter or 0, math.tointeger(lat) or 0) or ms(b.jitter)
      local err = latency.check(lat, jit)
      if err then return web.invalid(err) end
      app.cfg.latency, app.cfg.jitter = lat, jit
    end
    return ok({ rate_limit = app.cfg.rate_limit, create_rate_limit = app.cfg.create_rate_limit,
                rate_window = app.cfg.rate_window or 60, latency = app.cfg.latency or 0, jitter = app.cfg.jitter or 0,
                webhook_retry_scale = app.cfg.webhook_retry_scale or 1, webhook_timeout = app.cfg.webhook_timeout or 5 })
  elseif what == "oauth" and m == "POST" then
    app.oauth_next.deny = math.tointeger(b.deny) or (b.deny == true and 1) or nil
    app.oauth_next.login_as = b.login_as
    return ok()
  elseif what == "clients" and m == "POST" then
    local id = oauth.register(app, type(b.client_id) == "string" and b.client_id or nil,
      type(b.client_secret) == "string" and b.client_secret or nil)
    return ok({ client_id = id })
  elseif what == "revoke_refresh" and m == "POST" then
    local n = 0
    for _, r in pairs(app.state.refresh) do
      if not r.revoked and (not b.user or r.user_id == b.user) then r.revoked = true n = n + 1 end
    end
    app.dirty = true
    return ok({ revoked = n })
  elseif what == "info" and m == "GET" then
    return ok(app:info())
  elseif what == "webhooks" and m == "POST" then
    local sub, err = webhooks.subscribe(app, b)
    if not sub then return bad(err) end
    return ok({ subscription = webhooks.view(app, sub) })
  elseif what == "webhooks" and m == "GET" then
    return ok({ subscriptions = webhooks.list(app) })
  elseif what == "webhooks" and m == "DELETE" then
    webhooks.clear(app)
    return ok()
  elseif what:match("^webhooks/[%w]+$") and m == "DELETE" then
    if not webhooks.unsubscribe(app, what:sub(10)) then return web.json(404, { error = { message = "no such subscription" } }) end
    return ok()
  end
  return web.json(404, { error = { message = "unknown control endpoint: " .. m .. " " .. req.path } })
end

return M
