-- http client against the server binding on loopback: methods, query and headers, bodies,
-- redirects, keep-alive, caps, vs.map over requests, cancellation, timeouts, faults, TLS.
local t = require "vsrun.testing"
local http = require "http"
local http_core = require "vsrun.http_core"
local server = require "vsrun.server"
local core = require "vsrun.core"
local vs = require "vsrun"
local json = require "json"

local far = server.start { module = "fixtures.http_far_end" }
local base = far:url()

local function fresh_server()
  return server.start { module = "fixtures.http_far_end" }
end

-- waits (up to 5 s, without a timing assertion) until cond() holds
local function eventually(cond)
  for _ = 1, 250 do
    if cond() then return true end
    vs.sleep(0.02)
  end
  return cond()
end

t.test("every method, with the shorthands", function()
  for _, m in ipairs { "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" } do
    local r = http.request { method = m, url = base .. "/m" }
    t.eq(r.status, 200, m)
    t.eq(r:json().method, m)
  end
  t.eq(http.request({ method = "post", url = base .. "/lower" }):json().method, "POST", "method is upper-cased")
  t.eq(http.get(base .. "/g"):json().method, "GET")
  t.eq(http.post(base .. "/p", { body = "x" }):json().body, "x")
  t.eq(http.put(base .. "/u", { body = "y" }):json().method, "PUT")
  t.eq(http.patch(base .. "/pa", { body = "z" }):json().body, "z")
  t.eq(http.delete(base .. "/d"):json().method, "DELETE")
  local h = http.head(base .. "/h?bytes=100")
  t.eq({ h.status, h.body, h.headers["content-length"] }, { 200, "", "100" })
  t.eq(http.head(base .. "/h?bytes=5000", { max_body = 1000 }).status, 200, "max_body ignores a HEAD's length")
end)

t.test("empty POST and PUT bodies are sent with Content-Length: 0", function()
  t.eq(http.post(base .. "/e"):json().headers["content-length"], "0")
  t.eq(http.put(base .. "/e"):json().headers["content-length"], "0")
end)

t.test("query tables arrive decoded, arrays as repeated key[] pairs", function()
  local r = http.get(base .. "/q", { query = {
    statuses = { "triggered", "acknowledged" }, limit = 25, total = true, q = "a b&c=d/é",
  } }):json()
  t.eq(r.query_string, "limit=25&q=a%20b%26c%3Dd%2F%C3%A9&statuses[]=triggered&statuses[]=acknowledged&total=true")
  t.eq(r.query["statuses[]"], { "triggered", "acknowledged" })
  t.eq(r.query.q, "a b&c=d/é")
  t.eq(r.query.limit, "25")
  local r2 = http.get(base .. "/q?x=1", { query = { y = 2 } }):json()
  t.eq(r2.query_string, "x=1&y=2", "appended to a URL that has a query")
  local r3 = http.get(base .. "/q", { query = "raw=a%20b" }):json()
  t.eq(r3.query.raw, "a b", "a string query is used as is")
end)

t.test("request headers arrive; response header names are lower case", function()
  local r = http.get(base .. "/h?header=X-Reply-Thing:yes", {
    headers = { ["X-Custom"] = "value 1", Accept = "text/plain", ["X-Number"] = 42 },
  })
  t.eq(r.headers["x-reply-thing"], "yes")
  t.eq(r.headers["content-type"], "application/json")
  local seen = r:json().headers
  t.eq(seen["x-custom"], "value 1")
  t.eq(seen.accept, "text/plain")
  t.eq(seen["x-number"], "42")
  t.eq(seen["user-agent"], "vsrun/0.1.0")
  t.eq(seen.expect, nil, "no Expect: 100-continue")
end)

t.test("JSON request bodies and res:json()", function()
  local doc = { title = "Disk full", n = 3, tags = { "a", "b" }, nested = { ok = true } }
  local r = http.post(base .. "/j", { json = doc })
  local seen = r:json()
  t.eq(json.decode(seen.body), doc)
  t.eq(seen.headers["content-type"], "application/json")
  local r2 = http.post(base .. "/j", { json = {}, headers = { ["content-type"] = "application/vnd.api+json" } })
  t.eq(r2:json().headers["content-type"], "application/vnd.api+json", "a given Content-Type wins")
  local plain = http.get(base .. "/x?bytes=3")
  local err = t.raises("bad_response", plain.json, plain)
  t.eq(err.status, 200)
end)

t.test("large bodies both ways (several MB)", function()
  local big = string.rep("0123456789abcdef", 6 * 65536)  -- 6 MiB
  local r = http.put(base .. "/big?len=1", { body = big }):json()
  t.eq(r.len, #big)
  t.eq({ r.head, r.tail }, { big:sub(1, 16), big:sub(-16) })
  local down = http.get(base .. "/big?bytes=" .. (8 * 1024 * 1024))
  t.eq(#down.body, 8 * 1024 * 1024)
end)

t.test("an HTTP error status is a response, not an error", function()
  for _, code in ipairs { 400, 404, 429, 500, 503 } do
    t.eq(http.get(base .. "/s?status=" .. code).status, code)
  end
end)

t.test("redirects are not followed", function()
  local r = http.get(base .. "/r?status=302&header=Location:/elsewhere")
  t.eq(r.status, 302)
  t.eq(r.headers.location, "/elsewhere")
  t.eq(r:json().path, "/r", "the body is the redirect's own")
end)

t.test("keep-alive: sequential requests share one connection", function()
  local s = fresh_server()
  local ids = {}
  for i = 1, 10 do ids[i] = http.get(s:url() .. "/k" .. i):json().connection end
  local st = s:stats()
  t.eq(st.requests, 10)
  t.eq(st.connections, 1)
  for i = 2, 10 do t.eq(ids[i], ids[1]) end
  s:stop()
end)

t.test("vs.map concurrency bounds the requests the server sees at once", function()
  local s = fresh_server()
  local urls = {}
  for i = 1, 12 do urls[i] = s:url() .. "/c" .. i .. "?delay=0.05" end
  local res = vs.map(urls, http.get, { concurrency = 3 })
  for i = 1, 12 do t.eq(res[i]:json().path, "/c" .. i) end
  local st = s:stats()
  t.eq(st.requests, 12)
  t.ok(st.max_in_flight <= 3, "max_in_flight " .. st.max_in_flight .. " <= 3")
  t.ok(st.max_in_flight > 1, "requests did overlap")
  t.ok(st.connections <= 3, "connections " .. st.connections .. " <= 3")
  s:stop()
end)

t.test("the per-host connection cap holds whatever the concurrency", function()
  local s = fresh_server()
  http.configure { max_per_host = 2 }
  local ok, err = pcall(function()
    local urls = {}
    for i = 1, 8 do urls[i] = s:url() .. "/cap" .. i .. "?delay=0.05" end
    local res = vs.map(urls, http.get, { concurrency = 8 })
    t.eq(#res, 8)
    local st = s:stats()
    t.ok(st.max_in_flight <= 2, "max_in_flight " .. st.max_in_flight .. " <= 2")
    t.ok(st.connections <= 2, "connections " .. st.connections .. " <= 2")
  end)
  http.configure { max_per_host = 8 }
  s:stop()
  if not ok then error(err, 0) end
end)

t.test("vs.map over requests: input order, and the first failure with its index", function()
  local urls = {}
  for i = 1, 6 do urls[i] = base .. "/o" .. i .. "?delay=" .. (0.06 - i * 0.01) end
  local res = vs.map(urls, http.get, { concurrency = 6 })
  for i = 1, 6 do t.eq(res[i]:json().path, "/o" .. i) end
  urls[4] = base .. "/o4?reset=1"
  local err = t.raises("network", vs.map, urls, http.get, { concurrency = 2 })
  t.eq(err.index, 4)
  t.match(err.url, "/o4%?reset=1$")
end)

t.test("a failure cancels the transfers still in flight and frees them", function()
  local s = fresh_server()
  local urls = { s:url() .. "/fail?reset=1" }
  for i = 2, 5 do urls[i] = s:url() .. "/hang" .. i .. "?delay=30" end
  local before = http_core.active()
  t.raises("network", vs.map, urls, function(u) if u:find("reset") then vs.sleep(0.1) end return http.get(u) end)
  t.eq(http_core.active(), before, "no transfer left in flight")
  s:stop()
end)

t.test("the server sees a cancelled transfer's client go away", function()
  local s = fresh_server()
  -- 32 MB, stalling after 1 KB: once the stall ends the server writes far more than the
  -- socket buffers hold, so it stays blocked unless the client's socket is closed.
  local task = vs.spawn(http.get, s:url() .. "/stream?bytes=33554432&stall=0.2&stall_after=1024")
  t.ok(eventually(function() return s:stats().in_flight == 1 end), "the request reached the server")
  core.sleep(1)  -- blocks without reading: the server is now stuck writing
  t.eq(s:stats().in_flight, 1, "a client that is alive but not reading keeps the server waiting")
  task:cancel()
  t.eq(http_core.active(), 0)
  -- blocking waits: nothing drives curl now, only a closed socket can end the request
  local gone = false
  for _ = 1, 600 do  -- up to 30 s: slow under valgrind, immediate otherwise
    if s:stats().in_flight == 0 then gone = true break end
    core.sleep(0.05)
  end
  t.ok(gone, "the server saw the connection close")
  s:stop()
end)

t.test("timeouts: slow headers and a body that stalls", function()
  local err = t.raises("timeout", http.get, base .. "/slow?delay=30", { timeout = 0.3 })
  t.match(err.message, "GET " .. base:gsub("%p", "%%%0") .. "/slow%?delay=30: ")
  t.eq(err.sent, true)
  t.raises("timeout", http.get, base .. "/stall?bytes=4000&stall=30", { timeout = 0.3 })
  t.eq(http.get(base .. "/quick?delay=0.01", { timeout = 5 }).status, 200)
end)

t.test("a reset mid-response and a truncated body are network errors", function()
  local e1 = t.raises("network", http.get, base .. "/r?reset=1")
  t.eq(e1.sent, true)
  local e2 = t.raises("network", http.get, base .. "/t?bytes=1000&truncate=100")
  t.eq(e2.status, 200, "the status line had arrived")
  t.eq(http.get(base .. "/after").status, 200, "the client recovers")
end)

t.test("a body over max_body is too_large; at the limit it is fine", function()
  local err = t.raises("too_large", http.get, base .. "/big?bytes=2000", { max_body = 1000 })
  t.match(err.message, "1000 bytes")
  t.eq(#http.get(base .. "/big?bytes=1000", { max_body = 1000 }).body, 1000)
  t.raises("too_large", http.get, base .. "/big?bytes=" .. (65 * 1024 * 1024 - 1000))
end)

t.test("https to a plain-HTTP port fails the TLS handshake: kind tls", function()
  local err = t.raises("tls", http.get, (base:gsub("^http:", "https:")) .. "/x")
  t.match(err.url, "^https://127%.0%.0%.1:")
end)

t.test("requests inside pcall and inside user coroutines", function()
  local ok, r = pcall(http.get, base .. "/in-pcall")
  t.ok(ok)
  t.eq(r:json().path, "/in-pcall")
  local ok2, err = pcall(http.get, base .. "/x?reset=1")
  t.eq({ ok2, err.kind }, { false, "network" })
  local pages = coroutine.wrap(function()
    for i = 1, 3 do coroutine.yield(http.get(base .. "/page" .. i):json().path) end
  end)
  t.eq({ pages(), pages(), pages() }, { "/page1", "/page2", "/page3" })
  local co = coroutine.create(function(p) return http.get(base .. p):json().path end)
  t.eq({ coroutine.resume(co, "/resumed") }, { true, "/resumed" })
end)

t.test("requests at the top level of a required module", function()
  _G.HTTP_TEST_BASE = base
  local m = require "fixtures.http_at_require"
  t.eq(m.path, "/from-require")
  _G.HTTP_TEST_BASE = nil
end)

t.test("a request inside a table.sort comparator is a clear error", function()
  local before = http_core.active()
  local err = t.raises("table.sort comparator", table.sort, { 2, 1 }, function(a, b)
    http.get(base .. "/never")
    return a < b
  end)
  t.match(err, "http_test%.lua:%d+: http: cannot wait for I/O here")
  t.eq(http_core.active(), before, "nothing was started")
end)

-- (also keeps `far` referenced by a registered test, so the collector never stops it early)
t.test("the far end served every request on few connections", function()
  local st = far:stats()
  t.ok(st.requests > 40, "requests " .. st.requests)
  t.ok(st.connections < st.requests, "connections were reused")
end)
