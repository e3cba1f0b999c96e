-- The fault matrix, end to end (issue 8): every PagerDuty call shape × every fault the
-- in-process sandbox can inject. Each cell states the outcome (the call succeeds, or raises
-- an error of one kind), how many requests of the call's own method and path the sandbox
-- saw, and for writes how many objects exist afterwards (never more than one per call).
-- Token expiry, a revoked refresh token and a refused connection need an OAuth connection or
-- no server at all: tests/cli/fault_matrix_test.sh has those rows, in the same shape.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local sandbox = require "vsrun.sandbox"
local core = require "vsrun.core"

sandbox.seed { incidents = 30, seed = 5 }
local MAX_ATTEMPTS = 4
-- fast backoff; the budget must outlast the whole matrix; a small body limit for "oversize"
pd.configure { backoff_base = 0.01, backoff_cap = 0.05, backoff_429 = 0.1, max_attempts = MAX_ATTEMPTS,
               retry_budget = 100000, max_body = 1 << 20 }
local SVC = sandbox.info().services[1].id
local INC = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].id
local NOTE_INC = pd.create_incident({ title = "notes of the fault matrix", service = SVC }).id
-- a listing of everything is several requests (the oldest-record probe, the recent tail,
-- the pages): the fault hits the first, the others are the same with or without it. One page
-- at a time (concurrency = 1): the matrix counts one request's retries; concurrent listings
-- under faults are tested in tests/lua/pagerduty/listing_concurrent_test.lua
sandbox.clear_requests()
pd.list_incidents({ date_range = "all", concurrency = 1 }):collect()
local LIST_EXTRA = #sandbox.requests { method = "GET" } - 1
local TIMEOUT = 1.0          -- per request, only in the latency rows; the sandbox waits longer
local SLOW = 2.5

-- Call shapes. run(ctx) makes one call and returns true when its result is right;
-- objects(ctx) counts what a write left behind.
local OPS = {
  { name = "GET incident", method = "GET", path = "^/incidents/[^/]+$",
    run = function() return pd.get_incident(INC).id == INC end },
  { name = "list page", method = "GET", path = "^/incidents$", extra = LIST_EXTRA,
    run = function()
      local got = pd.list_incidents({ date_range = "all", concurrency = 1 }):collect()
      return #got == sandbox.counts().total
    end },
  { name = "PUT update", method = "PUT", path = "^/incidents/[^/]+$",
    run = function(ctx) return pd.update_incident(INC, { title = ctx.tag }).title == ctx.tag end },
  { name = "POST create", method = "POST", path = "^/incidents$", write = true,
    run = function(ctx)
      local inc = pd.create_incident { title = ctx.tag, service = SVC, incident_key = ctx.tag }
      return inc.incident_key == ctx.tag and inc.title == ctx.tag
    end,
    objects = function(ctx)
      return #pd.list_incidents({ date_range = "all", incident_key = ctx.tag }):collect()
    end },
  { name = "POST note", method = "POST", path = "^/incidents/[^/]+/notes$", write = true,
    run = function(ctx) return pd.create_incident_note(NOTE_INC, ctx.tag).content == ctx.tag end,
    objects = function(ctx)
      local n = 0
      for note in pd.list_incident_notes(NOTE_INC) do if note.content == ctx.tag then n = n + 1 end end
      return n
    end },
}

-- Faults. `expect[op]` (or `expect.all`) = { outcome, sent, objects }: outcome "ok" or an
-- error kind; sent = requests of the call's method and path the sandbox logged; objects
-- only for writes. `reads` covers GET incident, list page and PUT update.
local FAULTS = {
  { name = "latency beyond the timeout", fault = { kind = "latency", delay = SLOW, count = 1 }, timeout = TIMEOUT,
    -- reads are sent again; a create/note was made by the timed-out attempt and is found
    expect = { reads = { "ok", 2 }, write = { "ok", 1, 1 } } },
  { name = "500", fault = { kind = "status", status = 500, count = 2 },
    expect = { reads = { "ok", 3 }, write = { "ok", 3, 1 } } },
  { name = "502", fault = { kind = "status", status = 502, count = 2 },
    expect = { reads = { "ok", 3 }, write = { "ok", 3, 1 } } },
  { name = "503", fault = { kind = "status", status = 503, count = 2 },
    expect = { reads = { "ok", 3 }, write = { "ok", 3, 1 } } },
  { name = "504", fault = { kind = "status", status = 504, count = 2 },
    expect = { reads = { "ok", 3 }, write = { "ok", 3, 1 } } },
  { name = "500 persistent", fault = { kind = "status", status = 500, count = 99 },
    expect = { reads = { "server", MAX_ATTEMPTS }, write = { "server", MAX_ATTEMPTS, 0 } } },
  { name = "429 with headers", fault = { kind = "rate_limit", count = 1 },
    expect = { reads = { "ok", 2 }, write = { "ok", 2, 1 } } },
  { name = "429 without headers", fault = { kind = "rate_limit", headers = false, count = 1 },
    expect = { reads = { "ok", 2 }, write = { "ok", 2, 1 } } },
  -- libcurl resends once by itself on a reused connection, so two resets make sure the
  -- client sees one: three requests either way
  { name = "reset before response", fault = { kind = "reset", count = 2 },
    expect = { reads = { "ok", 3 }, write = { "ok", 3, 1 } } },
  { name = "reset mid-body", fault = { kind = "reset_mid_body", count = 1 },
    expect = { reads = { "ok", 2 }, write = { "ok", 1, 1 } } },
  { name = "truncated JSON", fault = { kind = "truncate", count = 1 },
    expect = { reads = { "ok", 2 }, write = { "ok", 1, 1 } } },
  { name = "invalid JSON", fault = { kind = "invalid_json", count = 99 },
    expect = { reads = { "bad_response", MAX_ATTEMPTS }, write = { "ok", 1, 1 } } },
  -- the body limit is final: not retried; a write's object exists, so it is looked up
  { name = "oversize body", fault = { kind = "oversize", size = 2 << 20, count = 99 },
    expect = { reads = { "too_large", 1 }, write = { "ok", 1, 1 } } },
}

local function sent(op)
  local n = 0
  for _, r in ipairs(sandbox.requests { method = op.method }) do
    if r.path:find(op.path) then n = n + 1 end
  end
  return n
end

local seq = 0
for _, f in ipairs(FAULTS) do
  for _, op in ipairs(OPS) do
    local want = f.expect[op.write and "write" or "reads"]
    t.test(("%s × %s"):format(op.name, f.name), function()
      seq = seq + 1
      local ctx = { tag = ("matrix-%d-%s"):format(seq, core.random_hex(4)) }
      sandbox.clear_faults()
      sandbox.clear_requests()
      local spec = {}
      for k, v in pairs(f.fault) do spec[k] = v end
      spec.match = { method = op.method, path = op.path }
      sandbox.fault(spec)
      local saved = require("vsrun.pd_request").settings.timeout
      if f.timeout then pd.configure { timeout = f.timeout } end
      local ok, res = pcall(op.run, ctx)
      pd.configure { timeout = saved }
      sandbox.clear_faults()
      local n = sent(op)
      local objects = op.objects and op.objects(ctx)
      local outcome = ok and "ok" or (type(res) == "table" and res.kind) or tostring(res)
      print(("# cell %-12s | %-27s | %-12s | sent %d%s"):format(op.name, f.name, outcome, n,
        objects and (" | objects " .. objects) or ""))
      if want[1] == "ok" then
        t.ok(ok, "the call failed: " .. tostring(res))
        t.eq(res, true, "the call's result")
      else
        t.ok(not ok, "the call should have failed with " .. want[1])
        t.eq(outcome, want[1], "error kind (" .. tostring(res) .. ")")
        t.ok(type(res) == "table" and res.action ~= nil, "the error names the action")
      end
      local extra = want[1] == "ok" and op.extra or 0
      t.eq(n, want[2] + extra, "requests the sandbox saw for " .. op.method .. " " .. op.path)
      if op.write then
        t.eq(objects, want[3], "objects after the call")
        t.ok(objects <= 1, "never more than one object per call")
      end
    end)
  end
end
