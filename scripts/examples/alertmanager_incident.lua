-- alertmanager_incident.lua: a `vsrun serve` pipeline for Prometheus Alertmanager webhooks.
-- Each firing alert becomes a PagerDuty incident on the service given by the alert's
-- `pagerduty_service` label (alerts without it are skipped); the alert's
-- fingerprint is the incident_key, so a repeated notification creates nothing new (an open
-- incident with that key makes create_incident raise `conflict`, which is taken as "done").
--
-- Input: the event vsrun serve passes (payload = Alertmanager's webhook body, version 4).
-- Served by scripts/examples/serve.lua; see docs/serve.md.
local pd = require "pagerduty"
local json = require "json"

local ev = ... or {}
local body = ev.payload or {}
if type(body.alerts) ~= "table" then error("not an Alertmanager webhook (no alerts)", 0) end

local created, existing = json.array(), json.array()
for _, alert in ipairs(body.alerts) do
  local labels = alert.labels or {}
  local service = labels.pagerduty_service
  if alert.status == "firing" and service then
    local annotations = alert.annotations or {}
    local key = "alertmanager-" .. (alert.fingerprint or labels.alertname or "unknown")
    local ok, inc = pcall(pd.create_incident, {
      title = annotations.summary or labels.alertname or "Alertmanager alert",
      service = service,
      urgency = labels.severity == "critical" and "high" or "low",
      incident_key = key,
    })
    if ok then created[#created + 1] = inc.id
    elseif type(inc) == "table" and inc.kind == "conflict" then existing[#existing + 1] = key
    else error(inc, 0) end
  end
end
return { created = created, already_open = existing }
