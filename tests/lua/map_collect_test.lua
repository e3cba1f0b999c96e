-- vs.map(list, fn, { on_error = "collect" }): every item runs; failures come back beside the
-- results instead of aborting the batch.
local t = require "vsrun.testing"
local vs = require "vsrun"
local errors = require "vsrun.errors"
local pd = require "pagerduty"

t.test("collect: every item runs and the failures are listed by index", function()
  local ran = {}
  local results, errs = vs.map({ 1, 2, 3, 4, 5, 6 }, function(x)
    ran[#ran + 1] = x
    vs.sleep(0.001 * (7 - x))
    if x % 3 == 0 then error("item " .. x .. " is bad", 0) end
    return x * 10
  end, { concurrency = 2, on_error = "collect" })
  table.sort(ran)
  t.eq(ran, { 1, 2, 3, 4, 5, 6 }, "every item ran")
  t.eq({ results[1], results[2], results[3], results[4], results[5], results[6] }, { 10, 20, nil, 40, 50, nil })
  t.eq(#errs, 2)
  t.eq({ errs[1].index, errs[1].error, errs[2].index, errs[2].error }, { 3, "item 3 is bad", 6, "item 6 is bad" })
end)

t.test("control: the default still aborts on the first failure", function()
  local ran = 0
  t.raises("item 2", function()
    vs.map({ 1, 2, 3, 4 }, function(x) ran = ran + 1 if x == 2 then error("boom") end end, { concurrency = 1 })
  end)
  t.eq(ran, 2)
end)

t.test("collect: PagerDuty error objects keep their kind; no failure gives an empty list", function()
  local results, errs = vs.map({ "PNOSUCH1", "PNOSUCH2" }, pd.get_incident, { on_error = "collect" })
  t.eq(#errs, 2)
  t.ok(errors.is(errs[1].error, "not_found"), tostring(errs[1].error))
  t.eq(next(results), nil)
  local ok_results, none = vs.map({ 1, 2 }, function(x) return x end, { on_error = "collect" })
  t.eq({ ok_results, none }, { { 1, 2 }, {} })
  local empty, e2 = vs.map({}, print, { on_error = "collect" })
  t.eq({ empty, e2 }, { {}, {} })
end)

t.test("collect: a returned table is a result, even one shaped like a failure", function()
  local results, errs = vs.map({ 1 }, function() return { err = "not an error" } end, { on_error = "collect" })
  t.eq({ results, errs }, { { { err = "not an error" } }, {} })
end)

t.test("on_error must be raise or collect", function()
  t.raises('on_error must be "raise" or "collect"', vs.map, { 1 }, print, { on_error = "ignore" })
  t.eq(vs.map({ 1 }, function(x) return x end, { on_error = "raise" }), { 1 })
end)
