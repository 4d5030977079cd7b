-- Scenario metrics: a counter with labels, a gauge and a histogram declared at load time.
local lab = require "lab"

local orders = lab.metrics.counter { name = "demo_orders_total", help = "Orders placed.", labels = { "kind" } }
local queue = lab.metrics.gauge { name = "demo_queue_depth", help = "Jobs waiting." }
local sizes = lab.metrics.histogram {
  name = "demo_order_size_bytes", help = "Size of each order.", labels = { "kind" }, buckets = { 100, 1000, 10000 },
}

return {
  summary = "Count, set and observe scenario metrics",
  method  = "POST",
  params  = {
    kind  = { type = "string", enum = { "book", "pen", "weird\"kind\\" }, default = "book" },
    n     = { type = "integer", min = 0, max = 1000, default = 1 },
    size  = { type = "number", min = 0, max = 1e9, default = 500 },
    depth = { type = "integer", min = -100, max = 100, default = 0 },
    probe = { type = "string", enum = { "none", "negative", "undeclared", "missing", "set-counter" }, default = "none" },
  },
  run = function(p)
    if p.probe == "negative" then orders:inc(-1, { kind = p.kind }) end
    if p.probe == "undeclared" then orders:inc(1, { kind = p.kind, color = "red" }) end
    if p.probe == "missing" then orders:inc(1) end
    if p.probe == "set-counter" then orders:set(3, { kind = p.kind }) end
    orders:inc(p.n, { kind = p.kind })
    for _ = 1, p.n do sizes:observe(p.size, { kind = p.kind }) end
    queue:set(p.depth)
    queue:inc(2)
    queue:dec()
    local count, sum = sizes:get { kind = p.kind }
    return { orders = orders:get { kind = p.kind }, queue = queue:get(), observed = count, sum = sum }
  end,
}
