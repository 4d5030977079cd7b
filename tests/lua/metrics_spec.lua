-- metrics_spec.lua: lab.metrics in the real lab.so under lua5.4, and the scenario gauges of
-- listener-growth and unbounded-cache.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local lab = support.lab()

local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("lab.metrics", function()
  it("declares counters, gauges and histograms and reads them back", function()
    local c = lab.metrics.counter { name = "spec_orders_total", help = "Orders.", labels = { "kind" } }
    c:inc(2, { kind = "book" })
    c:inc({ kind = "book" })            -- labels first, n defaults to 1
    c:inc(0.5, { kind = 7 })            -- numbers become label strings
    assert.equals(3, c:get { kind = "book" })
    assert.equals(0.5, c:get { kind = "7" })
    local g = lab.metrics.gauge { name = "spec_depth", help = "Depth." }
    g:set(10); g:inc(); g:dec(4)
    assert.equals(7, g:get())
    local h = lab.metrics.histogram { name = "spec_size_bytes", help = "Sizes.", buckets = { 1, 10 } }
    h:observe(5); h:observe(50)
    local n, sum = h:get()
    assert.equals(2, n)
    assert.equals(55, sum)
  end)

  it("refuses what Prometheus or promtool would refuse, saying why", function()
    assert.matches("not a Prometheus metric name", raised(lab.metrics.gauge, { name = "bad-name", help = "x" }))
    assert.matches("must end in _total", raised(lab.metrics.counter, { name = "spec_orders", help = "x" }))
    assert.matches("needs help", raised(lab.metrics.gauge, { name = "spec_nohelp" }))
    assert.matches("not a label name", raised(lab.metrics.gauge, { name = "spec_l", help = "x", labels = { "__x" } }))
    assert.matches("only a histogram has buckets", raised(lab.metrics.gauge, { name = "spec_b", help = "x", buckets = { 1 } }))
    assert.matches("unknown field 'colour'", raised(lab.metrics.gauge, { name = "spec_c", help = "x", colour = 1 }))
    assert.matches("the engine's own", raised(lab.metrics.gauge, { name = "process_open_fds", help = "x" }))
    assert.matches("strictly increasing", raised(lab.metrics.histogram, { name = "spec_h", help = "x", buckets = { 2, 1 } }))
  end)

  it("refuses a duplicate from another place and naming the first, and keeps one from the same place", function()
    local function declare() return lab.metrics.gauge { name = "spec_dup", help = "Dup." } end
    local a, b = declare(), declare()
    a:set(4)
    assert.equals(4, b:get())
    assert.matches("spec_dup is already declared %(by .*metrics_spec%.lua:%d+%)",
      raised(lab.metrics.gauge, { name = "spec_dup", help = "Dup." }))
  end)

  it("checks every update", function()
    local c = lab.metrics.counter { name = "spec_checked_total", help = "x", labels = { "k" } }
    assert.matches("only goes up", raised(c.inc, c, -1, { k = "a" }))
    assert.matches("needs a value for label k", raised(c.inc, c, 1))
    assert.matches("label 'z' is not declared", raised(c.inc, c, 1, { k = "a", z = "b" }))
    assert.matches("only a gauge has set", raised(c.set, c, 1, { k = "a" }))
    assert.matches("a finite number", raised(c.inc, c, 0 / 0, { k = "a" }))
    assert.matches("at most 256 bytes", raised(c.inc, c, 1, { k = string.rep("x", 300) }))
  end)

  it("counts GC cycles and times explicit collections", function()
    -- the counters are the engine's figures; outside the engine collectgarbage still works
    assert.is_number(collectgarbage("count"))
    collectgarbage("collect")
    assert.is_true(collectgarbage("step") ~= nil)
  end)
end)

describe("scenario gauges", function()
  it("listener-growth and unbounded-cache load again and again (the same declaration from the same place)", function()
    for _ = 1, 3 do
      local lg = support.scenario("listener-growth")
      assert.equals(5, lab.run(lg.run, { count = 5, kb = 0, remove = false }).listeners)
      local uc = support.scenario("unbounded-cache")
      assert.equals(8, lab.run(uc.run, { users = 2, kb = 1, clear = false }).entries)
    end
  end)
end)
