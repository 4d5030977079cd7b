-- A metric name Prometheus refuses: the scenario does not load.
local lab = require "lab"
lab.metrics.gauge { name = "bad-name", help = "dashes are not allowed" }
return { summary = "never loads", run = function() end }
