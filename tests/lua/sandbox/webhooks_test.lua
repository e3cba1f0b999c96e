-- The sandbox sends PagerDuty v3 webhooks (lua/sandbox/webhooks.lua): subscriptions through
-- the control API, signed deliveries of the four incident events to a real receiver over
-- loopback, in order per subscription, retried like PagerDuty, asynchronous, and the secret
-- never shown. The receiver is tests/lua/sandbox/fixtures/webhook_receiver.lua on a vsrun.server.
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local server = require "vsrun.server"
local http = require "http"
local json = require "json"
local digest = require "vsrun.digest"
local vs = require "vsrun"
local pd = require "pagerduty"

local SECRET = "whsec-test-0123456789"

local function receiver()
  local s = server.start { module = "fixtures.webhook_receiver" }
  local r = { url = s:url() .. "/hook", server = s }
  function r.answers(list) http.post(s:url() .. "/answers", { json = { answers = list } }) end
  function r.received() return http.get(s:url() .. "/received"):json() end
  return r
end

-- waits (up to 60 s: valgrind is slow) until cond() is true; returns its last value
local function wait_for(what, cond)
  for _ = 1, 600 do
    local v = cond()
    if v then return v end
    vs.sleep(0.1)
  end
  error("timed out waiting for " .. what, 2)
end

local function sub_of(id)
  for _, s in ipairs(sandbox.webhooks()) do if s.id == id then return s end end
end

local function signature_ok(req, secret)
  local want = "v1=" .. digest.hex(digest.hmac_sha256(secret, req.body))
  return req.headers["x-pagerduty-signature"] == want
end

local function new_incident(title)
  return pd.create_incident { title = title, service = sandbox.info().services[1].id }
end

t.test("a subscription needs a URL, a secret and known event types; its answers never hold the secret", function()
  local function refused(spec, msg)
    local ok, err = pcall(sandbox.subscribe, spec)
    t.ok(not ok, "refused: " .. json.encode(spec))
    t.match(tostring(err.message or err), msg)
  end
  refused({ secret = SECRET }, "url must be")
  refused({ url = "ftp://127.0.0.1/x", secret = SECRET }, "url must be")
  refused({ url = "http://127.0.0.1:1/x" }, "secret must be")
  refused({ url = "http://127.0.0.1:1/x", secret = "short" }, "secret must be")
  refused({ url = "http://127.0.0.1:1/x", secret = SECRET, events = { "incident.exploded" } }, "unknown event type")
  local sub = sandbox.subscribe { url = "http://127.0.0.1:1/x", secret = SECRET }
  t.match(sub.id, "^PWHS%d+$")
  t.eq(sub.events, { "incident.triggered", "incident.acknowledged", "incident.resolved", "incident.annotated" })
  local text = http.get(sandbox.url() .. "/__sandbox/webhooks").body
  t.ok(text:find(sub.id, 1, true), "control: the listing names the subscription")
  t.ok(not text:find(SECRET, 1, true), "the listing never holds the secret")
  t.ok(not json.encode(sub):find(SECRET, 1, true), "nor the answer to the subscribe call")
  sandbox.unsubscribe(sub.id)
  t.eq(sub_of(sub.id), nil)
end)

t.test("the four incident events arrive in order, signed, with PagerDuty's headers and v3 payloads", function()
  local rcv = receiver()
  local sub = sandbox.subscribe { url = rcv.url, secret = SECRET }
  local only_ack = sandbox.subscribe { url = rcv.url .. "?only=ack", secret = SECRET, events = { "incident.acknowledged" } }
  local inc = new_incident("Disk full on db-1")
  pd.update_incident(inc.id, { status = "acknowledged" })
  pd.create_incident_note(inc.id, "looking into it")
  pd.update_incident(inc.id, { status = "resolved" })
  local got = wait_for("5 deliveries", function() local g = rcv.received() return #g >= 5 and g end)
  local mine = {}
  for _, req in ipairs(got) do
    if req.headers["x-webhook-subscription"] == sub.id then mine[#mine + 1] = req end
  end
  t.eq(#mine, 4)
  local want = { "incident.triggered", "incident.acknowledged", "incident.annotated", "incident.resolved" }
  for i, req in ipairs(mine) do
    local ev = json.decode(req.body).event
    t.eq(ev.event_type, want[i], "in order")
    t.eq(req.method, "POST")
    t.eq(req.headers["user-agent"], "PagerDuty-Webhook/V3.0")
    t.match(req.headers["content-type"], "^application/json")
    t.ok(req.headers["x-webhook-id"] and #req.headers["x-webhook-id"] >= 16)
    t.ok(signature_ok(req, SECRET), "signed with the subscription's secret")
    t.ok(not signature_ok(req, SECRET .. "x"), "control: another secret does not match")
    t.eq(ev.resource_type, "incident")
    t.match(ev.id, "^01%w+$")
    t.match(ev.occurred_at, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$")
    t.eq(ev.agent.type, "user_reference")
    t.eq(ev.client, json.null)
    if ev.event_type == "incident.annotated" then
      t.eq(ev.data.type, "incident_note")
      t.eq(ev.data.content, "looking into it")
      t.eq(ev.data.incident.id, inc.id)
    else
      t.eq(ev.data.id, inc.id)
      t.eq(ev.data.type, "incident")
      t.eq(ev.data.title, "Disk full on db-1")
      t.eq(ev.data.status, ({ ["incident.triggered"] = "triggered", ["incident.acknowledged"] = "acknowledged",
                              ["incident.resolved"] = "resolved" })[ev.event_type])
      t.eq(ev.data.service.type, "service_reference")
    end
  end
  local acks = 0
  for _, req in ipairs(got) do
    if req.headers["x-webhook-subscription"] == only_ack.id then
      acks = acks + 1
      t.eq(json.decode(req.body).event.event_type, "incident.acknowledged", "a filtered subscription gets only its types")
    end
  end
  t.eq(acks, 1)
  local s = wait_for("all delivered", function()
    local v = sub_of(sub.id)
    for _, d in ipairs(v.deliveries) do if d.status ~= "delivered" then return nil end end
    return v
  end)
  t.eq(#s.deliveries, 4)
  t.eq(#s.deliveries[1].attempts, 1)
  t.eq(s.deliveries[1].attempts[1].status, 200)
  for _, r in ipairs(sandbox.requests {}) do
    t.ok(not json.encode(r):find(SECRET, 1, true), "the request log never holds the secret")
  end
  sandbox.unsubscribe()
  rcv.server:stop()
end)

t.test("failures are retried in order per subscription; a 4xx other than 408/429 is not", function()
  sandbox.configure { webhook_retry_scale = 0.002 }   -- 30 s, 60 s, ... become 60 ms, 120 ms, ...
  local rcv = receiver()
  rcv.answers { 500, 429, 200, 403, 503, 503, 503, 503, 503 }
  local sub = sandbox.subscribe { url = rcv.url, secret = SECRET, events = { "incident.triggered" } }
  local a = new_incident("first")
  local b = new_incident("second")
  local c = new_incident("third")
  -- only the receiver is polled: the retries must come from the outbox's own timer, not
  -- from the sandbox being woken by requests
  wait_for("nine attempts at the receiver", function() return #rcv.received() >= 9 end)
  local v = wait_for("three deliveries finished", function()
    local s = sub_of(sub.id)
    local n = 0
    for _, d in ipairs(s.deliveries) do if d.status == "delivered" or d.status == "failed" then n = n + 1 end end
    return n == 3 and s
  end)
  local d1, d2, d3 = v.deliveries[1], v.deliveries[2], v.deliveries[3]
  t.eq(d1.incident, a.id)
  t.eq(d1.status, "delivered")
  t.eq({ d1.attempts[1].status, d1.attempts[2].status, d1.attempts[3].status }, { 500, 429, 200 })
  t.eq(d2.incident, b.id)
  t.eq(d2.status, "failed", "403: not retried")
  t.eq(#d2.attempts, 1)
  t.eq(d3.status, "failed", "5xx: retried until the schedule ends")
  t.eq(#d3.attempts, 5, "one attempt and four retries")
  local order = {}
  for _, req in ipairs(rcv.received()) do order[#order + 1] = json.decode(req.body).event.data.title end
  t.eq(order, { "first", "first", "first", "second", "third", "third", "third", "third", "third" },
    "the second event waited until the first was delivered")
  sandbox.unsubscribe()
  rcv.server:stop()
  sandbox.configure { webhook_retry_scale = 1 }
end)

t.test("delivery is asynchronous: the API call does not wait for a slow receiver", function()
  sandbox.configure { webhook_timeout = 60 }
  local rcv = receiver()
  rcv.answers { { status = 200, delay = 3600 } }
  local sub = sandbox.subscribe { url = rcv.url, secret = SECRET, events = { "incident.triggered" } }
  local inc = new_incident("slow receiver")   -- returns while the receiver is still sleeping
  t.eq(inc.title, "slow receiver")
  local d = wait_for("the receiver has the request", function()
    local g = rcv.received()
    return #g == 1 and sub_of(sub.id).deliveries[1]
  end)
  t.eq(d.status, "sending", "still in flight after the API call returned")
  t.eq(#d.attempts, 0)
  rcv.server:stop()   -- wakes the sleeping answer: the connection closes without a reply
  local after = wait_for("the attempt failed", function()
    local x = sub_of(sub.id).deliveries[1]
    return #x.attempts == 1 and x
  end)
  t.ok(after.attempts[1].error, "no answer is an error: " .. json.encode(after.attempts[1]))
  t.eq(after.status, "pending", "and is retried later")
  sandbox.unsubscribe()
  sandbox.configure { webhook_timeout = 5 }
end)

t.test("a receiver that stays down cannot make the queue grow without bound", function()
  local gone = server.start { module = "fixtures.webhook_receiver" }
  local url = gone:url() .. "/hook"
  gone:stop()   -- nothing listens there now: every attempt fails, retries wait 30 s
  local sub = sandbox.subscribe { url = url, secret = SECRET, events = { "incident.triggered" } }
  sandbox.create_incidents { count = 1001 }
  local v = sub_of(sub.id)
  t.eq(#v.deliveries, 1001)
  local waiting = 0
  for _, d in ipairs(v.deliveries) do
    if d.status == "pending" or d.status == "sending" then waiting = waiting + 1 end
  end
  t.eq(waiting, 1000, "control: a thousand wait")
  local last = v.deliveries[1001]
  t.eq(last.status, "failed")
  t.match(last.attempts[1].error, "1000 deliveries are already waiting")
  sandbox.unsubscribe()
end)
