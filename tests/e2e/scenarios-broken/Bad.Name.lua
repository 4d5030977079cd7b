return { summary = "bad name", run = function() end }
