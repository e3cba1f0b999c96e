---@meta pagerduty
-- LuaLS annotations for the `pagerduty` module (not embedded; for editors only).

---@alias pagerduty.Ref string|{ id: string }
---@alias pagerduty.Time string|integer  ISO 8601 text or Unix seconds

---@class pagerduty.Incident
---@field id string
---@field type string
---@field incident_number integer
---@field title string
---@field status "triggered"|"acknowledged"|"resolved"
---@field urgency "high"|"low"
---@field incident_key string
---@field created_at string
---@field updated_at string
---@field service table
---@field assignments table[]
---@field dry_run? true  a --dry-run placeholder (id DRYRUN<n>)
---@field [string] any

---@class pagerduty.Note
---@field id string
---@field content string
---@field created_at string
---@field user table
---@field channel table
---@field dry_run? true  a --dry-run placeholder

---@class pagerduty.LogEntry
---@field id string
---@field type string  e.g. "trigger_log_entry", "acknowledge_log_entry" or "acknowledgement_log_entry"
---@field created_at string
---@field agent table
---@field incident table
---@field [string] any

---@class pagerduty.User
---@field id string
---@field name string
---@field email string
---@field role string
---@field [string] any

---@class pagerduty.Iterator<T>: { collect: fun(self, max: integer?): T[], close: fun(self) }
---@overload fun(): T?

---@class pagerduty.ListIncidentsOptions
---@field statuses? ("triggered"|"acknowledged"|"resolved")[]
---@field urgencies? ("high"|"low")[]
---@field service_ids? string[]
---@field team_ids? string[]
---@field user_ids? string[]
---@field incident_key? string
---@field since? pagerduty.Time
---@field until? pagerduty.Time
---@field date_range? "all"
---@field sort_by? string|string[]  up to two of incident_number, created_at, resolved_at, urgency, each with :asc/:desc
---@field time_zone? string
---@field include? string[]
---@field limit? integer  the most records the iterator yields
---@field concurrency? integer  pages fetched at once, 1..64 (default 8); records still come in order

---@class pagerduty.CreateIncident
---@field title string
---@field service pagerduty.Ref
---@field urgency? "high"|"low"
---@field body? string
---@field incident_key? string  generated when absent, so retries never make a second incident
---@field priority? pagerduty.Ref
---@field escalation_policy? pagerduty.Ref
---@field assignee? pagerduty.Ref
---@field incident_type? string|{ name: string }
---@field conference_bridge? { conference_number: string?, conference_url: string? }

---@class pagerduty.UpdateIncident
---@field status? "triggered"|"acknowledged"|"resolved"
---@field resolution? string
---@field title? string
---@field urgency? "high"|"low"
---@field priority? pagerduty.Ref|{ name: string }
---@field escalation_level? integer
---@field assignee? pagerduty.Ref
---@field assignees? pagerduty.Ref[]
---@field escalation_policy? pagerduty.Ref
---@field service? pagerduty.Ref
---@field conference_bridge? { conference_number: string?, conference_url: string? }
---@field incident_type? string|{ name: string }

---@class pagerduty.ListLogEntriesOptions
---@field incident_id? string
---@field since? pagerduty.Time
---@field until? pagerduty.Time
---@field is_overview? boolean
---@field include? ("incidents"|"services"|"channels"|"teams")[]
---@field team_ids? string[]
---@field time_zone? string
---@field limit? integer
---@field concurrency? integer  pages fetched at once, 1..64 (default 8)

---@class pagerduty.Connection
---@field name string
---@field region "us"|"eu"
---@field api_url string
---@field kind "sandbox"|"api_key"|"oauth"

---@class pagerduty.Client
local Client = {}

---@param id string|integer  incident ID or number
---@param opts? { include: string[]? }
---@return pagerduty.Incident
function Client.get_incident(id, opts) end

---@param opts? pagerduty.ListIncidentsOptions
---@return pagerduty.Iterator<pagerduty.Incident>
function Client.list_incidents(opts) end

---@param args pagerduty.CreateIncident
---@return pagerduty.Incident
function Client.create_incident(args) end

---@param id string
---@param fields pagerduty.UpdateIncident
---@return pagerduty.Incident
function Client.update_incident(id, fields) end

---@param id string
---@return pagerduty.Incident
function Client.acknowledge(id) end

---@param id string
---@param resolution? string
---@return pagerduty.Incident
function Client.resolve(id, resolution) end

---@param id string
---@param content string
---@return pagerduty.Note
function Client.create_incident_note(id, content) end

---@param id string
---@return pagerduty.Iterator<pagerduty.Note>
function Client.list_incident_notes(id) end

---@param id string
---@param opts? { include: string[]?, time_zone: string? }
---@return pagerduty.LogEntry
function Client.get_log_entry(id, opts) end

---@param opts? pagerduty.ListLogEntriesOptions
---@return pagerduty.Iterator<pagerduty.LogEntry>
function Client.list_log_entries(opts) end

---@param id string  a user ID or "me"
---@param opts? { include: ("contact_methods"|"notification_rules"|"teams"|"subdomains"|"calendar_urls")[]? }
---@return pagerduty.User
function Client.get_user(id, opts) end

---@class pagerduty: pagerduty.Client
local pagerduty = {}

---@param name string
---@return pagerduty.Client
function pagerduty.connect(name) end

---@return pagerduty.Connection
function pagerduty.connection() end

--- "acknowledge" for both acknowledge_log_entry and acknowledgement_log_entry; else the type without _log_entry.
---@param entry pagerduty.LogEntry|string
---@return string?
function pagerduty.log_entry_kind(entry) end

---@param opts { max_attempts: integer?, retry_budget: integer?, backoff_base: number?, backoff_cap: number?, backoff_429: number?, timeout: number?, max_body: integer? }
function pagerduty.configure(opts) end

return pagerduty
