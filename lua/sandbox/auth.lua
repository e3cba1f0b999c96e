-- Credentials the REST endpoints accept: OAuth access tokens issued by the sandbox's own
-- OAuth server (or preset by the host), and `Token token=` API keys it was configured with.
-- Tokens are kept only as SHA-256 hashes, so neither the request log nor a state file can
-- reveal one.
local digest = require "vsrun.digest"
local web = require "sandbox.web"

local M = {}

function M.hash(secret) return digest.hex(digest.sha256(secret)) end

-- a fresh random secret with a recognisable, clearly-sandbox prefix (like pdus+_0X...)
function M.new_secret(app, prefix)
  return prefix .. app.random_hex(24)
end

function M.scope_set(scope)
  local set = {}
  for s in (scope or ""):gmatch("%S+") do set[s] = true end
  return set
end

-- does a token with scope set `s` allow `need` ("incidents.read", "incidents.write", "users.read")?
local function allows(s, need)
  if s.write then return true end                                 -- Classic `write`: everything
  if s.read and need:match("%.read$") then return true end        -- Classic `read`: reads only
  if s[need] then return true end                                  -- Scoped OAuth
  if need == "incidents.read" and s["incidents.write"] then return true end
  return false
end
M.allows = allows

function M.add_token(app, token, rec)
  app.state.tokens[M.hash(token)] = rec
end

-- Returns cred = { kind = "oauth"|"api_key", user = user|nil, scopes = set, label, rate_key }
-- or nil, error response.
function M.authenticate(app, req)
  local h = web.header(req, "authorization")
  if not h or h == "" then
    return nil, web.error(401, 2006, "Authentication failed", { "No credentials were supplied" })
  end
  local now = app.clock()
  local bearer = h:match("^[Bb]earer%s+(%S+)%s*$")
  if bearer then
    local key = M.hash(bearer)
    local rec = app.state.tokens[key]
    if not rec or rec.revoked or (rec.expires_at and rec.expires_at <= now) then
      return nil, web.error(401, 2006, "Authentication failed",
        { rec and (rec.revoked and "The access token was revoked" or "The access token has expired") or "Unknown access token" })
    end
    local user = app.store.users[rec.user_id]
    if not user then return nil, web.error(401, 2006, "Authentication failed", { "The token's user no longer exists" }) end
    return { kind = rec.kind or "oauth", user = user, scopes = M.scope_set(rec.scope), token_key = key,
             label = (rec.kind or "oauth") .. ":" .. (rec.client_id or "preset") .. ":" .. user.id,
             rate_key = "user:" .. (rec.client_id or "preset") .. ":" .. user.id }
  end
  local apikey = h:match("^Token%s+token=(%S+)%s*$")
  if apikey then
    local key = M.hash(apikey)
    local rec = app.state.api_keys[key]
    if not rec then return nil, web.error(401, 2006, "Authentication failed", { "Unknown API key" }) end
    local user = rec.user_id and (app.store.users[rec.user_id] or app.store.users_by_email[rec.user_id:lower()])
    return { kind = "api_key", user = user, scopes = { write = true }, account_key = user == nil,
             label = "api_key:" .. rec.label, rate_key = "key:" .. key }
  end
  return nil, web.error(401, 2006, "Authentication failed", { "The Authorization header is malformed" })
end

-- the acting user of a write: the token's user, or for an account-level API key the user
-- named by the From header (docs/pagerduty-api.md §1, Headers)
function M.actor_user(app, cred, req)
  if cred.user then return cred.user end
  local from = web.header(req, "from")
  if not from or from == "" then
    return nil, web.error(400, 2001,
      "You must specify a user's email address in the \"From\" header to perform this action",
      { "You must specify a user's email address in the \"From\" header to perform this action" })
  end
  local u = app.store.users_by_email[from:lower()]
  if not u then
    return nil, web.error(400, 1008, "Requester User Not Found", { "The user in the From header (" .. from .. ") was not found" })
  end
  return u
end

-- Roles and the writes they may make (PagerDuty documents the roles, not this table; the
-- sandbox takes the strict reading): admin, owner, user (manager) do everything; a
-- limited_user (responder) only adds notes; observer and the read-only and restricted roles
-- write nothing. A refused write is 403 with code 1018 "Requester not authorized" for the
-- user a From header names, 2010 "Access Denied" for a token's own user.
local WRITES = {
  admin = { create = true, update = true, note = true },
  owner = { create = true, update = true, note = true },
  user = { create = true, update = true, note = true },
  limited_user = { note = true },
}
M.ROLE_WRITES = WRITES

function M.require_role(cred, user, what)
  local allowed = WRITES[user.role]
  if allowed and allowed[what] then return nil end
  local doing = ({ create = "create incidents", update = "update incidents", note = "add notes" })[what] or what
  local why = "A user with role " .. tostring(user.role) .. " cannot " .. doing
  if cred.user then return web.error(403, 2010, "Access Denied", { why }) end
  return web.error(403, 1018, "Requester not authorized", { why })
end

function M.require_scope(cred, need)
  if allows(cred.scopes, need) then return nil end
  return web.error(403, 2010, "Access Denied", { "The access token does not have the required scope: " .. need })
end

return M
