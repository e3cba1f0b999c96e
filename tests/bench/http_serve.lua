-- Serves tests/bench/http_far_end.lua until killed; prints the base URL first.
local server = require "vsrun.server"
local vs = require "vsrun"
local s = server.start { file = "tests/bench/http_far_end.lua" }
io.stdout:write(s:url(), "\n")
io.stdout:flush()
while true do vs.sleep(3600) end
