-- REST handlers: GET /users/{id}, GET /users/me.
local web = require "sandbox.web"
local listing = require "sandbox.listing"
local render = require "sandbox.render"

local M = {}

local INCLUDES = { contact_methods = true, notification_rules = true, teams = true, subdomains = true,
  calendar_urls = true }

local function respond(app, req, user)
  local q = req.query or {}
  local include, ierr = listing.includes(q, INCLUDES)
  if not include then return ierr end
  local ctx = { app = app, base = app:base_url(req), zone = false }
  return web.json(200, { user = render.user(ctx, user.id, include) })
end

function M.get(app, req, id)
  local user = app.store.users[id]
  if not user then return web.error(404, 2100, "Not Found", { "User not found" }) end
  return respond(app, req, user)
end

function M.me(app, req, cred)
  if not cred.user then
    -- the live API answers an account-level key with `error` as a plain string
    -- (docs/pagerduty-api.md §1, Errors)
    return web.json(400, { error = "Because this request was made using an account-level access token, "
      .. "we were unable to determine the user's identity. Please use a user-level token." })
  end
  return respond(app, req, cred.user)
end

return M
