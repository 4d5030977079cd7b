-- memory-clear: releases what memory-leak retained (found through lab.scenarios) and collects.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "../support.lua")
local lab = support.lab()

local MiB = 1024 * 1024

describe("scenario memory-clear", function()
  local clear, leak

  before_each(function()
    support.collect()
    clear = support.scenario("memory-clear")
    leak = support.scenario("memory-leak")
    lab.scenarios["memory-leak"] = leak -- what the engine does when it loads the folder
    lab.scenarios["memory-clear"] = clear
  end)

  after_each(function()
    leak.clear()
    lab.scenarios["memory-leak"], lab.scenarios["memory-clear"] = nil, nil
    support.collect()
  end)

  it("declares summary, method and no parameters", function()
    assert.are.same({}, support.declaration_problems(clear))
    assert.is_string(clear.summary)
    assert.are.equal("POST", clear.method)
    assert.are.same({}, clear.params)
    assert.is_nil(clear.undo)
  end)

  it("empties memory-leak and brings retainedBytes back to where it was", function()
    local before = lab.status()
    lab.run(leak.run, { mb = 8 })
    lab.run(leak.run, { mb = 8 })
    lab.run(leak.run, { mb = 16 })
    local full = lab.status()
    assert.are.equal(before.retainedBytes + 32 * MiB, full.retainedBytes)
    assert.are.same({ buffers = 3, bytes = 32 * MiB }, leak.status())

    local r = lab.run(clear.run, support.params(clear))
    -- it answers lab.status() taken after the collection
    assert.are.equal(before.retainedBytes, r.retainedBytes)
    assert.are.equal(before.retainedBufferCount, r.retainedBufferCount)
    assert.are.equal(false, r.labEnabled)
    assert.are.same({ buffers = 0, bytes = 0 }, leak.status())
    assert.are.equal(before.retainedBytes, lab.status().retainedBytes)
    -- the pages go back to the system: RSS comes down by most of the 32 MiB
    assert.is_true(full.rssBytes - r.rssBytes >= 32 * MiB * 0.9,
      string.format("RSS came down by %.1f MiB", (full.rssBytes - r.rssBytes) / MiB))
  end)

  it("is harmless twice in a row and when nothing leaked", function()
    local before = lab.status()
    local r1 = lab.run(clear.run, {})
    local r2 = lab.run(clear.run, {})
    assert.are.equal(before.retainedBytes, r1.retainedBytes)
    assert.are.equal(before.retainedBytes, r2.retainedBytes)
    assert.are.same({ buffers = 0, bytes = 0 }, leak.status())
  end)

  it("only collects when memory-leak is not loaded", function()
    lab.scenarios["memory-leak"] = nil
    local before = lab.status()
    lab.run(leak.run, { mb = 4 })
    local r = lab.run(clear.run, {})
    -- nothing reached memory-leak: its buffer stays retained
    assert.are.equal(before.retainedBytes + 4 * MiB, r.retainedBytes)
    assert.are.same({ buffers = 1, bytes = 4 * MiB }, leak.status())
  end)

  it("frees buffers that are only garbage, not held by memory-leak", function()
    local before = lab.status()
    do local _ = lab.buffer(8 * MiB) end
    local r = lab.run(clear.run, {})
    assert.are.equal(before.retainedBytes, r.retainedBytes)
  end)
end)
