-- PagerDuty-style OAuth 2.0 server (docs/pagerduty-api.md §3): /oauth/authorize (auto-approves as a sandbox
-- user), /oauth/token (authorization_code with PKCE S256, refresh_token with rotation),
-- /oauth/revoke. Errors follow RFC 6749 §4.1.2.1 and §5.2. Codes live 30 s and are single
-- use; the old refresh token stops working after a refresh, and presenting a used one
-- revokes the whole authorization (refresh-token reuse detection, RFC 6819 §5.2.2.3).
local json = require "json"
local digest = require "vsrun.digest"
local web = require "sandbox.web"
local auth = require "sandbox.auth"

local M = {}

M.CODE_TTL = 30
M.PUBLIC_CLIENT_ID = "vsrun-sandbox-public-client"

function M.init(app)
  app.public_client_id = M.PUBLIC_CLIENT_ID
  app.state.clients[M.PUBLIC_CLIENT_ID] = { public = true, name = "vsrun (public client)" }
  app.codes = {}
end

-- registers a client; confidential when a secret is given
function M.register(app, client_id, secret)
  client_id = client_id or ("sbx-client-" .. app.random_hex(8))
  app.state.clients[client_id] = { public = secret == nil, secret_hash = secret and auth.hash(secret) }
  return client_id
end

local function page(status, title, text)
  return { status = status, headers = { ["content-type"] = "text/html; charset=utf-8" },
           body = "<!doctype html><title>" .. title .. "</title><h1>" .. title .. "</h1><p>" .. text .. "</p>\n" }
end

-- loopback redirect URIs only (RFC 8252 §7.3): http://127.0.0.1:PORT/..., [::1] or localhost
local function valid_redirect(uri)
  if type(uri) ~= "string" then return false end
  local host, port = uri:match("^http://([%w%.%[%]:]-):(%d+)/[^#]*$")
  if not host then host = uri:match("^http://([%w%.%[%]:]-)/[^#]*$") end
  return host == "127.0.0.1" or host == "[::1]" or host == "localhost"
end

local function redirect(uri, params)
  local sep = uri:find("?", 1, true) and "&" or "?"
  return { status = 302, headers = { location = uri .. sep .. web.query_string(params),
                                     ["cache-control"] = "no-store" }, body = "" }
end

local function find_user(app, who)
  if not who or who == "" then return nil end
  return app.store.users[who] or app.store.users_by_email[who:lower()]
end

function M.authorize(app, req)
  local q = req.query or {}
  local p = function(n) return web.one(q, n) end
  local client_id, redirect_uri = p("client_id"), p("redirect_uri")
  local client = client_id and app.state.clients[client_id]
  -- without a known client and a valid redirect URI nothing may be redirected (RFC 6749 §4.1.2.1)
  if not client then return page(400, "Invalid client", "Unknown or missing client_id.") end
  if not valid_redirect(redirect_uri) then
    return page(400, "Invalid redirect URI", "redirect_uri must be a loopback http URI such as http://127.0.0.1:PORT/callback.")
  end
  local state = p("state")
  local function fail(err, desc)
    local params = { error = err, error_description = desc }
    if state then params.state = state end
    return redirect(redirect_uri, params)
  end
  if p("response_type") ~= "code" then return fail("unsupported_response_type", "response_type must be code") end
  local scope = p("scope")
  if not scope or scope == "" then return fail("invalid_request", "scope is required") end
  local challenge, method = p("code_challenge"), p("code_challenge_method")
  if challenge or client.public then
    if not challenge or challenge == "" then return fail("invalid_request", "code_challenge is required (PKCE)") end
    if method ~= "S256" then return fail("invalid_request", "code_challenge_method must be S256") end
    if not challenge:match("^[%w%-_]+$") or #challenge ~= 43 then
      return fail("invalid_request", "code_challenge must be a base64url SHA-256 digest")
    end
  end
  local next_ = app.oauth_next
  if next_.deny then
    next_.deny = next_.deny - 1
    if next_.deny <= 0 then next_.deny = nil end
    return fail("access_denied", "The resource owner or authorization server denied the request.")
  end
  local user = find_user(app, p("login_as")) or find_user(app, next_.login_as) or find_user(app, app.cfg.login_as)
    or app.store.data.users[1]
  -- Classic scopes are `read` and `write`; Scoped names like incidents.read are kept too.
  -- Unknown scopes are dropped without an error, leaving only openid (docs/pagerduty-api.md §3).
  local kept = { "openid" }
  for s in scope:gmatch("%S+") do
    if s == "read" or s == "write" or s:match("^[%a_]+%.[%a_]+$") then kept[#kept + 1] = s end
  end
  local code = app.random_hex(20)
  app.codes[auth.hash(code)] = { client_id = client_id, redirect_uri = redirect_uri, challenge = challenge,
    user_id = user.id, scope = table.concat(kept, " "), expires_at = app.clock() + M.CODE_TTL }
  local params = { code = code }
  if state then params.state = state end
  return redirect(redirect_uri, params)
end

local function token_error(status, err, desc)
  return web.json(status, { error = err, error_description = desc },
    { ["cache-control"] = "no-store", pragma = "no-cache" })
end

-- an unsigned-looking but HS256-signed JWT with PagerDuty's id_token claims; the key is
-- private to this sandbox instance (PagerDuty signs with RS256; no JWKS is served here)
local function id_token(app, req, rec, client_id)
  local now = app.now()
  local header = digest.b64url(json.encode({ alg = "HS256", typ = "JWT" }))
  local base = app:base_url(req)
  local claims = { iss = base .. "/global/oauth/anonymous", aud = setmetatable({ base, client_id }, json.array_mt),
    sub = rec.user_id, user_id = rec.user_id, account_id = "PSANDBX", subdomain = "sandbox",
    region = "UnitedStates", exp = now + math.ceil(app.cfg.token_ttl), iat = now, nbf = now, auth_time = now,
    jti = app.random_hex(8), delegation_id = rec.delegation_id, purpose = "id", azp = client_id }
  local payload = digest.b64url(json.encode(claims))
  app.jwt_key = app.jwt_key or app.random_hex(32)
  local sig = digest.b64url(digest.hmac_sha256(app.jwt_key, header .. "." .. payload))
  return header .. "." .. payload .. "." .. sig
end

-- issues an access + refresh token pair for a delegation
local function issue(app, req, d, with_id_token)
  local access = "pdsbx+_0X" .. app.random_hex(24)
  local refresh = "pdsbx+_1X" .. app.random_hex(24)
  local now = app.clock()
  app.state.tokens[auth.hash(access)] = { user_id = d.user_id, scope = d.scope, client_id = d.client_id,
    delegation_id = d.delegation_id, expires_at = now + app.cfg.token_ttl, kind = "oauth" }
  app.state.refresh[auth.hash(refresh)] = { user_id = d.user_id, scope = d.scope, client_id = d.client_id,
    delegation_id = d.delegation_id, expires_at = now + app.cfg.refresh_ttl }
  local body = { access_token = access, refresh_token = refresh, token_type = "bearer", scope = d.scope,
                 expires_in = math.ceil(app.cfg.token_ttl) }
  if with_id_token then body.id_token = id_token(app, req, d, d.client_id) end
  app.dirty = true
  return web.json(200, body, { ["cache-control"] = "no-store", pragma = "no-cache" })
end

-- revokes every token of one authorization
local function revoke_delegation(app, delegation_id)
  for _, t in pairs(app.state.tokens) do if t.delegation_id == delegation_id then t.revoked = true end end
  for _, r in pairs(app.state.refresh) do if r.delegation_id == delegation_id then r.revoked = true end end
  app.dirty = true
end
M.revoke_delegation = revoke_delegation

-- client authentication: client_id (+ client_secret for confidential clients), in the
-- form or as HTTP Basic
local function client_auth(app, req, form)
  local id, secret = form.client_id, form.client_secret
  local basic = web.header(req, "authorization")
  if basic and basic:match("^Basic ") then
    local ok, decoded = pcall(function()
      local b64 = basic:match("^Basic%s+(%S+)")
      local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
      local bits = b64:gsub("=", ""):gsub(".", function(c)
        local n = chars:find(c, 1, true) - 1
        local s = ""
        for i = 5, 0, -1 do s = s .. ((n >> i) & 1) end
        return s
      end)
      return (bits:gsub("%d%d%d%d%d%d%d%d", function(b) return string.char(tonumber(b, 2)) end))
    end)
    if ok and decoded then
      local u, s = decoded:match("^([^:]*):(.*)$")
      if u then id, secret = web.urldecode(u), web.urldecode(s) end
    end
  end
  local client = id and app.state.clients[id]
  if not client then return nil, token_error(401, "invalid_client", "Unknown client") end
  if not client.public then
    if not secret or not digest.equal(auth.hash(secret), client.secret_hash) then
      return nil, token_error(401, "invalid_client", "Client authentication failed")
    end
  end
  return id
end

function M.token(app, req)
  local ctype = (web.header(req, "content-type") or ""):lower()
  if not ctype:find("application/x-www-form-urlencoded", 1, true) then
    return token_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded")
  end
  local form = web.form(req.body)
  local grant = form.grant_type
  if not grant or grant == "" then return token_error(400, "invalid_request", "grant_type is required") end
  if grant ~= "authorization_code" and grant ~= "refresh_token" then
    return token_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
  end
  local client_id, cerr = client_auth(app, req, form)
  if not client_id then return cerr end
  local now = app.clock()
  if grant == "authorization_code" then
    if not form.code or form.code == "" then return token_error(400, "invalid_request", "code is required") end
    local key = auth.hash(form.code)
    local c = app.codes[key]
    if not c then return token_error(400, "invalid_grant", "The authorization code is invalid") end
    if c.used then
      -- a code presented twice: revoke what it issued (RFC 6749 §4.1.2)
      if c.delegation_id then revoke_delegation(app, c.delegation_id) end
      return token_error(400, "invalid_grant", "The authorization code was already used")
    end
    if c.expires_at <= now then
      app.codes[key] = nil
      return token_error(400, "invalid_grant", "The authorization code has expired")
    end
    if c.client_id ~= client_id then return token_error(400, "invalid_grant", "The code was issued to another client") end
    if form.redirect_uri ~= c.redirect_uri then return token_error(400, "invalid_grant", "redirect_uri does not match the authorization request") end
    if c.challenge then
      local v = form.code_verifier
      if not v or v == "" then return token_error(400, "invalid_request", "code_verifier is required") end
      if #v < 43 or #v > 128 or not v:match("^[%w%-%._~]+$") then
        return token_error(400, "invalid_grant", "code_verifier is malformed")
      end
      if not digest.equal(digest.b64url(digest.sha256(v)), c.challenge) then
        return token_error(400, "invalid_grant", "PKCE verification failed")
      end
    end
    c.used = true
    c.delegation_id = "D" .. app.random_hex(8)
    return issue(app, req, { user_id = c.user_id, scope = c.scope, client_id = client_id,
      delegation_id = c.delegation_id }, true)
  end
  -- refresh_token
  if not form.refresh_token or form.refresh_token == "" then
    return token_error(400, "invalid_request", "refresh_token is required")
  end
  local key = auth.hash(form.refresh_token)
  local r = app.state.refresh[key]
  if not r then return token_error(400, "invalid_grant", "The refresh token is invalid") end
  if r.revoked then return token_error(400, "invalid_grant", "The refresh token was revoked") end
  if r.used then
    revoke_delegation(app, r.delegation_id)
    return token_error(400, "invalid_grant", "The refresh token was already used")
  end
  if r.expires_at <= now then return token_error(400, "invalid_grant", "The refresh token has expired") end
  if r.client_id ~= client_id then return token_error(400, "invalid_grant", "The refresh token was issued to another client") end
  r.used = true
  return issue(app, req, r, false)
end

-- RFC 7009: 200 whether or not the token was known; a refresh token takes its whole
-- authorization with it
function M.revoke(app, req)
  local form = web.form(req.body)
  local client_id, cerr = client_auth(app, req, form)
  if not client_id then return cerr end
  if form.token and form.token ~= "" then
    local key = auth.hash(form.token)
    local t, r = app.state.tokens[key], app.state.refresh[key]
    if r and r.client_id == client_id then revoke_delegation(app, r.delegation_id)
    elseif t and t.client_id == client_id then t.revoked = true app.dirty = true end
  else
    return token_error(400, "invalid_request", "token is required")
  end
  return web.json(200, {})
end

function M.handle(app, req, entry)
  local path, method = req.path, req.method
  if path == "/oauth/authorize" and method == "GET" then return M.authorize(app, req) end
  if path == "/oauth/token" and method == "POST" then return M.token(app, req) end
  if path == "/oauth/revoke" and method == "POST" then return M.revoke(app, req) end
  return web.error(404, 2100, "Not Found")
end

return M
