-- lab_spec.lua: the real lab module (build/lab.so) in standalone mode, under lua5.4.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local lab = support.lab()

local MiB = 1024 * 1024

local function mem() return lab.memory() end

-- Runs fn, returns the error object it raised (fails when it does not raise).
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return err
end

describe("lab module", function()
  it("is the native module with a version and a scenarios table", function()
    assert.is_table(lab)
    assert.is_string(lab.version)
    assert.matches("^%d+%.%d+%.%d+$", lab.version)
    assert.is_table(lab.scenarios)
    assert.is_nil(next(lab.scenarios)) -- standalone: the engine fills it, nobody did
    for _, name in ipairs { "now", "sleep", "run", "buffer", "memory", "status", "log", "fail" } do
      assert.is_function(lab[name], name)
      assert.is_nil(debug.getinfo(lab[name], "S").source:match("^@"), name .. " is a C function")
    end
  end)

  describe("now()", function()
    it("never goes backwards", function()
      local prev = lab.now()
      for _ = 1, 100000 do
        local t = lab.now()
        assert(t >= prev, "lab.now() went backwards")
        prev = t
      end
    end)

    it("counts milliseconds, with sub-millisecond resolution", function()
      -- os.clock (CPU time, another clock) spins 50 ms: at least as much wall time passes
      local t0, c0 = lab.now(), os.clock()
      while os.clock() - c0 < 0.05 do end
      local elapsed = lab.now() - t0
      assert.is_true(elapsed >= 49.5, "elapsed " .. elapsed)
      assert.is_true(elapsed < 1000, "elapsed " .. elapsed)
      -- fractional milliseconds: two close calls differ by less than 1 ms, not by 0 or 1
      local seen_fraction = false
      for _ = 1, 1000 do
        local v = lab.now()
        if v ~= math.floor(v) then seen_fraction = true break end
      end
      assert.is_true(seen_fraction)
    end)
  end)

  describe("sleep()", function()
    it("blocks about N ms outside lab.run, without using the CPU", function()
      for _, ms in ipairs { 20, 75 } do
        local best = support.fastest(10, ms + 10, function()
          local t0, c0 = lab.now(), os.clock()
          assert.are.equal(0, select("#", lab.sleep(ms)))
          local elapsed, cpu = lab.now() - t0, (os.clock() - c0) * 1000
          assert.is_true(elapsed >= ms, ms .. " ms slept only " .. elapsed)
          assert.is_true(cpu < ms / 2, "sleep used " .. cpu .. " ms of CPU")
          return elapsed
        end)
        assert.is_true(best <= ms + 10, ms .. " ms slept " .. best .. " at best")
      end
    end)

    it("accepts fractions and zero", function()
      local best = support.fastest(10, 12.5, function()
        local t0 = lab.now()
        lab.sleep(0)
        lab.sleep(2.5)
        local elapsed = lab.now() - t0
        assert.is_true(elapsed >= 2.5, "elapsed " .. elapsed)
        return elapsed
      end)
      assert.is_true(best <= 12.5, "slept " .. best .. " at best")
    end)

    it("rejects bad durations", function()
      assert.matches("milliseconds from 0 to 86400000", raised(lab.sleep, -1))
      assert.matches("milliseconds from 0 to 86400000", raised(lab.sleep, 86400001))
      assert.matches("milliseconds from 0 to 86400000", raised(lab.sleep, 0 / 0))
      assert.matches("number expected", raised(lab.sleep, "soon"))
      assert.matches("number expected", raised(lab.sleep))
    end)
  end)

  describe("run()", function()
    it("drives fn as a coroutine, sleeping between its yields", function()
      local best = support.fastest(10, 45 + 15, function()
        local t0 = lab.now()
        local steps = {}
        local a, b, c = lab.run(function(x, y)
          assert.is_true(coroutine.isyieldable())
          local co, main = coroutine.running()
          assert.is_false(main)
          for i = 1, 3 do
            lab.sleep(15)
            steps[i] = lab.now() - t0
          end
          return x + y, "done", co
        end, 40, 2)
        local elapsed = lab.now() - t0
        assert.are.equal(42, a)
        assert.are.equal("done", b)
        assert.are.equal("thread", type(c))
        assert.are.equal("dead", coroutine.status(c))
        for i = 1, 3 do assert.is_true(steps[i] >= 15 * i, "step " .. i .. " at " .. steps[i]) end
        assert.is_true(elapsed >= 45, "elapsed " .. elapsed)
        return elapsed
      end)
      assert.is_true(best <= 45 + 15, "three 15 ms sleeps took " .. best .. " ms at best")
    end)

    it("returns every value, nils included, and nothing when fn returns nothing", function()
      local n = select("#", lab.run(function() return nil, 2, nil end))
      assert.are.equal(3, n)
      assert.are.same({ nil, 2, nil, n = 3 }, table.pack(lab.run(function() return nil, 2, nil end)))
      assert.are.equal(0, select("#", lab.run(function() end)))
      assert.are.equal(0, select("#", lab.run(function() lab.sleep(1) end)))
    end)

    it("propagates errors, before and after a sleep, keeping error objects", function()
      assert.matches("lab_spec.lua:%d+: boom", raised(lab.run, function() error("boom") end))
      assert.matches("late", raised(lab.run, function() lab.sleep(1) error("late") end))
      local obj = { code = 7 }
      assert.are.equal(obj, raised(lab.run, function() lab.sleep(1) error(obj) end))
      -- lab.fail inside run: the table reaches the caller intact
      local e = raised(lab.run, function() lab.fail(503, "busy", "try later") end)
      assert.are.same({ status = 503, error = "busy", message = "try later" }, e)
    end)

    it("refuses yields that are not lab.sleep", function()
      assert.matches("yielded something other than lab.sleep",
        raised(lab.run, function() coroutine.yield("x") end))
      assert.matches("yielded something other than lab.sleep",
        raised(lab.run, function() coroutine.yield() end))
    end)

    it("lets fn use coroutines of its own, where lab.sleep blocks instead of yielding", function()
      local t0 = lab.now()
      local r = lab.run(function()
        local gen = coroutine.wrap(function()
          lab.sleep(10) -- not a driven coroutine: blocks here
          coroutine.yield(1)
          coroutine.yield(2)
        end)
        return gen() + gen()
      end)
      assert.are.equal(3, r)
      assert.is_true(lab.now() - t0 >= 10)
    end)

    it("needs a function", function()
      assert.matches("function expected", raised(lab.run, 42))
      assert.matches("function expected", raised(lab.run))
    end)
  end)

  describe("buffer()", function()
    before_each(support.collect)

    it("is a lab.Buffer of the size asked, filled with 0xab by default", function()
      local b = lab.buffer(4096)
      assert.are.equal("userdata", type(b))
      assert.are.equal(4096, #b)
      assert.are.equal(4096, b:size())
      assert.are.equal(0xab, b:byte(1))
      assert.are.equal(0xab, b:byte(2048))
      assert.are.equal(0xab, b:byte(4096))
      assert.are.equal("lab.Buffer(4096 bytes)", tostring(b))
      b:free()
    end)

    it("writes the fill byte from the first to the last byte", function()
      for _, fill in ipairs { 0, 1, 0x5a, 255 } do
        local b = lab.buffer(MiB + 3, fill)
        assert.are.equal(MiB + 3, #b)
        assert.are.equal(fill, b:byte(1))
        assert.are.equal(fill, b:byte(MiB // 2))
        assert.are.equal(fill, b:byte(MiB + 3))
        b:free()
      end
    end)

    it("checks indexes", function()
      local b = lab.buffer(10, 7)
      assert.matches("index out of range", raised(b.byte, b, 0))
      assert.matches("index out of range", raised(b.byte, b, 11))
      assert.matches("index out of range", raised(b.byte, b, -1))
      b:free()
    end)

    it("rejects bad sizes and fills", function()
      assert.matches("bytes from 0 to 2%^40", raised(lab.buffer, -1))
      assert.matches("bytes from 0 to 2%^40", raised(lab.buffer, (1 << 40) + 1))
      assert.matches("fill from 0 to 255", raised(lab.buffer, 16, 256))
      assert.matches("fill from 0 to 255", raised(lab.buffer, 16, -1))
      assert.matches("number has no integer representation", raised(lab.buffer, 1.5))
      assert.matches("number expected", raised(lab.buffer, "big"))
    end)

    it("counts retainedBytes and retainedBufferCount up by its size and down after free()", function()
      local m0 = mem()
      local b = lab.buffer(3 * MiB + 1)
      local m1 = mem()
      assert.are.equal(m0.retainedBytes + 3 * MiB + 1, m1.retainedBytes)
      assert.are.equal(m0.retainedBufferCount + 1, m1.retainedBufferCount)
      b:free()
      local m2 = mem()
      assert.are.equal(m0.retainedBytes, m2.retainedBytes)
      assert.are.equal(m0.retainedBufferCount, m2.retainedBufferCount)
      -- freed: empty, marked, unreadable; a second free and the later __gc change nothing
      assert.are.equal(0, #b)
      assert.are.equal("lab.Buffer(0 bytes, freed)", tostring(b))
      assert.matches("index out of range", raised(b.byte, b, 1))
      b:free()
      b = nil -- luacheck: ignore
      support.collect()
      assert.are.equal(m0.retainedBytes, mem().retainedBytes)
      assert.are.equal(m0.retainedBufferCount, mem().retainedBufferCount)
    end)

    it("gives its memory back when collected", function()
      local m0 = mem()
      do
        local b1, b2 = lab.buffer(2 * MiB), lab.buffer(5 * MiB)
        assert.are.equal(m0.retainedBytes + 7 * MiB, mem().retainedBytes)
        assert.are.equal(m0.retainedBufferCount + 2, mem().retainedBufferCount)
        assert.are.equal(7 * MiB, #b1 + #b2)
      end
      support.collect()
      assert.are.equal(m0.retainedBytes, mem().retainedBytes)
      assert.are.equal(m0.retainedBufferCount, mem().retainedBufferCount)
    end)

    it("counts an empty buffer as a buffer of 0 bytes", function()
      local m0 = mem()
      local b = lab.buffer(0)
      assert.are.equal(0, #b)
      assert.are.equal(m0.retainedBufferCount + 1, mem().retainedBufferCount)
      assert.are.equal(m0.retainedBytes, mem().retainedBytes)
      b:free()
      assert.are.equal(m0.retainedBufferCount, mem().retainedBufferCount)
    end)

    it("makes RSS grow by its size (resident pages) and come down after free()", function()
      local size = 64 * MiB
      local rss0 = mem().rssBytes
      local b = lab.buffer(size)
      local rss1 = mem().rssBytes
      assert.is_true(rss1 - rss0 >= size * 0.9,
        string.format("RSS grew by %.1f MiB for a 64 MiB buffer", (rss1 - rss0) / MiB))
      b:free()
      local rss2 = mem().rssBytes
      assert.is_true(rss1 - rss2 >= size * 0.9,
        string.format("RSS came down by %.1f MiB after free", (rss1 - rss2) / MiB))
    end)

    it("refuses to pass the retained ceiling with a 409 retained_limit error", function()
      local m0 = mem()
      assert.are.equal(1 << 30, m0.retainedLimitBytes) -- lab.so's default: 1 GiB
      local over = m0.retainedLimitBytes - m0.retainedBytes + 1
      local e = raised(lab.buffer, over)
      assert.is_table(e)
      assert.are.equal(409, e.status)
      assert.are.equal("retained_limit", e.error)
      assert.matches("LAB_MAX_RETAINED_MB %(1024 MiB%)", e.message)
      assert.matches("clear them first", e.message)
      -- with 16 MiB held, a request for the rest of the ceiling plus one byte is refused too
      local held = lab.buffer(16 * MiB)
      e = raised(lab.buffer, m0.retainedLimitBytes - mem().retainedBytes + 1)
      assert.are.equal(409, e.status)
      assert.matches("16 MiB are retained now", e.message)
      -- nothing was counted for the refused requests
      assert.are.equal(m0.retainedBytes + 16 * MiB, mem().retainedBytes)
      assert.are.equal(m0.retainedBufferCount + 1, mem().retainedBufferCount)
      held:free()
      assert.are.equal(m0.retainedBytes, mem().retainedBytes)
    end)
  end)

  describe("memory() and status()", function()
    local int_fields = { "retainedBufferCount", "retainedBytes", "retainedLimitBytes",
                         "luaHeapBytes", "luaHeapLimitBytes", "rssBytes" }

    it("memory() reports the memory figures as integers", function()
      local m = mem()
      for _, k in ipairs(int_fields) do
        assert.is_true(math.type(m[k]) == "integer", k .. " is " .. tostring(m[k]))
        assert.is_true(m[k] >= 0, k)
      end
      assert.is_true(m.rssBytes > 1 * MiB)
      assert.is_true(m.luaHeapBytes > 0)
      assert.are.equal(0, m.luaHeapLimitBytes) -- no ceiling outside the engine
      assert.is_nil(m.labEnabled)
    end)

    it("status() standalone has labEnabled = false and the same memory figures", function()
      local s = lab.status()
      assert.are.equal(false, s.labEnabled)
      assert.are.equal(false, s.cpuProfileInProgress)
      for _, k in ipairs(int_fields) do
        assert.is_true(math.type(s[k]) == "integer", k .. " is " .. tostring(s[k]))
      end
      local b = lab.buffer(MiB)
      local s2 = lab.status()
      assert.are.equal(s.retainedBytes + MiB, s2.retainedBytes)
      assert.are.equal(s.retainedBufferCount + 1, s2.retainedBufferCount)
      b:free()
    end)

    it("luaHeapBytes grows with a big Lua string and shrinks after it is collected", function()
      support.collect()
      local h0 = mem().luaHeapBytes
      local big = string.rep("x", 8 * MiB)
      local h1 = mem().luaHeapBytes
      assert.is_true(h1 - h0 >= 8 * MiB, "grew by " .. (h1 - h0))
      assert.is_true(h1 - h0 < 9 * MiB, "grew by " .. (h1 - h0))
      assert.are.equal(8 * MiB, #big)
      big = nil -- luacheck: ignore
      support.collect()
      local h2 = mem().luaHeapBytes
      assert.is_true(h1 - h2 >= 8 * MiB, "shrank by " .. (h1 - h2))
      -- and it agrees with Lua's own count, within a few KiB
      assert.is_true(math.abs(h2 - collectgarbage("count") * 1024) < 64 * 1024)
    end)
  end)

  describe("fail()", function()
    it("raises a table with status, error and message", function()
      local e = raised(lab.fail, 404, "not_found", "no such thing")
      assert.are.same({ status = 404, error = "not_found", message = "no such thing" }, e)
      assert.are.equal("integer", math.type(e.status))
      assert.are.same({ status = 400, error = "a", message = "b" }, raised(lab.fail, 400, "a", "b"))
      assert.are.same({ status = 599, error = "a", message = "b" }, raised(lab.fail, 599, "a", "b"))
    end)

    it("accepts only HTTP error statuses", function()
      for _, status in ipairs { 200, 399, 600, 0, -404 } do
        local e = raised(lab.fail, status, "x", "y")
        assert.is_string(e)
        assert.matches("an HTTP error status from 400 to 599", e)
      end
      assert.matches("number has no integer representation", raised(lab.fail, 404.5, "x", "y"))
      assert.matches("string expected", raised(lab.fail, 404, nil, "y"))
      assert.matches("string expected", raised(lab.fail, 404, "x"))
    end)
  end)

  describe("log()", function()
    it("writes logfmt lines to stderr, with level, message and fields", function()
      local out, how, code = support.child([[
        local lab = support.lab()
        io.stdout:write("stdout-marker\n"); io.stdout:flush()
        lab.log("warn", "disk almost full", { key = "value", percent = 93, spaced = "a b", ok = true })
        lab.log("plain")
        lab.log("error", "with=equals")
        lab.log("info", "no fields", "not a table")
      ]])
      assert.are.equal("exit", how)
      assert.are.equal(0, code, out)
      local lines = support.log_lines(out)
      assert.are.equal(4, #lines, out)

      local warn = support.logfmt(lines[1])
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", warn.ts)
      assert.are.equal("warn", warn.level)
      assert.are.equal("disk almost full", warn.msg)
      assert.are.equal("value", warn.key)
      assert.are.equal("93", warn.percent)
      assert.are.equal("a b", warn.spaced)
      assert.are.equal("true", warn.ok)
      assert.matches('^ts=%S+ level=warn msg="disk almost full" ', lines[1])
      assert.matches(" key=value", lines[1])
      assert.matches(' spaced="a b"', lines[1])

      assert.matches("^ts=%S+ level=info msg=plain$", lines[2])
      assert.matches('^ts=%S+ level=error msg="with=equals"$', lines[3])
      assert.matches('^ts=%S+ level=info msg="no fields"$', lines[4])
    end)

    it("writes to stderr, not stdout", function()
      local out, how, code = support.child([[
        local lab = support.lab()
        lab.log("warn", "lost")
        io.stdout:write("still here\n")
      ]], "2>/dev/null")
      assert.are.equal("exit", how)
      assert.are.equal(0, code)
      assert.matches("still here", out)
      assert.is_nil(out:match("lost"))
    end)

    it("rejects unknown levels and missing messages", function()
      assert.matches("invalid option 'loud'", raised(lab.log, "loud", "msg"))
      assert.matches("string expected", raised(lab.log))
    end)
  end)

  describe("null", function()
    it("is one light userdata, the same for every instance of the module", function()
      assert.are.equal("userdata", type(lab.null))
      assert.is_nil(getmetatable(lab.null))
      -- a fresh luaopen_lab gives a new module table but the same pointer: a light userdata
      local saved = package.loaded.lab
      package.loaded.lab = nil
      local again = require "lab"
      package.loaded.lab = saved
      assert.are_not.equal(saved, again)
      assert.are.equal(lab.null, again.null)
      assert.are.equal(rawequal(lab.null, again.null), true)
      assert.are_not.equal(lab.null, lab.buffer(0))
    end)
  end)
end)
