local t = require "vsrun.testing"
local timeline = require "timeline"

local entries = {
  { type = "resolve_log_entry", created_at = "2026-01-01T03:00:00Z", agent = { summary = "Ada" }, summary = "Resolved" },
  { type = "trigger_log_entry", created_at = "2026-01-01T01:00:00Z", agent = { summary = "Monitoring" }, summary = "Triggered" },
  { type = "acknowledge_log_entry", created_at = "2026-01-01T01:10:00Z", agent = { summary = "Ada" }, summary = "Acknowledged" },
  { type = "annotate_log_entry", created_at = "2026-01-01T01:20:00Z", agent = { summary = "Ada" }, summary = "Note added" },
}
local notes = { { created_at = "2026-01-01T01:20:00Z", user = { summary = "Ada" }, content = "restarted the\nservice" } }

t.test("orders events by time and keeps notes instead of annotate entries", function()
  local events = timeline.build(entries, notes)
  local kinds = {}
  for i, ev in ipairs(events) do kinds[i] = ev.kind end
  t.eq(kinds, { "triggered", "acknowledged", "note", "resolved" })
  t.eq(events[3].text, "restarted the\nservice")
end)

t.test("both acknowledge spellings count as acknowledged", function()
  local spelled = { { type = "acknowledgement_log_entry", created_at = "2026-01-01T00:00:00Z" } }
  t.eq(timeline.first(timeline.build(spelled), "acknowledged").time, "2026-01-01T00:00:00Z")
  t.eq(timeline.first(timeline.build(entries), "acknowledged").who, "Ada")
end)

t.test("render gives one line per event with whitespace folded", function()
  local text = timeline.render(timeline.build(entries, notes))
  local n = select(2, text:gsub("\n", "")) + 1
  t.eq(n, 4)
  t.match(text, "restarted the service")
end)

t.test("without notes, annotate entries stay and unknown types keep their name", function()
  local events = timeline.build({ entries[4], { type = "custom_thing_log_entry", created_at = "2026-01-02T00:00:00Z" } })
  t.eq({ events[1].kind, events[2].kind }, { "note", "custom_thing" })
end)
