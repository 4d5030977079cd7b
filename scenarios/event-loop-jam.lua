-- Event-loop jam: keep the CPU busy inside a request, so that every other request,
-- timer and metric waits until it is done. Call /api/health while it runs and watch
-- it wait; capture a CPU profile meanwhile and find the busy line below.
local lab = require "lab"

local function spin(ms)
  local deadline = lab.now() + ms
  local x = 1.0
  repeat
    for _ = 1, 2000 do
      x = 1 + 1 / x -- the busy line: a CPU profile of a jam points here
    end
  until lab.now() >= deadline
  return x
end

return {
  summary = "Block the event loop with busy work for ms milliseconds",
  method  = "POST",
  params  = {
    ms = { type = "integer", min = 1, max = 60000, default = 2000, doc = "how long to keep the loop busy" },
  },
  run = function(p)
    local started = lab.now()
    local result = spin(p.ms)
    return { jammedMs = p.ms, elapsedMs = lab.now() - started, result = result }
  end,
}
