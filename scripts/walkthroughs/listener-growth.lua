-- Listener growth, one of the lab's "realistic failures": every request subscribes a listener
-- to a long-lived emitter and never unsubscribes it. Find the leak from a heap diff, then fix it.
return {
  summary = "Listeners pile up on a long-lived emitter: find them from the diff, then remove them",
  narrative = [[
    listener-growth adds listeners to an emitter that lives as long as the process; each
    listener's closure keeps its request's context. Node warns past maxListeners, and so does
    this emitter, but the memory keeps growing. Two snapshots around a few calls show where:
    the emitter's listener list.
  ]],
  steps = {
    { "Baseline snapshot", "", function(w) w.before = w.snapshot("before") end },
    { "Call the exercise 20 times", [[POST /api/lab/listener-growth?count=50&kb=16, 20 times.]], function(w)
      local r
      for _ = 1, 20 do r = w.lab("POST", "/api/lab/listener-growth?count=50&kb=16") end
      w.expect(r.status == 200 and r.json.listeners == 1000, ("1000 listeners now (%s)"):format(tostring(r.json.listeners)))
      local s = w.lab("GET", "/api/lab/status").json.scenarios["listener-growth"]
      w.expect(s.listeners == 1000, "status agrees")
      local m = w.scrape()
      w.expect(m:get("listener_growth_listeners") == 1000, "the scenario's gauge listener_growth_listeners reads 1000")
      local log = w.engine_log()
      if log then w.expect(log:find("MaxListenersExceededWarning", 1, true) ~= nil, "the emitter warned past maxListeners") end
      w.after = w.snapshot("after")
    end },
    { "Find the leak from the diff", [[proflab diff BEFORE AFTER]], function(w)
      local first = w.largest_gain(w.diff(w.before, w.after))
      w.measure("largest gain", first or "(none)")
      w.expect(first and first:find('"listeners"', 1, true) ~= nil,
        "the largest gain is held by the emitter's listeners table")
      local mib = first and tonumber(first:match("gained ([%d.]+) MiB"))
      w.expect(mib and mib >= 15, ("it gained the listeners' contexts, about 16 MiB (%s MiB)"):format(tostring(mib)))
    end },
    { "Fix: remove the listeners", [[POST /api/lab/listener-growth?remove=true]], function(w)
      local r = w.lab("POST", "/api/lab/listener-growth?remove=true")
      w.expect(r.status == 200 and r.json.listeners == 0, "no listener left")
      local fixed = w.snapshot("after the fix")
      local first = w.largest_gain(w.diff(w.before, fixed))
      w.measure("largest gain since the baseline", first or "(none)")
      w.expect(not (first and first:find("MiB", 1, true)), "nothing holds megabytes more than at the baseline")
    end },
  },
}
