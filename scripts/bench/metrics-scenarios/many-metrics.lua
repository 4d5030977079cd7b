-- many-metrics: 100 scenario metrics (50 counters, 30 gauges, 20 histograms), each with a
-- label of 3 values, for scripts/bench/metrics.sh's "scrape with 100 scenario metrics".
local lab = require "lab"

local counters, gauges, histograms = {}, {}, {}
for i = 1, 50 do
  counters[i] = lab.metrics.counter { name = ("bench_counter_%02d_total"):format(i), help = "A bench counter.", labels = { "shard" } }
end
for i = 1, 30 do
  gauges[i] = lab.metrics.gauge { name = ("bench_gauge_%02d"):format(i), help = "A bench gauge.", labels = { "shard" } }
end
for i = 1, 20 do
  histograms[i] = lab.metrics.histogram { name = ("bench_histogram_%02d_seconds"):format(i), help = "A bench histogram.", labels = { "shard" } }
end

return {
  summary = "Touch 100 scenario metrics (3 series each)",
  method  = "POST",
  run = function()
    for _, shard in ipairs { "a", "b", "c" } do
      local labels = { shard = shard }
      for _, c in ipairs(counters) do c:inc(1, labels) end
      for _, g in ipairs(gauges) do g:set(42, labels) end
      for _, h in ipairs(histograms) do h:observe(0.042, labels) end
    end
    return { metrics = #counters + #gauges + #histograms }
  end,
}
