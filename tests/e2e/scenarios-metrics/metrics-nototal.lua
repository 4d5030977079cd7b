-- A counter must end in _total (promtool would flag it).
local lab = require "lab"
lab.metrics.counter { name = "demo_orders", help = "no suffix" }
return { summary = "never loads", run = function() end }
