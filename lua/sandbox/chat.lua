-- A deterministic OpenAI-compatible POST /v1/chat/completions so the AI-enrichment examples
-- run offline: the "model" returns a short summary built from the messages.
local web = require "sandbox.web"
local digest = require "vsrun.digest"

local M = {}

local function words(s) local n = 0 for _ in s:gmatch("%S+") do n = n + 1 end return n end

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
  local text = last:gsub("%s+", " "):gsub("^ ", "")
  local first = text:match("^(.-[%.!?])%s") or text
  if #first > 160 then first = first:sub(1, 157) .. "..." end
  local titles = {}
  for t in text:gmatch("%[#%d+%]%s*([^\n%[]+)") do titles[#titles + 1] = t:gsub("%s+$", "") if #titles == 3 then break end end
  local summary = "Summary: " .. first
  if #titles > 0 then summary = summary .. " Incidents mentioned: " .. table.concat(titles, "; ") .. "." end
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
