-- Webhook subscriptions, as PagerDuty's Generic Webhooks v3 send them: when an incident is
-- triggered, acknowledged, resolved or annotated, every subscription to that event type
-- gets a POST of `{"event":{...}}` signed `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of
-- the body>` with the subscription's secret.
--
-- Delivery is asynchronous: emit() only queues. The server's outbox thread (host/server.c,
-- "outbound requests") calls M.outbox, sends what it returns outside the Lua lock and hands
-- back the results, so the API call that changed the incident never waits for a receiver.
-- Each subscription delivers in order: its next event waits until the one before is
-- delivered or given up. A failed attempt (no answer, a timeout, 5xx, 408 or 429) is retried
-- on RETRY_WAITS; another 4xx (e.g. 403 for a bad signature) is not, as PagerDuty advises
-- receivers. cfg.webhook_retry_scale multiplies the waits (tests compress them).
--
-- The secret lives only here: it is never in the control API's answers, the request log,
-- the --state file or a snapshot.
local json = require "json"
local web = require "sandbox.web"
local digest = require "vsrun.digest"
local render = require "sandbox.render"
local times = require "sandbox.times"

local M = {}

-- retries follow the real clock to the millisecond (app.clock() is whole seconds outside
-- tests), so a compressed schedule stays compressed
local has_core, core = pcall(require, "vsrun.core")
local function now(app)
  if has_core and core.now then return core.now() end
  return app.clock()
end

M.EVENT_TYPES = { "incident.triggered", "incident.acknowledged", "incident.resolved", "incident.annotated" }
local KNOWN = {}
for _, t in ipairs(M.EVENT_TYPES) do KNOWN[t] = true end

M.RETRY_WAITS = { 30, 60, 300, 840 }   -- seconds before retries 1..4: about 20 minutes in all
M.TIMEOUT = 5                           -- seconds a receiver has to answer (cfg.webhook_timeout)
M.MAX_SUBSCRIPTIONS = 50
M.KEEP = 500                            -- finished deliveries kept per subscription
M.MAX_WAITING = 1000                    -- deliveries waiting per subscription; more fail at once

local function state(app)
  local w = app.webhooks
  if not w then
    w = { subs = {}, order = {}, next_sub = 0, next_delivery = 0, sending = {} }
    app.webhooks = w
  end
  return w
end

local function arr(t) return setmetatable(t or {}, json.array_mt) end

local function url_ok(url)
  return type(url) == "string" and url:match("^https?://[%w%.%-%[%]:]+/?[%w%-%._~/%%?=&]*$") ~= nil
end

-- adds a checked subscription: fields = {url, secret, events = set, filter, custom_headers, description}
local function add(app, f)
  local w = state(app)
  if #w.order >= M.MAX_SUBSCRIPTIONS then return nil, "at most " .. M.MAX_SUBSCRIPTIONS .. " subscriptions" end
  w.next_sub = w.next_sub + 1
  local id = "PWHS" .. string.format("%03d", w.next_sub)
  local sub = { id = id, url = f.url, secret = f.secret, events = f.events, queue = {}, head = 1,
                filter = f.filter, custom_headers = f.custom_headers or {}, description = f.description }
  w.subs[id] = sub
  w.order[#w.order + 1] = id
  return sub
end

-- subscribe(app, {url, secret, events}) -> subscription | nil, message (the control API)
function M.subscribe(app, b)
  if not url_ok(b.url) then return nil, "url must be an http:// or https:// URL" end
  if type(b.secret) ~= "string" or #b.secret < 8 or #b.secret > 256 then
    return nil, "secret must be a string of 8 to 256 bytes"
  end
  local events = {}
  if b.events == nil then
    for _, t in ipairs(M.EVENT_TYPES) do events[t] = true end
  elseif type(b.events) ~= "table" or #b.events == 0 then
    return nil, "events must be a non-empty list of event types"
  else
    for _, t in ipairs(b.events) do
      if not KNOWN[t] then return nil, "unknown event type " .. tostring(t) .. " (known: " .. table.concat(M.EVENT_TYPES, ", ") .. ")" end
      events[t] = true
    end
  end
  return add(app, { url = b.url, secret = b.secret, events = events })
end

function M.unsubscribe(app, id)
  local w = state(app)
  if not w.subs[id] then return false end
  w.subs[id] = nil
  for i, v in ipairs(w.order) do if v == id then table.remove(w.order, i) break end end
  return true
end

function M.clear(app) app.webhooks = nil end

-- what the control API shows: never the secret
local function delivery_view(d)
  local attempts = arr()
  for i, a in ipairs(d.attempts) do
    attempts[i] = { at = a.at, status = a.status, error = a.error }
  end
  return { id = d.id, event_id = d.event_id, event_type = d.event_type, incident = d.incident,
           status = d.status, attempts = attempts, next_attempt_at = d.status == "pending" and d.next_at or nil }
end

function M.view(app, sub)
  local types = arr()
  for _, t in ipairs(M.EVENT_TYPES) do if sub.events[t] then types[#types + 1] = t end end
  local deliveries = arr()
  for i = sub.head, #sub.queue do deliveries[#deliveries + 1] = delivery_view(sub.queue[i]) end
  return { id = sub.id, url = sub.url, events = types, deliveries = deliveries }
end

function M.list(app)
  local w = state(app)
  local out = arr()
  for _, id in ipairs(w.order) do out[#out + 1] = M.view(app, w.subs[id]) end
  return out
end

-- ---- events ----

local function event_id(app)
  return "01" .. app.random_hex(12):upper()
end

local function ctx_of(app)
  return { app = app, base = app.cfg.base_url or app.last_base or "http://127.0.0.1", zone = false, include = {} }
end

local function agent(ctx, actor)
  if actor and actor.user then
    return render.ref(ctx, "user", actor.user.id, actor.user.name)
  elseif actor and actor.service then
    return render.ref(ctx, "service", actor.service.id, actor.service.name)
  end
  return json.null
end

-- the incident as v3 webhooks show it (a smaller shape than the REST API's)
local function incident_data(ctx, inc)
  local store = ctx.app.store
  local assignees = arr()
  for _, a in ipairs(inc.assignments) do
    local u = store.users[a.user_id]
    assignees[#assignees + 1] = render.ref(ctx, "user", u.id, u.name)
  end
  local teams = arr()
  for _, tid in ipairs(inc.team_ids or {}) do
    local t = store.teams[tid]
    teams[#teams + 1] = render.ref(ctx, "team", t.id, t.name)
  end
  local svc, ep = store.services[inc.service_id], store.escalation_policies[inc.ep_id]
  local full = render.ref(ctx, "incident", inc.id, inc.title, "incident")
  full.summary = nil
  full.number = inc.number
  full.title = inc.title
  full.status = inc.status
  full.urgency = inc.urgency
  full.incident_key = inc.incident_key or json.null
  full.created_at = times.format(inc.created_at, false)
  full.service = render.ref(ctx, "service", svc.id, svc.name)
  full.assignees = assignees
  full.escalation_policy = render.ref(ctx, "escalation_policy", ep.id, ep.name)
  full.teams = teams
  full.priority = inc.priority_id and render.priority(ctx, inc.priority_id) or json.null
  full.conference_bridge = json.null
  full.resolve_reason = json.null
  return full
end

local function trim(w, sub)
  local finished = 0
  for i = sub.head, #sub.queue do
    local s = sub.queue[i].status
    if s == "delivered" or s == "failed" then finished = finished + 1 end
  end
  while finished > M.KEEP and sub.queue[sub.head].status ~= "pending" and sub.queue[sub.head].status ~= "sending" do
    sub.queue[sub.head] = nil
    sub.head = sub.head + 1
    finished = finished - 1
  end
end

-- a subscription's filter (PagerDuty's scope): the whole account, one service or one team
local function in_scope(filter, inc)
  if not filter or filter.type == "account_reference" then return true end
  if filter.type == "service_reference" then return inc.service_id == filter.id end
  for _, tid in ipairs(inc.team_ids or {}) do if tid == filter.id then return true end end
  return false
end

-- emit(app, event_type, inc, actor, at[, note]): queues the event for every subscription to it
function M.emit(app, event_type, inc, actor, at, note)
  local w = app.webhooks
  if not w or #w.order == 0 or app.bulk then return end
  local ctx = ctx_of(app)
  local data
  if event_type == "incident.annotated" then
    data = { incident = render.ref(ctx, "incident", inc.id, inc.title, "incident_reference"),
             id = note.id, content = note.content, trimmed = false, type = "incident_note" }
  else
    data = incident_data(ctx, inc)
  end
  local eid = event_id(app)
  local body = json.encode({ event = { id = eid, event_type = event_type, resource_type = "incident",
    occurred_at = times.format(at, false), agent = agent(ctx, actor), client = json.null, data = data } })
  for _, sid in ipairs(w.order) do
    local sub = w.subs[sid]
    if sub.events[event_type] and in_scope(sub.filter, inc) then
      w.next_delivery = w.next_delivery + 1
      local d = { id = w.next_delivery, sub = sub.id, event_id = eid, event_type = event_type,
        incident = inc.id, body = body, webhook_id = app.random_hex(16), status = "pending", attempts = {},
        next_at = now(app) }
      -- a receiver that stays down must not make the sandbox's memory grow without bound
      sub.waiting = (sub.waiting or 0) + 1
      if sub.waiting > M.MAX_WAITING then
        d.status, d.attempts[1] = "failed", { at = now(app), error = "not sent: " .. M.MAX_WAITING .. " deliveries are already waiting" }
        sub.waiting = sub.waiting - 1
      end
      sub.queue[#sub.queue + 1] = d
      trim(w, sub)
      app.wake_outbox = true   -- App:handle tells the server to call the outbox now
    end
  end
end

-- ---- PagerDuty's own POST /webhook_subscriptions ----

-- any PagerDuty event type may be subscribed to; the sandbox sends the four it knows
local PD_EVENT = "^[a-z_]+%.[a-z_.]+$"

-- POST /webhook_subscriptions {webhook_subscription = {type, delivery_method = {type, url,
-- custom_headers}, events, filter = {type, id}, description}}. As PagerDuty does, the sandbox
-- makes the secret and shows it in this answer only.
function M.create_rest(app, req)
  local body, berr = web.decode_body(req)
  if not body then return web.invalid(berr) end
  local ws = body.webhook_subscription
  if type(ws) ~= "table" then return web.invalid("webhook_subscription is required") end
  local errs = {}
  local function bad(msg) errs[#errs + 1] = msg end
  if ws.type ~= nil and ws.type ~= "webhook_subscription" then bad("type must be webhook_subscription") end
  local dm = type(ws.delivery_method) == "table" and ws.delivery_method or {}
  if dm.type ~= "http_delivery_method" then bad("delivery_method.type must be http_delivery_method") end
  if not url_ok(dm.url) then bad("delivery_method.url must be an http:// or https:// URL") end
  local headers = {}
  for i, h in ipairs(type(dm.custom_headers) == "table" and dm.custom_headers or {}) do
    if type(h) ~= "table" or type(h.name) ~= "string" or not h.name:match("^[%w%-]+$")
        or type(h.value) ~= "string" or h.value:find("%c") then
      bad("delivery_method.custom_headers[" .. i .. "] needs a name (letters, digits, -) and a one-line value")
    else
      headers[#headers + 1] = { name = h.name, value = h.value }
    end
  end
  local events, listed = {}, arr()
  if type(ws.events) ~= "table" or #ws.events == 0 then
    bad("events must be a non-empty list")
  else
    for _, e in ipairs(ws.events) do
      if type(e) ~= "string" or not e:match(PD_EVENT) then bad("unknown event type " .. tostring(e))
      else events[e] = KNOWN[e] or nil listed[#listed + 1] = e end
    end
  end
  local f = type(ws.filter) == "table" and ws.filter or {}
  if f.type == "service_reference" then
    if not app.store.services[f.id] then bad("filter.id must be a service") end
  elseif f.type == "team_reference" then
    if not app.store.teams[f.id] then bad("filter.id must be a team") end
  elseif f.type ~= "account_reference" then
    bad("filter.type must be account_reference, service_reference or team_reference")
  end
  if #errs > 0 then return web.invalid(errs) end
  local secret = app.random_hex(32)
  local filter = { type = f.type, id = f.type ~= "account_reference" and f.id or nil }
  local sub, err = add(app, { url = dm.url, secret = secret, events = events, filter = filter,
    custom_headers = headers, description = type(ws.description) == "string" and ws.description or nil })
  if not sub then return web.invalid(err) end
  local shown = arr()
  for i, h in ipairs(headers) do shown[i] = { name = h.name, value = h.value } end
  return web.json(200, { webhook_subscription = {
    id = sub.id, type = "webhook_subscription", active = true, description = sub.description or json.null,
    delivery_method = { id = sub.id, type = "http_delivery_method", url = sub.url, secret = secret,
                        temporarily_disabled = false, custom_headers = shown },
    events = listed, filter = filter } })
end

-- ---- the outbox (called by the server's outbox thread, see the top) ----

local function retryable(status) return status == 0 or status >= 500 or status == 408 or status == 429 end

local function finish(app, sub, d, r)
  local status = math.tointeger(r.status) or 0
  d.attempts[#d.attempts + 1] = { at = now(app), status = status ~= 0 and status or nil,
                                  error = status == 0 and (r.error or "no answer") or nil }
  if status >= 200 and status <= 299 then
    d.status = "delivered"
    sub.waiting = sub.waiting - 1
  elseif retryable(status) and #d.attempts <= #M.RETRY_WAITS then
    d.status = "pending"
    d.next_at = now(app) + M.RETRY_WAITS[#d.attempts] * (tonumber(app.cfg.webhook_retry_scale) or 1)
  else
    d.status = "failed"
    sub.waiting = sub.waiting - 1
  end
end

local function request(app, sub, d)
  local signature = digest.hex(digest.hmac_sha256(sub.secret, d.body))
  local r = { id = d.id, url = sub.url, body = d.body, timeout = tonumber(app.cfg.webhook_timeout) or M.TIMEOUT, headers = {
    "Content-Type: application/json; charset=utf-8",
    "User-Agent: PagerDuty-Webhook/V3.0",
    "X-PagerDuty-Signature: v1=" .. signature,
    "X-Webhook-Id: " .. d.webhook_id,
    "X-Webhook-Subscription: " .. sub.id,
  } }
  for _, h in ipairs(sub.custom_headers) do r.headers[#r.headers + 1] = h.name .. ": " .. h.value end
  return r
end

-- outbox(results) -> requests to send now, seconds until the next is due (nil: none pending)
function M.outbox(app, results)
  local w = app.webhooks
  if not w then return nil end
  for _, r in ipairs(results or {}) do
    local d = w.sending[r.id]
    w.sending[r.id] = nil
    if d then finish(app, w.subs[d.sub] or { waiting = 1 }, d, r) end   -- (or unsubscribed meanwhile)
  end
  local sends, wait = {}, nil
  local t = now(app)
  for _, sid in ipairs(w.order) do
    local sub = w.subs[sid]
    for i = sub.head, #sub.queue do
      local d = sub.queue[i]
      if d.status == "pending" then
        if d.next_at <= t then
          d.status = "sending"
          w.sending[d.id] = d
          sends[#sends + 1] = request(app, sub, d)
        else
          wait = math.min(wait or math.huge, d.next_at - t)
        end
        break
      elseif d.status == "sending" then
        break
      end
    end
  end
  return sends, wait
end

return M
