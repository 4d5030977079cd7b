-- Memory growth, the runnable form of the lab's "Reproduce Memory Growth" and "Cleanup"
-- parts: retain 64 MiB twice, watch the figures grow by the retained size, clear, and see
-- the memory really go back to the operating system.
local MiB = 1024 * 1024

local function rss_of(w)
  local s = w.lab("GET", "/api/lab/status")
  return s.json.rssBytes, s.json
end

return {
  summary = "Retain 2 x 64 MiB, watch status and RSS grow, clear and watch them come back",
  narrative = [[
    memory-leak keeps every buffer it allocates in a module-level table, retainedBuffers,
    that nothing empties: the shape of every cache without eviction. Status and the process's
    resident memory grow by what is retained. memory-clear drops the table and runs a full
    collection: each buffer is its own mapping, so its pages go back to the kernel at once.
  ]],
  steps = {
    { "Baseline", [[GET /api/lab/status: nothing retained yet.]], function(w)
      local rss, s = rss_of(w)
      w.measure("RSS before", rss / MiB, "MiB")
      w.expect(s.retainedBytes == 0, ("nothing retained yet (retainedBytes %d)"):format(s.retainedBytes))
      w.rss0 = rss
    end },
    { "Retain 64 MiB twice", [[POST /api/lab/memory-leak?mb=64, twice.]], function(w)
      local r1 = w.lab("POST", "/api/lab/memory-leak?mb=64")
      local r2 = w.lab("POST", "/api/lab/memory-leak?mb=64")
      w.expect(r1.status == 200 and r2.status == 200, "both calls answer 200")
      w.expect(r2.json.retainedBufferCount == 2, ("2 buffers retained (%s)"):format(tostring(r2.json.retainedBufferCount)))
      w.expect(r2.json.retainedBytes == 128 * MiB, ("retainedBytes is 134217728 (%s)"):format(tostring(r2.json.retainedBytes)))
      local rss = rss_of(w)
      w.measure("RSS after 2 x 64 MiB", rss / MiB, "MiB")
      w.expect(rss - w.rss0 >= 128 * MiB, ("RSS grew by at least 128 MiB (%.1f MiB)"):format((rss - w.rss0) / MiB))
      local m = w.scrape()
      local retained, resident = m:get("proflab_lab_retained_bytes"), m:get("process_resident_memory_bytes")
      w.expect(retained == 128 * MiB, ("the gauge proflab_lab_retained_bytes reads 128 MiB (%s)"):format(tostring(retained)))
      w.expect(resident and resident - w.rss0 >= 128 * MiB,
        ("process_resident_memory_bytes grew by at least 128 MiB (%.1f MiB)"):format(((resident or 0) - w.rss0) / MiB))
    end },
    { "Clear", [[POST /api/lab/memory-clear.]], function(w)
      local r = w.lab("POST", "/api/lab/memory-clear")
      w.expect(r.status == 200 and r.json.retainedBytes == 0, "memory-clear answers the status with 0 bytes retained")
      local rss = rss_of(w)
      w.measure("RSS after memory-clear", rss / MiB, "MiB")
      w.expect(rss - w.rss0 <= 8 * MiB, ("RSS is back within 8 MiB of before (%+.1f MiB)"):format((rss - w.rss0) / MiB))
    end },
  },
}
