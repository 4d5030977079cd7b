-- Heap snapshots and comparison, the runnable form of the lab's "Capture Heap Snapshots" and
-- "Comparison Workflow" parts: snapshot, leak, snapshot, and let the diff name the retainer.
local MiB = 1024 * 1024

return {
  summary = "Two snapshots around a leak: the diff names retainedBuffers and the bytes it gained",
  narrative = [[
    A heap snapshot is the whole Lua heap as a graph, written in the format Chrome DevTools'
    Memory panel and memlab read. Two snapshots taken around memory-leak differ by two
    64 MiB lab.Buffer objects, and the object that holds them, the scenario's
    retainedBuffers table, is what proflab diff (like DevTools' Comparison and Retainers
    views) points at. After memory-clear a third snapshot shows the heap back.
  ]],
  steps = {
    { "Baseline snapshot", [[POST /api/lab/heap-snapshot, then download it.]], function(w)
      w.before = w.snapshot("before")
    end },
    { "Leak 2 x 64 MiB and snapshot again", [[POST /api/lab/memory-leak?mb=64 twice, then a snapshot.]], function(w)
      w.lab("POST", "/api/lab/memory-leak?mb=64")
      w.lab("POST", "/api/lab/memory-leak?mb=64")
      local _, info = nil, nil
      w.after, info = w.snapshot("after")
      w.expect(info.nativeBytes >= 128 * MiB, ("the snapshot counts the buffers' native bytes (%d)"):format(info.nativeBytes))
    end },
    { "Compare: who holds the new memory?", [[proflab diff BEFORE AFTER]], function(w)
      local report = w.diff(w.before, w.after)
      local first = w.largest_gain(report)
      w.measure("largest gain", first or "(none)")
      w.expect(first and first:find("retainedBuffers", 1, true) ~= nil, "the diff names retainedBuffers first")
      local gained = first and tonumber(first:match("gained ([%d.]+) MiB"))
      w.expect(gained and gained >= 128, ("retainedBuffers gained 128 MiB (%s MiB)"):format(tostring(gained)))
      w.expect(report:find("lab.Buffer%s+2%s+128%.0 MiB") ~= nil, "the new objects are 2 lab.Buffer, 128.0 MiB")
    end },
    { "Clear and snapshot a third time", [[POST /api/lab/memory-clear, then a snapshot.]], function(w)
      w.lab("POST", "/api/lab/memory-clear")
      local third, info = w.snapshot("after clear")
      w.expect(info.nativeBytes == 0, ("no native bytes are held any more (%d)"):format(info.nativeBytes))
      local report = w.diff(w.before, third)
      local total = report:match("(%d+ new %(([^)]*)%))")
      w.measure("before vs after clear", total or "?")
      w.expect(not report:find("lab%.Buffer"), "no lab.Buffer is new since the baseline")
    end },
  },
}
