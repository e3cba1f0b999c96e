-- http: argument checks (nothing is sent), query encoding, URL redaction, and failures that
-- need no server (connection refused).
local t = require "vsrun.testing"
local http = require "http"
local http_core = require "vsrun.http_core"

t.test("query: keys sorted, unreserved kept, the rest percent-encoded", function()
  t.eq(http.encode_query { b = "x y", a = "A-z_0.9~", c = "é&=?/" },
    "a=A-z_0.9~&b=x%20y&c=%C3%A9%26%3D%3F%2F")
end)

t.test("query: arrays as repeated key[] pairs, PagerDuty style", function()
  t.eq(http.encode_query { statuses = { "triggered", "acknowledged" }, limit = 25 },
    "limit=25&statuses[]=triggered&statuses[]=acknowledged")
  t.eq(http.encode_query { ["ids[]"] = { "P1" } }, "ids[]=P1", "a key already ending in []")
  t.eq(http.encode_query { ["a b"] = { 1, 2 } }, "a%20b[]=1&a%20b[]=2")
  t.eq(http.encode_query { empty = {} }, "", "an empty array sends nothing")
end)

t.test("query: booleans, integers and floats", function()
  t.eq(http.encode_query { t = true, f = false, i = 3, x = 2.0, y = 0.5 }, "f=false&i=3&t=true&x=2&y=0.5")
end)

t.test("query: bad values are invalid_argument", function()
  t.raises("invalid_argument", http.encode_query, { a = { b = 1 } })
  t.raises("invalid_argument", http.encode_query, { a = { { 1 } } })
  t.raises("invalid_argument", http.encode_query, { [1] = "x" })
  t.raises("invalid_argument", http.encode_query, { a = 0 / 0 })
  t.raises("invalid_argument", http.encode_query, { a = print })
end)

t.test("request: bad arguments raise invalid_argument before sending", function()
  local before = http_core.active()
  t.raises("invalid_argument", http.request, "http://x")
  t.raises("invalid_argument", http.request, { url = "ftp://example.com/" })
  t.raises("invalid_argument", http.request, { url = "http://" })
  t.raises("invalid_argument", http.request, { url = "example.com" })
  t.raises("invalid_argument", http.request, { url = "http://a b/" })
  t.raises("invalid_argument", http.request, { url = "http://x/", method = "BREW" })
  t.raises("invalid_argument", http.request, { url = "http://x/", method = 5 })
  t.raises("invalid_argument", http.request, { url = "http://x/", headers = { ["X-A"] = "a\r\nX-Injected: 1" } })
  t.raises("invalid_argument", http.request, { url = "http://x/", headers = { ["Bad Name"] = "v" } })
  t.raises("invalid_argument", http.request, { url = "http://x/", headers = { ["X-T"] = {} } })
  t.raises("invalid_argument", http.request, { url = "http://x/", body = "a", json = {} })
  t.raises("invalid_argument", http.request, { url = "http://x/", body = {} })
  t.raises("invalid_argument", http.request, { url = "http://x/", timeout = 0 })
  t.raises("invalid_argument", http.request, { url = "http://x/", timeout = "5" })
  t.raises("invalid_argument", http.request, { url = "http://x/", max_body = -1 })
  t.raises("invalid_argument", http.request, { url = "http://x/", max_body = 1.5 })
  t.raises("invalid_argument", http.request, { url = "http://x/", header = {} })
  t.raises("invalid_argument", http.get, "http://x/", "opts")
  t.raises("invalid_argument", http.get, "http://x/", { method = "POST" })
  t.raises("invalid_argument", http.get, nil)
  local err = t.raises("invalid_argument", http.request, { url = "http://x/", json = { f = print } })
  t.match(err.message, "json")
  t.eq(http_core.active(), before, "no transfer was started")
end)

t.test("http_core.start: header names and values must be strings", function()
  t.raises("must be strings", http_core.start, { method = "GET", url = "http://127.0.0.1:1/", headers = { X = 1 } })
  t.raises("unsupported HTTP method", http_core.start, { method = "TRACE", url = "http://127.0.0.1:1/" })
  t.raises("URL must be http", http_core.start, { method = "GET", url = "file:///etc/passwd" })
  t.eq(http_core.active(), 0)
end)

t.test("configure: validates caps", function()
  t.raises("invalid_argument", http.configure, { max_per_host = 0 })
  t.raises("invalid_argument", http.configure, { per_host = 2 })
  t.raises("invalid_argument", http.configure, "x")
end)

t.test("redact_url: secret-looking query values, userinfo and fragment", function()
  t.eq(http_core.redact_url("https://u:p@h.example/p?a=1&api_key=K&Token=T&x&sig=s#frag"),
    "https://REDACTED@h.example/p?a=1&api_key=REDACTED&Token=REDACTED&REDACTED&sig=REDACTED")
  t.eq(http_core.redact_url("http://h/p?client_secret=1&password=2&code=3&session_id=4&limit=5"),
    "http://h/p?client_secret=REDACTED&password=REDACTED&code=REDACTED&session_id=REDACTED&limit=5")
  t.eq(http_core.redact_url("http://h/p?access%5Ftoken=z"), "http://h/p?access%5Ftoken=REDACTED",
    "percent-encoded names are decoded before matching")
  t.eq(http_core.redact_url("http://h/plain"), "http://h/plain")
  t.eq(http_core.redact_url("http://me@corp:p@ss@h/x"), "http://REDACTED@h/x", "an @ inside userinfo")
  t.eq(http_core.redact_url("http://h/x?" .. string.rep("n", 200) .. "=v&a=1"),
    "http://h/x?" .. string.rep("n", 200) .. "=REDACTED&a=1", "a name too long to check is redacted")
end)

t.test("redact_url: secrets in the path and bare query values", function()
  t.eq(http_core.redact_url("https://hooks.slack.com/services/T0001ABCD/B0002EFGH/abcdEFGHijklMNOPqrstUVWX"),
    "https://hooks.slack.com/services/T0001ABCD/B0002EFGH/REDACTED", "a Slack webhook's secret (mixed case)")
  t.eq(http_core.redact_url("https://discord.com/api/webhooks/123456789012345678/AbC-dEf_123xyzAbC"),
    "https://discord.com/api/webhooks/123456789012345678/REDACTED", "letters and digits, 16+ characters")
  t.eq(http_core.redact_url("https://api.telegram.org/bot123456:ABCdefGHIjklMNOpqr/sendMessage"),
    "https://api.telegram.org/REDACTED/sendMessage")
  t.eq(http_core.redact_url("https://h/api/token/short/x"), "https://h/api/token/REDACTED/x",
    "the segment after one named like a secret")
  t.eq(http_core.redact_url("https://h/hook?c2VjcmV0dG9rZW4&limit=5&pretty"), "https://h/hook?REDACTED&limit=5&REDACTED",
    "a query item without = has no name to judge it by")
  t.eq(http_core.redact_url("https://api.pagerduty.com/incidents/Q0RIJJZL24RC6W/notes?limit=5"),
    "https://api.pagerduty.com/incidents/Q0RIJJZL24RC6W/notes?limit=5", "PagerDuty IDs stay readable")
end)

t.test("connection refused is a network error object with the redacted URL", function()
  local err = t.raises("network", http.get, "http://127.0.0.1:1/x", { query = { token = "s3cret" } })
  t.eq(err.url, "http://127.0.0.1:1/x?token=REDACTED")
  t.eq(err.sent, false, "nothing left this host")
  t.no_match(tostring(err), "s3cret")
  t.match(tostring(err), "network: GET http://127.0.0.1:1/x")
end)

t.test("https to a closed port is a network error too", function()
  local err = t.raises("network", http.get, "https://127.0.0.1:1/")
  t.match(err.message, "127.0.0.1")
end)
