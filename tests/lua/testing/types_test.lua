-- lua/types/testing.lua and lua/types/sandbox.lua (LuaLS annotations) name every public
-- function of vsrun.testing and vsrun.sandbox, so editors know all of them.
local t = require "vsrun.testing"

local function read(name)
  local f = assert(io.open(t.path("../../../lua/types/" .. name)))
  local text = f:read("a")
  f:close()
  return text
end

local function missing(module, text, prefix)
  local out = {}
  for name, v in pairs(module) do
    if type(name) == "string" and name:sub(1, 1) ~= "_" and (type(v) == "function" or type(v) == "string") then
      local fn, field = "function " .. prefix .. "." .. name .. "(", "\n" .. prefix .. "." .. name .. " ="
      if not text:find(fn, 1, true) and not text:find(field, 1, true) then out[#out + 1] = name end
    end
  end
  table.sort(out)
  return out
end

t.test("every vsrun.testing function is annotated", function()
  t.eq(missing(t, read("testing.lua"), "t"), {})
  t.eq(missing({ not_there = print }, read("testing.lua"), "t"), { "not_there" }, "the control")
end)

t.test("every vsrun.sandbox function is annotated", function()
  t.eq(missing(require "vsrun.sandbox", read("sandbox.lua"), "sandbox"), {})
end)
