local lab = require "lab"
return {
  summary = "Return or yield what the engine cannot answer",
  params = { what = { type = "string", enum = { "number", "yield", "nested-sleep", "function", "cycle" }, required = true } },
  run = function(p)
    if p.what == "number" then return 5 end
    if p.what == "yield" then coroutine.yield("not a sleep") end
    if p.what == "nested-sleep" then return coroutine.wrap(function() lab.sleep(1); return {} end)() end
    if p.what == "function" then return { f = print } end
    local t = {}; t.self = t; return t
  end,
}
