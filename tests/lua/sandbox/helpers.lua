-- Shared helpers for the sandbox tests: a sandbox instance and a request function that
-- decodes JSON answers. Loaded with dofile-free require through a relative path.
local json = require "json"

local H = {}

H.NOW = 1767225600 -- 2026-01-01T00:00:00Z: a fixed clock keeps the tests deterministic

function H.new(args)
  args = args or {}
  local a = { seed = 1, incidents = 50, now = args.now or H.NOW,
              preset_tokens = { { token = "tok-write" }, { token = "tok-read", scope = "read", user = "bruno@sandbox.example.com" } } }
  for k, v in pairs(args) do a[k] = v end
  -- the app object too, so tests can reach internals (e.g. fill 2000 notes quickly)
  local app = require("sandbox.app").new(a)
  local function handler(req) return app:handle(req) end
  local info = app:info()
  local function call(method, path, opts)
    opts = opts or {}
    local headers = { host = "127.0.0.1:8080" }
    if opts.token ~= false then headers.authorization = "Bearer " .. (opts.token or "tok-write") end
    for k, v in pairs(opts.headers or {}) do headers[k] = v end
    local body = opts.body
    if type(body) == "table" then body = json.encode(body) headers["content-type"] = "application/json" end
    local r = handler { method = method, path = path, query = opts.query or {}, headers = headers, body = body,
                        remote = opts.remote or "127.0.0.1" }
    local ok, decoded = pcall(json.decode, r.body ~= "" and r.body or "null")
    r.json = ok and decoded or nil
    return r
  end
  return call, info, app, handler
end

return H
