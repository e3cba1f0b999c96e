local t = require "vsrun.testing"
local q = require "incident_query"

t.test("id_set parses comma lists, all and empty", function()
  t.eq(q.id_set("PA, PB,PC"), { PA = true, PB = true, PC = true })
  t.eq(q.id_set("all"), true)
  t.eq(q.id_set(nil), {})
  t.eq(q.id_set({ "PX" }), { PX = true })
  t.ok(q.matches(q.id_set("all"), "anything"))
  t.ok(not q.matches(q.id_set(""), "PA"))
end)

t.test("list, group and count_by", function()
  t.eq(q.list("PA,PB"), { "PA", "PB" })
  t.eq(q.list("all"), nil)
  local items = { { s = "db", urgency = "high" }, { s = "web", urgency = "low" }, { s = "db", urgency = "high" } }
  local g = q.group(items, function(i) return i.s end)
  t.eq({ #g.db, #g.web }, { 2, 1 })
  t.eq(q.count_by(items, "urgency"), { high = 2, low = 1 })
end)
