-- A deterministic OpenAI-compatible POST /v1/chat/completions so the AI-enrichment examples
-- run offline: the "model" returns a short summary of the last user message.
local web = require "sandbox.web"
local digest = require "vsrun.digest"

local M = {}

local function words(s) local n = 0 for _ in s:gmatch("%S+") do n = n + 1 end return n end

-- A real summary, in miniature: what the prompt is about and what happened, never the prompt
-- itself. It understands an incident header ("Incident #12: title", "Service: X."), timeline
-- lines ("<time>  <event>  <who>  <text>") and incident mentions ("[#12] title").
local EVENTS = { "triggered", "acknowledged", "escalated", "assigned", "notified", "note", "resolved" }

local function summarise(text)
  local parts = {}
  local number, title = text:match("Incident #(%d+):%s*([^\n]+)")
  local service = text:match("Service:%s*([^%.\n]+)")
  if number then
    parts[#parts + 1] = ("Incident #%s (%s)%s"):format(number, title:gsub("%s+$", ""),
      service and (" on " .. service) or "")
  end
  local counts, order, last = {}, {}, nil
  for event in text:gmatch("\n%d%d%d%d%-%d%d%-%d%dT[%d:]+Z%s+(%a+)") do
    if not counts[event] then order[#order + 1] = event end
    counts[event] = (counts[event] or 0) + 1
    last = event
  end
  if #order > 0 then
    local seen = {}
    for _, name in ipairs(EVENTS) do
      if counts[name] then seen[#seen + 1] = counts[name] > 1 and (name .. " x" .. counts[name]) or name end
    end
    for _, name in ipairs(order) do
      local known = false
      for _, e in ipairs(EVENTS) do if e == name then known = true end end
      if not known then seen[#seen + 1] = name end
    end
    local n = 0
    for _, c in pairs(counts) do n = n + c end
    parts[#parts + 1] = ("%d timeline events (%s); the latest: %s"):format(n, table.concat(seen, ", "), last)
  end
  local titles = {}
  for t in text:gmatch("%[#%d+%]%s*([^\n%[]+)") do
    titles[#titles + 1] = (t:gsub("%s+$", ""))
    if #titles == 3 then break end
  end
  if #titles > 0 then parts[#parts + 1] = "incidents mentioned: " .. table.concat(titles, "; ") end
  if #parts == 0 then
    -- free text: its first few words stand for the topic
    local words = {}
    for w in text:gmatch("%S+") do words[#words + 1] = w if #words == 8 then break end end
    parts[1] = "about \"" .. table.concat(words, " ") .. (#words == 8 and " ..." or "") .. "\""
  end
  local steps = number and " Next steps: confirm the owner, check recent changes" ..
    (service and (" to " .. service) or "") .. ", and note the outcome on the incident." or ""
  return "Summary: " .. table.concat(parts, "; ") .. "." .. steps
end
M.summarise = summarise

function M.handle(app, req)
  if req.method ~= "POST" then return web.error(405, 2100, "Method Not Allowed") end
  local body = web.decode_body(req)
  if type(body) ~= "table" or type(body.messages) ~= "table" or #body.messages == 0 then
    return web.json(400, { error = { message = "messages is required", type = "invalid_request_error" } })
  end
  local last, all = nil, {}
  for _, m in ipairs(body.messages) do
    if type(m) == "table" and type(m.content) == "string" then
      all[#all + 1] = m.content
      if m.role == "user" then last = m.content end
    end
  end
  last = last or all[#all] or ""
  local summary = summarise(last)
  local prompt_tokens = words(table.concat(all, " "))
  local completion_tokens = words(summary)
  return web.json(200, {
    id = "chatcmpl-sbx-" .. digest.hex(digest.sha256(table.concat(all, "\0"))):sub(1, 16),
    object = "chat.completion", created = app.now(), model = type(body.model) == "string" and body.model or "sandbox-summary",
    choices = { { index = 0, message = { role = "assistant", content = summary }, finish_reason = "stop" } },
    usage = { prompt_tokens = prompt_tokens, completion_tokens = completion_tokens,
              total_tokens = prompt_tokens + completion_tokens },
  })
end

return M
