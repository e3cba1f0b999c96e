-- Classic offset pagination and time windows shared by the list endpoints, and a walker
-- over creation-time-sorted indexes that stops as soon as the page (and `more`) is known.
local web = require "sandbox.web"
local times = require "sandbox.times"
local store_mod = require "sandbox.store"

local M = {}

M.MAX_LIMIT = 100
M.DEFAULT_LIMIT = 25
M.OFFSET_CAP = 10000

local function int_param(query, name)
  local v = web.one(query, name)
  if v == nil or v == "" then return nil end
  if not v:match("^%d+$") then return false end
  return tonumber(v)
end

-- page(query) -> { limit, offset, total } | nil, error response
function M.page(query)
  local limit = int_param(query, "limit")
  local offset = int_param(query, "offset")
  if limit == false or limit == 0 then return nil, web.invalid("limit must be a positive integer") end
  -- PagerDuty documents a maximum of 100 but not what happens above it: refuse rather than
  -- clamp, so a script that asks for more learns it in tests (docs/sandbox.md)
  if limit and limit > M.MAX_LIMIT then return nil, web.invalid("limit must be at most " .. M.MAX_LIMIT) end
  if offset == false then return nil, web.invalid("offset must be a non-negative integer") end
  limit = limit or M.DEFAULT_LIMIT
  offset = offset or 0
  if offset + limit > M.OFFSET_CAP then
    return nil, web.invalid("Offset + limit must be less than or equal to 10000; narrow the query (for example with since/until) to reach older records")
  end
  local total = web.bool(query, "total")
  if total == "invalid" then return nil, web.invalid("total must be true or false") end
  return { limit = limit, offset = offset, total = total == true }
end

-- a since/until value: with an explicit offset (Z, +hh:mm) as written; without one, a local
-- time in `zone` (the time_zone parameter; UTC, the sandbox account's zone, by default)
local function parse_in_zone(s, zone)
  local t = times.parse(s)
  if not t or not zone then return t end
  local clock = s:sub(11)  -- what follows YYYY-MM-DD
  if clock:match("Z$") or clock:match("UTC$") or clock:match("[+-]%d%d:?%d%d$") then return t end
  -- local wall time -> UTC: the zone's offset at that instant (probed twice across a change)
  local off = times.offset_at(zone, t - times.offset_at(zone, t))
  return t - off
end

-- window(app, query, { default = bool, max_months = n|nil }) -> since, until (nil = open)
-- | nil, nil, error. The default window is the month before now (or before `until`).
function M.window(app, query, opts)
  if web.one(query, "date_range") == "all" then return nil, nil end
  local dr = web.one(query, "date_range")
  if dr ~= nil and dr ~= "" then return nil, nil, web.invalid("date_range must be 'all'") end
  local zone, zerr = M.zone(query)
  if zone == nil then return nil, nil, zerr end
  local s, u = web.one(query, "since"), web.one(query, "until")
  local since, till
  if s and s ~= "" then
    since = parse_in_zone(s, zone)
    if not since then return nil, nil, web.error(400, 2004, "Invalid since/until", { "since is not a valid ISO 8601 date: " .. s }) end
  end
  if u and u ~= "" then
    till = parse_in_zone(u, zone)
    if not till then return nil, nil, web.error(400, 2004, "Invalid since/until", { "until is not a valid ISO 8601 date: " .. u }) end
  end
  if not since and not till and not opts.default then return nil, nil end
  -- an open-ended window includes what was created this very second (until is exclusive)
  till = till or (app.now() + 1)
  since = since or times.add_months(till, -1)
  if since > till then
    return nil, nil, web.error(400, 2004, "Invalid since/until", { "since must be before until" })
  end
  if opts.max_months and times.add_months(till, -opts.max_months) > since then
    return nil, nil, web.error(400, 2005, "Invalid Query Date Range",
      { "The date range between since and until cannot exceed " .. opts.max_months .. " months" })
  end
  return since, till
end

-- Walks `sources` (arrays sorted by created_at) restricted to [since, until), in created
-- order (desc = newest first), merging several sources; calls visit(item) until it
-- returns false.
function M.walk(sources, since, till, desc, visit)
  local slices = {}
  for _, arr in ipairs(sources) do
    local lo = since and store_mod.lower_bound(arr, since) or 1
    local hi = till and store_mod.lower_bound(arr, till) - 1 or #arr
    if lo <= hi then slices[#slices + 1] = { arr = arr, lo = lo, hi = hi } end
  end
  if #slices == 1 then
    local s = slices[1]
    local arr = s.arr
    if desc then
      for i = s.hi, s.lo, -1 do if visit(arr[i]) == false then return end end
    else
      for i = s.lo, s.hi do if visit(arr[i]) == false then return end end
    end
    return
  end
  -- k-way merge (k is small: a few services)
  local before = store_mod.inc_before
  local pos = {}
  for k, s in ipairs(slices) do pos[k] = desc and s.hi or s.lo end
  while true do
    local best, bi
    for k, s in ipairs(slices) do
      local p = pos[k]
      if p >= s.lo and p <= s.hi then
        local item = s.arr[p]
        if not best or (desc and before(best, item)) or (not desc and before(item, best)) then best, bi = item, k end
      end
    end
    if not best then return end
    pos[bi] = pos[bi] + (desc and -1 or 1)
    if visit(best) == false then return end
  end
end

-- Runs a paginated listing. opts = { sources, since, till, desc, match = fn|nil,
-- page = {limit, offset, total}, sort = fn|nil (collect everything then sort), count_fast }
-- Returns the page's items, more, total (nil unless asked).
function M.run(opts)
  local page = opts.page
  local want = page.offset + page.limit
  local items, n = {}, 0
  local match = opts.match
  if opts.sort then
    local all = {}
    M.walk(opts.sources, opts.since, opts.till, false, function(x)
      if not match or match(x) then all[#all + 1] = x end
    end)
    table.sort(all, opts.sort)
    for i = page.offset + 1, math.min(want, #all) do items[#items + 1] = all[i] end
    return items, #all > want, page.total and #all or nil
  end
  if page.total and not match and #opts.sources == 1 then
    -- the count is just the size of the window's slice
    local arr = opts.sources[1]
    local lo = opts.since and store_mod.lower_bound(arr, opts.since) or 1
    local hi = opts.till and store_mod.lower_bound(arr, opts.till) - 1 or #arr
    local total = math.max(0, hi - lo + 1)
    for i = page.offset + 1, math.min(want, total) do
      items[#items + 1] = opts.desc and arr[hi - i + 1] or arr[lo + i - 1]
    end
    return items, total > want, total
  end
  local more = false
  M.walk(opts.sources, opts.since, opts.till, opts.desc, function(x)
    if match and not match(x) then return true end
    n = n + 1
    if n > page.offset and n <= want then items[#items + 1] = x end
    if n > want then
      more = true
      if not page.total then return false end
    end
    return true
  end)
  return items, more, page.total and n or nil
end

-- include[] values as a set | nil, error: an include the operation does not offer is
-- refused, not ignored (PagerDuty's enum lists what each operation accepts)
function M.includes(query, allowed)
  local set = {}
  for _, v in ipairs(web.list(query, "include") or {}) do
    if not allowed[v] then return nil, web.invalid("include[] has an invalid value: " .. v) end
    set[v] = true
  end
  return set
end

-- the time_zone query parameter: zone | false (UTC) | nil, error response
function M.zone(query)
  local name = web.one(query, "time_zone")
  if name == nil or name == "" then return false end
  local z = times.zone(name)
  if z == nil then return nil, web.invalid("time_zone is not a valid time zone: " .. name) end
  return z
end

return M
