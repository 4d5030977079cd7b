-- Benchmark only (scripts/bench/heap.sh): hold n small tables, as the Node side holds n small
-- objects, so that a heap snapshot has about n objects to walk and write.
local held = {}

return {
  summary = "Hold n small tables for the heap snapshot benchmark",
  method  = "POST",
  params  = {
    n = { type = "integer", min = 0, max = 10000000, default = 1000000, doc = "tables to hold (0 lets them go)" },
  },
  run = function(p)
    held = {}
    for i = 1, p.n do held[i] = { id = i, tag = "t" } end
    collectgarbage("collect")
    return { held = #held, luaHeapBytes = collectgarbage("count") * 1024 }
  end,
}
