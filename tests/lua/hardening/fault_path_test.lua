-- match.path of a sandbox fault (issue 16 item 9): a restricted Lua pattern run by a
-- linear-time matcher, so a client-posted pattern cannot pin the sandbox. The matcher agrees
-- with string.find on the patterns it accepts; the backtracking kinds are refused; a
-- pathological pattern against a long path answers at once.
local t = require "vsrun.testing"
local faults = require "sandbox.faults"
local sandbox = require "vsrun.sandbox"
local http = require "http"

t.test("the matcher agrees with string.find on random patterns and paths", function()
  local atoms = { "a", "b", "/", ".", "%a", "%d", "[ab]", "[^/]", "%.", "$", "^", "[]]", "%%", "x", "*", "[%a%-]" }
  local quants = { "", "", "", "*", "+", "-", "?" }
  local chars = { "a", "b", "/", ".", "1", "x", "]", "%", "$", "^", "-", "*" }
  local rnd = 12345
  local function pick(list)   -- a fixed sequence, so a failure can be replayed
    rnd = (rnd * 1103515245 + 12345) % 2147483648
    return list[rnd % #list + 1]
  end
  local differ, tried = {}, 0
  for _ = 1, 5000 do
    local pat = pick({ "^", "" })
    for _ = 1, #pick({ "", "x", "xx", "xxx", "xxxx", "xxxxx" }) do pat = pat .. pick(atoms) .. pick(quants) end
    pat = pat .. pick({ "", "", "$" })
    local s = ""
    for _ = 1, #pick({ "", "x", "xxx", "xxxxx", "xxxxxxxx" }) do s = s .. pick(chars) end
    local ok_lua, want = pcall(string.find, s, pat)
    local ok_ours, got = pcall(faults.path_matches, pat, s)
    if ok_lua then
      tried = tried + 1
      if not ok_ours or (want ~= nil) ~= got then differ[#differ + 1] = string.format("%q on %q", pat, s) end
    end
  end
  t.ok(tried > 4000, "most random patterns were valid Lua patterns (" .. tried .. ")")
  t.eq(#differ, 0, "patterns where the matcher and string.find disagree: " .. table.concat(differ, ", ", 1, math.min(5, #differ)))
end)

t.test("the patterns the tests use match as before", function()
  t.ok(faults.path_matches("^/incidents$", "/incidents"))
  t.ok(not faults.path_matches("^/incidents$", "/incidents/P1"))
  t.ok(faults.path_matches("^/incidents/[^/]+/notes$", "/incidents/PABC/notes"))
  t.ok(not faults.path_matches("^/incidents/[^/]+/notes$", "/incidents/P/x/notes"))
  t.ok(faults.path_matches("/notes$", "/incidents/P1/notes"))
end)

t.test("backtracking features and overlong patterns are refused with a message", function()
  for _, pat in ipairs({ "^/(incidents)", "%b()", "%f[%w]x", "(a)%1", string.rep("a", faults.MAX_PATTERN + 1), "[abc", "x%" }) do
    local ok, err = pcall(faults.path_matches, pat, "/incidents")
    t.ok(not ok and type(err) == "string" and err:find("match.path"), "refused: " .. pat:sub(1, 20))
  end
end)

t.test("a pathological pattern against a long path ends (string.find would run for ages)", function()
  local pat = string.rep(".-", 20) .. "x"
  t.eq(faults.path_matches(pat, string.rep("a", 1000)), false)
  t.eq(faults.path_matches(pat, string.rep("a", 1000) .. "x"), true)
  t.eq(faults.path_matches("^/a", "/a" .. string.rep("b", faults.MAX_PATH)), false, "an overlong path matches no fault")
end)

t.test("through the sandbox: refused with 400, and a fault with a normal pattern still applies", function()
  local r = http.post(sandbox.url() .. "/__sandbox/faults", { json = { kind = "status", status = 503, match = { path = "(x)" } } })
  t.eq(r.status, 400)
  t.ok(r.body:find("captures"), r.body)
  sandbox.fault { kind = "status", status = 418, count = 1, match = { path = string.rep(".-", 20) .. "x" } }
  sandbox.fault { kind = "status", status = 503, count = 1, match = { path = "^/abilities$" } }
  t.eq(http.get(sandbox.url() .. "/" .. string.rep("a", 2000)).status ~= 418, true)
  t.eq(http.get(sandbox.url() .. "/abilities").status, 503)
  sandbox.clear_faults()
end)

t.test("the request log filter uses the same bounded matcher", function()
  http.get(sandbox.url() .. "/incidents/" .. string.rep("a", 1000))   -- a long path in the log
  t.ok(#sandbox.requests { path = "^/incidents/a" } >= 1)              -- control: a plain pattern matches
  -- 20 x ".-" then "x" backtracks exponentially with string.find; here it answers at once
  t.eq(#sandbox.requests { path = string.rep(".-", 20) .. "x" }, 0)
  t.raises("captures", sandbox.requests, { path = "(a)%1" })
end)
