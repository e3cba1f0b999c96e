-- A create whose 2xx answer is larger than max_body (issue 12 item 4): the object exists, so
-- the create looks it up (by the incident key it sent, or the note's content) and returns it
-- instead of raising too_large; nothing is created twice. An oversize error answer, or an
-- oversize read, still raises too_large.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local H = require "pd_helpers"

H.seed(40)
H.fast()
local SVC = H.account().services[1].id
pd.configure { max_body = 200000 }

local function oversize(method, path)
  H.fault { kind = "oversize", size = 400000, count = 1, match = { method = method, path = path } }
end

local function count_key(key)
  return #pd.list_incidents({ incident_key = key, date_range = "all" }):collect()
end

t.test("create_incident: an oversize 2xx answer returns the created incident", function()
  H.reset()
  oversize("POST", "^/incidents$")
  local inc = pd.create_incident { title = "big answer", service = SVC, incident_key = "oversize-1" }
  t.eq(inc.title, "big answer")
  t.eq(inc.incident_key, "oversize-1")
  t.match(inc.id, "^%w+$")
  t.eq(count_key("oversize-1"), 1, "created once")
  t.eq(#H.requests("POST", "^/incidents$"), 1, "not sent again")
end)

t.test("create_incident without a key: found by the key vsrun sent", function()
  H.reset()
  oversize("POST", "^/incidents$")
  local inc = pd.create_incident { title = "big answer, no key", service = SVC }
  t.eq(inc.title, "big answer, no key")
  t.match(inc.incident_key, "^vsrun%-")
  t.eq(count_key(inc.incident_key), 1)
end)

t.test("create_incident_note: an oversize 2xx answer returns the note", function()
  H.reset()
  local inc = pd.create_incident { title = "for a note", service = SVC }
  oversize("POST", "/notes$")
  local note = pd.create_incident_note(inc.id, "a note with a big answer")
  t.eq(note.content, "a note with a big answer")
  t.eq(#pd.list_incident_notes(inc.id):collect(), 1, "written once")
end)

t.test("control: an oversize error answer and an oversize read still raise too_large", function()
  H.reset()
  H.fault { kind = "status", status = 400, body = string.rep(" ", 300000) .. "{}", count = 1,
            match = { method = "POST", path = "^/incidents$" } }
  t.raises("too_large", function() pd.create_incident { title = "refused", service = SVC, incident_key = "oversize-3" } end)
  t.eq(count_key("oversize-3"), 0, "nothing was created")
  local any = pd.list_incidents({ date_range = "all", limit = 1 }):collect()[1]
  oversize("GET", "^/incidents/")
  t.raises("too_large", function() pd.get_incident(any.id) end)
end)
