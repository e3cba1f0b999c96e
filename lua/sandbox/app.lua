-- One sandbox instance: configuration, clock, store, credentials, and the request router.
local json = require "json"
local web = require "sandbox.web"
local store_mod = require "sandbox.store"
local seed = require "sandbox.seed"
local auth = require "sandbox.auth"
local ratelimit = require "sandbox.ratelimit"
local incidents = require "sandbox.incidents"
local log_entries = require "sandbox.log_entries"
local users = require "sandbox.users"
local oauth = require "sandbox.oauth"
local faults = require "sandbox.faults"
local control = require "sandbox.control"
local chat = require "sandbox.chat"
local persist = require "sandbox.persist"
local latency = require "sandbox.latency"
local webhooks = require "sandbox.webhooks"

local App = {}
App.__index = App

local DEFAULTS = { seed = 1, incidents = 200, token_ttl = 3600, refresh_ttl = 210 * 86400,
  rate_limit = 960, create_rate_limit = 300, months = 12 }

local function real_now()
  local ok, core = pcall(require, "vsrun.core")
  if ok and core.now then return function() return math.floor(core.now()) end end
  return function() return os.time() end
end

local function random_hex_fn()
  local ok, core = pcall(require, "vsrun.core")
  if ok and core.random_hex then return core.random_hex end
  error("sandbox: vsrun.core.random_hex is required for token generation")
end

function App.new(args)
  args = args or {}
  local cfg = {}
  for k, v in pairs(DEFAULTS) do cfg[k] = v end
  for k, v in pairs(args) do cfg[k] = v end
  local self = setmetatable({ cfg = cfg, store = store_mod.new(), rate = {}, faults = {}, requests = {},
    request_seq = 0, clock_offset = 0, oauth_next = {} }, App)
  local base_clock
  if type(cfg.now) == "number" then
    local fixed = cfg.now
    base_clock = function() return fixed end
  elseif type(cfg.now) == "function" then
    base_clock = cfg.now
  else
    base_clock = real_now()
  end
  -- clock(): precise seconds for token and code expiry and rate windows; now(): whole
  -- seconds for the data (timestamps are whole seconds, as PagerDuty shows them)
  self.clock = function() return base_clock() + self.clock_offset end
  self.now = function() return math.floor(self.clock()) end
  self.random_hex = random_hex_fn()
  self.state = { tokens = {}, refresh = {}, api_keys = {}, clients = {} }
  oauth.init(self)
  for i, k in ipairs(cfg.api_keys or {}) do
    if type(k) == "string" then
      self.state.api_keys[auth.hash(k)] = { label = "key" .. i }
    else
      self.state.api_keys[auth.hash(k.key)] = { label = k.label or ("key" .. i), user_id = k.user }
    end
  end
  local loaded = cfg.state_file and persist.load(self, cfg.state_file)
  if not loaded then seed.populate(self, { seed = cfg.seed, incidents = cfg.incidents, months = cfg.months }) end
  self:add_presets()
  return self
end

-- preset tokens (the host registers one as the run's connection); user = id or email,
-- default the first user; scope default "write"
function App:add_presets()
  for _, p in ipairs(self.cfg.preset_tokens or {}) do
    local u = p.user and (self.store.users[p.user] or self.store.users_by_email[tostring(p.user):lower()])
      or self.store.data.users[1]
    if u then
      auth.add_token(self, p.token, { user_id = u.id, scope = p.scope or "write", kind = "preset",
        expires_at = p.expires_in and (self.clock() + p.expires_in) or nil })
    end
  end
end

-- an incident changed (lifecycle.lua): queue its webhooks
function App:emit(event_type, inc, actor, at, note)
  webhooks.emit(self, event_type, inc, actor, at, note)
end

-- the server's outbox thread asks what to send (webhooks.lua)
function App:outbox(results)
  return webhooks.outbox(self, results)
end

function App:base_url(req)
  if self.cfg.base_url then return self.cfg.base_url end
  local host = req.headers and req.headers.host
  if host and host:match("^[%w%.%-:%[%]]+$") then return "http://" .. host end
  return "http://127.0.0.1"
end

function App:info()
  local us = {}
  for i, u in ipairs(self.store.data.users) do
    us[i] = { id = u.id, name = u.name, email = u.email, role = u.role }
  end
  local svcs = {}
  for i, s in ipairs(self.store.data.services) do svcs[i] = { id = s.id, name = s.name } end
  return { users = us, services = svcs, client_id = self.public_client_id,
           incidents = #self.store.data.incidents, api_prefix = "/", oauth_authorize = "/oauth/authorize",
           oauth_token = "/oauth/token", control_prefix = "/__sandbox/" }
end

-- the query parameters each operation documents (the vendored OpenAPI file); others → 400
local function params(...) local s = {} for _, n in ipairs { ... } do s[n] = true end return s end
local NONE = params()
local LIST_INCIDENTS = params("limit", "offset", "total", "date_range", "incident_key", "service_ids[]", "team_ids[]",
  "user_ids[]", "urgencies[]", "time_zone", "statuses[]", "sort_by", "include[]", "since", "until")
local INCIDENT_LOG = params("limit", "offset", "total", "time_zone", "since", "until", "is_overview", "include[]")
local ACCOUNT_LOG = params("limit", "offset", "total", "time_zone", "since", "until", "is_overview", "include[]", "team_ids[]")
local GET_LOG = params("time_zone", "include[]")
local INCLUDE_ONLY = params("include[]")

-- the REST routes: method, pattern, handler(app, req, cred, captures...), scope, is_write,
-- documented query parameters
local ROUTES = {
  { "GET", "^/incidents$", function(a, r) return incidents.list(a, r) end, "incidents.read", false, LIST_INCIDENTS },
  { "POST", "^/incidents$", function(a, r, c) return incidents.create(a, r, c) end, "incidents.write", true, NONE },
  { "GET", "^/incidents/([^/]+)$", function(a, r, _, id) return incidents.get(a, r, id) end, "incidents.read", false, INCLUDE_ONLY },
  { "PUT", "^/incidents/([^/]+)$", function(a, r, c, id) return incidents.update(a, r, c, id) end, "incidents.write", false, NONE },
  { "GET", "^/incidents/([^/]+)/notes$", function(a, r, _, id) return incidents.list_notes(a, r, id) end, "incidents.read", false, NONE },
  { "POST", "^/incidents/([^/]+)/notes$", function(a, r, c, id) return incidents.create_note(a, r, c, id) end, "incidents.write", false, NONE },
  { "GET", "^/incidents/([^/]+)/log_entries$", function(a, r, _, id) return log_entries.list_for_incident(a, r, id) end, "incidents.read", false, INCIDENT_LOG },
  { "GET", "^/log_entries$", function(a, r) return log_entries.list(a, r) end, "incidents.read", false, ACCOUNT_LOG },
  { "GET", "^/log_entries/([^/]+)$", function(a, r, _, id) return log_entries.get(a, r, id) end, "incidents.read", false, GET_LOG },
  { "GET", "^/users/me$", function(a, r, c) return users.me(a, r, c) end, "users.read", false, INCLUDE_ONLY },
  { "GET", "^/users/([^/]+)$", function(a, r, _, id) return users.get(a, r, id) end, "users.read", false, INCLUDE_ONLY },
  -- outside the nine actions: lets a tool set up the sandbox's webhooks as it would PagerDuty's
  { "POST", "^/webhook_subscriptions$", function(a, r) return webhooks.create_rest(a, r) end, "webhook_subscriptions.write", false, NONE },
}

-- POST and PUT bodies must be declared JSON, as PagerDuty requires (400 otherwise)
local function check_content_type(req)
  if req.method ~= "POST" and req.method ~= "PUT" then return nil end
  local ct = (req.headers["content-type"] or ""):lower()
  if ct:match("^application/json%s*;") or ct:match("^application/json%s*$") then return nil end
  return web.invalid("Content-Type must be application/json" .. (ct == "" and " (the header is missing)" or ""))
end

local function route_api(self, req, entry)
  local path, method = req.path, req.method
  local found_path = false
  for _, r in ipairs(ROUTES) do
    local caps = { path:match(r[2]) }
    if #caps > 0 then
      found_path = true
      if r[1] == method then
        local cred, err = auth.authenticate(self, req)
        if not cred then return err end
        entry.auth = cred.label
        local headers, limited = ratelimit.check(self, cred, r[5] == true)
        if limited then return limited end
        local resp = auth.require_scope(cred, r[4]) or check_content_type(req) or web.check_params(req.query, r[6])
        if not resp then
          if caps[1] == path then caps = {} end  -- a pattern without captures returns the match
          resp = r[3](self, req, cred, table.unpack(caps))
        end
        resp.headers = resp.headers or {}
        for k, v in pairs(headers) do resp.headers[k] = v end
        return resp
      end
    end
  end
  if found_path then return web.error(405, 2100, "Method Not Allowed") end
  return web.error(404, 2100, "Not Found")
end

function App:route(req, entry)
  local path = req.path
  if path:sub(1, 11) == "/__sandbox/" then return control.handle(self, req) end
  if path:sub(1, 7) == "/oauth/" then return oauth.handle(self, req, entry) end
  if path == "/v1/chat/completions" then return chat.handle(self, req) end
  return route_api(self, req, entry)
end

local REDACT = { token = true, code = true, refresh_token = true, client_secret = true,
  code_verifier = true, access_token = true, key = true, password = true }

-- the request log never holds a secret: known secret parameters are redacted
local function log_query(query)
  local out = {}
  for k, v in pairs(query or {}) do
    local name = k:gsub("%[%]$", "")
    if REDACT[name] then out[k] = "[redacted]" else out[k] = v end
  end
  return out
end

function App:handle(req)
  req.path = (req.path or "/"):gsub("(.)/$", "%1")
  req.method = (req.method or "GET"):upper()
  req.query = req.query or {}
  req.headers = req.headers or {}
  local control_req = req.path:sub(1, 11) == "/__sandbox/"
  if not control_req then self.last_base = self:base_url(req) end   -- for the links in webhooks
  local entry
  if not control_req then
    self.request_seq = self.request_seq + 1
    entry = { seq = self.request_seq, at = self.now(), time = math.floor(self.clock() * 1000) / 1000,
              method = req.method, path = req.path,
              query = log_query(req.query), connection = req.connection }
  end
  local resp, post
  if not control_req then
    resp, post = faults.before(self, req)
  end
  if not resp then
    local ok, r = xpcall(self.route, debug and debug.traceback or tostring, self, req, entry or {})
    if ok then resp = r
    else
      -- a bug in the simulator: answer like PagerDuty's 500 and say what broke, once per message
      self.reported = self.reported or {}
      local msg = tostring(r)
      if not self.reported[msg] and io and io.stderr then
        self.reported[msg] = true
        io.stderr:write("vsrun sandbox: internal error on ", req.method, " ", req.path, ": ", msg, "\n")
      end
      resp = web.error(500, 2000, "Internal Error")
    end
  end
  if post then resp = faults.after(self, req, resp, post) end
  if self.wake_outbox then   -- webhooks were queued: the server's outbox thread sends them
    resp.wake_outbox, self.wake_outbox = true, false
  end
  if entry then latency.apply(self, resp) end
  if entry then
    entry.status = resp.status
    -- what the client was told to wait, so a test can check it waited (load_test.sh)
    entry.ratelimit_reset = tonumber(resp.headers and resp.headers["ratelimit-reset"])
    -- keeps the last 2000 to 4000 entries: dropping the oldest half at once keeps each
    -- request O(1) (removing one from the front would shift the whole log every time)
    local log = self.requests
    local n = #log + 1
    log[n] = entry
    if n > 4000 then
      table.move(log, n - 1999, n, 1)
      for i = n, 2001, -1 do log[i] = nil end
    end
  end
  if self.dirty and self.cfg.state_file then
    self.dirty = false
    persist.save(self, self.cfg.state_file)
  end
  self.dirty = false
  return resp
end

return App
