local t = require "vsrun.testing"
local json = require "json"
local digest = require "vsrun.digest"
package.path = "tests/lua/sandbox/?.lua;" .. package.path
local H = require "helpers"
local web = require "sandbox.web"

local VERIFIER = string.rep("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 1)
local CHALLENGE = digest.b64url(digest.sha256(VERIFIER))
local REDIRECT = "http://127.0.0.1:53682/callback"

local function parse_location(loc)
  local q = loc:match("%?(.*)$")
  return web.form(q)
end

local function authorize(call, info, extra)
  local q = { client_id = info.client_id, redirect_uri = REDIRECT, response_type = "code", scope = "write",
              state = "xyz", code_challenge = CHALLENGE, code_challenge_method = "S256" }
  for k, v in pairs(extra or {}) do q[k] = v ~= false and v or nil end
  return call("GET", "/oauth/authorize", { query = q, token = false })
end

local function token(call, form)
  return call("POST", "/oauth/token", { token = false, body = web.query_string(form),
    headers = { ["content-type"] = "application/x-www-form-urlencoded" } })
end

local function login(call, info, extra)
  local r = authorize(call, info, extra)
  t.eq(r.status, 302)
  local p = parse_location(r.headers.location)
  t.eq(p.state, "xyz")
  local tr = token(call, { grant_type = "authorization_code", client_id = info.client_id, code = p.code,
    redirect_uri = REDIRECT, code_verifier = VERIFIER })
  t.eq(tr.status, 200)
  return tr.json, p.code
end

t.test("authorize + token with PKCE: token response fields, API access", function()
  local call, info = H.new({ incidents = 5 })
  local tok = login(call, info)
  t.match(tok.access_token, "^pdsbx%+_0X")
  t.match(tok.refresh_token, "^pdsbx%+_1X")
  t.eq(tok.token_type, "bearer")
  t.eq(tok.scope, "openid write")
  t.eq(tok.expires_in, 3600)
  local parts = {}
  for p in tok.id_token:gmatch("[^.]+") do parts[#parts + 1] = p end
  t.eq(#parts, 3)
  local r = call("GET", "/users/me", { token = tok.access_token })
  t.eq(r.status, 200)
  t.eq(r.json.user.id, info.users[1].id)
end)

t.test("authorize rejects bad parameters as RFC 6749 says", function()
  local call, info = H.new({ incidents = 0 })
  t.eq(authorize(call, info, { client_id = "nope" }).status, 400)
  t.eq(authorize(call, info, { redirect_uri = "https://evil.example/cb" }).status, 400)
  t.eq(authorize(call, info, { redirect_uri = false }).status, 400)
  local r = authorize(call, info, { response_type = "token" })
  t.eq(r.status, 302)
  t.eq(parse_location(r.headers.location).error, "unsupported_response_type")
  r = authorize(call, info, { code_challenge = false })
  t.eq(parse_location(r.headers.location).error, "invalid_request", "PKCE required for public clients")
  r = authorize(call, info, { code_challenge_method = "plain" })
  t.eq(parse_location(r.headers.location).error, "invalid_request")
  -- the deny hook
  call("POST", "/__sandbox/oauth", { body = { deny = 1 } })
  r = authorize(call, info)
  local p = parse_location(r.headers.location)
  t.eq(p.error, "access_denied")
  t.eq(p.state, "xyz")
  t.eq(authorize(call, info).status, 302)
end)

t.test("login_as chooses the user; read scope cannot write; unknown scope gets openid only", function()
  local call, info = H.new({ incidents = 3 })
  local tok = login(call, info, { login_as = info.users[3].email, scope = "read" })
  local me = call("GET", "/users/me", { token = tok.access_token })
  t.eq(me.json.user.id, info.users[3].id)
  t.eq(tok.scope, "openid read")
  local r = call("POST", "/incidents", { token = tok.access_token, body = { incident = { type = "incident", title = "x",
    service = { id = info.services[1].id, type = "service_reference" } } } })
  t.eq(r.status, 403)
  t.eq(r.json.error.code, 2010)
  local tok2 = login(call, info, { scope = "admin" })
  t.eq(tok2.scope, "openid")
  t.eq(call("GET", "/incidents", { token = tok2.access_token }).status, 403)
end)

t.test("codes: single use, 30 s life, redirect_uri and verifier must match", function()
  local now = H.NOW
  local clock = function() return now end
  local call, info = H.new({ incidents = 0, now = clock })
  local function code()
    return parse_location(authorize(call, info).headers.location).code
  end
  local c = code()
  local base = { grant_type = "authorization_code", client_id = info.client_id, redirect_uri = REDIRECT, code_verifier = VERIFIER }
  local function with(k, v) local f = {} for a, b in pairs(base) do f[a] = b end f.code = c f[k] = v return f end
  t.eq(token(call, with("code_verifier", string.rep("a", 43))).json.error, "invalid_grant")
  t.eq(token(call, with("redirect_uri", "http://127.0.0.1:1/other")).json.error, "invalid_grant")
  t.eq(token(call, with("client_id", "unknown")).status, 401)
  t.eq(token(call, with("client_id", "unknown")).json.error, "invalid_client")
  local ok = token(call, with("x", "y"))
  t.eq(ok.status, 200)
  local reuse = token(call, with("x", "y"))
  t.eq(reuse.json.error, "invalid_grant")
  t.eq(call("GET", "/users/me", { token = ok.json.access_token }).status, 401, "a reused code revokes what it issued")
  c = code()
  now = now + 31
  t.eq(token(call, with("x", "y")).json.error, "invalid_grant", "expired after 30 s")
  t.eq(token(call, { grant_type = "password", client_id = info.client_id }).json.error, "unsupported_grant_type")
  t.eq(token(call, { client_id = info.client_id }).json.error, "invalid_request")
end)

t.test("refresh rotates; the old refresh token stops working; expiry and revoke", function()
  local now = H.NOW
  local call, info = H.new({ incidents = 0, now = function() return now end, token_ttl = 5 })
  local tok = login(call, info)
  now = now + 6
  local r = call("GET", "/users/me", { token = tok.access_token })
  t.eq(r.status, 401, "expired access token")
  local ref = token(call, { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok.refresh_token })
  t.eq(ref.status, 200)
  t.ne(ref.json.refresh_token, tok.refresh_token)
  t.eq(call("GET", "/users/me", { token = ref.json.access_token }).status, 200)
  local again = token(call, { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok.refresh_token })
  t.eq(again.status, 400)
  t.eq(again.json.error, "invalid_grant")
  -- reuse of a rotated refresh token revoked the authorization
  t.eq(call("GET", "/users/me", { token = ref.json.access_token }).status, 401)
  -- revoke
  local tok2 = login(call, info)
  local rv = call("POST", "/oauth/revoke", { token = false, body = web.query_string({ client_id = info.client_id, token = tok2.refresh_token }),
    headers = { ["content-type"] = "application/x-www-form-urlencoded" } })
  t.eq(rv.status, 200)
  t.eq(call("GET", "/users/me", { token = tok2.access_token }).status, 401)
  t.eq(token(call, { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok2.refresh_token }).json.error, "invalid_grant")
  -- fault: revoke_refresh on the next refresh
  local tok4 = login(call, info)
  call("POST", "/__sandbox/faults", { body = { kind = "revoke_refresh", match = { path = "^/oauth/token$" } } })
  local rr = token(call, { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok4.refresh_token })
  t.eq(rr.status, 400)
  t.eq(rr.json.error, "invalid_grant")
  -- control: revoke_refresh
  local tok3 = login(call, info)
  call("POST", "/__sandbox/revoke_refresh", { body = {} })
  t.eq(token(call, { grant_type = "refresh_token", client_id = info.client_id, refresh_token = tok3.refresh_token }).json.error, "invalid_grant")
end)

t.test("confidential clients registered through the control API need their secret", function()
  local call, info = H.new({ incidents = 0 })
  local reg = call("POST", "/__sandbox/clients", { body = { client_id = "conf", client_secret = "s3cret" } })
  t.eq(reg.json.client_id, "conf")
  local r = authorize(call, { client_id = "conf" }, { code_challenge = false, code_challenge_method = false })
  local p = parse_location(r.headers.location)
  t.ok(p.code, "PKCE optional for confidential clients")
  local bad = token(call, { grant_type = "authorization_code", client_id = "conf", client_secret = "wrong", code = p.code, redirect_uri = REDIRECT })
  t.eq(bad.status, 401)
  local good = token(call, { grant_type = "authorization_code", client_id = "conf", client_secret = "s3cret", code = p.code, redirect_uri = REDIRECT })
  t.eq(good.status, 200)
end)
