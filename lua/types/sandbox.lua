---@meta vsrun.sandbox
-- LuaLS annotations for `vsrun.sandbox` (not embedded; for editors only): the in-process
-- PagerDuty sandbox's control API, under `vsrun test` and `vsrun --sandbox` only.
local sandbox = {}

---@class vsrun.sandbox.Counts
---@field total integer
---@field triggered integer
---@field acknowledged integer
---@field resolved integer

---@class vsrun.sandbox.Request
---@field seq integer
---@field at integer          whole seconds
---@field time number         arrival, to the millisecond
---@field method string
---@field path string
---@field query table<string, string|string[]>  secret-looking parameters redacted
---@field status integer
---@field ratelimit_reset number?
---@field auth string?        which credential kind and user, never a token
---@field connection string?

---@class vsrun.sandbox.Info
---@field client_id string
---@field users { id: string, name: string, email: string, role: string }[]
---@field services { id: string, name: string }[]
---@field incidents integer

--- http://127.0.0.1:PORT
---@return string
function sandbox.url() end

--- Back to the data it started with; faults, request log and clock cleared. Returns the incident count.
---@return integer
function sandbox.reset() end

--- Replaces all data with freshly seeded data. Returns the incident count.
---@param opts? { incidents: integer?, seed: integer?, months: number? }
---@return integer
function sandbox.seed(opts) end

--- Injects a fault for the next `count` matching requests. Returns the number pending.
---@param spec { kind: "latency"|"status"|"rate_limit"|"reset"|"reset_mid_body"|"truncate"|"invalid_json"|"stall"|"oversize"|"expire_token"|"revoke_refresh", count: integer?, match: { method: string?, path: string? }?, status: integer?, body: string?, delay: number?, stall: number?, size: integer?, headers: boolean? }
---@return integer
function sandbox.fault(spec) end

---@return { kind: string, method: string?, path: string?, count: integer }[]
function sandbox.faults() end
function sandbox.clear_faults() end

---@param filter? { method: string?, path: string?, since_seq: integer?, limit: integer? }
---@return vsrun.sandbox.Request[]
function sandbox.requests(filter) end
function sandbox.clear_requests() end

---@return vsrun.sandbox.Counts
function sandbox.counts() end

--- Creates incidents now, as the service's integration (no auth, no rate limit). Returns their ids.
---@param opts? { count: integer?, service: string?, title: string?, urgency: "high"|"low"|nil, status: "triggered"|"acknowledged"|"resolved"|nil, incident_key: string? }
---@return string[]
function sandbox.create_incidents(opts) end

--- Moves the sandbox clock forward. Returns the sandbox's now.
---@param seconds number
---@return integer
function sandbox.advance(seconds) end

---@param opts? { rate_limit: integer?, create_rate_limit: integer?, rate_window: integer? }
---@return { rate_limit: integer, create_rate_limit: integer, rate_window: integer }
function sandbox.configure(opts) end

---@param opts { deny: integer?, login_as: string? }
function sandbox.oauth(opts) end

---@param opts { client_id: string?, client_secret: string? }
---@return string client_id
function sandbox.register_client(opts) end

--- Revokes every refresh token (of one user). Returns how many.
---@param opts? { user: string? }
---@return integer
function sandbox.revoke_refresh(opts) end

--- Remembers the whole sandbox state; `vsrun test` takes one after a file's top level runs.
function sandbox.snapshot() end

--- Puts the snapshot back; `vsrun test` does this before each test.
---@return "all"|"log"|"nothing"
function sandbox.restore() end

---@return vsrun.sandbox.Info
function sandbox.info() end

--- Subscribes a URL to signed v3 webhooks of incident events (docs/sandbox.md "Webhooks").
---@param opts { url: string, secret: string, events: string[]? }
---@return { id: string, url: string, events: string[] }
function sandbox.subscribe(opts) end

--- The subscriptions with their deliveries and attempts (the secrets are never shown).
---@return table[]
function sandbox.webhooks() end

--- Removes one subscription, or every one without an id.
---@param id? string
function sandbox.unsubscribe(id) end

--- Binds a named secret for http's `auth` in this test or --sandbox run (the vault is never
--- read in these modes); the value is kept in C, like a vault secret.
---@param name string
---@param opts { origin: string, value: string }
function sandbox.set_secret(name, opts) end

return sandbox
