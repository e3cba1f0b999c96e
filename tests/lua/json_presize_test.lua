-- json.decode creates each table as big as the last one closed at its depth (a page's
-- records share one shape). A smaller or empty table after a bigger one must still read
-- back exactly: its length, its keys, and nothing extra.
local t = require "vsrun.testing"
local json = require "json"

local function keys(o) local n = 0 for _ in pairs(o) do n = n + 1 end return n end

t.test("objects and arrays smaller than the previous one at the same depth", function()
  local big = {}
  for i = 1, 40 do big[#big + 1] = ('"k%d":%d'):format(i, i) end
  local text = "[{" .. table.concat(big, ",") .. '},{"a":1},{},{"b":[1,2,3,4,5,6,7,8]},{"b":[9]},{"b":[]},{"b":[null,2]}]'
  local v = json.decode(text)
  t.eq(#v, 7)
  t.eq(keys(v[1]), 40)
  t.eq(v[1].k40, 40)
  t.eq(keys(v[2]), 1)
  t.eq(v[2].a, 1)
  t.eq(keys(v[3]), 0)
  t.eq(#v[4].b, 8)
  t.eq(#v[5].b, 1, "one item after eight")
  t.eq(v[5].b[2], nil)
  t.eq(#v[6].b, 0, "empty after one")
  t.eq(json.encode(v[6].b), "[]")
  t.eq(v[7].b[1], json.null)
  t.eq(#v[7].b, 2)
  t.eq(json.encode(v[5]), '{"b":[9]}')
end)

t.test("a page of records decodes to the same values as one record at a time", function()
  local rec = '{"id":"P%d","n":%d,"tags":["x","y"],"o":{"a":1,"b":null}}'
  local parts = {}
  for i = 1, 50 do parts[i] = rec:format(i, i) end
  local page = json.decode("[" .. table.concat(parts, ",") .. "]")
  for i = 1, 50 do
    t.eq(json.encode(page[i]), json.encode(json.decode(rec:format(i, i))), "record " .. i)
  end
end)
