-- Memory leak: every call allocates a buffer and keeps it in a module-level table
-- that nothing ever empties, like a cache without eviction. Watch retainedBytes in
-- /api/lab/status and RSS in /api/metrics climb; take heap snapshots before and after
-- and follow the retainers of the big lab.Buffer objects back to retainedBuffers.
local lab = require "lab"

local retainedBuffers = {} -- the leak: buffers go in, nothing takes them out

local MiB = 1024 * 1024

return {
  summary = "Retain mb MiB of native memory on every call (a leak)",
  method  = "POST",
  params  = {
    mb = { type = "integer", min = 1, max = 1024, default = 64, doc = "MiB to allocate and keep" },
  },
  undo = { scenario = "memory-clear" },
  run = function(p)
    retainedBuffers[#retainedBuffers + 1] = lab.buffer(p.mb * MiB)
    return lab.status()
  end,
  status = function()
    local bytes = 0
    for _, b in ipairs(retainedBuffers) do bytes = bytes + #b end
    return { buffers = #retainedBuffers, bytes = bytes }
  end,
  -- memory-clear calls this
  clear = function()
    local n = #retainedBuffers
    retainedBuffers = {}
    return n
  end,
}
