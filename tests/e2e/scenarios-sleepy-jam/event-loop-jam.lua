-- A broken lesson: this "jam" waits with lab.sleep, which yields to the loop, so nothing is
-- blocked. The event-loop-jam walkthrough must notice: its health check does not wait.
local lab = require "lab"
return {
  summary = "Waits instead of jamming (for testing the walkthrough)",
  method  = "POST",
  params  = { ms = { type = "integer", min = 1, max = 60000, default = 2000 } },
  run = function(p)
    local t0 = lab.now()
    lab.sleep(p.ms)
    return { jammedMs = p.ms, elapsedMs = lab.now() - t0, result = 1.618 }
  end,
}
