-- Event-loop jam, the runnable form of the lab's "Reproduce an Event Loop Jam" part: busy
-- work inside one request holds up every other request. The walkthrough measures what the
-- guide only describes: a health check sent during the jam waits for it to end.
local JAM_MS = 3000

return {
  summary = "Block the loop for 3 s and watch a concurrent health check wait",
  narrative = [[
    One event loop thread runs every request. A request that computes for 3 s without
    yielding holds that thread, so a health check sent meanwhile is not even read until the
    jam ends. Then the loop's lag figures and the watchdog's record name what blocked it.
  ]],
  steps = {
    { "Baseline: the health check is fast", [[GET /api/health on an idle engine.]], function(w)
      local r = w.get("/api/health")
      w.expect(r.status == 200, "GET /api/health answers 200", ("status %d"):format(r.status))
      w.expect(r.ms < 100, ("the health check takes under 100 ms (took %.1f ms)"):format(r.ms))
    end },
    { "Jam the loop and call /api/health meanwhile",
      [[POST /api/lab/event-loop-jam?ms=3000, then 200 ms later GET /api/health.]], function(w)
      local jam = w.start("POST", "/api/lab/event-loop-jam?ms=" .. JAM_MS)
      w.sleep(200)
      local health = w.get("/api/health")
      local r = jam:wait()
      w.expect(r.status == 200, "the jam answers 200", ("status %d: %s"):format(r.status, r.body))
      w.measure("jam duration asked", JAM_MS, "ms")
      w.measure("jam duration measured by the engine", r.json and r.json.elapsedMs or -1, "ms")
      w.measure("health check latency during the jam", health.ms, "ms")
      w.expect(health.status == 200, "the health check still answers 200")
      w.expect(health.ms >= JAM_MS - 400,
        ("the health check waited for the jam: %.0f ms, at least %d ms expected"):format(health.ms, JAM_MS - 400))
      local elapsed = r.json and r.json.elapsedMs or 0
      w.expect(elapsed >= JAM_MS and elapsed <= JAM_MS + 5,
        ("the jam lasted what was asked within 5 ms (%.2f ms)"):format(elapsed))
    end },
    { "What the metrics and the watchdog saw",
      [[GET /api/metrics: the loop's lag; GET /api/lab/status: the watchdog's record of the block.]], function(w)
      local m = w.scrape()
      local lag = m:get("proflab_eventloop_lag_max_seconds") or 0
      w.measure("event-loop lag max", lag * 1000, "ms")
      w.expect(lag >= (JAM_MS - 100) / 1000, ("the lag max covers the jam (%.0f ms)"):format(lag * 1000))
      w.expect((m:get("proflab_eventloop_blocks_total") or 0) >= 1, "proflab_eventloop_blocks_total counted the block")
      local s = w.lab("GET", "/api/lab/status").json
      local block = s.lastBlock
      w.expect(type(block) == "table", "status shows the last block")
      if type(block) == "table" then
        local where = type(block.stack) == "table" and table.concat(block.stack, " | ") or tostring(block.stack)
        w.measure("last block", ("%s ms at %s"):format(tostring(block.durationMs or block.duration_ms), where))
        w.expect(where:find("event%-loop%-jam%.lua:%d+") ~= nil, "the watchdog names the jam's file and line")
      end
      local log = w.engine_log()
      if log then
        local line = log:match("event loop blocked [^\n]*")
        w.measure("watchdog log", line or "(none)")
        w.expect(line and line:find("event%-loop%-jam%.lua:%d+") ~= nil, "the watchdog's log line names the jam's line")
      end
    end },
    { "After the jam, the loop answers at once again", [[GET /api/health.]], function(w)
      local r = w.get("/api/health")
      w.expect(r.status == 200 and r.ms < 100, ("the health check is fast again (%.1f ms)"):format(r.ms))
    end },
  },
}
