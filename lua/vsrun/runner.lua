-- Runs a script for host/main.c: installs the yield-friendly require and coroutine
-- wrappers, loads the chunk (text only), runs it as the main task and encodes its result.
local sched = require "vsrun.sched"
local core = require "vsrun.core"
local json = require "json"
local errors = require "vsrun.errors"

local M = {}

-- require written in Lua, so a module's body runs inside the calling task and may do I/O.
-- Built-in modules come from the host (core.require_builtin: what this mode allows, the one
-- read-only instance the built-ins share), never from package.loaded, which scripts can write.
-- This module runs in the built-in environment (host/modules.c): `_G` is the script's.
local function install_require()
  local loaded, searchers = package.loaded, package.searchers
  local require_builtin = core.require_builtin
  _G.require = function(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
    local ok, builtin = pcall(require_builtin, name)
    if not ok then error(builtin, 2) end
    if builtin ~= nil then
      loaded[name] = builtin
      return builtin, ":builtin:"
    end
    local v = loaded[name]
    if v ~= nil then return v end
    local msgs = {}
    for _, searcher in ipairs(searchers) do
      local loader, extra = searcher(name)
      if type(loader) == "function" then
        local r = loader(name, extra)
        if r ~= nil then loaded[name] = r elseif loaded[name] == nil then loaded[name] = true end
        return loaded[name], extra
      elseif type(loader) == "string" then
        msgs[#msgs + 1] = loader
      end
    end
    error(("module '%s' not found:\n\t%s"):format(name, table.concat(msgs, "\n\t")), 2)
  end
end

local prepared = false
function M.prepare()
  if prepared then return end
  prepared = true
  install_require()
  sched.install_coroutine_wrappers(_G.coroutine)
  -- pagerduty is also a global, loaded on first use; like the module, it cannot be replaced
  local pd
  setmetatable(_G, {
    __index = function(_, k)
      if k == "pagerduty" then
        if pd == nil then
          local ok, m = pcall(_G.require, "pagerduty")
          if ok then pd = m end
        end
        return pd
      end
    end,
    __newindex = function(t, k, v)
      if k == "pagerduty" then error("the global 'pagerduty' is read-only", 2) end
      rawset(t, k, v)
    end,
  })
end

-- The traceback people read: the script's own frames only (vsrun's embedded modules and C
-- functions are noise to them); -v keeps the whole trace.
-- whether a traceback's "lua/x/y.lua" is one of vsrun's embedded modules (and not a script
-- of the same path)
local function embedded_file(file)
  return core.is_embedded_file(file)
end

function M.script_traceback(tb)
  if core.options().verbose or type(tb) ~= "string" then return tb end
  local out, hidden = {}, false
  local in_trace = false
  for line in (tb .. "\n"):gmatch("(.-)\n") do
    if line == "stack traceback:" then in_trace = true end
    local frame = in_trace and line:match("^\t(.*)")
    local file = frame and frame:match("^([^:]+%.lua):")
    if frame and ((file and embedded_file(file)) or frame:find("^%[C%]") or frame:find("^%(%.%.%.tail calls")) then
      hidden = hidden or not frame:find("^%(")
    else
      out[#out + 1] = line
    end
  end
  if hidden then out[#out + 1] = "\t(vsrun's own frames are hidden; -v shows the full traceback)" end
  return table.concat(out, "\n")
end

-- Returns true, json_text_or_nil | false, "syntax", message | false, "error", err, traceback
function M.run(kind, source, inputs)
  M.prepare()
  local chunk, msg
  if kind == "file" then
    chunk, msg = core.loadfile(source)
  else
    chunk, msg = load(source, "=(command line)")
  end
  if not chunk then return false, "syntax", msg end
  local r = table.pack(sched.run(chunk, inputs))
  require("vsrun.progress").clear()   -- a listing left by `break` may still show its line
  if not r[1] then return false, "error", r[2], M.script_traceback(r[3]) end
  if r.n < 2 or r[2] == nil then return true, nil end
  local ok, text = pcall(json.encode, r[2], { indent = 2 })
  if not ok then
    local err = errors.new("bad_output", "the script's return value cannot be written as JSON: " .. tostring(text))
    return false, "error", err, tostring(err)
  end
  return true, text
end

return M
