-- Heap snapshot: write the Lua heap to a .heapsnapshot file that Chrome DevTools' Memory
-- panel and memlab open. Take one, leak (memory-leak, unbounded-cache, listener-growth),
-- take another, then compare them (DevTools' Comparison view, or `proflab diff A B`) and
-- follow the retainers of what grew back to the table that keeps it. Like Node's
-- v8.writeHeapSnapshot(), it blocks the event loop while it walks the heap.
local lab = require "lab"

return {
  summary = "Write a heap snapshot of the Lua heap (blocks the loop while it runs)",
  method  = "POST",
  params  = {},
  run = function()
    local snap = lab.heap.snapshot()
    return {
      filePath   = snap.filePath,
      download   = lab.artifacts.link(snap.filePath), -- signed link, valid 15 minutes
      bytes      = snap.bytes,
      nodes      = snap.nodes,
      edges      = snap.edges,
      durationMs = snap.durationMs,
      -- what the walk found against what the allocator counted (docs/heap-snapshots.md)
      selfBytes     = snap.selfBytes,
      luaHeapBytes  = snap.luaHeapBytes,
      nativeBytes   = snap.nativeBytes,
      extraPeakBytes = snap.extraPeakBytes,
    }
  end,
}
