-- bench-cpu: a fixed amount of CPU-bound Lua (calls, tables, strings, arithmetic), timed
-- inside the call (wall and CPU time), optionally under the CPU profiler. scripts/bench/profiler.sh drives it;
-- scripts/bench/cpu-work.js is the same work in JavaScript; scripts/bench/inspector.sh runs it
-- under a DevTools session.
local lab = require "lab"

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end

local function shapes(n)
  local t, sum = {}, 0
  for i = 1, n do t[i] = { id = i, name = "item" .. i, w = i % 7 } end
  for i = 1, n do sum = sum + #t[i].name + t[i].w end
  return sum
end

local function work(rounds)
  local acc = 0
  for _ = 1, rounds do
    acc = acc + fib(20) + shapes(2000)
    local x = 1.0
    for _ = 1, 20000 do x = 1 + 1 / x end
    acc = acc + x
    if acc ~= acc then
      acc = 0 -- never runs: scripts/bench/inspector.sh sets a breakpoint here
    end
  end
  return acc
end

local function spin(ms)
  local deadline, x = lab.now() + ms, 1.0
  repeat for _ = 1, 2000 do x = 1 + 1 / x end until lab.now() >= deadline
  return x
end

return {
  summary = "Benchmark workload: fixed CPU work, or a busy loop, maybe under the profiler",
  method  = "POST",
  params  = {
    rounds      = { type = "integer", min = 1, max = 100000, default = 100, doc = "units of fixed work" },
    busy_ms     = { type = "integer", min = 0, max = 120000, default = 0, doc = "instead: spin this long" },
    interval_us = { type = "integer", min = 0, max = 100000, default = 0, doc = "profile at this interval (0: no profiler)" },
  },
  run = function(p)
    local session = p.interval_us > 0 and lab.profiler.start { interval_us = p.interval_us } or nil
    local t0, c0 = lab.now(), os.clock()
    local r = p.busy_ms > 0 and spin(p.busy_ms) or work(p.rounds)
    local ms, cpu_ms = lab.now() - t0, (os.clock() - c0) * 1000
    local samples, stop_ms, cost_us = 0, 0, 0
    if session then
      local s0 = lab.now()
      local profile = session:stop()
      profile:text() -- the cost of writing the .cpuprofile, in memory
      stop_ms = lab.now() - s0
      samples, cost_us = profile.samples, profile.costUs
    end
    return { ms = ms, cpuMs = cpu_ms, samples = samples, costUs = cost_us, stopMs = stop_ms, result = r }
  end,
}
