-- request-buffer-retention: every request's payload kept in a log that is never trimmed.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "../support.lua")
local lab = support.lab()

local KiB = 1024

describe("scenario request-buffer-retention", function()
  local s

  before_each(function()
    support.collect()
    s = support.scenario("request-buffer-retention")
  end)
  after_each(function()
    lab.run(s.run, { clear = true })
    s = nil
    support.collect()
  end)

  it("declares summary, method, kb, clear and clear as its undo", function()
    assert.are.same({}, support.declaration_problems(s))
    assert.is_string(s.summary)
    assert.are.equal("POST", s.method)
    local kb = s.params.kb
    assert.are.same({ "integer", 1, 65536, 256 }, { kb.type, kb.min, kb.max, kb.default })
    assert.are.equal("boolean", s.params.clear.type)
    assert.are.equal(false, s.params.clear.default)
    assert.are.same({ param = "clear" }, s.undo)
  end)

  it("keeps a kb KiB native buffer per request without a body", function()
    local before = lab.status()
    local r = lab.run(s.run, support.params(s, { kb = 64 }), { body = "", path = "/api/lab/request-buffer-retention" })
    assert.are.same({ entries = 1, bytes = 64 * KiB }, r)
    assert.are.equal(before.retainedBytes + 64 * KiB, lab.status().retainedBytes)
    assert.are.equal(before.retainedBufferCount + 1, lab.status().retainedBufferCount)
    r = lab.run(s.run, support.params(s), { body = "" }) -- default 256 KiB
    assert.are.same({ entries = 2, bytes = 320 * KiB }, r)
    r = lab.run(s.run, support.params(s, { kb = 1 })) -- no request table at all
    assert.are.same({ entries = 3, bytes = 321 * KiB }, r)
    support.collect() -- retained, not garbage
    assert.are.equal(before.retainedBytes + 321 * KiB, lab.status().retainedBytes)
    assert.are.same({ entries = 3, bytes = 321 * KiB }, s.status())
  end)

  it("keeps the body itself when the request has one", function()
    local before = lab.status()
    local body = string.rep("p", 3000)
    local r = lab.run(s.run, support.params(s, { kb = 64 }), { body = body, path = "/x" })
    assert.are.same({ entries = 1, bytes = 3000 }, r)
    r = lab.run(s.run, support.params(s), { body = "hello" })
    assert.are.same({ entries = 2, bytes = 3005 }, r)
    -- no native buffer for them
    assert.are.equal(before.retainedBytes, lab.status().retainedBytes)
    assert.are.equal(before.retainedBufferCount, lab.status().retainedBufferCount)
  end)

  it("clear=true empties the log and releases the buffers", function()
    local before = lab.status()
    lab.run(s.run, { kb = 128, clear = false }, { body = "" })
    lab.run(s.run, { kb = 128, clear = false }, { body = "abc" })
    lab.run(s.run, { kb = 512, clear = false }, { body = "" })
    assert.are.same({ entries = 3, bytes = 640 * KiB + 3 }, s.status())
    assert.are.equal(before.retainedBytes + 640 * KiB, lab.status().retainedBytes)
    local r = lab.run(s.run, support.params(s, { clear = true }), { body = "ignored" })
    assert.are.same({ dropped = 3, entries = 0, bytes = 0 }, r)
    assert.are.same({ entries = 0, bytes = 0 }, s.status())
    assert.are.equal(before.retainedBytes, lab.status().retainedBytes)
    assert.are.equal(before.retainedBufferCount, lab.status().retainedBufferCount)
  end)
end)
