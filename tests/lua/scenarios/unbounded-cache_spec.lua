-- unbounded-cache: a rendered response cached per user and route, never evicted.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "../support.lua")
local lab = support.lab()

local KiB = 1024
local ROUTES = { "/api/profile", "/api/orders", "/api/cart", "/api/recommendations" }

-- The size of what the scenario renders for users first..last (independent arithmetic).
local function expected_bytes(first, last, kb)
  local total = 0
  for user = first, last do
    for _, route in ipairs(ROUTES) do
      -- {"user":<id>,"route":"<route>","body":"<kb KiB>"}
      total = total + #'{"user":' + #tostring(user) + #',"route":"' + #route + #'","body":"' + kb * KiB + #'"}'
    end
  end
  return total
end

describe("scenario unbounded-cache", function()
  local s

  before_each(function() s = support.scenario("unbounded-cache") end)
  after_each(function()
    lab.run(s.run, { clear = true })
    s = nil
    support.collect()
  end)

  it("declares summary, method, users, kb, clear and clear as its undo", function()
    assert.are.same({}, support.declaration_problems(s))
    assert.is_string(s.summary)
    assert.are.equal("POST", s.method)
    local u, k = s.params.users, s.params.kb
    assert.are.same({ "integer", 1, 100000, 100 }, { u.type, u.min, u.max, u.default })
    assert.are.same({ "integer", 1, 256, 4 }, { k.type, k.min, k.max, k.default })
    assert.are.equal("boolean", s.params.clear.type)
    assert.are.equal(false, s.params.clear.default)
    assert.are.same({ param = "clear" }, s.undo)
  end)

  it("adds users * 4 entries per call, with the bytes of every rendered body", function()
    assert.are.same({ entries = 0, bytes = 0 }, s.status())
    local r = lab.run(s.run, support.params(s, { users = 3, kb = 1 }))
    assert.are.same({ entries = 12, bytes = expected_bytes(1, 3, 1) }, r)
    r = lab.run(s.run, support.params(s, { users = 10, kb = 2 }))
    assert.are.same({ entries = 52, bytes = expected_bytes(1, 3, 1) + expected_bytes(4, 13, 2) }, r)
    r = lab.run(s.run, support.params(s)) -- defaults: 100 users, 4 KiB
    local bytes = expected_bytes(1, 3, 1) + expected_bytes(4, 13, 2) + expected_bytes(14, 113, 4)
    assert.are.same({ entries = 452, bytes = bytes }, r)
    assert.are.same({ entries = 452, bytes = bytes }, s.status())
  end)

  it("holds the bodies on the Lua heap until clear=true", function()
    support.collect()
    local h0 = lab.memory().luaHeapBytes
    local r = lab.run(s.run, support.params(s, { users = 50, kb = 8 }))
    assert.are.equal(200, r.entries)
    support.collect()
    local h1 = lab.memory().luaHeapBytes
    assert.is_true(h1 - h0 >= 200 * 8 * KiB, "heap grew by " .. (h1 - h0))
    local c = lab.run(s.run, support.params(s, { clear = true }))
    assert.are.same({ dropped = 200, entries = 0, bytes = 0 }, c)
    assert.are.same({ entries = 0, bytes = 0 }, s.status())
    local h2 = lab.memory().luaHeapBytes
    assert.is_true(h1 - h2 >= 200 * 8 * KiB, "heap shrank by " .. (h1 - h2))
  end)

  it("keeps serving new users after a clear (ids keep counting)", function()
    lab.run(s.run, { users = 2, kb = 1, clear = false })
    lab.run(s.run, { clear = true })
    local r = lab.run(s.run, { users = 1, kb = 1, clear = false })
    assert.are.same({ entries = 4, bytes = expected_bytes(3, 3, 1) }, r)
  end)
end)
