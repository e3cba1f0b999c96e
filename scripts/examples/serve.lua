-- serve.lua: a `vsrun serve` config for the two example pipelines (docs/serve.md).
--   PD_WEBHOOK_SECRET=... AM_TOKEN=... vsrun serve --config scripts/examples/serve.lua
return {
  port = 8080,
  routes = {
    -- PagerDuty: Integrations → Generic Webhooks (v3) → URL http://HOST:8080/hooks/pagerduty
    pagerduty = { script = "webhook_note.lua", pagerduty = env "PD_WEBHOOK_SECRET",
                  strict = true, timeout = 60, max_attempts = 5 },
    -- Alertmanager: receivers: - webhook_configs: - url: http://HOST:8080/hooks/alertmanager
    --   http_config: { authorization: { credentials: <AM_TOKEN> } }
    alertmanager = { script = "alertmanager_incident.lua", bearer = env "AM_TOKEN",
                     strict = true, timeout = 60, concurrency = 2 },
  },
}
