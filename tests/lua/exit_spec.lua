-- exit_spec.lua: a Lua process that loaded lab.so must end cleanly.
--
-- Without support.pin_lab(): lua_close unloads lab.so (the __gc of _CLIBS) and then frees
-- the rest of the state through lab.so's allocator, which is no longer mapped. Every
-- interpreter that requires lab then dies at exit (SIGSEGV, sh reports 139), and busted
-- exits 1 even when all specs pass. This spec fails until lab.so stays loaded to the end
-- (for example linked with -Wl,-z,nodelete) or stops leaving its allocator behind.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")

describe("a process using lab.so", function()
  it("exits 0 after require 'lab' and lua_close", function()
    local out, how, code = support.child([[
      local lab = require "lab"
      local b = lab.buffer(1024)
      lab.log("info", "exiting")
      print("reached the end")
    ]])
    assert.matches("reached the end", out)
    assert.are.same({ "exit", 0 }, { how, code }, out)
  end)

  it("exits 0 from os.exit(0, true), which closes the state", function()
    local out, how, code = support.child([[
      local lab = require "lab"
      print("closing")
      os.exit(0, true)
    ]])
    assert.matches("closing", out)
    assert.are.same({ "exit", 0 }, { how, code }, out)
  end)

  it("exits 0 when lab.so is pinned (the workaround the other specs use)", function()
    local out, how, code = support.child([[
      local lab = support.lab()
      local b = lab.buffer(1024)
      print("pinned")
    ]])
    assert.matches("pinned", out)
    assert.are.same({ "exit", 0 }, { how, code }, out)
  end)
end)
