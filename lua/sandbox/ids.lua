-- Deterministic, unique, PagerDuty-looking IDs and a small seeded PRNG.
local M = {}

local ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUV"  -- 32 symbols, 5 bits each

-- Multiplying by an odd constant is a bijection modulo 2^bits, so distinct counters give
-- distinct IDs that still look random.
local function scramble(n, bits, salt)
  local mask = (1 << bits) - 1
  local x = ((n + salt) * 0x5851F42D4C957F2D) & mask
  x = x ~ (x >> (bits // 2))
  return x
end

-- short ids ("P" + 6): users, services, teams...; long ids (letter + 13): incidents, log entries
function M.make(prefix, n, len, salt)
  len = len or 6
  local bits = len * 5
  if bits > 64 then bits = 64 end
  local x = scramble(n, bits, salt or 0)
  local out = {}
  for i = len, 1, -1 do
    local d = x & 31
    out[i] = ALPHABET:sub(d + 1, d + 1)
    x = x >> 5
  end
  return prefix .. table.concat(out)
end

-- xorshift64*: deterministic for a seed, independent of math.random's global state
function M.prng(seed)
  local s = (seed or 1) * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D
  if s == 0 then s = 1 end
  local r = {}
  local function next64()
    s = s ~ (s >> 12)
    s = s ~ (s << 25)
    s = s ~ (s >> 27)
    return (s * 0x2545F4914F6CDD1D) >> 11  -- 53 non-negative bits
  end
  function r.float() return next64() / 9007199254740992.0 end
  function r.int(a, b) return a + next64() % (b - a + 1) end
  function r.pick(list) return list[1 + next64() % #list] end
  function r.chance(p) return r.float() < p end
  return r
end

return M
