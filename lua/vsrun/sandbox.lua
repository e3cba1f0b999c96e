-- vsrun.sandbox: drive the in-process PagerDuty sandbox from a test or a --sandbox script
-- through its control API (/__sandbox/, see docs/sandbox.md). Loadable only under
-- `vsrun test` and `vsrun --sandbox` (the VM refuses it elsewhere).
local http = require "http"
local core = require "vsrun.core"
local errors = require "vsrun.errors"

local M = {}

-- the sandbox's base URL (http://127.0.0.1:PORT)
function M.url()
  local url = core.sandbox_url()
  if not url then errors.raise("invalid_argument", "sandbox: no sandbox is running (use vsrun test or --sandbox)") end
  return url
end

-- The sandbox is our own loopback server: seeding tens of thousands of records can take
-- minutes on a slow machine (or under valgrind), so control calls get a long timeout.
local CONTROL_TIMEOUT = 600

local function call(method, path, body, query)
  -- sent under --dry-run too: it changes only the local simulator (test setup, snapshots)
  local res = http.request { method = method, url = M.url() .. "/__sandbox/" .. path, json = body, query = query,
    timeout = CONTROL_TIMEOUT, send_in_dry_run = true }
  local ok, value = pcall(res.json, res)
  if res.status ~= 200 then
    local msg = ok and type(value) == "table" and type(value.error) == "table" and value.error.message or res.body
    errors.raise("invalid_argument", "sandbox " .. path .. ": " .. tostring(msg), { status = res.status })
  end
  if not ok then errors.raise("bad_response", "sandbox " .. path .. ": the answer is not JSON") end
  return value
end

local function opt_table(v, name)
  if v ~= nil and type(v) ~= "table" then errors.raise("invalid_argument", "sandbox." .. name .. " expects a table") end
  return v or {}
end

-- reset(): back to the data it started with; faults, request log and clock cleared
function M.reset() return call("POST", "reset").incidents end

-- seed{ incidents = n, seed = s, months = m }: replace all data with freshly seeded data
function M.seed(opts) return call("POST", "seed", opt_table(opts, "seed")).incidents end

-- fault{ kind = ..., count = n, match = { method = "GET", path = "restricted lua pattern" }, ... }
function M.fault(spec)
  spec = opt_table(spec, "fault")
  if type(spec.kind) ~= "string" then errors.raise("invalid_argument", "sandbox.fault: kind is required") end
  return call("POST", "faults", spec).pending
end

function M.faults() return call("GET", "faults").faults end
function M.clear_faults() call("DELETE", "faults") end

-- requests{ method = "GET", path = "lua pattern", since_seq = n, limit = n }: the request
-- log (method, path, query, status, auth = which credential kind/user, never a token)
function M.requests(filter)
  filter = opt_table(filter, "requests")
  local q = {}
  for _, k in ipairs({ "method", "path", "since_seq", "limit" }) do
    if filter[k] ~= nil then q[k] = tostring(filter[k]) end
  end
  return call("GET", "requests", nil, q).requests
end
function M.clear_requests() call("DELETE", "requests") end

-- counts() -> { total, triggered, acknowledged, resolved }
function M.counts() return call("GET", "incidents") end

-- create_incidents{ count = n, service = id, title, urgency, status, incident_key } -> ids:
-- incidents made now by the service's integration, bypassing auth and rate limits
function M.create_incidents(opts) return call("POST", "incidents", opt_table(opts, "create_incidents")).ids end

-- advance(seconds): moves the sandbox clock forward (token expiry, rate-limit windows)
function M.advance(seconds)
  if type(seconds) ~= "number" then errors.raise("invalid_argument", "sandbox.advance expects seconds") end
  return call("POST", "time", { advance = seconds }).now
end

-- configure{ rate_limit = n, create_rate_limit = n, rate_window = sec, latency = ms, jitter = ms }:
-- allowances per window (60 s) from now on; every API answer delayed latency +- jitter ms
function M.configure(opts) return call("POST", "config", opt_table(opts, "configure")) end

-- oauth{ deny = n, login_as = user id or email }: how the next authorizations behave
function M.oauth(opts) call("POST", "oauth", opt_table(opts, "oauth")) end

-- register_client{ client_id = ..., client_secret = ... } -> client_id
function M.register_client(opts) return call("POST", "clients", opt_table(opts, "register_client")).client_id end

-- revoke_refresh{ user = id }: every refresh token (of that user) stops working
function M.revoke_refresh(opts) return call("POST", "revoke_refresh", opt_table(opts, "revoke_refresh")).revoked end

-- snapshot(): remembers the whole sandbox state; restore() puts it back. `vsrun test` takes
-- one after a file's top level runs and restores it before each test.
function M.snapshot() call("POST", "snapshot") end
function M.restore() return call("POST", "restore").restored end

-- info() -> { client_id, users, services, ... }
function M.info() return call("GET", "info") end

-- v3 webhook subscriptions: subscribe{url, secret, events} -> the subscription (no secret);
-- webhooks() -> every subscription with its deliveries and their attempts
function M.subscribe(opts) return call("POST", "webhooks", opt_table(opts, "subscribe")).subscription end
function M.webhooks() return call("GET", "webhooks").subscriptions end
function M.unsubscribe(id) call("DELETE", id and ("webhooks/" .. id) or "webhooks") end

-- set_secret(name, { origin = "http://127.0.0.1:PORT", value = "..." }): a named secret for
-- http's auth in this test or --sandbox run, instead of the vault (never read in these
-- modes). A name not set here stands for a placeholder bound to the sandbox itself.
function M.set_secret(name, opts)
  if type(name) ~= "string" or type(opts) ~= "table" or type(opts.origin) ~= "string" or type(opts.value) ~= "string" then
    errors.raise("invalid_argument", "sandbox.set_secret(name, { origin = URL, value = STRING })")
  end
  local ok, err = pcall(require("vsrun.http_core").set_test_secret, name, opts.origin, opts.value)
  if not ok then errors.raise("invalid_argument", tostring(err)) end
end

return M
