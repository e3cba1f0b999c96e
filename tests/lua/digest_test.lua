-- vsrun.digest against published test vectors
local t = require "vsrun.testing"
local d = require "vsrun.digest"

t.test("sha256 (FIPS 180-2 examples)", function()
  t.eq(d.hex(d.sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  t.eq(d.hex(d.sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  t.eq(d.hex(d.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
end)

t.test("hmac_sha256 (RFC 4231 cases 1 and 2)", function()
  t.eq(d.hex(d.hmac_sha256(string.rep("\x0b", 20), "Hi There")),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
  t.eq(d.hex(d.hmac_sha256("Jefe", "what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
end)

t.test("b64url: RFC 7636 appendix B and padding-free lengths", function()
  t.eq(d.b64url(d.sha256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
  t.eq(d.b64url(""), "")
  t.eq(d.b64url("f"), "Zg")
  t.eq(d.b64url("fo"), "Zm8")
  t.eq(d.b64url("foo"), "Zm9v")
  t.eq(d.b64url("\xfb\xff"), "-_8")
end)

t.test("equal compares in constant time and by length", function()
  t.eq(d.equal("abc", "abc"), true)
  t.eq(d.equal("abc", "abd"), false)
  t.eq(d.equal("abc", "abcd"), false)
  t.raises("string expected", d.sha256, nil)
end)
