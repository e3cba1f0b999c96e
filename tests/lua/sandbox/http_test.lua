-- The sandbox over real HTTP: the one `vsrun test` starts for this file, reached with the
-- http module and driven with vsrun.sandbox (the control client).
local t = require "vsrun.testing"
local http = require "http"
local json = require "json"
local digest = require "vsrun.digest"
local sandbox = require "vsrun.sandbox"

local REDIRECT = "http://127.0.0.1:53682/callback"
local VERIFIER = "Vq0w8hZ3dT1xYbC9mN4pL6kR2sE5uA7gJ0fH3iK8oWz"

local function form(t_)
  local parts = {}
  for k, v in pairs(t_) do parts[#parts + 1] = http.encode_component(k) .. "=" .. http.encode_component(v) end
  return table.concat(parts, "&")
end

local function query_of(location)
  local out = {}
  for k, v in (location:match("%?(.*)$") or ""):gmatch("([^&=]+)=([^&]*)") do
    out[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return out
end

-- the whole browser-less login: authorize (302 with code), token exchange with PKCE
local function login(scope)
  local info = sandbox.info()
  local r = http.get(sandbox.url() .. "/oauth/authorize", { query = {
    client_id = info.client_id, redirect_uri = REDIRECT, response_type = "code", scope = scope or "write",
    state = "s1", code_challenge = digest.b64url(digest.sha256(VERIFIER)), code_challenge_method = "S256" } })
  t.eq(r.status, 302)
  local q = query_of(r.headers.location)
  t.eq(q.state, "s1")
  local tr = http.post(sandbox.url() .. "/oauth/token", {
    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = form { grant_type = "authorization_code", client_id = info.client_id, code = q.code,
                  redirect_uri = REDIRECT, code_verifier = VERIFIER } })
  t.eq(tr.status, 200)
  return tr:json()
end

local function api(tok, method, path, opts)
  opts = opts or {}
  opts.method, opts.url = method, sandbox.url() .. path
  opts.headers = { Authorization = "Bearer " .. tok.access_token, Accept = "application/vnd.pagerduty+json;version=2" }
  return http.request(opts)
end

t.test("OAuth login, refresh and the REST endpoints over HTTP", function()
  sandbox.reset()
  local tok = login()
  local me = api(tok, "GET", "/users/me")
  t.eq(me.status, 200)
  local uid = me:json().user.id
  local list = api(tok, "GET", "/incidents", { query = { ["statuses[]"] = { "triggered", "acknowledged" }, date_range = "all", total = true } })
  t.eq(list.status, 200)
  t.ok(list.headers["ratelimit-remaining"], "rate-limit headers")
  local body = list:json()
  for _, i in ipairs(body.incidents) do t.ok(i.status ~= "resolved") end
  local svc = body.incidents[1].service.id
  local created = api(tok, "POST", "/incidents", { json = { incident = { type = "incident", title = "over http",
    incident_key = "http/1", service = { id = svc, type = "service_reference" } } } })
  t.eq(created.status, 201)
  local inc = created:json().incident
  t.eq(api(tok, "POST", "/incidents", { json = { incident = { type = "incident", title = "dup",
    incident_key = "http/1", service = { id = svc, type = "service_reference" } } } }):json().error.code, 2002)
  t.eq(api(tok, "POST", "/incidents/" .. inc.id .. "/notes", { json = { note = { content = "n1" } } }).status, 200)
  local upd = api(tok, "PUT", "/incidents/" .. inc.id, { json = { incident = { type = "incident_reference", status = "resolved", resolution = "done" } } })
  t.eq(upd:json().incident.status, "resolved")
  local log = api(tok, "GET", "/incidents/" .. inc.id .. "/log_entries"):json().log_entries
  t.eq(log[#log].type, "resolve_log_entry")
  t.eq(log[#log].note, "done")
  t.eq(api(tok, "GET", "/log_entries/" .. log[1].id):json().log_entry.type, "trigger_log_entry")
  t.eq(api(tok, "GET", "/users/" .. uid).status, 200)
  -- refresh rotation over HTTP
  local info = sandbox.info()
  local ref = http.post(sandbox.url() .. "/oauth/token", { headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = form { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok.refresh_token } })
  t.eq(ref.status, 200)
  local old = http.post(sandbox.url() .. "/oauth/token", { headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
    body = form { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok.refresh_token } })
  t.eq(old.status, 400)
  t.eq(old:json().error, "invalid_grant")
  -- the request log names the credential, never the token
  local reqs = sandbox.requests { path = "^/users/" }
  t.ok(#reqs >= 2)
  t.match(reqs[1].auth, "^oauth:")
  t.no_match(json.encode(sandbox.requests()), tok.access_token:gsub("%p", "%%%0"))
end)

t.test("expiry through the sandbox clock", function()
  sandbox.reset()
  local tok = login()
  t.eq(api(tok, "GET", "/users/me").status, 200)
  sandbox.advance(10 * 86400)
  t.eq(api(tok, "GET", "/users/me").status, 401)
end)

t.test("faults at the socket: reset, reset mid-body, truncated JSON, 429 storm", function()
  sandbox.reset()
  local tok = login()
  -- count 2: libcurl silently retries once when a reused keep-alive connection closes
  -- without a reply, so one reset alone is invisible to the client
  sandbox.fault { kind = "reset", count = 2, match = { path = "^/incidents$" } }
  local ok, err = pcall(api, tok, "GET", "/incidents")
  t.ok(not ok and err.kind == "network", "reset: " .. tostring(err))
  sandbox.fault { kind = "reset_mid_body" }
  ok, err = pcall(api, tok, "GET", "/incidents")
  t.ok(not ok and err.kind == "network", "reset mid-body: " .. tostring(err))
  sandbox.fault { kind = "truncate" }
  local r = api(tok, "GET", "/incidents")
  t.eq(r.status, 200)
  t.raises("bad_response", function() return r:json() end)
  sandbox.fault { kind = "rate_limit", count = 3 }
  for _ = 1, 3 do t.eq(api(tok, "GET", "/incidents").status, 429) end
  t.eq(api(tok, "GET", "/incidents").status, 200)
  sandbox.fault { kind = "status", status = 502, match = { method = "PUT" } }
  t.eq(#sandbox.faults(), 1)
  sandbox.clear_faults()
  t.eq(#sandbox.faults(), 0)
  t.raises("invalid_argument", function() sandbox.fault { kind = "nope" } end)
end)

t.test("seed and counts through the control client", function()
  t.eq(sandbox.seed { incidents = 40, seed = 9 }, 40)
  local c = sandbox.counts()
  t.eq(c.total, 40)
  t.eq(c.triggered + c.acknowledged + c.resolved, 40)
  local ids = sandbox.create_incidents { count = 3, status = "acknowledged", urgency = "low" }
  t.eq(#ids, 3)
  local after = sandbox.counts()
  t.eq(after.total, 43)
  t.eq(after.acknowledged, c.acknowledged + 3)
  t.raises("invalid_argument", function() sandbox.create_incidents { count = 0 } end)
  sandbox.reset()
end)

t.test("chat completions over HTTP", function()
  local r = http.post(sandbox.url() .. "/v1/chat/completions", { json = { model = "m",
    messages = { { role = "user", content = "Summarise [#1] Disk full on db1" } } } })
  t.eq(r.status, 200)
  t.match(r:json().choices[1].message.content, "Disk full on db1")
end)
