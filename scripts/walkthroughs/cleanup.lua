-- Cleanup, the runnable form of the lab's "Cleanup" steps: undo every exercise, the way the
-- catalog says, and check that status and metrics are back to the baseline.
local MiB = 1024 * 1024

return {
  summary = "Undo every exercise as the catalog says, and check the engine is back to its baseline",
  narrative = [[
    Each exercise that leaves something behind names its undo in GET /api/lab: a companion
    scenario (memory-leak -> memory-clear) or a boolean parameter (?remove=true, ?clear=true).
    This walkthrough leaves a little of everything behind, then follows those undo entries.
  ]],
  steps = {
    { "Leave something behind", [[One call to each exercise that retains memory.]], function(w)
      w.rss0 = w.lab("GET", "/api/lab/status").json.rssBytes
      for _, call in ipairs { "/api/lab/memory-leak?mb=32", "/api/lab/listener-growth?count=20",
                              "/api/lab/unbounded-cache?users=500", "/api/lab/request-buffer-retention?kb=4096" } do
        local r = w.lab("POST", call)
        w.expect(r.status == 200, ("POST %s answers 200"):format(call))
      end
    end },
    { "Undo each one as the catalog says", [[GET /api/lab, then each scenario's undo.]], function(w)
      local catalog = w.lab("GET", "/api/lab").json
      for _, s in ipairs(catalog.scenarios) do
        if s.undo then
          local r = w.lab(s.undo.method, s.undo.path)
          w.expect(r.status == 200, ("%s undone by %s %s"):format(s.name, s.undo.method, s.undo.path))
        end
      end
    end },
    { "Back to the baseline", [[GET /api/lab/status and /api/metrics.]], function(w)
      local s = w.lab("GET", "/api/lab/status").json
      w.expect(s.retainedBytes == 0, ("nothing retained (%d bytes)"):format(s.retainedBytes))
      w.expect(s.scenarios["listener-growth"].listeners == 0, "no listener left")
      w.expect(s.scenarios["unbounded-cache"].entries == 0, "the cache is empty")
      w.expect(s.scenarios["request-buffer-retention"].entries == 0, "the request log is empty")
      w.measure("RSS now against before", (s.rssBytes - w.rss0) / MiB, "MiB")
      w.expect(s.rssBytes - w.rss0 <= 8 * MiB, "RSS is back within 8 MiB of where it started")
      local m = w.scrape()
      w.expect(m:get("proflab_lab_retained_bytes") == 0, "the retained-bytes gauge reads 0")
    end },
  },
}
