-- The server binding (module vsrun.server) driven by the curl command line over loopback:
-- request tables, replies, fault fields, connection counting, errors and life cycle.
local t = require "vsrun.testing"
local server = require "vsrun.server"
local json = require "json"

local function quote(s) return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'" end

-- curl(args...) -> exit code, stdout (stderr is dropped)
local function curl(...)
  local args = {}
  for i, a in ipairs { ... } do args[i] = quote(a) end
  local p = io.popen("curl -sS --max-time 20 " .. table.concat(args, " ") .. " 2>/dev/null")
  local out = p:read("a")
  local _, _, code = p:close()
  return code, out
end

local s = server.start { module = "fixtures.echo_server", args = { a = 1, list = { 1, 2 }, name = "echo" } }
local base = s:url()

local function echo(path, ...)
  local code, out = curl(base .. path, ...)
  t.eq(code, 0, "curl exit code for " .. path)
  return json.decode(out)
end

t.test("port 0 picks a free port and the URL names it", function()
  t.ok(s:port() > 0 and s:port() < 65536)
  t.eq(base, "http://127.0.0.1:" .. s:port())
  local s2 = server.start { module = "fixtures.echo_server" }
  t.ne(s2:port(), s:port())
  t.eq(echo("/two").path, "/two")
  local code = curl(s2:url() .. "/")
  t.eq(code, 0)
  s2:stop()
end)

t.test("a port in use is a clear error", function()
  t.raises("cannot listen on 127.0.0.1 port " .. s:port(), server.start,
    { module = "fixtures.echo_server", port = s:port() })
end)

t.test("every method reaches the handler", function()
  for _, m in ipairs { "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" } do
    t.eq(echo("/m", "-X", m).method, m)
  end
  local code, out = curl(base .. "/m?status=204", "-I")
  t.eq(code, 0)
  t.match(out, "^HTTP/1.1 204")
end)

t.test("path, query arrays and raw query string", function()
  local r = echo("/incidents/P1?statuses[]=triggered&statuses[]=acknowledged&ids[]=X&k=1&k=2&sp=a+b%20c&e&dec%5B%5D=v")
  t.eq(r.path, "/incidents/P1")
  t.eq(r.query["statuses[]"], { "triggered", "acknowledged" })
  t.eq(r.query["ids[]"], { "X" }, "a [] name is always a list")
  t.eq(r.query.k, { "1", "2" }, "a repeated name is a list")
  t.eq(r.query.sp, "a b c")
  t.eq(r.query.e, "")
  t.eq(r.query["dec[]"], { "v" }, "names are decoded")
  t.eq(r.query_string, "statuses[]=triggered&statuses[]=acknowledged&ids[]=X&k=1&k=2&sp=a+b%20c&e&dec%5B%5D=v")
  local plain = echo("/x")
  t.eq(plain.query, {})
  t.eq(plain.query_string, "")
end)

t.test("headers arrive with lower-case names; repeats are joined", function()
  local r = echo("/h", "-H", "X-Custom-Thing: Value 1", "-H", "Accept: a/b", "-H", "X-Two: one", "-H", "X-Two: two")
  t.eq(r.headers["x-custom-thing"], "Value 1")
  t.eq(r.headers.accept, "a/b")
  t.eq(r.headers["x-two"], "one, two")
  t.match(r.headers["user-agent"], "^curl/")
  t.eq(r.remote, "127.0.0.1")
  t.ok(math.type(r.connection) == "integer")
end)

t.test("request bodies: JSON, binary-safe, large, and over the limit", function()
  local r = echo("/b", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", '{"a":[1,2]}')
  t.eq(r.body, '{"a":[1,2]}')
  t.eq(r.headers["content-type"], "application/json")
  local big = os.tmpname()
  local f = io.open(big, "wb")
  f:write(string.rep("0123456789abcdef", 65536)) -- 1 MiB
  f:close()
  t.eq(echo("/b?len=1", "-X", "PUT", "--data-binary", "@" .. big).len, 1048576)
  local small = server.start { module = "fixtures.echo_server", max_body = 1000 }
  local code, out = curl(small:url() .. "/b?len=1", "-w", "\n%{http_code}", "--data-binary", "@" .. big)
  t.eq(code, 0)
  t.match(out, "\n413$")
  t.match(out, "larger than 1000 bytes")
  code, out = curl(small:url() .. "/b?len=1", "-H", "Expect: 100-continue", "-w", "|%{http_code}|%{size_upload}",
    "--data-binary", "@" .. big)
  t.match(out, "|413|0$", "a declared length over the limit is refused before the body is sent")
  code, out = curl(small:url() .. "/b?len=1", "-H", "Transfer-Encoding: chunked", "-w", "|%{http_code}",
    "--data-binary", "@" .. big)
  t.match(out, "|413$", "a chunked body over the limit")
  code, out = curl(small:url() .. "/b?len=1", "--data-binary", string.rep("y", 1000))
  t.eq(json.decode(out).len, 1000, "exactly the limit is accepted")
  small:stop()
  os.remove(big)
end)

t.test("args are deep-copied into the server's state", function()
  t.eq(echo("/a").args, { a = 1, list = { 1, 2 }, name = "echo" })
  t.eq(s:info(), { name = "echo", args = { a = 1, list = { 1, 2 }, name = "echo" } })
end)

t.test("reply status, headers and body", function()
  local code, out = curl(base .. "/s?status=404&header=X-Thing:yes%20please", "-D", "-", "-o", "/dev/null")
  t.eq(code, 0)
  t.match(out, "^HTTP/1.1 404")
  t.match(out, "\r\nX%-Thing: yes please\r\n")
  t.match(out, "\r\nContent%-Type: application/json\r\n")
  code, out = curl(base .. "/s?status=201&bytes=5000", "-w", "|%{http_code}|%{size_download}")
  t.eq(code, 0)
  t.match(out, "|201|5000$")
end)

t.test("delay: curl times out (28) waiting for headers", function()
  local code = curl(base .. "/d?delay=30", "--max-time", "0.5")
  t.eq(code, 28)
  local ok = curl(base .. "/d?delay=0.05")
  t.eq(ok, 0)
end)

t.test("a delayed request does not block other connections", function()
  local before = s:stats()
  os.execute("curl -s -o /dev/null " .. quote(base .. "/slow?delay=30") .. " >/dev/null 2>&1 &")
  -- wait until the slow request is in flight (its handler ran and it sleeps)
  for _ = 1, 200 do
    if s:stats().requests > before.requests then break end
    os.execute("sleep 0.02")
  end
  -- (earlier tests left sleeping requests in flight too: compare with before)
  t.eq(s:stats().in_flight - before.in_flight, 1, "the slow request is in flight")
  t.eq(echo("/fast").path, "/fast", "answered while the other connection sleeps")
  -- (>= : the fast request's completion may be counted a moment after curl has its reply)
  t.ok(s:stats().in_flight - before.in_flight >= 1, "the slow request is still in flight")
end)

t.test("reset: a TCP RST and no response (curl 56)", function()
  local code = curl(base .. "/r?reset=1")
  t.eq(code, 56, "connection reset by peer, not an empty reply (52)")
  t.eq(echo("/after").path, "/after", "the server still serves")
end)

t.test("reset with truncate: N bytes of the body, then an RST (curl 56)", function()
  local code, out = curl(base .. "/r?reset=1&truncate=50000&bytes=100000", "-o", "/dev/null", "-w", "%{size_download}")
  t.eq(code, 56)
  t.eq(out, "50000")
  code, out = curl(base .. "/r?reset=1&truncate=0&bytes=100", "-D", "-", "-o", "/dev/null")
  t.eq(code, 56)
  t.match(out, "^HTTP/1.1 200", "the headers were sent before the reset")
end)

t.test("truncate: full Content-Length declared, N bytes sent (curl 18)", function()
  local code, out = curl(base .. "/t?truncate=10&bytes=100", "-w", "|%{size_download}")
  t.eq(code, 18)
  t.eq(out, "xxxxxxxxxx|10")
  code, out = curl(base .. "/t?truncate=0&bytes=100", "-D", "-", "-o", "/dev/null")
  t.eq(code, 18, "truncate = 0 still sends the headers")
  t.match(out, "Content%-Length: 100")
  code, out = curl(base .. "/t?truncate=500&bytes=100", "-w", "|%{size_download}")
  t.eq(code, 0, "truncate beyond the body sends it all")
end)

t.test("stall: part of the body, a pause, then the rest", function()
  local code, out = curl(base .. "/st?stall=30&bytes=1000", "--max-time", "1", "-w", "|%{size_download}")
  t.eq(code, 28)
  t.match(out, "|500$", "the first half arrived before the stall")
  code, out = curl(base .. "/st?stall=0.05&bytes=1000", "-w", "|%{size_download}")
  t.eq(code, 0)
  t.match(out, "|1000$")
end)

t.test("keep-alive: several URLs in one curl make one connection", function()
  local before = s:stats()
  local code, out = curl(base .. "/k1", base .. "/k2", base .. "/k3", "-w", "\n")
  t.eq(code, 0)
  local after = s:stats()
  t.eq(after.connections - before.connections, 1)
  t.eq(after.requests - before.requests, 3)
  local ids = {}
  for line in out:gmatch("[^\n]+") do ids[#ids + 1] = json.decode(line).connection end
  t.eq(#ids, 3)
  t.ok(ids[1] == ids[2] and ids[2] == ids[3], "one connection id")
  local single = s:stats()
  curl(base .. "/k4")
  t.eq(s:stats().connections - single.connections, 1)
end)

t.test("handler errors give 500 with a JSON body; the server lives on", function()
  local code, out = curl(base .. "/e?fail=1", "-w", "|%{http_code}")
  t.eq(code, 0)
  local body, status = out:match("^(.*)|(%d+)$")
  t.eq(status, "500")
  t.match(json.decode(body).error.message, "handler error: .*the handler failed on purpose")
  code, out = curl(base .. "/e?bad=1", "-w", "|%{http_code}")
  t.match(out, "must return a table.*|500$")
  code, out = curl(base .. "/e?status=99", "-w", "|%{http_code}")
  t.match(out, "status must be an integer from 200 to 599.*|500$")
  code, out = curl(base .. "/e?status=2.5e2", "-w", "|%{http_code}")
  t.match(out, "|250$", "a float with an integer value is a status")
  code, out = curl(base .. "/e?truncate=-1", "-w", "|%{http_code}")
  t.match(out, "truncate' must be a whole number.*|500$")
  t.eq(echo("/ok").path, "/ok")
end)

t.test("bad configurations are refused before serving", function()
  t.raises("exactly one of module", server.start, {})
  t.raises("exactly one of module", server.start, { module = "x", file = "y" })
  t.raises("not a numeric", server.start, { module = "fixtures.echo_server", bind = "localhost" })
  t.raises("port is out of range", server.start, { module = "fixtures.echo_server", port = 70000 })
  t.raises("module 'no.such.module' not found", server.start, { module = "no.such.module" })
  t.raises("must return function", server.start, { module = "vsrun.errors" })
  t.raises("args must be a table", server.start, { module = "fixtures.echo_server", args = 5 })
end)

t.test("IPv6 loopback", function()
  local v6 = server.start { module = "fixtures.echo_server", bind = "::1" }
  t.match(v6:url(), "^http://%[::1%]:%d+$")
  local code, out = curl(v6:url() .. "/six")
  t.eq(code, 0)
  t.eq(json.decode(out).remote, "::1")
  v6:stop()
end)

t.test("stop: idempotent, stats stay readable, the port is closed", function()
  local x = server.start { module = "fixtures.echo_server" }
  local url = x:url()
  t.eq(curl(url .. "/"), 0)
  x:stop()
  x:stop()
  t.eq(x:stats().requests, 1)
  t.match(tostring(x), "stopped")
  t.eq(x:info(), nil)
  t.eq(curl(url .. "/"), 7, "connection refused after stop")
end)

t.test("on_stop runs in the server's state after the last request; its errors are contained", function()
  local file = os.tmpname()
  os.remove(file)
  local x = server.start { module = "fixtures.echo_server", args = { stop_file = file } }
  t.eq(curl(x:url() .. "/1"), 0)
  t.eq(curl(x:url() .. "/2"), 0)
  t.eq(io.open(file), nil, "not before stop")
  x:stop()
  local f = io.open(file)
  t.ok(f, "on_stop wrote its file")
  t.eq(f:read("a"), "stopped after 2 requests")
  f:close()
  os.remove(file)
  local y = server.start { module = "fixtures.echo_server", args = { stop_error = true } }
  y:stop()
  t.match(tostring(y), "stopped")
end)

t.test("a server left running is stopped by garbage collection", function()
  local url
  do
    local y = server.start { module = "fixtures.echo_server" }
    url = y:url()
    t.eq(curl(url .. "/"), 0)
  end
  collectgarbage()
  collectgarbage()
  t.eq(curl(url .. "/"), 7)
end)

-- The outbox (docs/internals.md "The server binding"): outbound requests sent by a thread of
-- the server outside its Lua lock. tests/lua/fixtures/outbox_server.lua queues what a test
-- posts; the echo server is the far end.
t.test("outbox: requests are sent and their results handed back; bad ones are refused", function()
  local ob = server.start { module = "fixtures.outbox_server" }
  local function queue(sends)
    local code = curl("-X", "POST", ob:url() .. "/queue", "--data-binary", json.encode { sends = sends })
    t.eq(code, 0)
  end
  local function results(want)
    for _ = 1, 600 do
      local _, out = curl(ob:url() .. "/results")
      local r = json.decode(out).results
      local n = 0
      for _ in pairs(r) do n = n + 1 end
      if n >= want then return r end
      os.execute("sleep 0.1")
    end
    error("the outbox never reported " .. want .. " results")
  end
  -- a closed port: find one by starting and stopping a server
  local gone = server.start { module = "fixtures.echo_server" }
  local closed = gone:url()
  gone:stop()
  queue {
    { id = 1, url = base .. "/sent?status=418", body = "payload-1", headers = { "X-Test: yes" } },
    { id = 2, url = closed .. "/nobody", body = "x", timeout = 5 },
  }
  local r = results(2)
  t.eq(r["1"].status, 418, "the far end's status comes back")
  t.eq(r["2"].status, 0)
  t.ok(r["2"].error and #r["2"].error > 0, "a refused connection is an error: " .. json.encode(r["2"]))
  -- a header with a line break, or a non-http URL, is refused before anything is sent
  -- (its result says why); the server and the outbox keep working
  queue { { id = 4, url = base .. "/x?status=200", headers = { "X-Evil: a\r\nX-Injected: b" } },
          { id = 5, url = "file:///etc/passwd" },
          { id = 6, url = base .. "/after?status=202" } }
  local after = results(5)
  t.eq(after["6"].status, 202, "a good request in the same batch still goes out")
  t.eq(after["4"].status, 0, "the request with the injected header was not sent")
  t.match(after["4"].error, "^refused: header 1")
  t.eq(after["5"].status, 0)
  t.match(after["5"].error, "^refused: the url must be http")
  t.eq(curl(ob:url() .. "/results"), 0, "the server lives on")
  ob:stop()
end)

t.test("outbox: a stop does not wait for a receiver that never answers", function()
  local ob = server.start { module = "fixtures.outbox_server" }
  local slow = server.start { module = "fixtures.echo_server" }
  curl("-X", "POST", ob:url() .. "/queue", "--data-binary",
    json.encode { sends = { { id = 1, url = slow:url() .. "/?delay=3600", timeout = 60 } } })
  for _ = 1, 600 do   -- until the far end has the request
    if slow:stats().in_flight > 0 then break end
    os.execute("sleep 0.1")
  end
  t.ok(slow:stats().in_flight > 0, "the request is in flight")
  ob:stop()           -- returns although the request would take an hour
  t.match(tostring(ob), "stopped")
  slow:stop()
end)
