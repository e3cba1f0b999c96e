-- Progress of long PagerDuty listings and the reasons for waits, for people watching:
--   * on a terminal (stderr is a TTY, no --quiet), a listing that needs more than one page
--     shows one line on stderr, rewritten in place and cleared when it ends:
--       pagerduty list_incidents: 4,200 records, 42 pages, 3 rate-limit waits (7.5 s)
--   * with -v (which turns the line off), every wait (rate limit or retry backoff) is logged
--     with its cause.
-- pd_list.lua calls page() and finish(); pd_request.lua calls wait().
local core = require "vsrun.core"

local M = {}

local shown_on_tty           -- nil until the first use (options are read once)
local verbose
local drawn = false          -- a line is on the screen
local last_draw = -math.huge
local waits, waited = 0, 0   -- rate-limit waits of the run, for the line

local function setup()
  if shown_on_tty ~= nil then return end
  local o = core.options()
  -- -v writes its own lines, which would break into a line rewritten in place
  shown_on_tty = core.isatty(2) and not o.quiet and not o.verbose
  verbose = o.verbose
end

local function thousands(n)
  local s = tostring(math.tointeger(n) or n)
  while true do
    local t, k = s:gsub("^(%d+)(%d%d%d)", "%1,%2")
    s = t
    if k == 0 then return s end
  end
end

local function clear()
  if drawn then core.stderr("\r\27[K") drawn = false end
end

local function draw(l, force)
  local now = core.clock()
  if not force and now - last_draw < 0.1 then return end   -- a few redraws a second are enough
  last_draw = now
  local text = ("pagerduty %s: %s records, %s pages"):format(l.action, thousands(l.records), thousands(l.pages))
  if waits > 0 then text = text .. (", %d rate-limit waits (%.1f s)"):format(waits, waited) end
  core.stderr("\r\27[K" .. text)
  drawn = true
end

-- page(listing, n): the listing (any table, e.g. the iterator) received a page of n records
function M.page(listing, action, n)
  setup()
  if not shown_on_tty then return end
  local l = rawget(listing, "_progress")
  if not l then
    l = { action = action, records = 0, pages = 0 }
    rawset(listing, "_progress", l)
  end
  l.records, l.pages = l.records + n, l.pages + 1
  -- what one page holds is not a long listing (key paging may ask twice for it: the listing's
  -- most recent seconds first, then the rest)
  if l.pages >= 2 and l.records > 100 then draw(l, not drawn) end
end

-- finish(listing): the listing ended (or was closed): its line goes away
function M.finish(listing)
  if rawget(listing, "_progress") then
    rawset(listing, "_progress", nil)
    clear()
  end
end

-- clear(): the run ended (a listing left by `break` may still be on the screen)
M.clear = clear

-- wait(seconds, cause, rate_limit): a request is held back (rate limit or retry backoff)
function M.wait(seconds, cause, rate_limit)
  setup()
  if rate_limit then waits, waited = waits + 1, waited + seconds end
  if verbose then core.stderr(("vsrun pagerduty: waiting %.2f s: %s\n"):format(seconds, cause)) end
end

return M
