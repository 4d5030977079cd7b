-- Declares a metric listener-growth already declares: refused, the scenario does not load.
local lab = require "lab"
lab.metrics.gauge { name = "listener_growth_listeners", help = "a second declaration" }
return { summary = "never loads", run = function() end }
