-- The project file (vsrun.json) at a project's root, read by host/modules.c when a Lua
-- state is made. It names the project's library directories and its LuaRocks tree; every
-- path in it is relative to the project root, so a script resolves modules the same way
-- from any working directory. See docs/libraries.md.
local json = require "json"

local M = {}

M.FILE = "vsrun.json"
M.DEFAULT_ROCKS = "lua_modules"   -- what `luarocks init` makes
M.LUA_DIR = "/share/lua/5.4"      -- pure-Lua modules inside a rocks tree
M.C_DIR = "/lib/lua/5.4"          -- C modules inside a rocks tree (refused, named in errors)

local KNOWN = { name = true, version = true, libs = true, rocks_tree = true, description = true, allow_net = true,
  defaults = true }
M.MAX_DEFAULT_MEMORY = 1024   -- MB: vsrun's own default; a project may lower it, never raise it

-- a path inside the project: relative, and written the same on every machine
local function relative(file, key, v)
  if type(v) ~= "string" or v == "" then
    error(("%s: %s must be a non-empty string (a directory relative to the project root)"):format(file, key), 0)
  end
  if v:sub(1, 1) == "/" or v:find("\\", 1, true) or v:find("[;?%z]") then
    error(("%s: %s %q must be a relative directory without ';', '?' or '\\'"):format(file, key, v), 0)
  end
  return (v:gsub("/+$", ""))
end

-- parse(text, root, file) -> { root, file, name, libs = {absolute dirs}, rocks = absolute dir }
-- or raises a message that names the file and the field.
function M.parse(text, root, file)
  local ok, conf = pcall(json.decode, text)
  if not ok then error(file .. ": not valid JSON: " .. tostring(conf), 0) end
  if type(conf) ~= "table" then error(file .. ": must hold a JSON object", 0) end
  for k in pairs(conf) do
    if not KNOWN[k] then
      error(("%s: unknown field %q (known: allow_net, defaults, description, libs, name, rocks_tree, version)"):format(file, tostring(k)), 0)
    end
  end
  local p = { root = root, file = file, name = conf.name, libs = {} }
  local libs = conf.libs
  if libs == nil then libs = {} end
  if type(libs) ~= "table" then error(file .. ": libs must be a list of directories", 0) end
  for i, dir in ipairs(libs) do
    local rel = relative(file, ("libs[%d]"):format(i), dir)
    p.libs[#p.libs + 1] = rel == "." and root or (root .. "/" .. rel)
  end
  if #p.libs ~= #libs or next(libs, #libs > 0 and #libs or nil) ~= nil then
    error(file .. ": libs must be a list of directories", 0)
  end
  p.rocks = root .. "/" .. relative(file, "rocks_tree", conf.rocks_tree or M.DEFAULT_ROCKS)
  -- allow_net: the origins the project's scripts may reach with http. It narrows every run
  -- and never grants: under --strict the command line's --allow-net is still needed, since
  -- the project file comes with the code.
  if conf.allow_net ~= nil then
    local hosts = conf.allow_net
    if type(hosts) ~= "table" or #hosts == 0 or next(hosts, #hosts) ~= nil then
      error(file .. ": allow_net must be a non-empty list of \"host[:port]\" strings", 0)
    end
    for i, h in ipairs(hosts) do
      if type(h) ~= "string" or not h:match("^[%w%.%-%[%]:]+$") then
        error(("%s: allow_net[%d] must be \"host\" or \"host:port\""):format(file, i), 0)
      end
    end
    p.allow_net = table.concat(hosts, ",")
  end
  -- defaults: run limits for the project's scripts when the command line gives none. Like
  -- allow_net they only tighten: the project file comes with the code it would relax.
  if conf.defaults ~= nil then
    local d = conf.defaults
    if type(d) ~= "table" or getmetatable(d) == json.array_mt then
      error(file .. ": defaults must be an object like {\"timeout\": 60, \"max_memory\": 256}", 0)
    end
    for k, v in pairs(d) do
      if k ~= "timeout" and k ~= "max_memory" then
        error(("%s: defaults.%s is not a known default (known: max_memory, timeout)"):format(file, tostring(k)), 0)
      end
      if math.type(v) == nil or v <= 0 or v ~= v or v == math.huge then
        error(("%s: defaults.%s must be a positive number"):format(file, k), 0)
      end
    end
    if d.timeout and d.timeout > 7 * 86400 then error(file .. ": defaults.timeout is at most a week (604800 s)", 0) end
    if d.max_memory and d.max_memory > M.MAX_DEFAULT_MEMORY then
      error(("%s: defaults.max_memory may lower vsrun's default of %d MB, not raise it (give --max-memory)"):format(
        file, M.MAX_DEFAULT_MEMORY), 0)
    end
    p.default_timeout, p.default_max_memory = d.timeout, d.max_memory
  end
  return p
end

return M
