-- cpu-profile: the declaration the engine checks (the sampling itself needs the engine's
-- lab.profiler: tests/e2e/cpu_profile_test.sh and tests/consumers/cpu drive it).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "../support.lua")
local lab = support.lab()

describe("scenario cpu-profile", function()
  local s = support.scenario("cpu-profile")

  it("declares seconds 1..120 (30) and interval_us 100..100000 (1000), POST", function()
    assert.are.same({}, support.declaration_problems(s))
    assert.are.equal("POST", s.method)
    assert.are.same({ type = "integer", min = 1, max = 120, default = 30, doc = s.params.seconds.doc }, s.params.seconds)
    assert.are.equal(100, s.params.interval_us.min)
    assert.are.equal(100000, s.params.interval_us.max)
    assert.are.equal(1000, s.params.interval_us.default)
  end)

  it("needs the engine: the standalone lab module has no profiler", function()
    assert.is_nil(lab.profiler)
    local ok, err = pcall(s.run, support.params(s, {}))
    assert.is_false(ok)
    assert.matches("profiler", tostring(err))
  end)
end)
