-- memory-leak: every call retains mb MiB of native memory in a module-level table.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "../support.lua")
local lab = support.lab()

local MiB = 1024 * 1024

describe("scenario memory-leak", function()
  local s

  before_each(function()
    support.collect()
    s = support.scenario("memory-leak") -- fresh module state each time
  end)

  after_each(function()
    if s and s.clear then s.clear() end
    s = nil
    support.collect()
  end)

  it("declares summary, method, mb (1..1024, default 64) and memory-clear as its undo", function()
    assert.are.same({}, support.declaration_problems(s))
    assert.is_string(s.summary)
    assert.are.equal("POST", s.method)
    local mb = s.params.mb
    assert.are.equal("integer", mb.type)
    assert.are.equal(1, mb.min)
    assert.are.equal(1024, mb.max)
    assert.are.equal(64, mb.default)
    assert.are.same({ scenario = "memory-clear" }, s.undo)
    -- the companion exists and loads
    local clear = support.scenario(s.undo.scenario)
    assert.is_function(clear.run)
    assert.is_function(s.status)
    assert.is_function(s.clear)
  end)

  it("retains mb MiB per call: twice 8 MiB is 16 MiB and 2 buffers", function()
    local before = lab.status()
    local r1 = lab.run(s.run, support.params(s, { mb = 8 }))
    assert.are.equal(before.retainedBytes + 8 * MiB, r1.retainedBytes)
    assert.are.equal(before.retainedBufferCount + 1, r1.retainedBufferCount)
    local r2 = lab.run(s.run, support.params(s, { mb = 8 }))
    assert.are.equal(before.retainedBytes + 16 * MiB, r2.retainedBytes)
    assert.are.equal(before.retainedBufferCount + 2, r2.retainedBufferCount)
    assert.are.equal(false, r2.labEnabled) -- run returns lab.status()
    assert.are.same({ buffers = 2, bytes = 16 * MiB }, s.status())
    -- a leak: a full collection frees nothing
    support.collect()
    local after = lab.status()
    assert.are.equal(before.retainedBytes + 16 * MiB, after.retainedBytes)
    assert.are.equal(before.retainedBufferCount + 2, after.retainedBufferCount)
    assert.is_true(after.rssBytes - before.rssBytes >= 16 * MiB * 0.9, "RSS grew by " .. (after.rssBytes - before.rssBytes))
  end)

  it("uses the default of 64 MiB", function()
    local before = lab.status()
    local r = lab.run(s.run, support.params(s))
    assert.are.equal(before.retainedBytes + 64 * MiB, r.retainedBytes)
    assert.are.same({ buffers = 1, bytes = 64 * MiB }, s.status())
  end)

  it("clear() hands the buffers to the collector and says how many", function()
    local before = lab.status()
    lab.run(s.run, { mb = 1 })
    lab.run(s.run, { mb = 2 })
    lab.run(s.run, { mb = 3 })
    assert.are.same({ buffers = 3, bytes = 6 * MiB }, s.status())
    assert.are.equal(3, s.clear())
    assert.are.same({ buffers = 0, bytes = 0 }, s.status())
    support.collect()
    assert.are.equal(before.retainedBytes, lab.status().retainedBytes)
    assert.are.equal(before.retainedBufferCount, lab.status().retainedBufferCount)
    -- and it keeps leaking after a clear
    lab.run(s.run, { mb = 1 })
    assert.are.same({ buffers = 1, bytes = MiB }, s.status())
    assert.are.equal(1, s.clear())
  end)

  it("stops at the retained ceiling with a 409 instead of growing forever", function()
    lab.run(s.run, { mb = 8 })
    local before = lab.status()
    local room = (before.retainedLimitBytes - before.retainedBytes) // MiB
    assert.is_true(room + 1 <= s.params.mb.max) -- a value the engine would accept
    local ok, e = pcall(lab.run, s.run, { mb = room + 1 })
    assert.is_false(ok)
    assert.are.equal(409, e.status)
    assert.are.equal("retained_limit", e.error)
    assert.are.same({ buffers = 1, bytes = 8 * MiB }, s.status())
    assert.are.equal(before.retainedBytes, lab.status().retainedBytes)
    -- and it goes on retaining what fits
    local r = lab.run(s.run, { mb = 1 })
    assert.are.equal(before.retainedBytes + MiB, r.retainedBytes)
    assert.are.same({ buffers = 2, bytes = 9 * MiB }, s.status())
  end)
end)
