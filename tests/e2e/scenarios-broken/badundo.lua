return { summary = "undo of nothing", undo = { scenario = "nothing-here" }, run = function() end }
