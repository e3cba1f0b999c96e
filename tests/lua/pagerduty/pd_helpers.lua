-- Test helpers: the in-process sandbox's control API (/__sandbox/, reached with the plain
-- http module: the pagerduty module can never reach it) and small utilities.
local http = require "http"
local json = require "json"
local core = require "vsrun.core"

local H = {}

local function url(what) return core.sandbox_url() .. "/__sandbox/" .. what end

function H.control(method, what, body)
  -- long: a big seed under valgrind (make memcheck) takes minutes
  local res = http.request { method = method, url = url(what), json = body, timeout = 600 }
  if res.status ~= 200 then error("control " .. method .. " " .. what .. ": HTTP " .. res.status .. " " .. res.body, 2) end
  return res:json()
end

function H.seed(n, months) return H.control("POST", "seed", { incidents = n, seed = 7, months = months }) end
function H.reset() H.control("DELETE", "faults") H.control("DELETE", "requests") end
function H.fault(spec) return H.control("POST", "faults", spec) end
function H.clear_log() H.control("DELETE", "requests") end
function H.counts() return H.control("GET", "incidents") end

-- requests logged since the last clear: { {seq, at, method, path, query, status}, ... }
function H.requests(method, path)
  local q = {}
  if method then q[#q + 1] = "method=" .. method end
  if path then q[#q + 1] = "path=" .. http.encode_component(path) end
  local res = http.request { method = "GET", url = url("requests") .. (#q > 0 and ("?" .. table.concat(q, "&")) or "") }
  return res:json().requests
end

-- the first service and user of the seeded account
function H.account()
  local info = H.control("GET", "info")
  return info
end

-- fast retries for tests
function H.fast()
  require("pagerduty").configure { backoff_base = 0.01, backoff_cap = 0.05, backoff_429 = 0.5 }
end

function H.ids(list)
  local out = {}
  for i, x in ipairs(list) do out[i] = x.id end
  return out
end

-- check_sequence(t, got, ids, from, n, label): got is exactly ids[from .. from + n - 1]
function H.check_sequence(t, got, ids, from, n, label)
  t.eq(#got, n, label .. ": count")
  for i = 1, n do
    if got[i] ~= ids[from + i - 1] then
      t.fail(("%s: record %d is %s, expected %s"):format(label, i, tostring(got[i]), tostring(ids[from + i - 1])))
    end
  end
end

-- reference_listing(t, total, ids, ats): lists every incident with date_range = "all" into
-- ids (and creation times into ats), checking each comes once, in created order, that the
-- sandbox holds exactly `total`, and that no request passed PagerDuty's offset cap.
function H.reference_listing(t, total, ids, ats)
  local pd, time = require "pagerduty", require "vsrun.time"
  H.clear_log()
  local seen, prev = {}, nil
  for inc in pd.list_incidents { date_range = "all" } do
    t.ok(not seen[inc.id], "yielded twice: " .. inc.id)
    seen[inc.id] = true
    if prev then t.ok(prev <= inc.created_at, "in created order") end
    prev = inc.created_at
    ids[#ids + 1] = inc.id
    ats[#ats + 1] = time.parse(inc.created_at)
  end
  t.eq(#ids, total)
  t.eq(H.counts().total, total, "the sandbox holds exactly that many")
  for _, r in ipairs(H.requests("GET", "^/incidents$")) do
    local off, lim = tonumber(r.query.offset or 0), tonumber(r.query.limit or 25)
    t.ok(off + lim <= 10000, "offset + limit <= 10000")
    t.eq(r.status, 200)
  end
end

return H
