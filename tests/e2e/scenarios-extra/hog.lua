-- Grows the Lua heap until the allocator's ceiling refuses.
return {
  summary = "Allocate Lua tables until LAB_LUA_MAX_MB",
  run = function()
    local keep = {}
    for i = 1, 1e9 do keep[i] = { i, i, i, i, i, i, i, i } end
  end,
}
