---@meta vsrun
-- LuaLS annotations for the `vsrun` module (not embedded; for editors only).

---@class vsrun.Task
local Task = {}
--- Waits for the task; returns its results or re-raises its error.
function Task:wait() end
---@return boolean
function Task:done() end
---@param reason? string
function Task:cancel(reason) end

local vsrun = {}

vsrun.DEFAULT_CONCURRENCY = 8

--- true under --dry-run: PagerDuty and http writes are printed, not sent
---@type boolean
vsrun.dry_run = false

---@param fn function
---@return vsrun.Task
function vsrun.spawn(fn, ...) end

--- fn(list[i]) for every item, at most `concurrency` at a time; results in input order.
--- With on_error = "collect", every item runs and the failures come back as a second table.
---@generic T, R
---@param list T[]
---@param fn fun(item: T): R
---@param opts? { concurrency: integer?, on_error: ("raise"|"collect")? }
---@return R[]
---@return { index: integer, error: any }[]? failures  only with on_error = "collect"
function vsrun.map(list, fn, opts) end

---@param seconds number
function vsrun.sleep(seconds) end

---@return number
function vsrun.now() end

return vsrun
