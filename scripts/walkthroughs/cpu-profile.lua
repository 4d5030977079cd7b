-- CPU profile during a jam, the runnable form of the lab's "Capture a CPU Profile" part:
-- record a profile while something is slow, download it through its signed link instead of
-- a shell on the box, and find the guilty line.
local SECONDS, JAM_MS = 4, 2000

return {
  summary = "Profile a jam, download the .cpuprofile, and find the busy line",
  narrative = [[
    The cpu-profile exercise samples the Lua stack 1,000 times a second for the time asked,
    idle included, and writes a .cpuprofile that Chrome DevTools and Speedscope open. While
    it records, a jam keeps the loop busy for 2 s. The answer carries a signed download link
    valid 15 minutes; proflab analyze reads the file and names the top frames.
  ]],
  steps = {
    { "Record a profile and jam the loop during it",
      [[POST /api/lab/cpu-profile?seconds=4; 500 ms later POST /api/lab/event-loop-jam?ms=2000.]], function(w)
      local profile = w.start("POST", "/api/lab/cpu-profile?seconds=" .. SECONDS)
      w.sleep(500)
      local status = w.lab("GET", "/api/lab/status")
      w.expect(status.json.cpuProfileInProgress == true, "status shows cpuProfileInProgress while it records")
      local jam = w.lab("POST", "/api/lab/event-loop-jam?ms=" .. JAM_MS)
      w.expect(jam.status == 200, "the jam ran during the profile")
      local r = profile:wait("recording the CPU profile", SECONDS)
      w.expect(r.status == 200, "cpu-profile answers 200", r.body)
      w.measure("samples", r.json.samples)
      w.expect(r.json.samples >= SECONDS * 1000 * 0.95,
        ("about one sample per millisecond (%d samples in %d s)"):format(r.json.samples, SECONDS))
      w.expect(type(r.json.download) == "string", "the answer carries a signed download link")
      w.profile = r.json
    end },
    { "Download it through the signed link", [[The link needs no token header: the token rides in it.]], function(w)
      local d = w.download(w.profile.download)
      w.measure("downloaded", d.bytes, "bytes")
      w.expect(d.status == 200, "the signed link answers 200")
      w.expect(d.verified, ("the bytes match the SHA-256 the engine announced (%s)"):format(d.sha256:sub(1, 16)))
      w.file = d.path
    end },
    { "Find the hot line", [[proflab analyze FILE.cpuprofile: top functions by self time.]], function(w)
      local report = w.analyze(w.file, "--top", "5")
      local top = report:match("Top %d+ by self time\n[^\n]*\n(.-)\n\n") or ""
      local first
      for line in top:gmatch("[^\n]+") do
        if not line:find("%(idle%)") and not line:find("%(program%)") then first = line; break end
      end
      w.measure("top self-time frame", first and first:gsub("%s+", " ") or "(none)")
      w.expect(first and first:find("event%-loop%-jam%.lua") and first:find("line 11") ~= nil,
        "the top self-time frame is the jam's busy line (event-loop-jam.lua, line 11)")
    end },
  },
}
