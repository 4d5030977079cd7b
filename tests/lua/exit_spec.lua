-- exit_spec.lua: a Lua process that loaded lab.so must end cleanly.
--
-- lua_close unloads C modules (the __gc of _CLIBS) and then frees the rest of the state
-- through the allocator lab.so installed: unless lab.so stays mapped (it is linked with
-- -Wl,-z,nodelete), every interpreter that required lab dies at exit with SIGSEGV.
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
