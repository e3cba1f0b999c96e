-- The trust boundary between script code and the built-in modules (host/modules.c):
-- read-only module tables, one shared instance, the internal/private split, and built-ins
-- that ignore changes to globals. The hostile-library scenarios are in tests/abuse/.
local t = require "vsrun.testing"
local pd = require "pagerduty"
local json = require "json"

t.test("module tables are read-only and the error names the module", function()
  t.raises("module 'pagerduty' is read-only (cannot set 'acknowledge')", function() pd.acknowledge = print end)
  t.raises("module 'json' is read-only", function() json.null = false end)
  t.raises("module 'vsrun.time' is read-only", function() require("vsrun.time").extra = 1 end)
  t.raises("module 'vsrun.errors' is read-only (rawset refused)", rawset, require "vsrun.errors", "is", print)
  t.raises("protected metatable", setmetatable, pd, nil)
  t.eq(type(pd.acknowledge), "function", "still the real function")
end)

t.test("read-only modules still iterate and index like tables", function()
  local names = {}
  for k, v in pairs(pd) do if type(v) == "function" then names[k] = true end end
  for _, fn in ipairs { "get_incident", "list_incidents", "create_incident", "acknowledge", "connect" } do
    t.ok(names[fn], "pairs(pagerduty) lists " .. fn)
  end
  t.eq(json.decode("[1]")[1], 1)
  t.eq(json.null, require("json").null)
  t.eq(getmetatable(pd), "module 'pagerduty' is read-only")
end)

t.test("the string library and metatable are read-only; strings still work", function()
  t.raises("the string library is read-only", function() string.trim = function(s) return s end end)
  t.eq(getmetatable(""), "the string metatable is read-only")
  t.eq(("%d-%s"):format(7, "x"), "7-x")
  t.eq(("abc"):upper(), "ABC")
end)

t.test("require returns the one built-in instance, whatever package.loaded says", function()
  local fake = {}
  package.loaded.pagerduty = fake
  t.eq(require("pagerduty"), pd)
  t.eq(package.loaded.pagerduty, pd, "put back")
end)

t.test("internal modules: requirable outside --strict, the same instances the built-ins use", function()
  local errors = require "vsrun.errors"
  local ok, err = pcall(pd.get_incident, "bad id!")
  t.eq(ok, false)
  t.ok(errors.is(err, "invalid_argument"), "an error from pagerduty is a vsrun.errors object")
  t.eq(require("vsrun.pd_core").refresh, nil, "no refresh in vsrun.pd_core")
  t.raises("module 'vsrun.pd_refresh' is internal to vsrun and not available to scripts", require, "vsrun.pd_refresh")
  t.raises("not available to scripts", package.searchers[2], "vsrun.pd_refresh")
end)

t.test("built-ins ignore globals a library replaces", function()
  local saved_concat, saved_type, saved_pairs = table.concat, type, pairs
  table.concat = function() return "" end
  _G.type = function() return "string" end
  _G.pairs = function() return function() end end
  local ok, err = pcall(pd.create_incident, { title = "x", service = "PABC", urgency = "urgent" })
  table.concat, _G.type, _G.pairs = saved_concat, saved_type, saved_pairs
  t.eq(ok, false)
  t.eq(err.kind, "invalid_argument")
  t.match(err.message, "urgency")
  t.match(err.message, "high, low", "the list of allowed values is still built")
end)

t.test("the global pagerduty is the module and cannot be replaced", function()
  t.eq(pagerduty, pd)
  t.raises("the global 'pagerduty' is read-only", function() pagerduty = {} end)
  t.eq(pagerduty, pd)
end)

t.test("under vsrun test every connection name is the sandbox", function()
  for _, name in ipairs { "prod", "api-key", "sandbox" } do
    local c = pd.connect(name)
    t.ok(c.get_user("me").id, name .. " answers as the sandbox")
  end
  t.eq(pd.connection().kind, "sandbox")
end)

t.test("client.action and client:action both use the client", function()
  local c = pd.connect("prod")
  t.eq(c.get_user("me").id, c:get_user("me").id)
  t.raises("invalid_argument", c.get_incident, "bad id!")
  t.raises("invalid_argument", c.get_incident, c, "bad id!")
end)

t.test("metatables shared by every task, listing, client, response and error are protected", function()
  local vs, errors, http = require "vsrun", require "vsrun.errors", require "http"
  local task = vs.spawn(function() return 1 end)
  t.eq(getmetatable(task), "vsrun.task")
  t.eq(task:wait(), 1)
  t.eq(getmetatable(pd.list_incidents { limit = 1 }), "pagerduty.iterator")
  t.eq(getmetatable(pd.connect("prod")), "pagerduty client")
  local res = http.get(require("vsrun.sandbox").url() .. "/users/me")
  t.eq(getmetatable(res), "http.response")
  local ok, err = pcall(pd.get_incident, "bad id!")
  t.eq(ok, false)
  t.eq(getmetatable(err), "vsrun.error")
  t.ok(errors.is(err, "invalid_argument"), "errors.is still knows its objects")
  t.ok(not errors.is(setmetatable({ kind = "invalid_argument" }, { __metatable = "vsrun.error" })), "and only those")
  t.match(errors.describe(err), "invalid_argument")
  t.raises("attempt to index a string value", function() getmetatable(err).__tostring = tostring end)
end)
