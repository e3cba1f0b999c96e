-- The sandbox's data and its indexes. Records are plain tables that refer to each other by
-- id (so the whole state serializes as JSON); indexes are rebuilt from them.
--
-- Indexes kept sorted by creation time so a listing walks only the slice it needs:
--   incidents         every incident, by (created_at, number)
--   by_service[id]    incidents of one service
--   open              triggered + acknowledged incidents
--   by_key[key]       incidents carrying an incident_key
--   log               every log entry, by (created_at, seq)
local ids = require "sandbox.ids"

local M = {}
M.__index = M

function M.new()
  local s = setmetatable({}, M)
  s:clear()
  return s
end

function M:clear()
  self.data = {
    teams = {}, users = {}, escalation_policies = {}, services = {}, priorities = {},
    incidents = {}, log_entries = {},
    counters = { incident = 0, log_entry = 0, note = 0, object = 0 },
  }
  self:reindex()
end

local SHORT_HALF = 1 << 29   -- short IDs are 6 symbols of 5 bits

function M:next_id(kind)
  local c = self.data.counters
  c[kind] = c[kind] + 1
  local n = c[kind]
  if kind == "incident" then return ids.make("Q", n, 13, 11), n end
  if kind == "log_entry" then return ids.make("R", n, 13, 23), n end
  -- notes and the other objects share one bijection over 30 bits, notes in the upper half
  -- and everything else in the lower, so a note ID never equals a user's or a service's
  if kind == "note" then return ids.make("P", n + SHORT_HALF, 6, 0), n end
  return ids.make("P", n, 6, 0), n
end

local function inc_before(a, b)
  if a.created_at ~= b.created_at then return a.created_at < b.created_at end
  return a.number < b.number
end
M.inc_before = inc_before

local function le_before(a, b)
  if a.created_at ~= b.created_at then return a.created_at < b.created_at end
  return a.seq < b.seq
end

-- inserts item keeping arr sorted by `before`; appending is the common case
local function insert_sorted(arr, item, before)
  local n = #arr
  if n == 0 or not before(item, arr[n]) then arr[n + 1] = item return end
  local lo, hi = 1, n
  while lo < hi do
    local mid = (lo + hi) // 2
    if before(item, arr[mid]) then hi = mid else lo = mid + 1 end
  end
  table.insert(arr, lo, item)
end

local function remove_sorted(arr, item, before)
  local lo, hi = 1, #arr
  while lo < hi do
    local mid = (lo + hi) // 2
    if before(arr[mid], item) then lo = mid + 1 else hi = mid end
  end
  for i = lo, #arr do
    if arr[i] == item then table.remove(arr, i) return true end
    if before(item, arr[i]) then break end
  end
  return false
end

-- first index i with arr[i].created_at >= t (or #arr + 1)
function M.lower_bound(arr, t)
  local lo, hi = 1, #arr + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if arr[mid].created_at < t then lo = mid + 1 else hi = mid end
  end
  return lo
end

local function by_id(list)
  local t = {}
  for _, o in ipairs(list) do t[o.id] = o end
  return t
end

-- Rebuilds every index from self.data (after seeding or loading a state file).
function M:reindex()
  local d = self.data
  self.teams = by_id(d.teams)
  self.users = by_id(d.users)
  self.users_by_email = {}
  for _, u in ipairs(d.users) do self.users_by_email[u.email:lower()] = u end
  self.escalation_policies = by_id(d.escalation_policies)
  self.services = by_id(d.services)
  self.priorities = by_id(d.priorities)
  self.incident = {}
  self.incident_by_number = {}
  self.by_service = {}
  for _, svc in ipairs(d.services) do self.by_service[svc.id] = {} end
  self.open = {}
  self.by_key = {}
  self.log_entry = {}
  table.sort(d.incidents, inc_before)
  for _, inc in ipairs(d.incidents) do self:index_incident(inc) end
  table.sort(d.log_entries, le_before)
  for _, le in ipairs(d.log_entries) do self.log_entry[le.id] = le end
end

function M:index_incident(inc)
  self.incident[inc.id] = inc
  self.incident_by_number[inc.number] = inc
  local list = self.by_service[inc.service_id]
  if not list then list = {} self.by_service[inc.service_id] = list end
  list[#list + 1] = inc
  if inc.status ~= "resolved" then self.open[#self.open + 1] = inc end
  if inc.incident_key then
    local k = self.by_key[inc.incident_key]
    if not k then k = {} self.by_key[inc.incident_key] = k end
    k[#k + 1] = inc
  end
end

-- a new incident (created now, so usually appended)
function M:add_incident(inc)
  insert_sorted(self.data.incidents, inc, inc_before)
  self.incident[inc.id] = inc
  self.incident_by_number[inc.number] = inc
  local list = self.by_service[inc.service_id]
  if not list then list = {} self.by_service[inc.service_id] = list end
  insert_sorted(list, inc, inc_before)
  if inc.status ~= "resolved" then insert_sorted(self.open, inc, inc_before) end
  if inc.incident_key then
    local k = self.by_key[inc.incident_key]
    if not k then k = {} self.by_key[inc.incident_key] = k end
    insert_sorted(k, inc, inc_before)
  end
end

-- keeps the open index right when an incident's status changes
function M:status_changed(inc, old)
  local was_open, is_open = old ~= "resolved", inc.status ~= "resolved"
  if was_open and not is_open then remove_sorted(self.open, inc, inc_before) end
  if is_open and not was_open then insert_sorted(self.open, inc, inc_before) end
end

function M:service_changed(inc, old_service_id)
  remove_sorted(self.by_service[old_service_id], inc, inc_before)
  local list = self.by_service[inc.service_id]
  if not list then list = {} self.by_service[inc.service_id] = list end
  insert_sorted(list, inc, inc_before)
end

function M:add_log_entry(le)
  insert_sorted(self.data.log_entries, le, le_before)
  self.log_entry[le.id] = le
end

-- an open incident on `service_id` holding `key`, if any (the de-duplication rule)
function M:open_with_key(service_id, key)
  local list = self.by_key[key]
  if not list then return nil end
  for i = #list, 1, -1 do
    local inc = list[i]
    if inc.service_id == service_id and inc.status ~= "resolved" then return inc end
  end
  return nil
end

function M:find_incident(id)
  local inc = self.incident[id]
  if inc then return inc end
  if type(id) == "string" and id:match("^%d+$") then return self.incident_by_number[tonumber(id)] end
  return nil
end

function M:priority_by_name(name)
  -- "the highest-ranked priority with that name" (docs/pagerduty-api.md §2.4): list order is rank
  for _, p in ipairs(self.data.priorities) do
    if p.name == name then return p end
  end
  return nil
end

-- A deep copy of a value, metatables kept: the snapshot that `vsrun test` restores before
-- each test. The state is a tree (it is saved as JSON), so no table is shared or cyclic.
function M.copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in next, value do
    if type(v) == "table" then v = M.copy(v) end
    out[k] = v
  end
  return setmetatable(out, getmetatable(value))
end

-- snapshot() -> a copy of the data; restore(snap) puts a fresh copy of it back and reindexes
function M:snapshot() return M.copy(self.data) end
function M:restore(snap)
  self.data = M.copy(snap)
  self:reindex()
end

return M
