-- Listing iterators for lua/pagerduty.lua.
--
-- Paging is by key, never by offset: every page asks for `since = cursor` (oldest first)
-- or `until = cursor` (newest first) sorted by created_at, and the cursor moves to the
-- last record's second. Records of that boundary second already seen are dropped. So a
-- loop body that acknowledges, resolves or reassigns what it is given cannot shift the
-- pages and make the listing skip records, and there is no 10,000-offset cap.
--
-- What "matched when the listing started" means: the range is fixed when the listing
-- starts. Everything created in the last TAIL seconds before the start (the "tail", where
-- clocks and the current second are uncertain) is fetched at once, before the first record
-- is yielded; the rest is paged by key, a few pages ahead of the script. Records
-- created after the start are never yielded, records that leave the filter before their
-- page is fetched are not yielded (they no longer match), and no record is yielded twice.
-- A record is yielded as it was when its page was fetched.
--
-- A second holding more than a page of records cannot be paged by key: it is fetched whole
-- with offsets, at once, between two records of the loop (never by a prefetch running
-- beside the loop body, whose changes would shift the offsets).
--
-- Time windows: PagerDuty allows at most six months between since and until, so the range
-- is cut into windows of at most MAX_SPAN. A window is a unit of work with its own cursor
-- (next_page); windows are disjoint, so they are fetched concurrently (below, "concurrent
-- fetching"): up to `concurrency` pages in flight, yielded window after window in order.
--
-- Memory: at most 4 x concurrency pages ahead of the loop (2 with concurrency = 1) plus
-- the tail. A sort that is not by creation time (urgency, resolved_at) needs every record
-- first: the listing is collected in creation order, then sorted here.
local core = require "vsrun.core"
local sched = require "vsrun.sched"
local errors = require "vsrun.errors"
local progress = require "vsrun.progress"
local request = require "vsrun.pd_request"
local ptime = require "vsrun.time"

local M = {}

local PAGE = 100
local CAP = 10000                -- PagerDuty: offset + limit <= 10000 (offsets: only within one second)
local MAX_SPAN = 180 * 86400     -- PagerDuty allows at most six months between since and until
local TAIL = 60                  -- seconds before the start fetched at once (clock skew margin)
local SPLIT = 90                 -- records per piece of a split window: most fit one page of 100
local MAX_PIECES = 2000          -- pieces one window is split into at most
M.CONCURRENCY = 8                -- pages in flight at most, unless a list call says otherwise

local Iter = { __name = "pagerduty.iterator" }
Iter.__index = Iter
Iter.__metatable = "pagerduty.iterator"   -- no script code can patch every listing

-- opts: client, action, path, key (the body's list field), what, params ({name, value}
-- pairs without since/until/date_range/sort_by), since, until (seconds or nil),
-- range ("given" | "all" | "month" | "open": no since means from the beginning),
-- order ("asc" | "desc"), sort_param (the sort_by name to send, or nil for none),
-- local_sort (a comparator: collect everything, then sort), max (records),
-- paginated (false: one request, no paging)
function M.new(opts)
  local it = setmetatable(opts, Iter)
  it.records, it.i = {}, 1
  it.remaining = opts.max or math.huge   -- records still to yield
  it.wanted = it.remaining               -- records worth fetching
  it.fetched = 0                         -- records fetched (after de-duplication) so far
  it.windows, it.w = {}, 0    -- windows in yield order, index of the current one
  it.concurrency = opts.concurrency or M.CONCURRENCY
  it.tasks, it.inflight, it.buffered = {}, 0, 0   -- fetches running; pages fetched, not yet taken
  it.taken = 0                                    -- records in pages handed to the loop
  -- the fourth value is the generic for's to-be-closed value: a break (or an error in the
  -- loop body) closes the listing, which cancels the pages in flight
  return it, nil, nil, it
end

-- Sorts records by created_at, oldest first, in place. Records of the same second are put
-- in the order they would have come oldest first: a list that came newest first is reversed
-- before the stable sort. Its direction is that of the first two different times; when all
-- times are equal it is taken to be newest first, as in PagerDuty's only example.
function M.oldest_first(records)
  local n = #records
  local function at(r) return type(r) == "table" and ptime.parse(r.created_at) or 0 end
  local keyed = {}
  for i, r in ipairs(records) do keyed[i] = { t = at(r), r = r } end
  local newest_first = true
  for i = 1, n - 1 do
    if keyed[i].t ~= keyed[i + 1].t then newest_first = keyed[i].t > keyed[i + 1].t break end
  end
  if newest_first then
    for i = 1, n // 2 do keyed[i], keyed[n - i + 1] = keyed[n - i + 1], keyed[i] end
  end
  for i, k in ipairs(keyed) do k.i = i end
  table.sort(keyed, function(a, b) if a.t ~= b.t then return a.t < b.t end return a.i < b.i end)
  for i, k in ipairs(keyed) do records[i] = k.r end
  return records
end

-- ---- one page of one window ----

local function query_for(it, w, since, till, limit, offset)
  local q = {}
  for _, p in ipairs(it.params) do q[#q + 1] = p end
  if w and w.count then q[#q + 1] = { "total", "true" } end   -- sizes the split (split below)
  if it.sort_param then q[#q + 1] = { "sort_by", it.sort_param } end
  if since then q[#q + 1] = { "since", ptime.format(since) } end
  if till then q[#q + 1] = { "until", ptime.format(till) } end
  if it.paginated ~= false then
    q[#q + 1] = { "limit", limit }
    if offset then q[#q + 1] = { "offset", offset } end
  end
  return q
end

local function get(it, q)
  return request.call(it.client, { action = it.action, method = "GET", path = it.path, query = q, what = it.what })
end

local function at(it, r)
  local t = type(r) == "table" and ptime.parse(r.created_at)
  if not t then
    errors.raise("bad_response", it.action .. ": a listed record has no valid created_at", { action = it.action })
  end
  return t
end

-- Every record created in second s (more than a page of them): offsets within one second,
-- fetched together before any is yielded, so the loop body cannot shift them.
local function whole_second(it, s)
  local out, offset = {}, 0
  while true do
    if offset + PAGE > CAP then
      errors.raise("bad_response", it.action .. ": more than 10,000 records were created within one second; " ..
        "narrow the filters", { action = it.action })
    end
    local page = get(it, query_for(it, nil, s, s + 1, PAGE, offset))
    local recs = page[it.key] or {}
    for _, r in ipairs(recs) do out[#out + 1] = r end
    if page.more ~= true or #recs == 0 then break end
    offset = offset + PAGE
  end
  if it.order == "desc" then
    for i = 1, #out // 2 do out[i], out[#out + 1 - i] = out[#out + 1 - i], out[i] end
  end
  return out
end

-- next_page(it, w, between) -> records not yielded before, in order; sets w.done at the
-- window's end. w = { a = since|nil, b = until|nil } (b nil: up to PagerDuty's now);
-- w.cursor is the boundary second and w.seen the IDs of that second already returned.
-- A boundary second that fills a whole page is paged by offset, which only holds while the
-- loop body is not changing records: so it is fetched only `between` two records (by the
-- consumer, not a prefetch task); a prefetch marks w.second and returns nothing.
function M.next_page(it, w, between)
  if it.paginated == false then
    w.done = true
    local records = (get(it, query_for(it, w, w.a, w.b)))[it.key] or {}
    if it.oldest_first then M.oldest_first(records) end
    return records
  end
  local desc = it.order == "desc"
  local recs, last, more
  if w.second and between then
    w.second = nil
    recs, last, more = whole_second(it, w.cursor), nil, true
    w.cursor = desc and w.cursor - 1 or w.cursor + 1
    if (desc and w.a and w.cursor < w.a) or (not desc and w.b and w.cursor >= w.b) then more = false end
    return M.dedup(it, w, recs, last, more)
  end
  local since, till = w.a, w.b
  if w.cursor then
    if desc then till = w.cursor + 1 else since = w.cursor end
  end
  local nseen = 0
  for _ in pairs(w.seen or {}) do nseen = nseen + 1 end
  -- the tail is fetched whole; other pages only as far as `limit` needs
  -- (with concurrency, later windows' records count in `fetched`: only those taken bound it)
  local want = w.tail and PAGE or math.max(1, it.wanted - (it.concurrency > 1 and it.taken or it.fetched))
  local limit = math.min(PAGE, want + nseen)
  local page = get(it, query_for(it, w, since, till, limit))
  if w.count then w.count, w.total = nil, math.tointeger(page.total) end
  recs = page[it.key] or {}
  more = page.more == true and #recs > 0
  last = #recs > 0 and at(it, recs[#recs]) or nil
  if last and w.cursor and (desc and last > w.cursor or not desc and last < w.cursor) then
    errors.raise("bad_response", it.action .. ": PagerDuty returned a page out of created_at order",
      { action = it.action })
  end
  if more and w.cursor and last == w.cursor then
    -- the whole page is the boundary second: take that second at once, then step past it
    w.second = true
    if not between then return {} end
    return M.next_page(it, w, true)
  end
  return M.dedup(it, w, recs, last, more)
end

-- Drops the records of the boundary second already returned; moves the cursor to `last`.
function M.dedup(it, w, recs, last, more)
  local seen, out, nextseen = w.seen or {}, {}, {}
  for _, r in ipairs(recs) do
    local id = type(r) == "table" and r.id or nil
    if id == nil or not seen[id] then out[#out + 1] = r end
  end
  -- the page is in created_at order: the boundary second's records are its last ones
  -- (only they are parsed: parsing every record's time was a tenth of a listing's CPU)
  for i = #recs, 1, -1 do
    local r = recs[i]
    if not last or at(it, r) ~= last then break end
    if r.id ~= nil then nextseen[r.id] = true end
  end
  if last then
    if last ~= w.cursor then w.seen = nextseen else for id in pairs(nextseen) do seen[id] = true end w.seen = seen end
    w.cursor = last
  elseif recs ~= nil then
    w.seen = {}
  end
  w.done = not more
  if not w.tail then it.fetched = it.fetched + #out end
  return out
end

-- ---- the range: windows fixed at the start ----

-- The oldest matching record's time (date_range = "all"), or nil when nothing matches;
-- and, when `count`, how many match in all.
local function oldest(it, count)
  local q = {}
  for _, p in ipairs(it.params) do q[#q + 1] = p end
  q[#q + 1] = { "date_range", "all" }
  q[#q + 1] = { "sort_by", "created_at:asc" }
  q[#q + 1] = { "limit", 1 }
  if count then q[#q + 1] = { "total", "true" } end
  local page = get(it, q)
  local first = page[it.key] and page[it.key][1]
  return first and at(it, first) or nil, math.tointeger(page.total)
end

local split_evenly   -- below

-- Builds it.windows (in yield order). The first requests happen here: the tail, fetched
-- whole by a task of its own (the first record waits for it: see Iter:__call), beside the
-- oldest-record probe.
local function plan(it)
  local now = math.floor(core.now()) + request.server_offset()
  local edge = now - TAIL
  local lo, hi = it.since, it["until"]
  if it.range == "month" then lo = lo or ptime.add_months(hi or (now + 1), -1) end
  -- the tail: [max(lo, edge), hi); hi in the future means PagerDuty's now. With no `since`
  -- yet (all, open) it starts at the edge: nothing matches before the oldest record anyway.
  local tail
  if not hi or hi > edge then
    tail = { a = math.max(lo or edge, edge), b = (hi and hi <= now) and hi or nil, tail = true, records = {}, pages = {} }
    it.tail_task = sched.spawn(function()
      return pcall(function()
        repeat
          for _, r in ipairs(M.next_page(it, tail, true)) do tail.records[#tail.records + 1] = r end
        until tail.done
      end)
    end)
    it.tasks[it.tail_task] = true
    if it.concurrency == 1 then
      -- one request at a time: the tail is fetched before the probe, not beside it
      local ok, err = it.tail_task:wait()
      if not ok then error(err, 0) end
    end
    hi = tail.a
  end
  local total
  if it.range == "all" or it.range == "open" then
    lo, total = oldest(it, it.concurrency > 1)
    if not lo then
      it.windows = {}
      return
    end
  end
  local parts = {}
  if lo == nil then
    -- no `since`: oldest first, what follows the first page can still be split
    if hi then parts[1] = { a = nil, b = hi, count = it.concurrency > 1 and it.order ~= "desc" } end
  else
    local span = math.max(1, now - lo)
    while lo < hi do
      local e = math.min(hi, lo + MAX_SPAN)
      if total then
        -- what the probe learnt: pieces sized as if records were spread evenly
        for _, w in ipairs(split_evenly(lo, e, math.ceil(total * (e - lo) / span / SPLIT))) do parts[#parts + 1] = w end
      else
        parts[#parts + 1] = { a = lo, b = e, count = it.concurrency > 1 }
      end
      lo = e
    end
  end
  if tail then table.insert(parts, tail) end
  if it.order == "desc" then
    for i = 1, #parts // 2 do parts[i], parts[#parts + 1 - i] = parts[#parts + 1 - i], parts[i] end
  end
  it.windows = parts
end

-- ---- concurrent fetching: windows split, pages fetched ahead, yielded in order ----
--
-- With concurrency > 1 the range is cut into pieces of about SPLIT records, from the
-- oldest-record probe's `total` (date_range all, open incidents) or, for a given range,
-- from the `total` its first page asks for. The first page of every piece asks for its
-- total too, so a piece holding a burst is split again, and so on: pieces are paged by key,
-- each on its own. Up to `concurrency` pages are in flight, earliest piece first, and at
-- most 4 x concurrency pages are ahead of the loop, in flight or fetched and waiting, so
-- memory stays bounded (concurrency = 1 keeps one page ahead, as a sequential listing).
-- Records are yielded window after window, page after page: the same records in the same
-- order as with concurrency = 1.


-- split_evenly(a, b, k) -> up to k windows of (about) equal time covering [a, b), oldest first
function split_evenly(a, b, k)
  k = math.max(1, math.min(k, MAX_PIECES, b - a))
  local out = {}
  for i = 1, k do out[i] = { a = a + ((i - 1) * (b - a)) // k, b = a + (i * (b - a)) // k, pages = {}, count = true } end
  return out
end

local function index_of(it, w)
  for i = it.w, #it.windows do if it.windows[i] == w then return i end end
end

-- Splits what is left of w (after its first page: cursor set, `total` known) into pieces
-- inserted after it in yield order. w keeps its boundary second (and the IDs seen in it).
local function split(it, w)
  local left = (w.total or 0) - w.got
  local k = math.min(MAX_PIECES, math.ceil(left / SPLIT))
  if w.done or not w.cursor or k < 2 then return end
  local desc = it.order == "desc"
  local lo, hi   -- the seconds left besides the cursor's: [lo, hi)
  if desc then lo, hi = w.a, w.cursor else lo, hi = w.cursor + 1, w.b end
  if not (lo and hi) then return end      -- an open end: its size is unknown
  k = math.min(k, hi - lo)
  if k < 2 then return end
  local pieces = split_evenly(lo, hi, k)
  if desc then
    w.a = pieces[#pieces].a
    table.remove(pieces)
    for i = 1, #pieces // 2 do pieces[i], pieces[#pieces + 1 - i] = pieces[#pieces + 1 - i], pieces[i] end
  else
    w.b = pieces[1].b
    table.remove(pieces, 1)
  end
  local at_ = index_of(it, w)
  for i, p in ipairs(pieces) do table.insert(it.windows, at_ + i, p) end
end

-- Fetches w's next page in a task of its own; the page (or the error) is queued on w.
local pump
local function start(it, w)
  w.busy = true
  it.inflight = it.inflight + 1
  local task
  task = sched.spawn(function()
    local ok, recs = pcall(M.next_page, it, w)
    it.tasks[task] = nil
    w.busy, w.task = false, nil
    it.inflight = it.inflight - 1
    if not ok then w.err = recs it.failed = true return end
    if w.total then
      w.got = #recs
      split(it, w)
      w.total = nil
    end
    if #recs > 0 then w.pages[#w.pages + 1] = recs it.buffered = it.buffered + 1 end
    pump(it)
  end)
  w.task = task
  it.tasks[task] = true
end

-- Starts fetches while there is room: pages in flight, pages waiting, and records wanted.
function pump(it)
  if it.done or it.failed then return end
  local i = it.w
  local ahead = it.concurrency == 1 and 1 or 4 * it.concurrency
  while it.inflight < it.concurrency and it.inflight + it.buffered < ahead
      and it.fetched + it.inflight * PAGE < it.wanted do
    local w = it.windows[i]
    if not w then return end
    if not (w.done or w.busy or w.second or w.err or w.records) then start(it, w) end
    i = i + 1
  end
end

-- The next page of records in yield order, or nil at the end. A crowded second (see
-- next_page) is fetched here, between two records of the loop, never by a pool task.
local function take_page(it)
  while true do
    local w = it.windows[it.w]
    if not w then return nil end
    if w.records then
      local recs = w.records
      w.records, w.done = nil, true
      it.w = it.w + 1
      it.taken = it.taken + #recs
      return recs
    end
    if #w.pages > 0 then
      local recs = table.remove(w.pages, 1)
      it.buffered = it.buffered - 1
      it.taken = it.taken + #recs
      pump(it)
      return recs
    end
    if w.err then error(w.err, 0) end
    if w.done then
      it.w = it.w + 1
    elseif w.busy then
      w.task:wait()
    elseif w.second then
      local recs = M.next_page(it, w, true)
      it.taken = it.taken + #recs
      pump(it)
      if #recs > 0 then return recs end
    else
      start(it, w)
    end
  end
end

-- Collects every record, then sorts them with it.local_sort (stable: created order breaks ties).
local function collect_sorted(it)
  local all = {}
  while true do
    local recs = take_page(it)
    if not recs then break end
    for _, r in ipairs(recs) do all[#all + 1] = r end
  end
  for i, r in ipairs(all) do all[i] = { r = r, i = i } end
  local less = it.local_sort
  table.sort(all, function(x, y)
    if less(x.r, y.r) then return true end
    if less(y.r, x.r) then return false end
    return x.i < y.i
  end)
  for i, x in ipairs(all) do all[i] = x.r end
  it.windows, it.w = {}, 1
  return all
end

function Iter:__call()
  while true do
    local records = self.records
    while self.i <= #records do
      local r = records[self.i]
      records[self.i] = false
      self.i = self.i + 1
      if self.remaining <= 0 then self:close() return nil end
      self.remaining = self.remaining - 1
      return r
    end
    if self.done or self.remaining <= 0 then
      self:close()
      return nil
    end
    local ok, recs = pcall(function()
      if not self.started then
        self.started = true
        if self.paginated == false then
          self.windows = { { a = self.since, b = self["until"] } }
        else
          plan(self)
        end
        for _, w in ipairs(self.windows) do w.pages = {} end
        self.w = 1
        if self.local_sort then self.wanted = math.huge end   -- the first `max` by that sort can be anywhere
        pump(self)
        -- the range is fixed once the tail is in: nothing is yielded before
        local tail = self.tail_task
        if tail then
          local okt, err = tail:wait()
          self.tasks[tail], self.tail_task = nil, nil
          if not okt then error(err, 0) end
          for _, w in ipairs(self.windows) do
            if w.tail and self.order == "desc" then self.fetched = self.fetched + #w.records end   -- yielded first
          end
        end
        if self.local_sort then return collect_sorted(self) end
      end
      local page = take_page(self)
      if page and #page > 0 then progress.page(self, self.action, #page) end   -- pages of records
      return page
    end)
    if not ok then
      self:close()
      -- raised in a fetching task: point at the script's line that is iterating
      if errors.is(recs) then recs.where = core.user_where() end
      error(recs, 0)
    end
    if not recs then self:close() return nil end
    self.records, self.i = recs, 1
  end
end

-- An iterator over records already at hand (a --dry-run placeholder's notes).
function M.fixed(action, records)
  local it = M.new { action = action, paginated = false }
  it.started, it.records = true, records
  return it
end

-- Stops the fetches still in flight (the iterator was abandoned or is finished).
function Iter:close()
  self.done = true
  progress.finish(self)
  for task in pairs(self.tasks) do task:cancel("listing closed") end
  self.tasks = {}
end
Iter.__close = function(self) self:close() end

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
