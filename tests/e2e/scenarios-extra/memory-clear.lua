-- Overrides the repository's memory-clear (a later --scenarios folder wins).
local lab = require "lab"
return {
  summary = "Overridden memory-clear",
  run = function()
    local leak = lab.scenarios["memory-leak"]
    if leak then leak.clear() end
    collectgarbage("collect")
    local s = lab.status()
    s.overridden = true
    return s
  end,
}
