-- Request-buffer retention, one of the lab's "realistic failures": every request's payload is
-- kept in a request log "for debugging". Find the log from a heap diff, then trim it.
local MiB = 1024 * 1024

return {
  summary = "Every payload kept in a request log: find the log from the diff, then trim it",
  narrative = [[
    request-buffer-retention appends each request's payload buffer to requestLog and never
    trims it. The payloads are native buffers, so RSS grows with them; a heap diff counts
    their native bytes and points at requestLog.
  ]],
  steps = {
    { "Baseline snapshot", "", function(w)
      w.before = w.snapshot("before")
      w.rss0 = w.lab("GET", "/api/lab/status").json.rssBytes
    end },
    { "Send 40 requests of 1 MiB", [[POST /api/lab/request-buffer-retention?kb=1024, 40 times.]], function(w)
      local r
      for _ = 1, 40 do r = w.lab("POST", "/api/lab/request-buffer-retention?kb=1024") end
      w.expect(r.status == 200 and r.json.entries == 40, ("40 payloads kept (%s)"):format(tostring(r.json.entries)))
      local rss = w.lab("GET", "/api/lab/status").json.rssBytes
      w.measure("RSS growth", (rss - w.rss0) / MiB, "MiB")
      w.expect(rss - w.rss0 >= 38 * MiB, "RSS grew by the 40 MiB kept")
      w.after = w.snapshot("after")
    end },
    { "Find the leak from the diff", [[proflab diff BEFORE AFTER]], function(w)
      local first = w.largest_gain(w.diff(w.before, w.after))
      w.measure("largest gain", first or "(none)")
      w.expect(first and first:find("requestLog", 1, true) ~= nil, "the largest gain is held by requestLog")
      local mib = first and tonumber(first:match("gained ([%d.]+) MiB"))
      w.expect(mib and mib >= 40, ("it gained the 40 payloads (%s MiB)"):format(tostring(mib)))
    end },
    { "Fix: trim the log", [[POST /api/lab/request-buffer-retention?clear=true (the real fix is a bounded log)]], function(w)
      local r = w.lab("POST", "/api/lab/request-buffer-retention?clear=true")
      w.expect(r.status == 200 and r.json.entries == 0, "the request log is empty")
      local rss = w.lab("GET", "/api/lab/status").json.rssBytes
      w.expect(rss - w.rss0 <= 8 * MiB, ("RSS is back within 8 MiB (%+.1f MiB)"):format((rss - w.rss0) / MiB))
    end },
  },
}
