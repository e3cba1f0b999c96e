-- Listing iterators for lua/pagerduty.lua. Pages of 100 are fetched as the script consumes
-- them, the next one already in flight; only two pages are held at a time. A window holding
-- more than PagerDuty's 10,000 reachable records (offset + limit <= 10000) is split in
-- halves by time until every part fits, so every record is yielded once, in order.
local core = require "vsrun.core"
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local request = require "vsrun.pd_request"
local ptime = require "vsrun.time"

local M = {}

local CAP = 10000
local PAGE = 100
local MAX_SPAN = 180 * 86400   -- PagerDuty allows at most six months between since and until

local Iter = { __name = "pagerduty.iterator" }
Iter.__index = Iter
Iter.__metatable = "pagerduty.iterator"   -- no script code can patch every listing

-- opts: client, action, path, key (the body's list field), what, params ({name, value}
-- pairs without since/until/date_range), since, until (seconds or nil), all (date_range),
-- order ("asc" | "desc": time order of the results, for splitting), max (records),
-- paginated (false for notes), sortable (an oldest-first query is possible)
function M.new(opts)
  local it = setmetatable(opts, Iter)
  it.records, it.i = {}, 1
  it.windows = {}            -- stack of windows still to list, next on top
  it.prev_ids, it.cur_ids = {}, {}
  it.remaining = opts.max or math.huge
  return it
end

local function query_for(it, spec)
  local q = {}
  for _, p in ipairs(it.params) do q[#q + 1] = p end
  if spec.window then
    q[#q + 1] = { "since", ptime.format(spec.window[1]) }
    q[#q + 1] = { "until", ptime.format(spec.window[2]) }
  else
    if it.since then q[#q + 1] = { "since", ptime.format(it.since) } end
    if it["until"] then q[#q + 1] = { "until", ptime.format(it["until"]) } end
    if it.all then q[#q + 1] = { "date_range", "all" } end
  end
  if it.paginated ~= false then
    q[#q + 1] = { "limit", spec.limit }
    q[#q + 1] = { "offset", spec.offset }
    if spec.offset == 0 then q[#q + 1] = { "total", true } end
  end
  return q
end

local start

-- Called with a page's raw text before it is decoded: when the script is waiting for this
-- page and it says more follow (and no split can come of it), the next page is requested at
-- once, so decoding this page overlaps the server's work on the next. A wrong guess is
-- cancelled in on_page.
local function speculate(it, spec, text)
  -- only for the page the script is waiting for: never more than one page ahead of it
  if it.waiting ~= spec or spec.next or it.paginated == false or it.done then return end
  -- plain searches: a pattern scan of a 200 KB page costs more than the page's transfer
  if not (text:find('"more":true', 1, true) or text:find('"more": true', 1, true)) then return end
  local offset = spec.offset + spec.limit
  if offset + PAGE > CAP or it.remaining - spec.limit <= 0 then return end
  if spec.offset == 0 then
    local total = tonumber(text:match('"total":%s*(%d+)'))
    if not total or (total > CAP and it.remaining > CAP) then return end
  end
  spec.next = start(it, { window = spec.window, offset = offset })
end

local function fetch(it, spec)
  return request.call(it.client, { action = it.action, method = "GET", path = it.path,
    query = query_for(it, spec), what = it.what,
    on_body = function(text) speculate(it, spec, text) end })
end

-- Starts fetching `spec` in its own task; errors come back as values, never unobserved.
function start(it, spec)
  spec.limit = spec.limit or math.min(PAGE, it.remaining)
  local task = sched.spawn(function() return pcall(fetch, it, spec) end)
  return { task = task, spec = spec }
end

-- The oldest matching record's time, for date_range = "all" and the default window.
local function oldest(it)
  if not it.sortable then
    errors.raise("invalid_argument", it.action .. ": more than 10,000 records match; give `since` and `until` " ..
      "so the listing can be split by time", { action = it.action })
  end
  local q = {}
  for _, p in ipairs(it.params) do if p[1] ~= "sort_by" then q[#q + 1] = p end end
  if it.since then q[#q + 1] = { "since", ptime.format(it.since) } end
  if it["until"] then q[#q + 1] = { "until", ptime.format(it["until"]) } end
  if it.all then q[#q + 1] = { "date_range", "all" } end
  q[#q + 1] = { "sort_by", "created_at:asc" }
  q[#q + 1] = { "limit", 1 }
  q[#q + 1] = { "offset", 0 }
  local page = request.call(it.client, { action = it.action, method = "GET", path = it.path, query = q })
  local first = page[it.key] and page[it.key][1]
  local t = first and ptime.parse(first.created_at)
  return t
end

-- Pushes windows onto the stack so they pop in the listing's order.
local function push_windows(it, parts)
  if it.order == "desc" then
    for i = 1, #parts do it.windows[#it.windows + 1] = parts[i] end
  else
    for i = #parts, 1, -1 do it.windows[#it.windows + 1] = parts[i] end
  end
end

-- The first page of a window says it holds too much: split it (or the whole range).
local function split(it, window, page)
  if not window then
    if not it.order then
      errors.raise("invalid_argument", it.action .. ": more than 10,000 records match and the sort order " ..
        "is not by time, so they cannot all be listed; sort by created_at or narrow the filters", { action = it.action })
    end
    -- the oldest record: the probe page's first one when it is oldest-first, else ask
    local first = it.order == "asc" and page[it.key] and page[it.key][1]
    local a = it.since or (first and ptime.parse(first.created_at)) or oldest(it)
    local b = it["until"] or (math.floor(core.now()) + 1)
    if not a then a = b - 1 end
    local parts = {}
    while a < b do
      local e = math.min(b, a + MAX_SPAN)
      parts[#parts + 1] = { a, e }
      a = e
    end
    push_windows(it, parts)
    return
  end
  local a, b = window[1], window[2]
  if b - a <= 1 then
    errors.raise("bad_response", it.action .. ": more than 10,000 records were created within one second; " ..
      "narrow the filters", { action = it.action })
  end
  local mid = (a + b) // 2
  push_windows(it, { { a, mid }, { mid, b } })
end

local function next_window_spec(it)
  local w = table.remove(it.windows)
  if w then return { window = w, offset = 0 } end
  return nil
end

-- Handles a page; returns its records and the spec of the page to fetch next (or nil).
local function on_page(it, spec, page)
  if it.paginated == false then return page[it.key] or {}, nil end
  local total = math.tointeger(page.total)
  -- split only when the records still wanted cannot be reached by paging this window
  if spec.offset == 0 and total and total > CAP and it.remaining > CAP then
    split(it, spec.window, page)
    return {}, next_window_spec(it)
  end
  local records = page[it.key] or {}
  local nxt
  if page.more == true and #records > 0 then
    if spec.next then return records, spec.next end   -- already in flight
    local offset = spec.offset + spec.limit
    if offset + PAGE > CAP then
      errors.raise("bad_response", it.action .. ": the listing grew past 10,000 records while it ran; " ..
        "narrow the filters or the time window", { action = it.action })
    end
    nxt = { window = spec.window, offset = offset }
  else
    nxt = next_window_spec(it)
  end
  if spec.next then spec.next.task:cancel("speculative page not needed") spec.next = nil end
  return records, nxt
end

function Iter:__call()
  while true do
    local records = self.records
    while self.i <= #records do
      local r = records[self.i]
      records[self.i] = false
      self.i = self.i + 1
      local id = type(r) == "table" and r.id or nil
      if id == nil or not (self.prev_ids[id] or self.cur_ids[id]) then
        if id then self.cur_ids[id] = true end
        if self.remaining <= 0 then return nil end
        self.remaining = self.remaining - 1
        return r
      end
    end
    if self.done or self.remaining <= 0 then
      self:close()
      return nil
    end
    if not self.started then
      self.started = true
      local first = { offset = 0 }
      -- PagerDuty refuses more than six months between since and until: walk them in parts
      local a, b = self.since, self["until"] or (math.floor(core.now()) + 1)
      if a and b - a > MAX_SPAN and self.order then
        local parts = {}
        while a < b do
          local e = math.min(b, a + MAX_SPAN)
          parts[#parts + 1] = { a, e }
          a = e
        end
        push_windows(self, parts)
        first = next_window_spec(self)
      end
      self.pending = start(self, first)
    end
    local pending = self.pending
    if not pending then self.done = true return nil end
    self.pending = nil
    self.waiting = pending.spec
    local ok, page = pending.task:wait()
    self.waiting = nil
    if not ok then
      self.done = true
      -- raised in the prefetch task: point at the script's line that is iterating
      if errors.is(page) then page.where = core.user_where() end
      error(page, 0)
    end
    local recs, nxt = on_page(self, pending.spec, page)
    if nxt and self.remaining > 0 then
      self.pending = nxt.task and nxt or start(self, nxt)
    else
      if nxt and nxt.task then nxt.task:cancel("listing finished") end
      self.done = true
    end
    -- de-duplicate at the page boundary: ids of this page and the one before
    if #recs > 0 then self.prev_ids, self.cur_ids = self.cur_ids, {} end
    self.records, self.i = recs, 1
  end
end

-- Stops a prefetch still in flight (the iterator was abandoned or is finished).
function Iter:close()
  self.done = true
  if self.pending then
    local nxt = self.pending.spec.next
    if nxt then nxt.task:cancel("listing closed") end
    self.pending.task:cancel("listing closed")
    self.pending = nil
  end
end

-- collect(max) -> array of up to max records (all when max is nil)
function Iter:collect(max)
  if max ~= nil and (math.type(max) ~= "integer" or max < 0) then
    errors.raise("invalid_argument", self.action .. ": collect(max): max must be a non-negative integer",
      { action = self.action })
  end
  local out = {}
  if max == 0 then return out end
  for r in self do
    out[#out + 1] = r
    if max and #out >= max then self:close() break end
  end
  return out
end

return M
