-- --state FILE: the whole state (data, counters, token hashes, clients, clock offset) as
-- JSON, written atomically after each change and read at start. The write goes through
-- core.write_file_atomic: an unpredictable temp name created with O_EXCL, so a link
-- another user plants next to the state file is never followed.
local json = require "json"
local core = require "vsrun.core"

local M = {}

function M.save(app, path)
  if not (io and io.open) then return false end -- under --strict scripts write no files
  local doc = { version = 1, data = app.store.data, tokens = app.state.tokens, refresh = app.state.refresh,
                clients = app.state.clients, clock_offset = app.clock_offset }
  return core.write_file_atomic(path, json.encode(doc)) == true
end

local function arrays(t, names)
  for _, n in ipairs(names) do if type(t[n]) ~= "table" then t[n] = {} end end
end

function M.load(app, path)
  if not (io and io.open) then return false end
  local f = io.open(path, "rb")
  if not f then return false end
  local text = f:read("a")
  f:close()
  local ok, doc = pcall(json.decode, text)
  if not ok or type(doc) ~= "table" or doc.version ~= 1 then
    error("sandbox: the state file " .. path .. " is not a sandbox state (version 1)")
  end
  local d = doc.data
  arrays(d, { "teams", "users", "escalation_policies", "services", "priorities", "incidents", "log_entries" })
  -- JSON null decodes to a sentinel; drop those so absent fields read as nil
  local null = json.null
  local function clean(t)
    for k, v in pairs(t) do
      if v == null then t[k] = nil elseif type(v) == "table" then clean(v) end
    end
  end
  clean(d)
  app.store.data = d
  app.store:reindex()
  app.state.tokens = doc.tokens or {}
  app.state.refresh = doc.refresh or {}
  for id, c in pairs(doc.clients or {}) do app.state.clients[id] = c end
  app.clock_offset = tonumber(doc.clock_offset) or 0
  return true
end

return M
