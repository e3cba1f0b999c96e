#!/usr/bin/env bash
# pagerduty connections from the environment: regions, base URLs, the API key form, and the
# token never appearing in any output.
. "$(dirname "$0")/lib.sh"

conn='local c = require("pagerduty").connection() return { name = c.name, kind = c.kind, region = c.region, url = c.api_url, shown = tostring(c), token = c.token }'

PAGERDUTY_TOKEN=sekrit-key-1 run -e "$conn"
expect "pd region default us" 0 '"url": "https://api.pagerduty.com"'
expect "pd api key connection kind" 0 '"kind": "api_key"'
if grep -q sekrit <<<"$OUT$ERR"; then echo "FAIL pd token never printed"; else echo "ok pd token never printed"; fi

PAGERDUTY_TOKEN=sekrit-key-1 PAGERDUTY_REGION=eu run -e "$conn"
expect "pd region eu" 0 '"url": "https://api.eu.pagerduty.com"'
expect "pd region eu shown" 0 "\"shown\": \"pagerduty connection 'api-key' \\(eu\\)\""

PAGERDUTY_TOKEN=sekrit-key-1 PAGERDUTY_REGION=us run -e "$conn"
expect "pd region us explicit" 0 '"region": "us"'

PAGERDUTY_TOKEN=sekrit-key-1 PAGERDUTY_REGION=mars run -e "$conn"
# a configuration error: kind config, exit 2, the fix in the message (not "reconnect")
expect "pd bad region is a config error (exit 2)" 2 '' "config: PAGERDUTY_REGION must be 'us' or 'eu'"
if grep -q "auth reconnect" <<<"$ERR"; then echo "FAIL pd bad region does not say reconnect"; else echo "ok pd bad region does not say reconnect"; fi

PAGERDUTY_TOKEN=sekrit-key-1 PAGERDUTY_API_URL=http://pd.example.com run -e "$conn"
expect "pd plain http base url is a config error (exit 2)" 2 '' "config: PAGERDUTY_API_URL must use https://"
if grep -q sekrit <<<"$OUT$ERR"; then echo "FAIL pd token not in errors"; else echo "ok pd token not in errors"; fi

PAGERDUTY_TOKEN=sekrit-key-1 PAGERDUTY_API_URL=https://proxy.example.com/pd/ run -e "$conn"
expect "pd custom base url" 0 '"url": "https://proxy.example.com/pd"'

PAGERDUTY_TOKEN=sekrit-key-1 run -e 'return os.getenv("PAGERDUTY_TOKEN") or "unset"'
expect "pd token removed from the environment" 0 '"unset"'

run -e "$conn"
expect "pd no connection names the fix" 3 '' 'vsrun auth login'

# a refused path never leaves the host, whatever the origin
PAGERDUTY_TOKEN=sekrit-key-1 PAGERDUTY_API_URL=http://127.0.0.1:9 run -e '
local pd_core = require "vsrun.pd_core"
local c = require("pagerduty").connection()
local id, why = pd_core.request(c, { method = "GET", path = "/__sandbox/requests" })
return { id = id, why = why }'
expect "pd_core refuses the control API" 0 '"why": "GET /__sandbox/requests is not one of'
