-- Runs a script for host/main.c: installs the yield-friendly require and coroutine
-- wrappers, loads the chunk (text only), runs it as the main task and encodes its result.
local sched = require "vsrun.sched"
local core = require "vsrun.core"
local json = require "json"
local errors = require "vsrun.errors"

local M = {}

-- require written in Lua, so a module's body may do I/O (docs/http.md allows it at top
-- level). Built-in modules come from the host (core.require_builtin: what this mode allows,
-- the one read-only instance the built-ins share), never from package.loaded, which scripts
-- can write. A file module's body runs once per state: it runs as its own task, and every
-- task that requires the module meanwhile waits for that task and gets the same value. A
-- failed load leaves nothing behind, so a later require tries again (as in stock Lua).
-- This module runs in the built-in environment (host/modules.c): `_G` is the script's.
local loading = {}                                   -- module name -> the task loading it
local waiting_for = setmetatable({}, { __mode = "k" }) -- task -> module it waits for

-- the modules whose loads wait on each other from `name` back to the current task, or nil
local function cycle(name, me)
  local chain, t = { name }, loading[name]
  for _ = 1, 1000 do
    if t == me then chain[#chain + 1] = name return chain end
    local m = waiting_for[t]
    if m == nil or loading[m] == nil then return nil end
    chain[#chain + 1] = m
    t = loading[m]
  end
end

local function version_of(v)
  local ok, ver = pcall(function() return type(v) == "table" and rawget(v, "_VERSION") end)
  return ok and type(ver) == "string" and (" version " .. ver) or ""
end

local function install_require()
  local loaded, searchers = package.loaded, package.searchers
  local require_builtin = core.require_builtin
  local verbose = core.options().verbose

  local function run_loader(name, loader, extra)
    local r = loader(name, extra)
    if r ~= nil then loaded[name] = r elseif loaded[name] == nil then loaded[name] = true end
    if verbose and type(extra) == "string" then
      core.stderr(("vsrun: module '%s' from %s%s\n"):format(name, extra, version_of(loaded[name])))
    end
    return loaded[name]
  end

  local function load_file_module(name, loader, extra)
    local me = sched.current()
    local task = sched.spawn(function()
      local ok, v = pcall(run_loader, name, loader, extra)
      loading[name] = nil
      if not ok then error(v, 0) end
      return v
    end)
    loading[name] = task
    waiting_for[me] = name
    local ok, v = pcall(task.wait, task)
    waiting_for[me] = nil
    if not ok then error(v, 0) end
    return v
  end

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
    local me = sched.current()
    if loading[name] then      -- another task is loading it: wait for that load
      local chain = cycle(name, me)
      if chain then error("circular require: " .. table.concat(chain, " -> "), 2) end
      waiting_for[me] = name
      local wok, wv = pcall(loading[name].wait, loading[name])
      waiting_for[me] = nil
      if not wok then error(wv, 0) end
      return wv
    end
    local msgs = {}
    for _, searcher in ipairs(searchers) do
      local sok, loader, extra = pcall(searcher, name)
      if not sok then error(loader, 2) end   -- e.g. a syntax error: at the requiring line
      if type(loader) == "function" then
        -- outside any task, or inside a C callback (a sort comparator) where no task can
        -- wait: the body runs right here, as stock Lua does
        if me == nil or not coroutine.isyieldable() then return run_loader(name, loader, extra), extra end
        return load_file_module(name, loader, extra), extra
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
function M.script_traceback(tb)
  if core.options().verbose or type(tb) ~= "string" then return tb end
  local out, hidden = {}, false
  local in_trace = false
  for line in (tb .. "\n"):gmatch("(.-)\n") do
    if line == "stack traceback:" then in_trace = true end
    local frame = in_trace and line:match("^\t(.*)")
    local file = frame and frame:match("^([^:]+%.lua):")
    if frame and ((file and core.is_embedded_file(file)) or frame:find("^%[C%]") or frame:find("^%(%.%.%.tail calls")) then
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
  local project_error = core.project_error()
  if project_error then return false, "syntax", project_error end
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
