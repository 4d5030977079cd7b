return { summary = "bad default", params = { ms = { type = "integer", min = 1, max = 5, default = 9 } }, run = function() end }
