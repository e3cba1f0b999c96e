-- Bench client: fetches every URL of the file `urls` (one per line), sequentially or with
-- vs.map at `concurrency`, and checks each answer.
local http = require "http"
local vs = require "vsrun"
local input = ...
local urls = {}
for line in io.lines(input.urls) do urls[#urls + 1] = line end
local concurrency = math.tointeger(tonumber(input.concurrency or "1"))
local function fetch(url)
  local r = http.get(url)
  if r.status ~= 200 or #r.body < 1000 then error("unexpected answer from " .. url) end
  return #r.body
end
local bytes = 0
if concurrency == 1 then
  for _, u in ipairs(urls) do bytes = bytes + fetch(u) end
else
  -- as many connections as curl --parallel-max uses (the default per-host cap is 8)
  http.configure { max_per_host = concurrency }
  for _, n in ipairs(vs.map(urls, fetch, { concurrency = concurrency })) do bytes = bytes + n end
end
io.stderr:write(#urls, " responses, ", bytes, " bytes\n")
