-- support.lua: shared by the specs in tests/lua (loaded with dofile, not a spec itself).
-- Everything here drives the real lab.so from the build directory: no mocks.
local support = {}

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
support.dir = here

-- The repository's scenarios/ folder: ctest passes PROFLAB_SCENARIOS; by hand it is found
-- relative to this file (tests/lua/../../scenarios).
support.scenarios_dir = os.getenv("PROFLAB_SCENARIOS") or (here .. "../../scenarios")

-- The interpreter for child processes (the same one busted runs under).
support.lua = os.getenv("PROFLAB_LUA") or "lua5.4"

-- The real module, built beside the engine (lab.so is linked with -z nodelete so that its
-- allocator outlives lua_close; exit_spec.lua checks that).
function support.lab()
  return require "lab"
end

-- Loads scenarios/<name>.lua the way the engine does (text chunk, called once) and
-- returns the table it declares. Each call gives a fresh copy with fresh module state.
function support.scenario(name)
  local path = support.scenarios_dir .. "/" .. name .. ".lua"
  local chunk, err = loadfile(path, "t")
  assert(chunk, err)
  local t = chunk()
  assert(type(t) == "table", path .. " must return a table")
  return t, path
end

-- What the engine's loader (engine/rt/scenario.c) would refuse in a scenario table, as a
-- list of messages ({} when the declaration is sound). undo.scenario must name a file in
-- the scenarios folder; undo.param a boolean parameter.
function support.declaration_problems(t)
  local problems = {}
  local function bad(fmt, ...) problems[#problems + 1] = string.format(fmt, ...) end
  if type(t.run) ~= "function" then bad("run must be a function") end
  if type(t.summary) ~= "string" or t.summary == "" then bad("summary must be a non-empty string") end
  if t.method ~= nil and t.method ~= "GET" and t.method ~= "POST" then bad("method must be GET or POST") end
  if t.status ~= nil and type(t.status) ~= "function" then bad("status must be a function") end
  local params = t.params or {}
  if type(params) ~= "table" then
    bad("params must be a table")
    params = {}
  end
  for name, spec in pairs(params) do
    if type(name) ~= "string" or not name:match("^[a-z0-9_]+$") or #name > 31 then
      bad("bad parameter name %s", tostring(name))
    elseif type(spec) ~= "table" then
      bad("%s: not a table", name)
    else
      local ty = spec.type
      if ty ~= "integer" and ty ~= "number" and ty ~= "string" and ty ~= "boolean" then bad("%s: bad type", name) end
      if ty == "boolean" and (spec.min ~= nil or spec.max ~= nil) then bad("%s: a boolean has no range", name) end
      if spec.min and spec.max and spec.min > spec.max then bad("%s: min above max", name) end
      if (ty == "integer") and ((spec.min and math.type(spec.min) ~= "integer") or (spec.max and math.type(spec.max) ~= "integer")) then
        bad("%s: integer bounds must be integers", name)
      end
      local d = spec.default
      if d ~= nil then
        if ty == "boolean" and type(d) ~= "boolean" then bad("%s: default must be a boolean", name) end
        if ty == "integer" and math.type(d) ~= "integer" then bad("%s: default must be an integer", name) end
        if (ty == "integer" or ty == "number") and type(d) == "number" then
          if (spec.min and d < spec.min) or (spec.max and d > spec.max) then bad("%s: default out of range", name) end
        end
      end
      if spec.doc ~= nil and type(spec.doc) ~= "string" then bad("%s: doc must be a string", name) end
    end
  end
  local undo = t.undo
  if undo ~= nil then
    if type(undo) ~= "table" or ((undo.scenario ~= nil) == (undo.param ~= nil)) then
      bad("undo is {scenario = NAME} or {param = NAME}")
    elseif undo.scenario ~= nil then
      local f = io.open(support.scenarios_dir .. "/" .. tostring(undo.scenario) .. ".lua", "r")
      if f then f:close() else bad("undo.scenario %s is not a file in scenarios/", tostring(undo.scenario)) end
    else
      local spec = params[undo.param]
      if type(spec) ~= "table" or spec.type ~= "boolean" then
        bad("undo.param %s is not a boolean parameter", tostring(undo.param))
      end
    end
  end
  return problems
end

-- Fills params the way the engine does: declared defaults, then the given values.
function support.params(scenario, given)
  local p = {}
  for name, spec in pairs(scenario.params or {}) do
    if spec.default ~= nil then p[name] = spec.default end
  end
  for k, v in pairs(given or {}) do p[k] = v end
  return p
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
support.shell_quote = shell_quote

-- Runs Lua code in a child interpreter with this process's package.cpath (so the same
-- lab.so) and environment (LD_PRELOAD, ASAN_OPTIONS under the sanitizer build). The code
-- sees this module as the global `support` (support.lab() loads lab pinned; a plain
-- require "lab" does not pin).
-- Returns the child's stdout and stderr together (by default), then exit kind and code as
-- io.popen():close() reports them through sh (a signal shows as exit 128+N).
-- redirect replaces the default "2>&1" (e.g. "2>/dev/null" to keep stdout alone).
function support.child(code, redirect)
  local file = os.tmpname()
  local f = assert(io.open(file, "w"))
  f:write("package.cpath = ", string.format("%q", package.cpath), "\n",
          "support = dofile(", string.format("%q", here .. "support.lua"), ")\n", code)
  f:close()
  local p = assert(io.popen(shell_quote(support.lua) .. " " .. shell_quote(file) .. " " .. (redirect or "2>&1"), "r"))
  local out = p:read("a")
  local _, how, status = p:close()
  os.remove(file)
  return out, how, status
end

-- Parses one logfmt line into a table of key = value (quoted values unescaped).
function support.logfmt(line)
  local fields, i, n = {}, 1, #line
  while i <= n do
    local key = line:match("^([^%s=]+)=", i)
    if not key then break end
    i = i + #key + 1
    local value
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= n do
        local c = line:sub(j, j)
        if c == "\\" then
          local e = line:sub(j + 1, j + 1)
          if e == "n" then buf[#buf + 1] = "\n"; j = j + 2
          elseif e == "x" then buf[#buf + 1] = string.char(tonumber(line:sub(j + 2, j + 3), 16)); j = j + 4
          else buf[#buf + 1] = e; j = j + 2 end
        elseif c == '"' then
          j = j + 1
          break
        else
          buf[#buf + 1] = c
          j = j + 1
        end
      end
      value, i = table.concat(buf), j
    else
      value = line:match("^[^%s]*", i)
      i = i + #value
    end
    fields[key] = value
    i = (line:find("[^%s]", i)) or (n + 1)
  end
  return fields
end

-- The lines of out that look like log lines (ts=... level=...).
function support.log_lines(out)
  local lines = {}
  for line in out:gmatch("[^\n]+") do
    if line:match("^ts=%S+ level=") then lines[#lines + 1] = line end
  end
  return lines
end

-- Timing on a shared machine: fn() returns a duration; runs it up to tries times and
-- returns the shortest, stopping as soon as one is at most limit. Lower bounds hold for
-- every run (check them inside fn); upper bounds are checked on the shortest, since a run
-- preempted by another process overshoots through no fault of the code under test.
function support.fastest(tries, limit, fn)
  local best = math.huge
  for _ = 1, tries do
    best = math.min(best, fn())
    if best <= limit then break end
  end
  return best
end

-- A full collection, twice: the first runs the finalizers of what became garbage.
function support.collect()
  collectgarbage("collect")
  collectgarbage("collect")
end

return support
