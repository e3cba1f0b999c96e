-- ensure_incident: open an incident for a key unless an open one already holds it, so a
-- pipeline that runs again (a retried alert, a re-run job) creates nothing new.
--   local ensure = require "ensure_incident"
--   local inc, created = ensure(pd, { title = ..., service = "PSVC001", incident_key = "disk/db1" })
-- PagerDuty refuses a second open incident with the same key on a service (a `conflict`
-- error); this helper turns that into "here is the existing one".
local errors_kind = function(err) return type(err) == "table" and err.kind or nil end

local function service_id(ref)
  return type(ref) == "table" and ref.id or ref
end

local function find_open(pd, key, service)
  for inc in pd.list_incidents { incident_key = key, statuses = { "triggered", "acknowledged" }, date_range = "all" } do
    if inc.incident_key == key and (inc.service and inc.service.id) == service_id(service) then return inc end
  end
end

---@param pd table the pagerduty module
---@param args table create_incident arguments; incident_key (string) is required
---@return table incident, boolean created
return function(pd, args)
  assert(type(args) == "table" and type(args.incident_key) == "string" and args.incident_key ~= "",
    "ensure_incident: args.incident_key (a non-empty string) is required")
  local existing = find_open(pd, args.incident_key, args.service)
  if existing then return existing, false end
  local ok, result = pcall(pd.create_incident, args)
  if ok then return result, true end
  if errors_kind(result) == "conflict" then
    existing = find_open(pd, args.incident_key, args.service)
    if existing then return existing, false end
  end
  error(result, 0)
end
