return { summary = "bad declaration", params = { ms = { type = "float" } }, run = function() end }
