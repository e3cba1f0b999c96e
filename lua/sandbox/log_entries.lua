-- REST handlers: GET /log_entries, GET /log_entries/{id}, GET /incidents/{id}/log_entries.
local json = require "json"
local web = require "sandbox.web"
local listing = require "sandbox.listing"
local render = require "sandbox.render"
local lifecycle = require "sandbox.lifecycle"

local M = {}

local INCLUDES = { incidents = true, services = true, channels = true, teams = true }
-- what is_overview=true keeps: the changes that matter, not notifications or notes
local OVERVIEW = { trigger_log_entry = true, resolve_log_entry = true, assign_log_entry = true,
  escalate_log_entry = true, unacknowledge_log_entry = true, urgency_change_log_entry = true,
  [lifecycle.ACK_TYPE] = true }

local function respond(app, req, q, page, entries, more, total, zone)
  local include, ierr = listing.includes(q, INCLUDES)
  if not include then return ierr end
  local ctx = { app = app, base = app:base_url(req), zone = zone }
  local out = render.arr()
  for i, le in ipairs(entries) do out[i] = render.log_entry(ctx, le, include) end
  return web.json(200, { log_entries = out, limit = page.limit, offset = page.offset, more = more,
                         total = total == nil and json.null or total })
end

local function common(q)
  local page, err = listing.page(q)
  if not page then return nil, err end
  local zone, zerr = listing.zone(q)
  if zone == nil then return nil, zerr end
  local overview = web.bool(q, "is_overview")
  if overview == "invalid" then return nil, web.invalid("is_overview must be true or false") end
  return page, zone, overview == true
end

-- the account's log: default window the past month (like incidents), oldest first
function M.list(app, req)
  local q = req.query or {}
  local page, zone, overview = common(q)
  if not page then return zone end
  local since, till, werr = listing.window(app, q, { default = true, max_months = 6 })
  if werr then return werr end
  local team_ids = web.list(q, "team_ids")
  local tm
  if team_ids and #team_ids > 0 then tm = {} for _, t in ipairs(team_ids) do tm[t] = true end end
  local match
  if overview or tm then
    match = function(le)
      if overview and not OVERVIEW[le.type] then return false end
      if tm then
        for _, t in ipairs(le.team_ids or {}) do if tm[t] then return true end end
        return false
      end
      return true
    end
  end
  local items, more, total = listing.run { sources = { app.store.data.log_entries }, since = since, till = till,
    match = match, page = page }
  return respond(app, req, q, page, items, more, total, zone)
end

-- one incident's log: every entry unless since/until narrow it
function M.list_for_incident(app, req, id)
  local inc = app.store.incident[id]  -- by ID only: getIncident alone documents numbers
  if not inc then return web.error(404, 2100, "Not Found", { "Incident not found" }) end
  local q = req.query or {}
  local page, zone, overview = common(q)
  if not page then return zone end
  local since, till, werr = listing.window(app, q, { default = false })
  if werr then return werr end
  local entries = {}
  for _, lid in ipairs(inc.log_ids) do entries[#entries + 1] = app.store.log_entry[lid] end
  local match
  if overview then match = function(le) return OVERVIEW[le.type] end end
  local items, more, total = listing.run { sources = { entries }, since = since, till = till, match = match, page = page }
  return respond(app, req, q, page, items, more, total, zone)
end

function M.get(app, req, id)
  local le = app.store.log_entry[id]
  if not le then return web.error(404, 2100, "Not Found", { "Log entry not found" }) end
  local q = req.query or {}
  local zone, zerr = listing.zone(q)
  if zone == nil then return zerr end
  local include, ierr = listing.includes(q, INCLUDES)
  if not include then return ierr end
  local ctx = { app = app, base = app:base_url(req), zone = zone }
  return web.json(200, { log_entry = render.log_entry(ctx, le, include) })
end

return M
