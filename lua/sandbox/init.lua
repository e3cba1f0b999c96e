-- The PagerDuty sandbox: a stateful simulator of the nine REST actions and of PagerDuty's
-- OAuth server, run as a server module (see docs/internals.md "The server binding" and
-- docs/sandbox.md). `require("sandbox")(args)` returns handler, info.
local App = require "sandbox.app"

return function(args)
  local app = App.new(args)
  local function handler(req) return app:handle(req) end
  return handler, app:info(), app
end
