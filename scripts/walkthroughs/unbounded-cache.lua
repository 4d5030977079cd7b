-- Unbounded cache, one of the lab's "realistic failures": responses cached per user and route
-- with no eviction. Find the cache from a heap diff, then empty it.
return {
  summary = "A per-user, per-route cache without eviction: find it from the diff, then clear it",
  narrative = [[
    unbounded-cache renders a response per user and route and keeps it forever. Every new
    user adds four entries. Two snapshots around a burst of new users show the cache table,
    responseCache, as the holder of the new strings.
  ]],
  steps = {
    { "Baseline snapshot", "", function(w) w.before = w.snapshot("before") end },
    { "Serve 2,000 new users", [[POST /api/lab/unbounded-cache?users=1000&kb=4, twice.]], function(w)
      local r
      for _ = 1, 2 do r = w.lab("POST", "/api/lab/unbounded-cache?users=1000&kb=4") end
      w.expect(r.status == 200 and r.json.entries == 8000, ("8000 entries cached (%s)"):format(tostring(r.json.entries)))
      local m = w.scrape()
      w.expect(m:get("unbounded_cache_entries") == 8000, "the gauge unbounded_cache_entries reads 8000")
      w.measure("cache bytes", (m:get("unbounded_cache_bytes") or 0) / 1048576, "MiB")
      w.after = w.snapshot("after")
    end },
    { "Find the leak from the diff", [[proflab diff BEFORE AFTER]], function(w)
      local first = w.largest_gain(w.diff(w.before, w.after))
      w.measure("largest gain", first or "(none)")
      w.expect(first and first:find("responseCache", 1, true) ~= nil, "the largest gain is held by responseCache")
      local mib = first and tonumber(first:match("gained ([%d.]+) MiB"))
      w.expect(mib and mib >= 31, ("it gained the cached bodies, over 31 MiB (%s MiB)"):format(tostring(mib)))
    end },
    { "Fix: clear the cache", [[POST /api/lab/unbounded-cache?clear=true (the real fix is eviction)]], function(w)
      local r = w.lab("POST", "/api/lab/unbounded-cache?clear=true")
      w.expect(r.status == 200 and r.json.entries == 0, "the cache is empty")
      local fixed = w.snapshot("after the fix")
      local first = w.largest_gain(w.diff(w.before, fixed))
      w.expect(not (first and first:find("MiB", 1, true)), "nothing holds megabytes more than at the baseline")
    end },
  },
}
