-- Waits with lab.sleep: the loop stays free for other requests meanwhile.
local lab = require "lab"
return {
  summary = "Sleep without blocking the loop",
  method = "GET",
  params = { ms = { type = "integer", min = 0, max = 10000, default = 100 }, times = { type = "integer", min = 1, max = 10, default = 1 } },
  run = function(p)
    local t0 = lab.now()
    for _ = 1, p.times do lab.sleep(p.ms / p.times) end
    return { slept = lab.now() - t0 }
  end,
}
