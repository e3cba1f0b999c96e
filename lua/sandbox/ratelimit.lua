-- Per-credential rate limits over fixed one-minute windows, with PagerDuty's headers
-- (ratelimit-limit, -remaining, -reset; no Retry-After) and 429 code 2020. Create Incident
-- has its own lower limit; the headers then describe whichever limit is closer to running out.
-- The window is 60 s unless a load test shortens it (control API `config {rate_window}`).
local web = require "sandbox.web"

local M = {}

local function window(app, key, now)
  local w = app.rate[key]
  if not w or now >= w.start + (app.cfg.rate_window or 60) then
    w = { start = now, count = 0, creates = 0 }
    app.rate[key] = w
  end
  return w
end

-- check(app, cred, is_create) -> headers, nil | headers, 429 response
function M.check(app, cred, is_create)
  local now = app.clock()
  local w = window(app, cred.rate_key, now)
  local limit, create_limit = app.cfg.rate_limit, app.cfg.create_rate_limit
  local reset = math.max(1, math.ceil(w.start + (app.cfg.rate_window or 60) - now))
  local over = w.count >= limit or (is_create and w.creates >= create_limit)
  if not over then
    w.count = w.count + 1
    if is_create then w.creates = w.creates + 1 end
  end
  local lim, left = limit, limit - w.count
  if is_create and create_limit - w.creates < left then lim, left = create_limit, create_limit - w.creates end
  local headers = { ["ratelimit-limit"] = tostring(lim), ["ratelimit-remaining"] = tostring(math.max(0, left)),
                    ["ratelimit-reset"] = tostring(reset) }
  if over then
    local r = web.error(429, 2020, "Rate Limit Exceeded")
    for k, v in pairs(headers) do r.headers[k] = v end
    return headers, r
  end
  return headers, nil
end

return M
