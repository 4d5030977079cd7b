-- Memory clear: drop what memory-leak retained and run a full garbage collection (lab.collect),
-- so the buffers are freed at once and their pages go back to the operating system.
-- Compare RSS before and after: unlike the Node.js lab, it really comes down.
local lab = require "lab"

return {
  summary = "Release the buffers memory-leak retained and collect garbage",
  method  = "POST",
  params  = {},
  run = function()
    local leak = lab.scenarios["memory-leak"]
    if leak then leak.clear() end
    lab.collect()
    return lab.status()
  end,
}
