-- JSON shape fidelity seen from scripts: decoded arrays stay arrays through pagerduty and
-- http; strings that are not UTF-8 are refused before anything is sent.
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local json = require "json"
local http = require "http"

local service = sandbox.info().services[1].id

t.test("an incident read from the sandbox encodes back with its empty arrays", function()
  local id = sandbox.create_incidents { count = 1, service = service }[1]
  local inc = pagerduty.get_incident(id)
  t.eq(inc.acknowledgements ~= nil and json.encode(inc.acknowledgements), "[]", "the control: a new incident has none")
  t.eq(getmetatable(inc.acknowledgements), json.array_mt)
  t.match(json.encode(inc), '"acknowledgements":%[%]')
  t.no_match(json.encode(inc), '"acknowledgements":{}')
  local text = json.encode(inc)
  t.eq(json.encode(json.decode(text)), text, "decode then encode gives the same text")
end)

t.test("a pagerduty write with a string that is not UTF-8 raises invalid_argument and sends nothing", function()
  local seq = 0
  for _, r in ipairs(sandbox.requests {}) do seq = math.max(seq, r.seq) end
  local err = t.raises("invalid_argument", pagerduty.create_incident, { title = "caf\xe9", service = service })
  t.match(tostring(err), "not valid UTF%-8 %(byte 4%)")
  t.eq(#sandbox.requests { method = "POST", since_seq = seq }, 0)
  -- the control: the same call with UTF-8 text is sent
  pagerduty.create_incident { title = "caf\xc3\xa9", service = service }
  t.eq(#sandbox.requests { method = "POST", since_seq = seq }, 1)
end)

t.test("an http json body that is not UTF-8 raises invalid_argument", function()
  t.raises("invalid_argument", http.post, sandbox.url() .. "/nowhere", { json = { a = "\xff" } })
end)
