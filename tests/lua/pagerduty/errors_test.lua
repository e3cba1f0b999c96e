-- Every error kind, and PagerDuty error bodies in every shape docs/pagerduty-api.md §1 lists.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"

H.seed(30)
H.fast()
local info = H.account()
local SVC = info.services[1].id
local INC = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1].id

local function with_settings(s, fn)
  local saved = {}
  for k, v in pairs(s) do saved[k] = require("vsrun.pd_request").settings[k] end
  pd.configure(s)
  local ok, err = pcall(fn)
  pd.configure(saved)
  if not ok then error(err, 0) end
end

t.test("invalid_argument from PagerDuty carries its errors[] and code", function()
  H.reset()
  local err = t.raises("invalid_argument", pd.create_incident, { title = "x", service = "PNOSUCH" })
  t.eq(err.status, 400)
  t.eq(err.code, 2001)
  t.eq(err.action, "create_incident")
  t.match(err.errors[1], "Service not found")
  t.match(err.message, "Service not found")
end)

t.test("conflict: an open incident holds the incident_key (400, code 2002)", function()
  local key = "dup/" .. require("vsrun.core").random_hex(4)
  pd.create_incident { title = "first", service = SVC, incident_key = key }
  local before = H.counts().total
  local err = t.raises("conflict", pd.create_incident, { title = "second", service = SVC, incident_key = key })
  t.eq(err.code, 2002)
  t.eq(err.status, 400)
  t.eq(H.counts().total, before, "no second incident")
end)

t.test("not_found names what was not found", function()
  local err = t.raises("not_found", pd.get_incident, "PNOPE00")
  t.eq(err.status, 404)
  t.match(err.message, "incident 'PNOPE00'")
  err = t.raises("not_found", pd.get_user, "PNOUSER")
  t.match(err.message, "user 'PNOUSER'")
  err = t.raises("not_found", pd.create_incident_note, "PNOPE00", "x")
  t.match(err.message, "incident 'PNOPE00'")
  err = t.raises("not_found", function() return pd.list_incident_notes("PNOPE00"):collect() end)
  t.match(err.message, "incident 'PNOPE00'")
  err = t.raises("not_found", pd.get_log_entry, "RNOPE00")
  t.match(err.message, "log entry 'RNOPE00'")
end)

t.test("permission_denied names the write scope (403)", function()
  H.reset()
  H.fault { kind = "status", status = 403, match = { method = "PUT" } }
  local err = t.raises("permission_denied", pd.acknowledge, INC)
  t.match(err.message, "`write` scope")
  t.eq(err.status, 403)
  H.fault { kind = "status", status = 403, match = { method = "GET" } }
  err = t.raises("permission_denied", pd.get_incident, INC)
  t.match(err.message, "`read` scope")
end)

t.test("reconnect_required after a 401 the connection cannot cure", function()
  H.reset()
  H.fault { kind = "status", status = 401, match = { method = "GET" }, body = "Unauthorized" }
  local err = t.raises("reconnect_required", pd.get_incident, INC)
  t.eq(err.status, 401)
  t.eq(err.action, "get_incident")
  t.match(err.message, "401")
  t.eq(pd.get_incident(INC).id, INC, "the next call works again")
end)

t.test("rate_limited once the attempts are spent", function()
  H.reset()
  with_settings({ max_attempts = 2 }, function()
    H.fault { kind = "rate_limit", count = 2, match = { path = "^/incidents/" } }
    local err = t.raises("rate_limited", pd.get_incident, INC)
    t.eq(err.status, 429)
    t.eq(err.code, 2020)
  end)
end)

t.test("server after 5xx on every attempt", function()
  H.reset()
  with_settings({ max_attempts = 3 }, function()
    H.fault { kind = "status", status = 503, count = 3, match = { path = "^/incidents/" } }
    local err = t.raises("server", pd.get_incident, INC)
    t.eq(err.status, 503)
    t.eq(#H.requests("GET", "^/incidents/"), 3, "three attempts")
  end)
end)

t.test("timeout when every attempt is too slow", function()
  H.reset()
  with_settings({ max_attempts = 2, timeout = 0.3 }, function()
    H.fault { kind = "latency", delay = 1, count = 2, match = { path = "^/incidents/" } }
    local err = t.raises("timeout", pd.get_incident, INC)
    t.eq(err.action, "get_incident")
  end)
end)

t.test("network when the connection is reset on every attempt", function()
  H.reset()
  with_settings({ max_attempts = 2 }, function()
    H.fault { kind = "reset", count = 10, match = { path = "^/incidents/" } }
    t.raises("network", pd.get_incident, INC)
  end)
end)

t.test("bad_response for JSON that never parses", function()
  H.reset()
  with_settings({ max_attempts = 2 }, function()
    H.fault { kind = "invalid_json", count = 2, match = { path = "^/incidents/" } }
    local err = t.raises("bad_response", pd.get_incident, INC)
    t.match(err.message, "not valid JSON")
    H.fault { kind = "status", status = 400, body = "<html>Bad Request</html>", match = { path = "^/incidents/" } }
    err = t.raises("bad_response", pd.get_incident, INC)
    t.eq(err.status, 400)
  end)
end)

-- error bodies as PagerDuty (and proxies in front of it) really send them
local shapes = {
  { "errors as a plain string", 400, '{"error":{"message":"Arguments Caused Error","code":2002,"errors":"just one"}}',
    "invalid_argument", { code = 2002, errors = { "just one" } } },
  { "a bare array of strings", 400, '["first problem","second problem"]', "invalid_argument",
    { errors = { "first problem", "second problem" } } },
  { "error as a plain string", 400, '{"error":"Because this request was made using an account-level access token, we were unable to determine the user"}',
    "invalid_argument", { message_has = "account%-level" } },
  { "message and code at the top level", 404, '{"message":"Not Found","code":2100}', "not_found", { code = 2100 } },
  { "no errors array", 400, '{"error":{"message":"Invalid Input Provided","code":2001}}', "invalid_argument", { code = 2001 } },
  { "a string code", 400, '{"error":{"message":"x","code":"2001"}}', "invalid_argument", { code = 2001 } },
  { "an empty 404", 404, '', "not_found", {} },
  { "a 401 that is not JSON", 401, 'Unauthorized', "reconnect_required", {} },
  { "a 402 ability error", 402, '{"error":{"message":"Account does not have the teams ability","code":2014}}', "permission_denied", { code = 2014 } },
  { "a 500 with HTML", 500, '<html>oops</html>', "server", {} },
}
for _, s in ipairs(shapes) do
  t.test("error body: " .. s[1], function()
    H.reset()
    with_settings({ max_attempts = 1 }, function()
      H.fault { kind = "status", status = s[2], body = s[3], match = { path = "^/users/" } }
      local err = t.raises(s[4], pd.get_user, "me")
      t.eq(err.status, s[2])
      local want = s[5]
      if want.code then t.eq(err.code, want.code) end
      if want.errors then t.eq(err.errors, want.errors) end
      if want.message_has then t.match(err.message, want.message_has) end
      t.eq(err.action, "get_user")
    end)
  end)
end

t.test("error objects print one line naming the action and status", function()
  local err = t.raises("not_found", pd.get_incident, "PNOPE00")
  local s = tostring(err)
  t.match(s, "^.-errors_test%.lua:%d+: not_found: ")
  t.match(s, "%(get_incident, HTTP 404, code 2100%)")
  t.no_match(s, "\n")
end)
