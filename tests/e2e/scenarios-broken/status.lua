return { summary = "reserved", run = function() end }
