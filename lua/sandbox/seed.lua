-- Deterministic seeded data: teams, users (contact methods, notification rules),
-- escalation policies, services, priorities, and N incidents spread over past months with
-- a realistic status mix, notes and the log entries their history would have written.
local ids = require "sandbox.ids"
local lifecycle = require "sandbox.lifecycle"

local M = {}

local TEAMS = {
  { "Platform", "Core infrastructure: compute, network, storage" },
  { "Payments", "Checkout, billing and the payment gateways" },
  { "Mobile", "iOS and Android apps and their back ends" },
}

-- name, role, time zone, job title, teams (indexes into TEAMS)
local USERS = {
  { "Ada Okafor", "admin", "Europe/London", "SRE Lead", { 1 } },
  { "Bruno Silva", "user", "America/Sao_Paulo", "Site Reliability Engineer", { 1 } },
  { "Chen Wei", "user", "Asia/Shanghai", "Platform Engineer", { 1, 3 } },
  { "Dana Kowalski", "user", "Europe/Warsaw", "Payments Engineer", { 2 } },
  { "Elif Demir", "limited_user", "Europe/Istanbul", "Support Engineer", { 2 } },
  { "Femi Adeyemi", "user", "Africa/Lagos", "Mobile Engineer", { 3 } },
  { "Grace Lee", "user", "America/New_York", "Engineering Manager", { 2, 3 } },
  { "Hiro Tanaka", "observer", "Asia/Tokyo", "Product Manager", { 3 } },
}
local COLORS = { "purple", "red", "green", "blue", "orange", "teal", "brown", "navy" }

-- name, team, rules (lists of user indexes per level)
local POLICIES = {
  { "Platform On-Call", 1, { { 1, 2, 3 }, { 1 } } },
  { "Payments On-Call", 2, { { 4, 7 }, { 7 } } },
  { "Mobile On-Call", 3, { { 6, 3 }, { 7 } } },
}

-- name, policy, description, check names used in titles and keys
local SERVICES = {
  { "API Gateway", 1, "Public HTTPS entry point", { "5xx rate above 2%", "p99 latency above 800ms", "TLS certificate expires in 7 days" } },
  { "Postgres Primary", 1, "Main relational database", { "Replication lag above 30s", "Disk usage above 90%", "Connections exhausted" } },
  { "Kubernetes Cluster", 1, "Production cluster eu-west", { "Node NotReady", "Pods crash-looping", "Etcd leader changes" } },
  { "Checkout Service", 2, "Cart and checkout", { "Checkout error rate high", "Payment timeouts", "Queue backlog growing" } },
  { "Billing Jobs", 2, "Nightly invoicing", { "Invoice job failed", "Ledger mismatch detected" } },
  { "Mobile Backend", 3, "Push and sync APIs", { "Push delivery failures", "Sync API 5xx", "App store review build failing" } },
}

local PRIORITIES = {
  { "P1", "Critical: customer-facing outage", "a8171c" },
  { "P2", "High: major degradation", "eb6016" },
  { "P3", "Moderate: partial degradation", "f9b406" },
  { "P4", "Low: minor issue", "555555" },
  { "P5", "Informational", "cccccc" },
}

local NOTES = {
  "Looking into it now.",
  "Rolled back the last deploy; watching error rates.",
  "Root cause looks like a noisy neighbour on the node; cordoned it.",
  "Customer impact confirmed for a subset of EU users.",
  "Escalated to the database team.",
  "Metrics back to normal for 15 minutes.",
}

local RESOLUTIONS = {
  "Restarted the affected pods.",
  "Scaled the pool up; latency recovered.",
  "False alarm: the check was misconfigured.",
  "Rotated the certificate.",
  "Failed over to the replica.",
}

local function slug(s) return (s:lower():gsub("[^%w]+", "-"):gsub("^%-", ""):gsub("%-$", "")) end

-- the fixed account objects (same for every seed)
local function account(store, created)
  local d = store.data
  for i, t in ipairs(TEAMS) do
    d.teams[i] = { id = store:next_id("object"), name = t[1], description = t[2] }
  end
  for i, u in ipairs(USERS) do
    local first = u[1]:match("^(%S+)"):lower()
    local user = {
      id = store:next_id("object"), name = u[1], email = first .. "@sandbox.example.com",
      role = u[2], time_zone = u[3], job_title = u[4], color = COLORS[i],
      description = u[1] .. " (" .. u[4] .. ")", created_at = created,
      team_ids = {}, contact_methods = {}, notification_rules = {},
    }
    for _, ti in ipairs(u[5]) do user.team_ids[#user.team_ids + 1] = d.teams[ti].id end
    local email = { id = store:next_id("object"), type = "email_contact_method", label = "Work", address = user.email }
    local phone = { id = store:next_id("object"), type = "phone_contact_method", label = "Mobile",
                    address = string.format("5550100%03d", i), country_code = 1 }
    local sms = { id = store:next_id("object"), type = "sms_contact_method", label = "Mobile",
                  address = phone.address, country_code = 1 }
    user.contact_methods = { email, phone, sms }
    user.notification_rules = {
      { id = store:next_id("object"), start_delay_in_minutes = 0, contact_method_id = sms.id, urgency = "high" },
      { id = store:next_id("object"), start_delay_in_minutes = 5, contact_method_id = phone.id, urgency = "high" },
      { id = store:next_id("object"), start_delay_in_minutes = 0, contact_method_id = email.id, urgency = "low" },
    }
    d.users[i] = user
  end
  for i, p in ipairs(POLICIES) do
    local rules = {}
    for level, members in ipairs(p[3]) do
      local targets = {}
      for _, ui in ipairs(members) do targets[#targets + 1] = d.users[ui].id end
      rules[level] = { id = store:next_id("object"), escalation_delay_in_minutes = 30, user_ids = targets }
    end
    d.escalation_policies[i] = { id = store:next_id("object"), name = p[1], team_ids = { d.teams[p[2]].id },
                                 rules = rules, num_loops = 1 }
  end
  for i, s in ipairs(SERVICES) do
    local ep = d.escalation_policies[s[2]]
    d.services[i] = { id = store:next_id("object"), name = s[1], description = s[3], ep_id = ep.id,
                      team_ids = { ep.team_ids[1] }, checks = s[4], created_at = created,
                      acknowledgement_timeout = 1800, auto_resolve_timeout = 14400 }
  end
  for i, p in ipairs(PRIORITIES) do
    d.priorities[i] = { id = store:next_id("object"), name = p[1], description = p[2], color = p[3] }
  end
end

-- populate(app, { seed = n, incidents = n, months = n })
function M.populate(app, opts)
  local store = app.store
  store:clear()
  local seed = opts.seed or 1
  local n = opts.incidents or 0
  local months = opts.months or 12
  local rng = ids.prng(seed)
  local now = app.now()
  -- anchored to the hour so restarts within the hour give identical data
  local anchor = now - now % 3600
  local span = math.max(1, math.floor(months * 30.44 * 86400))
  account(store, anchor - span - 86400 * 30)
  store:reindex()
  local d = store.data
  local services, users = d.services, d.users
  app.bulk = true
  -- seeding makes almost no garbage, so collecting during it only costs time (a third of it
  -- for 100,000 incidents)
  local gc_was_running = collectgarbage("isrunning")
  collectgarbage("stop")
  local ok, err = pcall(M.incidents, app, rng, n, anchor, span)
  app.bulk = false
  if gc_was_running then collectgarbage("restart") end
  if not ok then error(err, 0) end
  store:reindex()
end

-- n incidents with their histories, created over [anchor - span, anchor)
function M.incidents(app, rng, n, anchor, span)
  local store = app.store
  local d = store.data
  local services, users = d.services, d.users
  -- incident i's creation time: spread evenly (with jitter) over the span, oldest first
  local step = span / math.max(n, 1)
  for i = 1, n do
    local created = math.floor(anchor - span + (i - 1) * step + rng.float() * step * 0.9)
    local age = anchor - created
    local svc = rng.pick(services)
    local check = rng.pick(svc.checks)
    local fields = {
      title = check .. " on " .. svc.name,
      service = svc,
      urgency = rng.chance(0.7) and "high" or "low",
      priority = rng.chance(0.6) and d.priorities[rng.int(1, #d.priorities)] or nil,
      incident_key = rng.chance(0.5) and (slug(svc.name) .. "/" .. slug(check) .. "/" .. i) or nil,
      details = "Alert from monitoring: " .. check .. " (" .. svc.description .. ")",
    }
    local by_integration = rng.chance(0.75)
    local actor
    if by_integration then
      actor = { service = svc, channel = { type = "nagios", summary = svc.name, host = slug(svc.name) .. ".prod",
                                          service = check, state = "CRITICAL" } }
    else
      actor = { user = rng.pick(users), channel = { type = "web_trigger", summary = fields.title, subject = fields.title } }
    end
    local inc = lifecycle.create(app, actor, fields, created)
    -- how far its history got: old incidents are almost all resolved
    local r = rng.float()
    local open_p = age > 7 * 86400 and 0.02 or (age > 86400 and 0.25 or 0.6)
    local t = created
    local function later(maxs) t = math.min(t + rng.int(30, maxs), anchor - 1) return t end
    if r < open_p / 2 or (r >= open_p and rng.chance(0.85)) then
      -- acknowledged (open or later resolved)
      local who = inc.assignments[1] and store.users[inc.assignments[1].user_id] or rng.pick(users)
      lifecycle.acknowledge(app, inc, { user = who, channel = { type = rng.pick({ "sms", "website", "email" }) } }, later(1800))
      if rng.chance(0.15) then
        lifecycle.add_note(app, inc, { user = who }, rng.pick(NOTES), later(1800))
      end
    end
    if r >= open_p then
      local who = inc.acks[#inc.acks] and store.users[inc.acks[#inc.acks].user_id] or rng.pick(users)
      local resolution = rng.chance(0.3) and rng.pick(RESOLUTIONS) or nil
      if by_integration and rng.chance(0.4) then
        lifecycle.resolve(app, inc, { service = svc, channel = { type = "auto" } }, later(7200), nil)
      else
        lifecycle.resolve(app, inc, { user = who, channel = { type = "website" } }, later(7200), resolution)
      end
    end
  end
end

return M
