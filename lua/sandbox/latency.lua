-- Latency: every API answer (not the control API's) waits cfg.latency milliseconds, give or
-- take up to cfg.jitter, spread evenly. The wait is the server's `delay` (as the latency
-- fault's): it happens outside the handler, so requests in flight together wait together,
-- as they do against PagerDuty. Set by `vsrun sandbox --latency MS[:JITTER]` or
-- POST /__sandbox/config {latency, jitter}.
local M = {}

M.MAX = 600000   -- ms

-- check(latency, jitter) -> nil | message (both whole milliseconds, jitter <= latency)
function M.check(latency, jitter)
  for name, v in pairs { latency = latency, jitter = jitter } do
    if math.type(v) ~= "integer" or v < 0 or v > M.MAX then
      return name .. " must be whole milliseconds from 0 to " .. M.MAX
    end
  end
  if jitter > latency then return "jitter must be at most latency" end
  return nil
end

function M.apply(app, resp)
  local ms = math.tointeger(app.cfg.latency) or 0
  if ms <= 0 then return end
  local jitter = math.tointeger(app.cfg.jitter) or 0
  if jitter > 0 then ms = ms + math.random(-jitter, jitter) end
  resp.delay = (resp.delay or 0) + math.max(0, ms) / 1000
end

return M
