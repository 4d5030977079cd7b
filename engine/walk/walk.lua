-- walk.lua: the walkthrough runner. runner.c starts the engine and hands over `walkhost`,
-- `http`, `json` and `metrics`; this file loads a walkthrough, runs its steps and reports.
local host = walkhost

local out = {}         -- what the report prints, by mode
local count = { passed = 0, failed = 0, n = 0 }
local ABORT = {}       -- marker of an error that ends the walkthrough

local function say(fmt, ...) io.write(string.format(fmt, ...), "\n"); io.flush() end

local function abort(message) error(setmetatable({ message = message }, ABORT), 0) end

local function record(ok, message, detail)
  count.n = count.n + 1
  if ok then count.passed = count.passed + 1 else count.failed = count.failed + 1 end
  if host.tap then
    say("%s %d - %s", ok and "ok" or "not ok", count.n, message)
    if detail and detail ~= "" then say("#   %s", (detail:gsub("\n", "\n#   "))) end
  else
    say("   %s  %s%s", ok and "pass" or "FAIL", message, (detail and detail ~= "") and ("  [" .. detail .. "]") or "")
  end
  return ok
end

local function note(fmt, ...)
  local text = string.format(fmt, ...)
  if host.tap then say("# %s", (text:gsub("\n", "\n# "))) else say("   %s", (text:gsub("\n", "\n   "))) end
end

-- responses

local function decorate(r, method, path)
  r.method, r.path = method, path
  local ct = r.headers and r.headers["content-type"] or ""
  if ct:find("json", 1, true) and r.body ~= "" then r.json = json.decode(r.body) end
  return r
end

local function guard_failure(r)
  if r.status == 0 then
    return ("cannot reach the engine at %s: %s"):format(http.base, r.error or "no answer")
  end
  local e = r.json and r.json.error
  if r.status == 404 and e == "lab_disabled" then
    return ("the lab is disabled on %s (LAB_ENABLE and LAB_TOKEN): %s"):format(http.base, r.json.message)
  elseif r.status == 401 then
    return ("the engine refused the lab token (%s): %s"):format(e or r.status, r.json and r.json.message or r.body)
  elseif r.status == 403 and e == "production" then
    return ("the engine refuses the lab in production: %s"):format(r.json.message)
  end
end

local function start(method, path, opts, lab)
  opts = opts or {}
  local h = http.start { method = method, path = path, lab = lab, body = opts.body, headers = opts.headers,
                         timeout_ms = opts.timeout_ms, token = opts.token }
  local handle = {}
  function handle.wait(_, label, seconds)
    local r = decorate(h:wait(label, seconds), method, path)
    if lab then
      local why = guard_failure(r)
      if why then abort(why) end
    elseif r.status == 0 then
      abort(guard_failure(r))
    end
    return r
  end
  return handle
end

-- the API a walkthrough's steps receive
local w = { json = json }

function w.get(path, opts) return start("GET", path, opts, false):wait() end
function w.lab(method, path, opts) return start(method, path, opts, true):wait() end
function w.start(method, path, opts) return start(method, path, opts, path:find("^/api/lab")) end
function w.expect(cond, message, detail) return record(cond and true or false, message, detail) end
function w.say(fmt, ...) note(fmt, ...) end
function w.measure(label, value, unit)
  note("%s: %s%s", label, type(value) == "number" and string.format("%.6g", value) or tostring(value), unit and (" " .. unit) or "")
  return value
end
function w.sleep(ms) http.pump(ms) end
function w.now() return host.now() end
function w.engine_log() return host.engine_log() end
w.engine = host.engine
w.base = host.base

-- artifacts and the analyzers

local downloads = 0
-- w.download(url): fetches a signed link into the walkthrough's folder and checks the bytes
-- against the SHA-256 the engine announced (ETag); returns {path, bytes, sha256, ms}
function w.download(url)
  downloads = downloads + 1
  local name = url:match("/([^/?]+)%?") or ("download-" .. downloads)
  local path = host.workdir .. "/" .. downloads .. "-" .. name
  local r, err = http.download(url, path)
  if not r then abort(err) end
  if r.status ~= 200 then abort(("the download link answered %d"):format(r.status)) end
  r.path = path
  r.verified = r.etag ~= "" and r.etag == r.sha256
  return r
end

-- w.analyze(file[, options...]) and w.diff(a, b): the text `proflab analyze` and `proflab diff` print
function w.analyze(...)
  local code, text = host.self("analyze", ...)
  if code ~= 0 then abort("proflab analyze failed: " .. text) end
  return text
end
function w.diff(a, b, ...)
  local code, text = host.self("diff", a, b, ...)
  if code ~= 0 then abort("proflab diff failed: " .. text) end
  return text
end

-- w.snapshot(label): POST /api/lab/heap-snapshot, then download it through its signed link;
-- returns the local path and the engine's answer
function w.snapshot(label)
  local r = w.lab("POST", "/api/lab/heap-snapshot")
  if r.status ~= 200 then abort(("heap-snapshot answered %d: %s"):format(r.status, r.body)) end
  w.measure(("snapshot %s"):format(label), ("%d nodes, %d bytes, %.1f ms"):format(r.json.nodes, r.json.bytes, r.json.durationMs))
  local d = w.download(r.json.download)
  w.expect(d.verified, ("snapshot %s downloaded through its signed link, SHA-256 checked"):format(label))
  return d.path, r.json
end

-- w.largest_gain(report): the first "where the new memory is held" line of a proflab diff
function w.largest_gain(report)
  return report:match("Where the new memory is held[^\n]*\n%s*1%.%s*([^\n]+)")
end

-- GET /api/metrics, parsed: m:get(name[, labels]) the first matching value, m:all(name)
function w.scrape()
  local r = w.get("/api/metrics")
  if r.status ~= 200 then abort(("GET /api/metrics answered %d"):format(r.status)) end
  local samples, err = metrics.parse(r.body)
  if not samples then abort("/api/metrics is not Prometheus text: " .. err) end
  local m = { samples = samples, text = r.body }
  function m:all(name)
    local t = {}
    for _, s in ipairs(self.samples) do if s.name == name then t[#t + 1] = s end end
    return t
  end
  function m:get(name, labels)
    for _, s in ipairs(self.samples) do
      if s.name == name then
        local match = true
        for k, v in pairs(labels or {}) do if s.labels[k] ~= v then match = false end end
        if match then return s.value end
      end
    end
  end
  return m
end

-- loading

local function path_of(name)
  if name:find("/", 1, true) or name:match("%.lua$") then return name end
  return host.dir .. "/" .. name .. ".lua"
end

local function load(name)
  local chunk, err = loadfile(path_of(name), "t")
  if not chunk then return nil, err end
  local ok, walk = pcall(chunk)
  if not ok then return nil, walk end
  if type(walk) ~= "table" or type(walk.summary) ~= "string" or type(walk.steps) ~= "table" then
    return nil, path_of(name) .. ": a walkthrough returns {summary=, narrative=, steps={ {title, text, run}, ... }}"
  end
  for i, s in ipairs(walk.steps) do
    if type(s[1]) ~= "string" or type(s[3]) ~= "function" then
      return nil, ("%s: step %d must be {title, text, function(w) ... end}"):format(path_of(name), i)
    end
  end
  return walk
end

if host.mode == "list" then
  local names = host.list(host.dir)
  table.sort(names)
  for _, n in ipairs(names) do
    local walk = load(n)
    say("%-26s %s", n, walk and walk.summary or "(does not load)")
  end
  return 0
end

local walk, err = load(host.name)
if not walk then
  io.stderr:write("proflab walk: ", err, "\n")
  return 2
end

local function wrap(text, indent)
  local lines = {}
  for para in (text or ""):gsub("^%s+", ""):gsub("%s+$", ""):gmatch("[^\n]+") do lines[#lines + 1] = indent .. para:gsub("^%s+", "") end
  return table.concat(lines, "\n")
end

if host.mode == "explain" then
  say("%s: %s\n", host.name, walk.summary)
  if walk.narrative then say("%s\n", wrap(walk.narrative, "")) end
  for i, s in ipairs(walk.steps) do
    say("%d. %s", i, s[1])
    if s[2] and s[2] ~= "" then say("%s", wrap(s[2], "   ")) end
  end
  return 0
end

if host.tap then say("TAP version 13") end
local head = host.tap and note or say
head("walkthrough %s: %s", host.name, walk.summary)
head("engine: %s (%s)", host.base, host.engine == "child" and "started for this walkthrough" or "--target")
local aborted
for i, s in ipairs(walk.steps) do
  if host.tap then say("# step %d: %s", i, s[1]) else say("\n%d. %s", i, s[1]) end
  if s[2] and s[2] ~= "" and not host.tap then say("%s", wrap(s[2], "   ")) end
  local t0 = host.now()
  local ok, e = xpcall(s[3], function(x)
    if getmetatable(x) == ABORT then return x end
    return debug.traceback(tostring(x), 2)
  end, w)
  if not ok then
    if getmetatable(e) == ABORT then
      record(false, ("step %d (%s) could not go on"):format(i, s[1]), e.message)
    else
      record(false, ("step %d (%s) raised an error"):format(i, s[1]), tostring(e))
    end
    aborted = true
    break
  end
  if not host.tap then say("   (%.0f ms)", host.now() - t0) end
end
if host.tap then
  say("1..%d", count.n)
  say("# %d passed, %d failed", count.passed, count.failed)
else
  say("\n%s: %d passed, %d failed%s", host.name, count.passed, count.failed, aborted and " (stopped early)" or "")
end
return (count.failed == 0 and count.n > 0) and 0 or 1
