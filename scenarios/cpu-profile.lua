-- CPU profile: sample what the event loop does for a few seconds, the way `node --cpu-prof`
-- or the DevTools Performance panel does, and save it as a .cpuprofile. Start it, trigger the
-- slow thing (an event-loop-jam) while it runs, then open the file in Chrome DevTools or
-- Speedscope: the heaviest self-time frame is the guilty line. `proflab analyze FILE` prints
-- the same top list in the terminal. The profile waits with lab.sleep, so the loop stays free.
local lab = require "lab"

return {
  summary = "Capture a CPU profile of the event loop for some seconds",
  method  = "POST",
  params  = {
    seconds     = { type = "integer", min = 1, max = 120, default = 30, doc = "how long to sample" },
    interval_us = { type = "integer", min = 100, max = 100000, default = 1000, doc = "time between samples, in microseconds" },
  },
  run = function(p)
    local session = lab.profiler.start { interval_us = p.interval_us }
    local started = lab.now()
    lab.sleep(p.seconds * 1000)
    local profile = session:stop()
    local path = profile:save()
    local folded = profile:save("folded")
    return {
      filePath = path,
      download = lab.artifacts.link(path), -- signed link, valid 15 minutes
      foldedPath = folded,
      durationSeconds = (lab.now() - started) / 1000,
      samples = profile.samples,
      intervalUs = profile.intervalUs,
    }
  end,
}
