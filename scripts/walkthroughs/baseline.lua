-- Baseline, the runnable form of the lab's "Confirm Baseline" step: before breaking anything,
-- record what healthy looks like: the health check, the metrics every Prometheus scrapes,
-- and the lab's own status.
return {
  summary = "Health, metrics and lab status of an idle engine",
  narrative = [[
    A problem is only visible against a baseline. On an idle engine the health check answers
    in well under a millisecond, the event loop's lag stays near its 10 ms sampling period,
    nothing is retained, and the metrics pass as Prometheus text.
  ]],
  steps = {
    { "The health check", [[GET /api/health]], function(w)
      local r = w.get("/api/health")
      w.expect(r.status == 200, "GET /api/health answers 200")
      w.expect(r.json and r.json.status == "healthy", "it says healthy")
      w.measure("health check latency", r.ms, "ms")
      w.expect(r.ms < 100, ("it answers in under 100 ms (%.2f ms)"):format(r.ms))
    end },
    { "The metrics", [[GET /api/metrics: Prometheus text with process, event-loop and lab figures.]], function(w)
      local m = w.scrape()
      w.expect(#m.samples > 20, ("/api/metrics parses as Prometheus text (%d samples)"):format(#m.samples))
      local rss = m:get("process_resident_memory_bytes")
      w.expect(rss and rss > 0, "process_resident_memory_bytes is there")
      w.measure("resident memory", (rss or 0) / 1048576, "MiB")
      local lag = m:get("proflab_eventloop_lag_max_seconds")
      w.expect(lag ~= nil, "proflab_eventloop_lag_max_seconds is there")
      w.measure("event-loop lag max (10 ms sampling period included)", (lag or 0) * 1000, "ms")
      w.expect(lag and lag < 0.1, ("the idle loop's lag stays under 100 ms (%.1f ms)"):format((lag or 0) * 1000))
      w.expect(m:get("proflab_info") == 1, "proflab_info names the versions")
    end },
    { "The lab's status", [[GET /api/lab/status with the lab token.]], function(w)
      local r = w.lab("GET", "/api/lab/status")
      w.expect(r.status == 200, "GET /api/lab/status answers 200")
      w.expect(r.json.labEnabled == true, "labEnabled is true")
      w.expect(r.json.retainedBytes == 0, ("nothing is retained (%d bytes)"):format(r.json.retainedBytes))
      w.expect(r.json.cpuProfileInProgress == false, "no CPU profile is running")
    end },
  },
}
