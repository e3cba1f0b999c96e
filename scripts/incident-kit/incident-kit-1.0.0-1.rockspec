-- The example library, packaged as we recommend for sharing (docs/libraries.md): pure Lua,
-- one rockspec per release, tested with `vsrun test`, LuaLS annotations in the sources.
rockspec_format = "3.0"
package = "incident-kit"
version = "1.0.0-1"
source = {
  -- a private git library: LuaRocks fetches git sources by tag (git+ssh:// works too)
  url = "git+https://git.example.com/platform/vsrun-scripts.git",
  tag = "incident-kit-1.0.0",
  dir = "vsrun-scripts/scripts/incident-kit",
}
description = {
  summary = "Small helpers for vsrun pipelines: incident timelines, id sets, idempotent creates",
  license = "MIT",
}
dependencies = { "lua >= 5.4" }
build = {
  type = "builtin",
  modules = {
    timeline = "src/timeline.lua",
    incident_query = "src/incident_query.lua",
    ensure_incident = "src/ensure_incident.lua",
  },
}
test = { type = "command", command = "vsrun test tests" }
