-- The PagerDuty sandbox: a stateful simulator of the nine REST actions and of PagerDuty's
-- OAuth server, run as a server module (see docs/internals.md "The server binding" and
-- docs/sandbox.md). `require("sandbox")(args)` returns handler, info, on_stop, outbox
-- (webhooks: see sandbox/webhooks.lua).
local App = require "sandbox.app"
local persist = require "sandbox.persist"

return function(args)
  local app = App.new(args)
  local function handler(req) return app:handle(req) end
  local function on_stop()
    if app.cfg.state_file then persist.save(app, app.cfg.state_file) end
  end
  local function outbox(results) return app:outbox(results) end
  return handler, app:info(), on_stop, outbox
end
