-- listener-growth: listeners added on every call to a long-lived emitter, never removed.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "../support.lua")
local lab = support.lab()

local KiB = 1024

describe("scenario listener-growth", function()
  local s

  before_each(function()
    s = support.scenario("listener-growth")
  end)

  after_each(function()
    lab.run(s.run, { remove = true })
    s = nil
    support.collect()
  end)

  it("declares summary, method, count, kb, remove and remove as its undo", function()
    assert.are.same({}, support.declaration_problems(s))
    assert.is_string(s.summary)
    assert.are.equal("POST", s.method)
    assert.are.same({ type = "integer", min = 1, max = 10000, default = 10 },
      { type = s.params.count.type, min = s.params.count.min, max = s.params.count.max, default = s.params.count.default })
    assert.are.same({ type = "integer", min = 0, max = 1024, default = 4 },
      { type = s.params.kb.type, min = s.params.kb.min, max = s.params.kb.max, default = s.params.kb.default })
    assert.are.equal("boolean", s.params.remove.type)
    assert.are.equal(false, s.params.remove.default)
    assert.are.same({ param = "remove" }, s.undo)
    assert.is_function(s.status)
  end)

  it("starts empty", function()
    assert.are.same({ listeners = 0, maxListeners = 10 }, s.status())
  end)

  it("adds count listeners per call and keeps them all", function()
    local r = lab.run(s.run, support.params(s))
    assert.are.same({ added = 10, listeners = 10, maxListeners = 10 }, r)
    r = lab.run(s.run, support.params(s, { count = 7 }))
    assert.are.same({ added = 7, listeners = 17, maxListeners = 10 }, r)
    for _ = 1, 3 do lab.run(s.run, support.params(s, { count = 1 })) end
    assert.are.same({ listeners = 20, maxListeners = 10 }, s.status())
    support.collect()
    assert.are.equal(20, s.status().listeners) -- still retained after a collection
  end)

  it("retains kb KiB of context per listener on the Lua heap, released by remove=true", function()
    support.collect()
    local h0 = lab.memory().luaHeapBytes
    lab.run(s.run, support.params(s, { count = 50, kb = 16 }))
    support.collect()
    local h1 = lab.memory().luaHeapBytes
    assert.is_true(h1 - h0 >= 50 * 16 * KiB, "heap grew by " .. (h1 - h0))
    local r = lab.run(s.run, support.params(s, { remove = true }))
    assert.are.same({ removed = 50, listeners = 0 }, r)
    local h2 = lab.memory().luaHeapBytes
    assert.is_true(h1 - h2 >= 50 * 16 * KiB, "heap shrank by " .. (h1 - h2))
  end)

  it("remove=true brings the count to 0, whatever count says", function()
    lab.run(s.run, support.params(s, { count = 25 }))
    local r = lab.run(s.run, support.params(s, { remove = true, count = 3 }))
    assert.are.same({ removed = 25, listeners = 0 }, r)
    assert.are.equal(0, s.status().listeners)
    r = lab.run(s.run, support.params(s, { remove = true }))
    assert.are.same({ removed = 0, listeners = 0 }, r)
  end)

  it("warns once on stderr when an event passes 10 listeners, and again after remove", function()
    local out, how, code = support.child([[
      local lab = support.lab()
      local s = support.scenario("listener-growth")
      local function call(p) lab.run(s.run, support.params(s, p)) end
      print("step 10"); io.stdout:flush()
      call { count = 10 }
      print("step 11"); io.stdout:flush()
      call { count = 1 }
      print("step 30"); io.stdout:flush()
      call { count = 19 }
      print("step remove"); io.stdout:flush()
      call { remove = true }
      print("step 12"); io.stdout:flush()
      call { count = 12 }
      print("end"); io.stdout:flush()
    ]])
    assert.are.equal("exit", how)
    assert.are.equal(0, code, out)
    -- the warning comes exactly after the 11th listener, and once per fill
    local steps = {}
    for line in out:gmatch("[^\n]+") do steps[#steps + 1] = line:match("^step (%S+)") or line:match("^(end)$") or "log" end
    assert.are.same({ "10", "11", "log", "30", "remove", "12", "log", "end" }, steps, out)
    local lines = support.log_lines(out)
    assert.are.equal(2, #lines)
    for _, line in ipairs(lines) do
      local f = support.logfmt(line)
      assert.are.equal("warn", f.level)
      assert.are.equal("MaxListenersExceededWarning: possible listener leak", f.msg)
      assert.are.equal("config-changed", f.event)
      assert.are.equal("11", f.listeners)
      assert.are.equal("10", f.maxListeners)
    end
  end)
end)
