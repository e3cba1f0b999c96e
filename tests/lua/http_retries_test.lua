-- http retries = n: idempotent methods only, retried on network errors, timeouts, 408, 429
-- and 5xx with capped full-jitter backoff, Retry-After honoured; off by default.
local t = require "vsrun.testing"
local http = require "http"
local server = require "vsrun.server"

local far = server.start { module = "fixtures.flaky_server" }
local base = far:url()
_G.flaky_server = far   -- kept alive for the whole file (its __gc stops it)
http.retry_settings.base = 0.01   -- keep the backoff short in tests

t.test("a GET that fails twice with 503 succeeds on the third attempt", function()
  local r = http.get(base .. "/flaky/a?fail=2&status=503", { retries = 3 })
  t.eq(r.status, 200)
  t.eq(r:json().requests, 3)
  t.eq(r.attempts, 3)
end)

t.test("without retries the first failure is the answer (control)", function()
  local r = http.get(base .. "/flaky/b?fail=2&status=503")
  t.eq(r.status, 503)
  t.eq(r.attempts, 1)
end)

t.test("retries run out: the last response is returned", function()
  local r = http.get(base .. "/flaky/c?fail=5&status=502", { retries = 2 })
  t.eq({ r.status, r.attempts }, { 502, 3 })
end)

t.test("network errors are retried; the error is raised when retries run out", function()
  local r = http.get(base .. "/flaky/d?fail=1&status=reset", { retries = 1 })
  t.eq(r.status, 200)
  local ok, err = pcall(http.get, base .. "/flaky/e?fail=50&status=reset", { retries = 2 })
  t.eq({ ok, err.kind, err.attempts }, { false, "network", 3 })
end)

t.test("Retry-After (seconds) is honoured on 429", function()
  local r = http.get(base .. "/flaky/f?fail=1&status=429&after=0", { retries = 1 })
  t.eq({ r.status, r.attempts }, { 200, 2 })
end)

t.test("a Retry-After longer than the maximum ends the retries", function()
  local r = http.get(base .. "/flaky/g?fail=1&status=503&after=3600", { retries = 3 })
  t.eq({ r.status, r.attempts }, { 503, 1 })
end)

t.test("4xx other than 408/429 and 501 are not retried", function()
  t.eq(http.get(base .. "/flaky/h?fail=1&status=404", { retries = 3 }).attempts, 1)
  t.eq(http.get(base .. "/flaky/i?fail=1&status=501", { retries = 3 }).attempts, 1)
end)

t.test("PUT, DELETE and HEAD may retry; POST and PATCH may not", function()
  t.eq(http.put(base .. "/flaky/j?fail=1", { retries = 1, body = "x" }).status, 200)
  t.eq(http.delete(base .. "/flaky/k?fail=1", { retries = 1 }).status, 200)
  t.eq(http.head(base .. "/flaky/l?fail=1", { retries = 1 }).status, 200)
  t.raises("invalid_argument", http.post, base .. "/flaky/m", { retries = 1, body = "x" })
  t.raises("retries is only for idempotent methods", http.patch, base .. "/flaky/m", { retries = 2 })
  t.eq(http.post(base .. "/flaky/n?fail=1", { retries = 0 }).status, 503, "retries = 0 is allowed for any method")
end)

t.test("retries must be an integer from 0 to 10", function()
  for _, bad in ipairs { -1, 11, 1.5, "2", true } do
    t.raises("retries must be an integer", http.get, base .. "/x", { retries = bad })
  end
end)
