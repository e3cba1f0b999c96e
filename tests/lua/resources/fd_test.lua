-- File descriptors do not grow across 10,000 requests (pagerduty and http, successes and
-- errors: 404s, connection refused) against the in-process sandbox. The count is taken
-- from /proc/<vsrun pid>/fd: io.popen's shell is our child, so its $PPID is this process.
-- The count after may exceed the count before only by the connection pools' steady state.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local http = require "http"
local vs = require "vsrun"
local core = require "vsrun.core"

-- under valgrind (make memcheck) every request is ~50x slower: a tenth of them
local N = os.getenv("VSRUN_BUILD") == "memcheck" and 1000 or 10000
local TASKS = 8

local function control(method, what, body)
  local res = http.request { method = method, url = core.sandbox_url() .. "/__sandbox/" .. what, json = body }
  assert(res.status == 200, "control " .. what .. ": HTTP " .. res.status)
  return res:json()
end

local function open_fds()
  local p = assert(io.popen("ls /proc/$PPID/fd"))
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

control("POST", "seed", { incidents = 20, seed = 3 })
control("POST", "config", { rate_limit = 1000000 })
local ids = {}
for inc in pd.list_incidents { date_range = "all" } do ids[#ids + 1] = inc.id end
local refused = "http://127.0.0.1:1/"   -- nothing listens on port 1

-- request i of a task: mostly successes, with the error paths mixed in
local function one(i)
  if i % 50 == 0 then
    local ok, err = pcall(http.get, refused)
    assert(not ok and err.kind == "network", "connection refused expected")
  elseif i % 10 == 0 then
    local ok, err = pcall(pd.get_incident, "PNOTHERE" .. i)
    assert(not ok and err.kind == "not_found", "404 expected")
  elseif i % 2 == 0 then
    assert(pd.get_incident(ids[i % #ids + 1]).id)
  else
    local res = http.get(core.sandbox_url() .. "/incidents/" .. ids[i % #ids + 1],
      { headers = { Authorization = "Token token=sandbox" } })
    assert(res.status == 200 or res.status == 401, "HTTP " .. res.status)
  end
end

local function run(total)
  local per = total // TASKS
  local tasks = {}
  for k = 1, TASKS do tasks[k] = k end
  vs.map(tasks, function(k)
    for i = (k - 1) * per + 1, k * per do one(i) end
  end, { concurrency = TASKS })
end

t.test(("file descriptors do not grow across %d requests"):format(N), function()
  -- warm up: both connection pools (pagerduty's and http's) reach their steady state
  run(math.max(400, N // 5))
  local before = open_fds()
  run(N)
  local after = open_fds()
  print(("# fds: %d before, %d after %d requests"):format(before, after, N))
  t.ok(after <= before + 4, ("open descriptors grew from %d to %d"):format(before, after))
end)
