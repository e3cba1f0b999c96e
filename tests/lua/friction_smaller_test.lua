-- Small frictions: sandbox note IDs never equal another object's ID, the chat stand-in
-- summarises instead of echoing the prompt, and -v keeps incident_key readable.
local t = require "vsrun.testing"
local sandbox = require "vsrun.sandbox"
local http = require "http"
local http_core = require "vsrun.http_core"
local pd = require "pagerduty"

t.test("sandbox note IDs never equal a user's or a service's ID", function()
  local info = sandbox.info()
  local taken = {}
  for _, u in ipairs(info.users) do taken[u.id] = "user " .. u.name end
  for _, s in ipairs(info.services) do taken[s.id] = "service " .. s.name end
  local users = 0
  for _ in pairs(taken) do users = users + 1 end
  t.ok(users >= 14, "the seed has users and services to collide with")
  local inc = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
  -- the seed already made notes; new ones continue the counter past every seeded object
  for i = 1, 30 do
    local note = pd.create_incident_note(inc.id, "note " .. i)
    t.eq(taken[note.id], nil, "note " .. note.id .. " has the ID of " .. tostring(taken[note.id]))
    t.raises("not_found", pd.get_user, note.id)
  end
end)

local function ask(content)
  local r = http.post(sandbox.url() .. "/v1/chat/completions", { json = { model = "m", messages = {
    { role = "system", content = "You summarise." }, { role = "user", content = content } } } })
  t.eq(r.status, 200)
  return r:json().choices[1].message.content
end

t.test("chat stand-in: an incident timeline is summarised, not repeated", function()
  local prompt = table.concat({
    "Incident #42: Replica lag on db2",
    "Service: Database. Status: resolved. Urgency: high.",
    "Timeline:",
    "2026-01-01T10:00:00Z  triggered      Ada        Triggered through the API.",
    "2026-01-01T10:05:00Z  acknowledged   Ada        Acknowledged by Ada.",
    "2026-01-01T10:20:00Z  note           Ada        failing over to db3",
    "2026-01-01T10:40:00Z  resolved       Ada        Resolved by Ada.",
    "Summarise what happened in three sentences, then list up to three next steps.",
  }, "\n")
  local s = ask(prompt)
  t.match(s, "^Summary: Incident #42 %(Replica lag on db2%) on Database")
  t.match(s, "4 timeline events %(triggered, acknowledged, note, resolved%); the latest: resolved")
  t.match(s, "Next steps:")
  -- no line of the prompt comes back verbatim
  for line in prompt:gmatch("[^\n]+") do
    t.ok(not s:find(line, 1, true), "the summary repeats the prompt line: " .. line)
  end
  t.eq(ask(prompt), s, "deterministic")
end)

t.test("chat stand-in: free text gets its topic, not the whole text", function()
  local text = "The deploy of version 4.2 to the payments cluster failed twice and was rolled back at noon. Customers saw errors."
  local s = ask(text)
  t.match(s, '^Summary: about "The deploy of version 4.2 to the payments %.%.%."%.$')
  t.ok(#s < #text, "shorter than what it summarises")
end)

t.test("-v keeps incident_key readable and still redacts keys", function()
  t.eq(http_core.redact_url("https://api.example/incidents?incident_key=db2-lag&api_key=K&routing_key=R"),
    "https://api.example/incidents?incident_key=db2-lag&api_key=REDACTED&routing_key=REDACTED")
  t.eq(http_core.redact_url("https://api.example/incidents?incident%5Fkey=x&my_incident_key_secret=y"),
    "https://api.example/incidents?incident%5Fkey=x&my_incident_key_secret=REDACTED")
end)
