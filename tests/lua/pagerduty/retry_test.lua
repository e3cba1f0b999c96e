-- Reliability: GET and PUT retried on 5xx, resets, truncated and invalid JSON; 429 with and
-- without ratelimit-* headers (no request before the reset, from the sandbox's log); creates
-- and notes stay single under ambiguous failures (counted in the sandbox afterwards).
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"
local vs = require "vsrun"

H.seed(40)
H.fast()
local info = H.account()
local SVC = info.services[1].id
local INC = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].id

local function statuses(method, path)
  local out = {}
  for _, r in ipairs(H.requests(method, path)) do out[#out + 1] = r.status end
  return out
end

for _, status in ipairs { 500, 502, 503, 504 } do
  t.test("GET and PUT retried on " .. status, function()
    H.reset()
    H.fault { kind = "status", status = status, count = 2, match = { method = "GET", path = "^/incidents/" } }
    t.eq(pd.get_incident(INC).id, INC)
    t.eq(statuses("GET", "^/incidents/"), { status, status, 200 })
    H.fault { kind = "status", status = status, count = 2, match = { method = "PUT" } }
    t.eq(pd.update_incident(INC, { urgency = "high" }).id, INC)
    t.eq(statuses("PUT"), { status, status, 200 })
  end)
end

for _, kind in ipairs { "reset", "reset_mid_body", "truncate", "invalid_json" } do
  t.test("GET and PUT retried after " .. kind, function()
    H.reset()
    H.fault { kind = kind, count = 1, match = { method = "GET", path = "^/incidents/" } }
    t.eq(pd.get_incident(INC).id, INC)
    t.ok(#H.requests("GET", "^/incidents/") >= 2, "retried")
    H.fault { kind = kind, count = 1, match = { method = "PUT" } }
    t.eq(pd.update_incident(INC, { title = "retried " .. kind }).title, "retried " .. kind)
    t.ok(#H.requests("PUT") >= 2, "retried")
  end)
end

t.test("listing pages are retried too, nothing skipped or repeated", function()
  H.reset()
  H.fault { kind = "status", status = 502, count = 1, match = { method = "GET", path = "^/incidents$" } }
  H.fault { kind = "truncate", count = 1, match = { method = "GET", path = "^/incidents$" } }
  local ids = H.ids(pd.list_incidents({ date_range = "all" }):collect())
  t.eq(#ids, H.counts().total)
end)

-- the sandbox logs whole seconds: a wait of at least one second moves to a later second
local function check_no_request_before_reset(label)
  local log = H.requests()
  local at429
  for i, r in ipairs(log) do
    if r.status == 429 then
      at429 = r.at
      t.ok(log[i + 1], label .. ": a request after the 429")
      t.ok(log[i + 1].at >= at429 + 1, label .. ": no request before the reset (" .. at429 .. " -> " .. log[i + 1].at .. ")")
    end
  end
  t.ok(at429, label .. ": the 429 was logged")
end

t.test("429 with ratelimit-reset: nothing is sent before the reset", function()
  H.reset()
  H.fault { kind = "rate_limit", count = 1, match = { method = "GET" } }
  t.eq(pd.get_incident(INC).id, INC)
  check_no_request_before_reset("with headers")
end)

t.test("429 without headers: backs off before the next request", function()
  H.reset()
  pd.configure { backoff_429 = 1 }
  H.fault { kind = "rate_limit", headers = false, count = 1, match = { method = "GET" } }
  local ok, err = pcall(pd.get_incident, INC)
  pd.configure { backoff_429 = 0.5 }
  t.ok(ok, tostring(err))
  check_no_request_before_reset("without headers")
end)

t.test("a 429 holds every task of the run until the reset", function()
  H.reset()
  H.fault { kind = "rate_limit", count = 1, match = { method = "GET" } }
  local ids = {}
  for i = 1, 24 do ids[i] = INC end
  local got = vs.map(ids, pd.get_incident, { concurrency = 8 })
  t.eq(#got, 24)
  local log = H.requests()
  local n429, at429 = 0, nil
  for _, r in ipairs(log) do if r.status == 429 then n429 = n429 + 1 at429 = r.at end end
  t.eq(n429, 1, "one 429, no stampede")
  -- requests started after the 429 arrived wait for the reset; at most the 7 others in flight
  local early = 0
  for _, r in ipairs(log) do if r.status ~= 429 and r.at == at429 then early = early + 1 end end
  t.ok(early <= 8, "only requests already in flight shared the 429's second: " .. early)
end)

-- duplicate safety: faults that lose the answer of a create that succeeded
local ambiguous = {
  { "connection reset mid-body", { kind = "reset_mid_body" } },
  { "truncated JSON", { kind = "truncate" } },
  { "a 5xx before processing", { kind = "status", status = 503 } },
  { "reset before processing", { kind = "reset" } },
  { "a timeout after processing", { kind = "latency", delay = 1.2 }, { timeout = 0.4 } },
}

for _, case in ipairs(ambiguous) do
  t.test("create_incident makes one incident after " .. case[1], function()
    H.reset()
    local saved = require("vsrun.pd_request").settings.timeout
    if case[3] then pd.configure(case[3]) end
    local before = H.counts().total
    local f = case[2]
    f.match = { method = "POST", path = "^/incidents$" }
    H.fault(f)
    local title = "dup-safe " .. case[1]
    local ok, inc = pcall(pd.create_incident, { title = title, service = SVC })
    pd.configure { timeout = saved }
    t.ok(ok, tostring(inc))
    t.eq(inc.title, title)
    t.eq(H.counts().total, before + 1, "exactly one incident")
    local found = pd.list_incidents({ date_range = "all", incident_key = inc.incident_key }):collect()
    t.eq(#found, 1)
  end)
end

t.test("create_incident: a fault sequence on the create and on the look-up still makes one", function()
  H.reset()
  local before = H.counts().total
  H.fault { kind = "reset_mid_body", count = 1, match = { method = "POST", path = "^/incidents$" } }
  H.fault { kind = "status", status = 500, count = 1, match = { method = "GET", path = "^/incidents$" } }
  local key = "seq/" .. require("vsrun.core").random_hex(4)
  local inc = pd.create_incident { title = "sequence", service = SVC, incident_key = key }
  t.eq(inc.incident_key, key)
  t.eq(H.counts().total, before + 1)
  t.eq(#H.requests("POST", "^/incidents$"), 1, "the create was not sent twice")
end)

t.test("create_incident: several lost answers in a row, still one", function()
  H.reset()
  local before = H.counts().total
  H.fault { kind = "status", status = 502, count = 2, match = { method = "POST", path = "^/incidents$" } }
  H.fault { kind = "reset_mid_body", count = 1, match = { method = "POST", path = "^/incidents$" } }
  local inc = pd.create_incident { title = "three faults", service = SVC }
  t.eq(inc.title, "three faults")
  t.eq(H.counts().total, before + 1)
end)

for _, case in ipairs { { "reset mid-body", { kind = "reset_mid_body" } }, { "truncated JSON", { kind = "truncate" } },
                        { "a timeout after processing", { kind = "latency", delay = 1.2 }, { timeout = 0.4 } } } do
  t.test("create_incident_note writes one note after " .. case[1], function()
    H.reset()
    local inc = pd.create_incident { title = "notes " .. case[1], service = SVC }
    local saved = require("vsrun.pd_request").settings.timeout
    if case[3] then pd.configure(case[3]) end
    local f = case[2]
    f.match = { method = "POST", path = "/notes$" }
    H.fault(f)
    local ok, note = pcall(pd.create_incident_note, inc.id, "only once")
    pd.configure { timeout = saved }
    t.ok(ok, tostring(note))
    t.eq(note.content, "only once")
    local notes = pd.list_incident_notes(inc.id):collect()
    t.eq(#notes, 1, "exactly one note")
    t.eq(notes[1].id, note.id)
  end)
end

t.test("create_incident_note after a 5xx before processing writes it (once)", function()
  H.reset()
  local inc = pd.create_incident { title = "note 5xx", service = SVC }
  H.fault { kind = "status", status = 500, count = 1, match = { method = "POST", path = "/notes$" } }
  pd.create_incident_note(inc.id, "after 5xx")
  t.eq(#pd.list_incident_notes(inc.id):collect(), 1)
end)

t.test("an earlier identical note is not mistaken for the lost one", function()
  H.reset()
  local inc = pd.create_incident { title = "same content", service = SVC }
  H.control("POST", "time", { advance = -30 })
  pd.create_incident_note(inc.id, "same words")
  H.control("POST", "time", { advance = 30 })
  H.fault { kind = "status", status = 503, count = 1, match = { method = "POST", path = "/notes$" } }
  pd.create_incident_note(inc.id, "same words")
  t.eq(#pd.list_incident_notes(inc.id):collect(), 2, "the second note was written")
end)

t.test("the retry budget is per run", function()
  local req = require "vsrun.pd_request"
  t.ok(req.retries_used() > 0, "retries were counted")
  t.ok(req.retries_used() <= req.settings.retry_budget)
end)
