-- Bench far end (server module): every path answers the same ~2 KB JSON document.
local json = require "json"

return function()
  local items = {}
  for i = 1, 16 do
    items[i] = { id = string.format("P%06d", i), type = "incident_reference",
      summary = "Disk usage above 95% on host db-" .. i, status = "triggered", urgency = "high" }
  end
  local body = json.encode { incidents = items, limit = 16, offset = 0, more = false }
  local reply = { status = 200, headers = { ["Content-Type"] = "application/json" }, body = body }
  return function() return reply end
end
