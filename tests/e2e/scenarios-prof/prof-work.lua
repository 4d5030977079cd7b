-- prof-work: work shaped to test the profiler's attribution (tests/e2e/cpu_profile_test.sh):
-- a busy loop inside coroutine.wrap, time spent inside a C function, a stack deeper than 256.
local lab = require "lab"

local function inner(ms)
  local deadline, x = lab.now() + ms, 1.0
  repeat for _ = 1, 1000 do x = 1 + 1 / x end until lab.now() >= deadline
  return x
end

local function reps(ms)
  local deadline, n = lab.now() + ms, 0
  repeat n = n + #string.rep("ab", 4000000) until lab.now() >= deadline
  return n
end

local function deep(n, ms)
  if n == 0 then local x = inner(ms); return x end -- no tail call: a tail call loses the name
  return deep(n - 1, ms) + 0 -- not a tail call: one frame per level
end

return {
  summary = "Profile shaped work: coro, crep or deep",
  method  = "POST",
  params  = {
    mode = { type = "string", enum = { "coro", "crep", "deep" }, required = true },
    ms   = { type = "integer", min = 1, max = 5000, default = 300 },
  },
  run = function(p)
    local session = lab.profiler.start { interval_us = 500 }
    if p.mode == "coro" then
      local f = coroutine.wrap(function() local x = inner(p.ms); return x end)
      f()
    elseif p.mode == "crep" then
      reps(p.ms)
    else
      deep(300, p.ms)
    end
    local profile = session:stop()
    return { filePath = profile:save(), samples = profile.samples, truncated = profile.truncated }
  end,
}
